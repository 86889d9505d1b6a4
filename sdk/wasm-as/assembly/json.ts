// A small JSON reader that works in place: a value is a span of the input, never copied or
// parsed into objects, so reading an envelope allocates nothing.

import { Buf, hasByte } from "./buf";

/** A raw JSON value: a span of memory, packed as (ptr << 32) | len, as the ABI packs outputs.
 * NONE (0) is no value: a member that is missing, an iteration that is over. */
export type Val = u64;

/** No value. */
export const NONE: Val = 0;

/** Returned by skip for text that is not a well-formed JSON value. */
export const BAD: usize = <usize>-1;

/** The value spanning ptr[0..len). */
// @ts-ignore: decorator
@inline export function span(ptr: usize, len: usize): Val {
  return (<u64>ptr << 32) | <u64>(<u32>len);
}

/** Where the value's text starts. */
// @ts-ignore: decorator
@inline export function valPtr(v: Val): usize {
  return <usize>(v >>> 32);
}

/** How long the value's text is, in bytes; 0 for NONE. */
// @ts-ignore: decorator
@inline export function valLen(v: Val): usize {
  return <usize>(<u32>v);
}

// @ts-ignore: decorator
@inline function isSpace(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/** Returns the index of the first non-space byte of s[0..n) at or after i. */
export function ws(s: usize, n: usize, i: usize): usize {
  while (i < n && isSpace(load<u8>(s + i))) i++;
  return i;
}

// skipString returns the index just past the string whose opening quote is s[i], or BAD.
function skipString(s: usize, n: usize, i: usize): usize {
  for (i++; i < n; i++) {
    while (i + 8 <= n) {
      const x = load<u64>(s + i);
      if ((hasByte(x, 0x22) | hasByte(x, 0x5c)) != 0) break;
      i += 8;
    }
    if (i >= n) break;
    const c = load<u8>(s + i);
    if (c == 0x22) return i + 1;
    if (c == 0x5c) i++;
  }
  return BAD;
}

function skipValue(s: usize, n: usize, i: usize, depth: i32): usize {
  i = ws(s, n, i);
  if (i >= n || depth > 512) return BAD;
  const c = load<u8>(s + i);
  if (c == 0x22) return skipString(s, n, i);
  if (c == 0x7b || c == 0x5b) { // { or [
    const close: u8 = c == 0x7b ? 0x7d : 0x5d;
    i = ws(s, n, i + 1);
    if (i < n && load<u8>(s + i) == close) return i + 1;
    for (;;) {
      if (c == 0x7b) {
        if (i >= n || load<u8>(s + i) != 0x22) return BAD;
        i = skipString(s, n, i);
        if (i == BAD) return i;
        i = ws(s, n, i);
        if (i >= n || load<u8>(s + i) != 0x3a) return BAD;
        i++;
      }
      i = skipValue(s, n, i, depth + 1);
      if (i == BAD) return i;
      i = ws(s, n, i);
      if (i >= n) return BAD;
      const d = load<u8>(s + i);
      if (d == close) return i + 1;
      if (d != 0x2c) return BAD;
      i = ws(s, n, i + 1);
    }
  }
  // a number or a literal: up to the next delimiter
  const start = i;
  while (i < n) {
    const d = load<u8>(s + i);
    if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x3a || d == 0x22 || isSpace(d)) break;
    i++;
  }
  return i > start ? i : BAD;
}

/** Returns the index just past the JSON value starting at s[i] (after spaces), or BAD when it
 * is not well-formed. Strings are delimited, not validated; nesting deeper than 512 is BAD. */
export function skip(s: usize, n: usize, i: usize): usize {
  return skipValue(s, n, i, 0);
}

/** The value's first byte: '{', '[', '"', 'n', 't', 'f', or '0' for a number; 0 for NONE. */
export function jsonType(v: Val): u8 {
  const s = valPtr(v), n = valLen(v);
  const i = ws(s, n, 0);
  if (i >= n) return 0;
  const c = load<u8>(s + i);
  if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return 0x30;
  return c;
}

/** Whether v is an object. */
export function isObject(v: Val): bool {
  return jsonType(v) == 0x7b;
}
/** Whether v is an array. */
export function isArray(v: Val): bool {
  return jsonType(v) == 0x5b;
}
/** Whether v is a string. */
export function isString(v: Val): bool {
  return jsonType(v) == 0x22;
}
/** Whether v is null (NONE is not). */
export function isNull(v: Val): bool {
  return jsonType(v) == 0x6e;
}

// rawEquals reports whether the bytes p[0..n) are s encoded as UTF-8.
function rawEquals(p: usize, n: usize, s: string): bool {
  const len = s.length;
  let j: usize = 0;
  for (let i = 0; i < len; i++) {
    let c = <u32>s.charCodeAt(i);
    if (c < 0x80) {
      if (j >= n || <u32>load<u8>(p + j) != c) return false;
      j++;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const lo = <u32>s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    let k: usize;
    let first: u32;
    if (c < 0x800) {
      k = 2;
      first = 0xc0 | (c >> 6);
    } else if (c < 0x10000) {
      k = 3;
      first = 0xe0 | (c >> 12);
    } else {
      k = 4;
      first = 0xf0 | (c >> 18);
    }
    if (j + k > n || <u32>load<u8>(p + j) != first) return false;
    for (let b: usize = 1; b < k; b++) {
      const want = 0x80 | ((c >> (6 * <u32>(k - 1 - b))) & 0x3f);
      if (<u32>load<u8>(p + j + b) != want) return false;
    }
    j += k;
  }
  return j == n;
}

/** Whether v is the JSON string s, or, for a key from Members, whether the key is s. The
 * comparison is raw: it finds a string written without escapes, as envelopes are. */
export function jsonIs(v: Val, s: string): bool {
  const p = valPtr(v), n = valLen(v);
  const i = ws(p, n, 0);
  if (i >= n || load<u8>(p + i) != 0x22) return false;
  const end = skipString(p, n, i);
  if (end == BAD) return false;
  return rawEquals(p + i + 1, end - i - 2, s);
}

/** Iterates over an object's members:
 *
 *     const it = new Members(obj);
 *     while (it.next()) { if (jsonIs(it.key, "model")) ... it.value ... }
 *
 * A value that is not an object has no members; iteration stops at the first malformed member. */
export class Members {
  /** The current member's key, raw: with its quotes and any escapes. */
  key: Val = NONE;
  /** The current member's value. */
  value: Val = NONE;
  private s: usize;
  private n: usize;
  private pos: usize = 0;

  constructor(obj: Val) {
    this.s = valPtr(obj);
    this.n = valLen(obj);
  }

  /** Starts over on another object, so one iterator can serve many. */
  reset(obj: Val): Members {
    this.s = valPtr(obj);
    this.n = valLen(obj);
    this.pos = 0;
    this.key = NONE;
    this.value = NONE;
    return this;
  }

  /** Moves to the next member; false when there is none. */
  next(): bool {
    const s = this.s, n = this.n;
    let i = this.pos;
    if (i == BAD) return false;
    this.pos = BAD;
    if (i == 0) {
      i = ws(s, n, 0);
      if (i >= n || load<u8>(s + i) != 0x7b) return false;
      i++;
    }
    i = ws(s, n, i);
    if (i < n && load<u8>(s + i) == 0x2c) i = ws(s, n, i + 1);
    if (i >= n || load<u8>(s + i) != 0x22) return false;
    const kend = skipString(s, n, i);
    if (kend == BAD) return false;
    this.key = span(s + i, kend - i);
    i = ws(s, n, kend);
    if (i >= n || load<u8>(s + i) != 0x3a) return false;
    i = ws(s, n, i + 1);
    const vend = skipValue(s, n, i, 1);
    if (vend == BAD) return false;
    this.value = span(s + i, vend - i);
    this.pos = vend;
    return true;
  }
}

/** Iterates over an array's elements, as Members does over an object's members. */
export class Elements {
  /** The current element. */
  value: Val = NONE;
  private s: usize;
  private n: usize;
  private pos: usize = 0;

  constructor(arr: Val) {
    this.s = valPtr(arr);
    this.n = valLen(arr);
  }

  /** Starts over on another array. */
  reset(arr: Val): Elements {
    this.s = valPtr(arr);
    this.n = valLen(arr);
    this.pos = 0;
    this.value = NONE;
    return this;
  }

  /** Moves to the next element; false when there is none. */
  next(): bool {
    const s = this.s, n = this.n;
    let i = this.pos;
    if (i == BAD) return false;
    this.pos = BAD;
    if (i == 0) {
      i = ws(s, n, 0);
      if (i >= n || load<u8>(s + i) != 0x5b) return false;
      i++;
    }
    i = ws(s, n, i);
    if (i < n && load<u8>(s + i) == 0x2c) i = ws(s, n, i + 1);
    if (i >= n || load<u8>(s + i) == 0x5d) return false;
    const end = skipValue(s, n, i, 1);
    if (end == BAD) return false;
    this.value = span(s + i, end - i);
    this.pos = end;
    return true;
  }
}

/** The value of member key of the object obj, or NONE. Allocates nothing. */
export function jsonGet(obj: Val, key: string): Val {
  const s = valPtr(obj), n = valLen(obj);
  let i = ws(s, n, 0);
  if (i >= n || load<u8>(s + i) != 0x7b) return NONE;
  i++;
  while (i < n) {
    i = ws(s, n, i);
    if (i < n && load<u8>(s + i) == 0x2c) i = ws(s, n, i + 1);
    if (i >= n || load<u8>(s + i) != 0x22) return NONE;
    const kend = skipString(s, n, i);
    if (kend == BAD) return NONE;
    const kstart = i;
    i = ws(s, n, kend);
    if (i >= n || load<u8>(s + i) != 0x3a) return NONE;
    i = ws(s, n, i + 1);
    const vend = skipValue(s, n, i, 1);
    if (vend == BAD) return NONE;
    if (rawEquals(s + kstart + 1, kend - kstart - 2, key)) return span(s + i, vend - i);
    i = vend;
  }
  return NONE;
}

/** Follows a path of member names: jsonPath(env, ["metadata", "model"]). NONE if any is
 * missing. */
export function jsonPath(v: Val, keys: string[]): Val {
  for (let i = 0; i < keys.length && v != NONE; i++) v = jsonGet(v, keys[i]);
  return v;
}

function hexVal(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return <i32>c - 0x41 + 10;
  return -1;
}

function hex4(p: usize): i32 {
  let r = 0;
  for (let i: usize = 0; i < 4; i++) {
    const h = hexVal(load<u8>(p + i));
    if (h < 0) return -1;
    r = (r << 4) | h;
  }
  return r;
}

function putUtf8(b: Buf, r: u32): void {
  if (r < 0x80) {
    b.putByte(<u8>r);
  } else if (r < 0x800) {
    b.putByte(<u8>(0xc0 | (r >> 6)));
    b.putByte(<u8>(0x80 | (r & 0x3f)));
  } else if (r < 0x10000) {
    b.putByte(<u8>(0xe0 | (r >> 12)));
    b.putByte(<u8>(0x80 | ((r >> 6) & 0x3f)));
    b.putByte(<u8>(0x80 | (r & 0x3f)));
  } else {
    b.putByte(<u8>(0xf0 | (r >> 18)));
    b.putByte(<u8>(0x80 | ((r >> 12) & 0x3f)));
    b.putByte(<u8>(0x80 | ((r >> 6) & 0x3f)));
    b.putByte(<u8>(0x80 | (r & 0x3f)));
  }
}

/** Appends the contents of the JSON string v, unescaped, to dst as UTF-8; false if v is not a
 * string. A \u escape of an unpaired surrogate, or a malformed one, becomes U+FFFD. */
export function jsonUnescape(v: Val, dst: Buf): bool {
  const p = valPtr(v), vn = valLen(v);
  const i = ws(p, vn, 0);
  if (i >= vn || load<u8>(p + i) != 0x22) return false;
  const end = skipString(p, vn, i);
  if (end == BAD) return false;
  const s = p + i + 1;
  const n = end - i - 2;
  if (!dst.reserve(n)) return true;
  let j: usize = 0;
  while (j < n) {
    let k = j;
    while (k < n && load<u8>(s + k) != 0x5c) k++;
    dst.putBytes(s + j, k - j);
    if (k + 1 >= n) break;
    const c = load<u8>(s + k + 1);
    j = k + 2;
    if (c == 0x62) dst.putByte(0x08); // \b
    else if (c == 0x66) dst.putByte(0x0c); // \f
    else if (c == 0x6e) dst.putByte(0x0a); // \n
    else if (c == 0x72) dst.putByte(0x0d); // \r
    else if (c == 0x74) dst.putByte(0x09); // \t
    else if (c == 0x75) { // \uXXXX, perhaps a surrogate pair
      let r = k + 6 <= n ? hex4(s + k + 2) : -1;
      j = k + 6;
      if (r >= 0xd800 && r <= 0xdbff && j + 6 <= n && load<u8>(s + j) == 0x5c && load<u8>(s + j + 1) == 0x75) {
        const lo = hex4(s + j + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
          j += 6;
        }
      }
      if (r < 0 || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
      putUtf8(dst, <u32>r);
    } else dst.putByte(c); // \" \\ \/
  }
  return true;
}

const strBuf = new Buf();

/** The contents of the JSON string v as a string, or null if v is not a string. */
export function jsonString(v: Val): string | null {
  strBuf.reset();
  if (!jsonUnescape(v, strBuf)) return null;
  const s = strBuf.toString();
  if (strBuf.cap > 1 << 20) strBuf.release();
  return s;
}

/** The value's text as it is in the document (for a string: with its quotes and escapes). */
export function jsonRaw(v: Val): string {
  return String.UTF8.decodeUnsafe(valPtr(v), valLen(v));
}

/** The integer v, or fallback when v is not an integer number that fits in an i64. */
export function jsonInt(v: Val, fallback: i64 = 0): i64 {
  const s = valPtr(v), n = valLen(v);
  let i = ws(s, n, 0);
  let neg = false;
  if (i < n && load<u8>(s + i) == 0x2d) {
    neg = true;
    i++;
  }
  const limit: u64 = neg ? 0x8000000000000000 : 0x7fffffffffffffff;
  let r: u64 = 0;
  let digits = 0;
  while (i < n) {
    const d = <u64>load<u8>(s + i) - 0x30;
    if (d > 9) break;
    if (r > (limit - d) / 10) return fallback;
    r = r * 10 + d;
    digits++;
    i++;
  }
  if (digits == 0 || ws(s, n, i) != n) return fallback;
  return neg ? <i64>(0 - r) : <i64>r;
}

/** The number v, or fallback when v is not a number. */
export function jsonNumber(v: Val, fallback: f64 = NaN): f64 {
  if (jsonType(v) != 0x30) return fallback;
  const f = parseFloat(jsonRaw(v).trim());
  return isNaN(f) ? fallback : f;
}

/** The boolean v, or fallback when v is not true or false. */
export function jsonBool(v: Val, fallback: bool = false): bool {
  const s = valPtr(v), n = valLen(v);
  const i = ws(s, n, 0);
  if (n - i >= 4 && load<u32>(s + i) == 0x65757274 && ws(s, n, i + 4) == n) return true; // "true"
  if (n - i >= 5 && load<u32>(s + i) == 0x736c6166 && load<u8>(s + i + 4) == 0x65 && ws(s, n, i + 5) == n) return false; // "false"
  return fallback;
}
