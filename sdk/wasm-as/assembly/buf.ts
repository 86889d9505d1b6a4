// Buf: a growable byte buffer for building outputs and scratch text.

// Its bytes live in unmanaged memory (heap.alloc): the garbage collector neither frees nor
// moves them, so a pointer into a Buf handed to the host stays valid for as long as the Buf
// keeps it, whatever the plugin allocates in between. Strings are scanned and escaped eight bytes
// at a time (SWAR: SIMD within a register), since a plugin's input is mostly string text.

// @ts-ignore: decorator
@inline const ONES: u64 = 0x0101010101010101;
// @ts-ignore: decorator
@inline const HIGHS: u64 = 0x8080808080808080;

// @ts-ignore: decorator
@inline export function hasZero(x: u64): u64 {
  return (x - ONES) & ~x & HIGHS;
}
// @ts-ignore: decorator
@inline export function hasByte(x: u64, b: u64): u64 {
  return hasZero(x ^ (ONES * b));
}
// @ts-ignore: decorator
@inline function hasLess(x: u64, b: u64): u64 {
  return (x - ONES * b) & ~x & HIGHS;
}

// The largest buffer a Buf grows to; past it, appends fail (see Buf.failed).
const MAX_BUF: usize = 1 << 30;

const HEX = memory.data<u8>([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
]);

/** A growable byte buffer in unmanaged memory. */
export class Buf {
  /** Address of the first byte (0 until the first append). */
  data: usize = 0;
  /** Bytes written. */
  len: usize = 0;
  /** Bytes allocated. */
  cap: usize = 0;
  /** Set when the buffer would have grown past 1 GiB; appends then do nothing, and
   * finish() reports an error instead of a truncated document. Running out of the sandbox's
   * memory traps instead (the host reports a memory fault). */
  failed: bool = false;

  /** Empties the buffer, keeping its memory. */
  reset(): Buf {
    this.len = 0;
    this.failed = false;
    return this;
  }

  /** Gives the buffer's memory back and empties it. */
  release(): void {
    if (this.data != 0) heap.free(this.data);
    this.data = 0;
    this.len = 0;
    this.cap = 0;
    this.failed = false;
  }

  /** Makes room for extra more bytes; false if the buffer has failed. */
  reserve(extra: usize): bool {
    if (this.failed) return false;
    const need = this.len + extra;
    if (need <= this.cap) return true;
    if (need > MAX_BUF || need < this.len) {
      this.failed = true;
      return false;
    }
    let cap = this.cap != 0 ? this.cap : 256;
    while (cap < need) cap <<= 1;
    this.data = this.data != 0 ? heap.realloc(this.data, cap) : heap.alloc(cap);
    this.cap = cap;
    return true;
  }

  /** Appends one byte. */
  putByte(c: u8): Buf {
    if ((this.len < this.cap && !this.failed) || this.reserve(1)) {
      store<u8>(this.data + this.len, c);
      this.len++;
    }
    return this;
  }

  /** Appends n bytes from ptr. */
  putBytes(ptr: usize, n: usize): Buf {
    if (n != 0 && this.reserve(n)) {
      memory.copy(this.data + this.len, ptr, n);
      this.len += n;
    }
    return this;
  }

  /** Appends the text of a JSON value (a Val from the reader) as it is. */
  putVal(v: u64): Buf {
    return this.putBytes(<usize>(v >>> 32), <usize>(<u32>v));
  }

  /** Appends another buffer's bytes. */
  putBuf(b: Buf): Buf {
    return this.putBytes(b.data, b.len);
  }

  /** Appends s encoded as UTF-8, as it is (no quotes, no escapes); an unpaired surrogate
   * becomes U+FFFD. Use it for JSON text the plugin writes itself: putStr('{"body":'). */
  putStr(s: string): Buf {
    const n = <usize>String.UTF8.byteLength(s);
    if (this.reserve(n)) {
      this.len += String.UTF8.encodeUnsafe(
        changetype<usize>(s), s.length, this.data + this.len, false, String.UTF8.ErrorMode.REPLACE);
    }
    return this;
  }

  /** Appends a signed integer in decimal. */
  putInt(v: i64): Buf {
    const tmp = memory.data(24);
    let i: usize = 24;
    let u: u64 = v < 0 ? <u64>(0 - v) : <u64>v;
    do {
      store<u8>(tmp + --i, <u8>(0x30 + u % 10));
      u /= 10;
    } while (u != 0);
    if (v < 0) store<u8>(tmp + --i, 0x2d);
    return this.putBytes(tmp + i, 24 - i);
  }

  /** Appends the JSON literal true or false. */
  putBool(v: bool): Buf {
    return this.putStr(v ? "true" : "false");
  }

  /** Appends s as a JSON string: quoted and escaped. */
  putJsonString(s: string): Buf {
    const tmp = scratch.reset();
    tmp.putStr(s);
    return this.putJsonBytes(tmp.data, tmp.len);
  }

  /** Appends the UTF-8 text at ptr[0..n) as a JSON string: quoted; '"', '\\' and control
   * characters escaped (\n, \r, \t, else \u00XX); invalid UTF-8 becomes \ufffd; everything
   * else, non-ASCII text included, as it is. */
  putJsonBytes(s: usize, n: usize): Buf {
    if (!this.reserve(n + 2)) return this;
    this.putByte(0x22);
    let start: usize = 0;
    let i: usize = 0;
    while (i < n) {
      if (i + 8 <= n) { // eight plain ASCII bytes at a time
        const x = load<u64>(s + i);
        if (((hasLess(x, 0x20) | hasByte(x, 0x22) | hasByte(x, 0x5c) | x) & HIGHS) == 0) {
          i += 8;
          continue;
        }
      }
      const c = load<u8>(s + i);
      if (c >= 0x20 && c != 0x22 && c != 0x5c && c < 0x80) {
        i++;
        continue;
      }
      if (c >= 0x80) {
        const l = utf8Len(s + i, n - i);
        if (l != 0) {
          i += l;
          continue;
        }
        this.putBytes(s + start, i - start);
        this.putStr("\\ufffd");
        start = ++i;
        continue;
      }
      this.putBytes(s + start, i - start);
      this.putByte(0x5c);
      if (c == 0x22) this.putByte(0x22);
      else if (c == 0x5c) this.putByte(0x5c);
      else if (c == 0x0a) this.putByte(0x6e);
      else if (c == 0x0d) this.putByte(0x72);
      else if (c == 0x09) this.putByte(0x74);
      else {
        this.putStr("u00");
        this.putByte(load<u8>(HEX + (c >> 4)));
        this.putByte(load<u8>(HEX + (c & 15)));
      }
      start = ++i;
    }
    this.putBytes(s + start, n - start);
    this.putByte(0x22);
    return this;
  }

  /** The buffer's bytes decoded as UTF-8 into a new string. */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.data, this.len);
  }
}

// A scratch buffer for the SDK's own conversions (strings to UTF-8), reused from call to call.
const scratch = new Buf();

/** utf8Len returns the length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid
 * (overlong, a surrogate, past U+10FFFF or cut short). */
export function utf8Len(s: usize, n: usize): usize {
  const c = <u32>load<u8>(s);
  let len: usize;
  let min: u32;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (len > n) return 0;
  let r = c & (0xff >> <u32>(len + 1));
  for (let i: usize = 1; i < len; i++) {
    const b = <u32>load<u8>(s + i);
    if ((b & 0xc0) != 0x80) return 0;
    r = (r << 6) | (b & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return 0;
  return len;
}
