// pii-redact-as: examples/plugins/pii-redact (C) in AssemblyScript, with the sdk/wasm-as SDK.
// A request transform that replaces e-mail addresses, phone numbers and payment card numbers
// in a chat request's messages with [REDACTED] before the request leaves the gateway.
//
// It looks at the text of every message: "content" when it is a string, and the "text" of each
// part when it is an array. Everything else in the request is copied byte for byte. The rules,
// as in pii_redact.c:
//
//   e-mail  local@domain.tld: local part [A-Za-z0-9._%+-] and non-ASCII letters, domain
//           [A-Za-z0-9.-] and non-ASCII letters, with a dot and a top-level label of two or more
//           ASCII letters.
//   card    13 to 19 digits, optionally grouped by single spaces or hyphens, passing the Luhn
//           check.
//   phone   7 to 15 digits, optionally led by '+' and grouped by spaces, hyphens or
//           parentheses, that start with '+', contain a separator, or have 10 digits or more
//           (so "2024" or "1234567" stay). Dots do not separate, so decimals stay too. A run of
//           digits that is neither is skipped whole, so no part of it matches on its own.
//
// The text is scanned as UTF-8 bytes in the SDK's unmanaged buffers, as the C version does; a
// call allocates nothing on the garbage-collected heap but an iterator per object and array.

import {
  iom_abi_version, iom_alloc, iom_free, Buf, Val, Members, Elements, readEnvelope, jsonGet,
  jsonIs, jsonType, jsonUnescape, valPtr, valLen, output, finish, describeOutput, UNCHANGED,
} from "@iom/wasm-as";

export { iom_abi_version, iom_alloc, iom_free };

const REDACTED = "[REDACTED]";

// Character classes, by table: the scan looks at every byte of every message. Bytes of
// multi-byte UTF-8 sequences count as letters, for internationalised addresses. The table is
// filled by top-level code, which runs once per instance in the module's start function.
const DIGIT: u8 = 1;
const ALPHA: u8 = 2;
const LOCAL: u8 = 4;
const DOMAIN: u8 = 8;
const cls = memory.data(256);

for (let c: u32 = 0; c < 256; c++) {
  let k: u8 = 0;
  if (c >= 0x30 && c <= 0x39) k |= DIGIT | LOCAL | DOMAIN; // 0-9
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) k |= ALPHA | LOCAL | DOMAIN; // a-z A-Z
  if (c >= 0x80) k |= LOCAL | DOMAIN;
  if (c == 0x2e || c == 0x2d) k |= LOCAL | DOMAIN; // . -
  if (c == 0x5f || c == 0x25 || c == 0x2b) k |= LOCAL; // _ % +
  store<u8>(cls + c, k);
}

// @ts-ignore: decorator
@inline function is(c: u8, k: u8): bool {
  return (load<u8>(cls + <usize>c) & k) != 0;
}

// domainEnd returns the end of an address's domain starting at s[d], or 0: a dot, and a
// top-level label of two or more ASCII letters.
function domainEnd(s: usize, n: usize, d: usize): usize {
  let k = d;
  while (k < n && is(load<u8>(s + k), DOMAIN)) k++;
  while (k > d && (load<u8>(s + k - 1) == 0x2e || load<u8>(s + k - 1) == 0x2d)) k--; // a sentence's full stop
  let dot: usize = 0;
  for (let x = d; x < k; x++) {
    if (load<u8>(s + x) == 0x2e) dot = x;
  }
  if (dot == 0 || dot == d || k - dot - 1 < 2) return 0;
  for (let x = dot + 1; x < k; x++) {
    if (!is(load<u8>(s + x), ALPHA)) return 0;
  }
  return k;
}

function luhn(digits: usize, n: usize): bool {
  let sum = 0;
  for (let i: usize = 0; i < n; i++) {
    let d = <i32>load<u8>(digits + n - 1 - i) - 0x30;
    if (i % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 == 0;
}

// The end of the run numberEnd read: a second result, as AssemblyScript returns one value.
let scanned: usize = 0;

// numberEnd returns the end of a card or phone number starting at s[i], or 0. It sets scanned
// to the end of the run of digits and separators it read, so a run that is neither is skipped
// whole rather than matched again from its middle.
function numberEnd(s: usize, n: usize, i: usize): usize {
  const digits = memory.data(20);
  let nd: usize = 0;
  let j = i;
  let end: usize = 0;
  let plus = false, sep = false, tooLong = false;
  let run = 0;
  if (load<u8>(s + j) == 0x2b) { // +
    plus = true;
    j++;
  }
  while (j < n) {
    const c = load<u8>(s + j);
    if (is(c, DIGIT)) {
      if (nd == 20) tooLong = true;
      else store<u8>(digits + nd++, c);
      if (run > 0 && nd > 1) sep = true;
      run = 0;
      end = ++j;
    } else if ((c == 0x20 || c == 0x2d || c == 0x28 || c == 0x29) && run < 2) { // space - ( )
      run++;
      j++;
    } else {
      break;
    }
  }
  scanned = end > i ? end : i + 1;
  // digits running into a letter, or into an address ("+15551234567@example.com"), are not a
  // number of their own
  if (end == 0 || tooLong || (end < n && (is(load<u8>(s + end), DIGIT | ALPHA) || load<u8>(s + end) == 0x40))) return 0;
  if (nd >= 13 && nd <= 19 && !plus && luhn(digits, nd)) return end;
  if (nd >= 7 && nd <= 15 && (plus || sep || nd >= 10)) return end;
  return 0;
}

// redact appends s[0..n) to out with PII replaced; returns how many spans it replaced. An
// address is found from its '@', looking back for the local part and ahead for the domain, so
// ordinary words cost one table lookup per byte.
function redact(s: usize, n: usize, out: Buf): i32 {
  let count = 0;
  let i: usize = 0, copied: usize = 0;
  while (i < n) {
    const c = load<u8>(s + i);
    let start = i, end: usize = 0;
    if (c == 0x40) { // @
      while (start > copied && is(load<u8>(s + start - 1), LOCAL)) start--;
      if (start < i) end = domainEnd(s, n, i + 1);
    } else if ((is(c, DIGIT) || c == 0x2b || c == 0x28) && (i == 0 || !is(load<u8>(s + i - 1), DIGIT | ALPHA))) {
      end = numberEnd(s, n, i);
      if (end == 0) {
        i = scanned;
        continue;
      }
    }
    if (end != 0) {
      out.putBytes(s + copied, start - copied);
      out.putStr(REDACTED);
      count++;
      i = copied = end;
      continue;
    }
    i++;
  }
  out.putBytes(s + copied, n - copied);
  return count;
}

const text = new Buf();
const clean = new Buf();

// putText writes the JSON string v to out, redacted; returns the number of redactions.
function putText(v: Val, out: Buf): i32 {
  text.reset();
  clean.reset();
  if (!jsonUnescape(v, text) || text.failed) {
    out.putVal(v);
    return 0;
  }
  const count = redact(text.data, text.len, clean);
  if (count == 0 || clean.failed) {
    out.putVal(v); // unchanged: keep the original escaping
    return 0;
  }
  out.putJsonBytes(clean.data, clean.len);
  return count;
}

// putObject copies an object, putting the string value of member field through putText, and
// an array value of "content" through putParts.
function putObject(obj: Val, field: string, out: Buf): i32 {
  if (jsonType(obj) != 0x7b) { // {
    out.putVal(obj);
    return 0;
  }
  let count = 0;
  let first = true;
  const it = new Members(obj);
  out.putByte(0x7b);
  while (it.next()) {
    if (!first) out.putByte(0x2c);
    first = false;
    const k = it.key, v = it.value;
    out.putVal(k);
    out.putByte(0x3a);
    if (jsonIs(k, field) && jsonType(v) == 0x22) count += putText(v, out);
    else if (jsonIs(k, "content") && jsonType(v) == 0x5b) count += putParts(v, out);
    else out.putVal(v);
  }
  out.putByte(0x7d);
  return count;
}

function putParts(arr: Val, out: Buf): i32 {
  let count = 0;
  let first = true;
  const it = new Elements(arr);
  out.putByte(0x5b);
  while (it.next()) {
    if (!first) out.putByte(0x2c);
    first = false;
    count += putObject(it.value, "text", out);
  }
  out.putByte(0x5d);
  return count;
}

export function iom_transform(ptr: usize, len: u32): u64 {
  const env = readEnvelope(ptr, len);
  if (!env.isRequest) return UNCHANGED;
  const body = env.body;
  const messages = jsonGet(body, "messages");
  if (jsonType(messages) != 0x5b) return UNCHANGED; // [

  const out = output();
  out.putStr('{"body":');
  out.putBytes(valPtr(body), valPtr(messages) - valPtr(body));
  let count = 0;
  let first = true;
  const it = new Elements(messages);
  out.putByte(0x5b);
  while (it.next()) {
    if (!first) out.putByte(0x2c);
    first = false;
    count += putObject(it.value, "content", out);
  }
  out.putByte(0x5d);
  const rest = valPtr(messages) + valLen(messages);
  out.putBytes(rest, valPtr(body) + valLen(body) - rest);
  out.putByte(0x7d);
  if (count == 0) return UNCHANGED; // nothing to redact: unchanged
  return finish();
}

export function iom_describe(): u64 {
  return describeOutput("pii-redact-as", ["transform"], "1.0.0");
}
