// @iom/wasm-as: the AssemblyScript guest SDK for IoM's WASM plugins, ABI v1 (wasm/ABI.md).
//
// A plugin re-exports the three functions every ABI v1 module needs and exports its role
// functions itself, so a module claims only the roles it implements:
//
//     import { iom_abi_version, iom_alloc, iom_free, readEnvelope, jsonGet, startBody,
//              endBody, errorOutput, UNCHANGED, NONE } from "@iom/wasm-as";
//     export { iom_abi_version, iom_alloc, iom_free };
//
//     export function iom_transform(ptr: usize, len: u32): u64 {
//       const env = readEnvelope(ptr, len);
//       if (!env.isRequest) return UNCHANGED;
//       if (env.body == NONE) return errorOutput("no body", "bad_request");
//       startBody().putVal(env.body);           // {"body":<the body as it came>
//       return endBody();                       // ...} packed as (ptr << 32) | len
//     }
//
// Build with sdk/wasm-as/build.sh, which compiles with the incremental runtime and routes
// AssemblyScript's abort, trace and seed to the functions below (see README.md for why).
//
// Memory: the input the host writes (through iom_alloc) lives in one buffer that the SDK reuses
// for every call, and so does the output buffer (output()). Both are unmanaged memory, which the
// garbage collector never frees or moves: the output stays valid until the host's iom_free, as
// the ABI requires. A Val is a span of the input, so it is valid only during the call.

export * from "./buf";
export * from "./json";

import { Buf } from "./buf";
import { Val, NONE, span, jsonIs, Members } from "./json";

/** The ABI version this SDK speaks. */
export const ABI_VERSION: i32 = 1;

// ---- ABI exports ----------------------------------------------------------------------------

/** Returns 1, the ABI version. Re-export it from the plugin's entry file. */
export function iom_abi_version(): i32 {
  return ABI_VERSION;
}

// The host calls iom_alloc once per call, for the input, and never touches the input after the
// role function returns, so one buffer, grown as needed, serves every call. A buffer grown past
// BIG is given back when a much smaller input comes, so one huge request does not pin its memory.
const BIG: usize = 1 << 20;
let inBuf: usize = 0;
let inCap: usize = 0;

/** Returns a buffer of at least size bytes for the host to write an input into, or 0 for a
 * size past what the allocator can give (1 GiB). Running out of the sandbox's memory traps
 * instead, which the host reports as a memory fault. Re-export it from the plugin's entry file. */
export function iom_alloc(size: u32): usize {
  const n: usize = size != 0 ? <usize>size : 1;
  if (n > 1 << 30) return 0;
  if (n > inCap || (inCap > BIG && n <= inCap >> 2)) {
    if (inBuf != 0) heap.free(inBuf);
    inBuf = heap.alloc(n);
    inCap = n;
  }
  return inBuf;
}

const outBuf = new Buf();

/** The host is done with an output. Outputs live in the SDK's output buffer, which is kept for
 * the next call (given back only when it has grown past 1 MiB), or in static memory or the
 * input, which need nothing. Re-export it from the plugin's entry file. */
export function iom_free(ptr: usize, len: u32): void {
  if (ptr == outBuf.data && outBuf.cap > BIG) outBuf.release();
}

// ---- Logging --------------------------------------------------------------------------------

// @ts-ignore: decorator
@external("iom", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;

/** Log levels of the host's iom.log. */
export enum Level {
  Debug = 0,
  Info = 1,
  Warn = 2,
  Error = 3,
}

const logBuf = new Buf();

/** Sends msg to the gateway's log at level, tagged with the plugin's name. The host bounds
 * the lines a plugin may log (ABI §4). */
export function log(level: Level, msg: string): void {
  logBuf.reset().putStr(msg);
  hostLog(level, logBuf.data, logBuf.len);
  if (logBuf.cap > 1 << 16) logBuf.release();
}

/** Logs the UTF-8 text at ptr[0..len). */
export function logBytes(level: Level, ptr: usize, len: usize): void {
  hostLog(level, ptr, len);
}

/** log(Level.Debug, msg). */
export function logDebug(msg: string): void {
  log(Level.Debug, msg);
}
/** log(Level.Info, msg). */
export function logInfo(msg: string): void {
  log(Level.Info, msg);
}
/** log(Level.Warn, msg). */
export function logWarn(msg: string): void {
  log(Level.Warn, msg);
}
/** log(Level.Error, msg). */
export function logError(msg: string): void {
  log(Level.Error, msg);
}

// ---- Runtime hooks --------------------------------------------------------------------------

// AssemblyScript imports abort, trace and seed from the module "env", which the host refuses.
// build.sh points them here with --use abort=… (and trace, seed), so a failed assertion, a
// throw or an out-of-range index ends the call with a trap whose reason is in the log.

// The abort text is built in static memory, with no globals: abort may be called because
// memory ran out, or by the runtime before this file's globals are initialised.
// The text's bound, 1024 bytes, is written out as a literal for the same reason.

// abortPut appends s, as UTF-8, to the abort text at buf[0..pos); returns the new length.
function abortPut(buf: usize, pos: usize, s: string): usize {
  for (let i = 0; i < s.length; i++) {
    let c = <u32>s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = <u32>s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    const need: usize = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (pos + need > 1024) break;
    const p = buf + pos;
    if (need == 1) {
      store<u8>(p, <u8>c);
    } else if (need == 2) {
      store<u8>(p, <u8>(0xc0 | (c >> 6)));
      store<u8>(p, <u8>(0x80 | (c & 0x3f)), 1);
    } else if (need == 3) {
      store<u8>(p, <u8>(0xe0 | (c >> 12)));
      store<u8>(p, <u8>(0x80 | ((c >> 6) & 0x3f)), 1);
      store<u8>(p, <u8>(0x80 | (c & 0x3f)), 2);
    } else {
      store<u8>(p, <u8>(0xf0 | (c >> 18)));
      store<u8>(p, <u8>(0x80 | ((c >> 12) & 0x3f)), 1);
      store<u8>(p, <u8>(0x80 | ((c >> 6) & 0x3f)), 2);
      store<u8>(p, <u8>(0x80 | (c & 0x3f)), 3);
    }
    pos += need;
  }
  return pos;
}

// abortPutU32 appends v in decimal.
function abortPutU32(buf: usize, pos: usize, v: u32): usize {
  const tmp = memory.data(10);
  let i: usize = 10;
  do {
    store<u8>(tmp + --i, <u8>(0x30 + v % 10));
    v /= 10;
  } while (v != 0);
  for (; i < 10 && pos < 1024; i++) store<u8>(buf + pos++, load<u8>(tmp + i));
  return pos;
}

/** AssemblyScript's abort, which build.sh routes here: logs "abort: MESSAGE at FILE:LINE:COL"
 * at error level and traps, which ends the call with a trap error (and discards the instance). */
export function abortHook(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  const buf = memory.data(1024);
  let n = abortPut(buf, 0, "abort: ");
  n = abortPut(buf, n, message !== null ? message : "(no message)");
  if (fileName !== null) {
    n = abortPut(buf, n, " at ");
    n = abortPut(buf, n, fileName);
    n = abortPut(buf, n, ":");
    n = abortPutU32(buf, n, line);
    n = abortPut(buf, n, ":");
    n = abortPutU32(buf, n, column);
  }
  hostLog(3, buf, n); // error level
  unreachable();
}

/** AssemblyScript's trace, which build.sh routes here: logs the message and its numbers at
 * debug level. */
export function traceHook(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let s = "trace: " + message;
  if (n > 0) s += " " + a0.toString();
  if (n > 1) s += ", " + a1.toString();
  if (n > 2) s += ", " + a2.toString();
  if (n > 3) s += ", " + a3.toString();
  if (n > 4) s += ", " + a4.toString();
  log(Level.Debug, s);
}

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function randomGet(buf: usize, len: usize): u16;

/** AssemblyScript's seed (for Math.random), which build.sh routes here: eight bytes from WASI's
 * random_get, which the host makes a fixed sequence unless the plugin's config grants random. */
export function seedHook(): f64 {
  const b = memory.data(8);
  randomGet(b, 8);
  return reinterpret<f64>((load<u64>(b) & 0x000fffffffffffff) | 0x3ff0000000000000);
}

// ---- Inputs ---------------------------------------------------------------------------------

/** The input document at ptr[0..len), as the role function received it. */
export function input(ptr: usize, len: u32): Val {
  return span(ptr, len);
}

/** The members of a transform input (ABI §5.1, §5.2) that a transform reads, found in one pass
 * over the document. Each is NONE when the input lacks it. */
export class Envelope {
  /** The whole input document. */
  doc: Val = NONE;
  /** "request", "response" or "chunk", as a JSON string. */
  stage: Val = NONE;
  /** The request, response or chunk. */
  body: Val = NONE;
  /** The plugin's configuration (null when it has none). */
  config: Val = NONE;
  /** requestId, model, provider, key, org, op, stream, and outputSchema when there is one. */
  metadata: Val = NONE;

  /** Whether the stage is name. */
  stageIs(name: string): bool {
    return jsonIs(this.stage, name);
  }
  /** The request stage. */
  get isRequest(): bool {
    return jsonIs(this.stage, "request");
  }
  /** The response stage. */
  get isResponse(): bool {
    return jsonIs(this.stage, "response");
  }
  /** A stream chunk (iom_transform_chunk). */
  get isChunk(): bool {
    return jsonIs(this.stage, "chunk");
  }
}

const envelope = new Envelope();
const envMembers = new Members(NONE);

/** Reads a transform input. The result is the SDK's one Envelope, refilled on every call: like
 * the input it spans, it is valid until the role function returns. */
export function readEnvelope(ptr: usize, len: u32): Envelope {
  const e = envelope;
  e.doc = span(ptr, len);
  e.stage = NONE;
  e.body = NONE;
  e.config = NONE;
  e.metadata = NONE;
  const it = envMembers.reset(e.doc);
  while (it.next()) {
    const k = it.key;
    if (jsonIs(k, "stage")) e.stage = it.value;
    else if (jsonIs(k, "body")) e.body = it.value;
    else if (jsonIs(k, "config")) e.config = it.value;
    else if (jsonIs(k, "metadata")) e.metadata = it.value;
  }
  return e;
}

// ---- Outputs --------------------------------------------------------------------------------

/** The result that means "no output": for a transform, unchanged. */
export const UNCHANGED: u64 = 0;

/** Packs an output buffer as the ABI's (ptr << 32) | len. The buffer must stay valid and
 * unchanged until iom_free, so it must be the output buffer, static memory or the input. */
// @ts-ignore: decorator
@inline export function pack(ptr: usize, len: usize): u64 {
  return (<u64>ptr << 32) | <u64>(<u32>len);
}

/** The SDK's output buffer, emptied. */
export function output(): Buf {
  return outBuf.reset();
}

/** Returns the output buffer packed for the host; 0 (no output) when it is empty. b, when
 * given and not the output buffer itself, is copied into it first. A buffer that failed gives
 * an error output instead of a truncated document. */
export function finish(b: Buf | null = null): u64 {
  if (b !== null && b !== outBuf) {
    outBuf.reset().putBuf(b);
    if (b.failed) outBuf.failed = true;
  }
  if (outBuf.failed) return errorOutput("the plugin's output grew past 1 GiB", "too_large");
  if (outBuf.len == 0) return UNCHANGED;
  return pack(outBuf.data, outBuf.len);
}

/** Returns the error object {"error":{"message":message,"code":code}} (code left out when
 * null): the call fails with the host's guest error quoting message. */
export function errorOutput(message: string, code: string | null = null): u64 {
  const b = outBuf.reset();
  b.putStr('{"error":{"message":').putJsonString(message);
  if (code !== null) b.putStr(',"code":').putJsonString(code);
  b.putStr("}}");
  if (b.failed) return UNCHANGED;
  return pack(b.data, b.len);
}

/** Empties the output buffer and starts {"body": in it; write the new body's JSON, then
 * return endBody(). */
export function startBody(): Buf {
  return outBuf.reset().putStr('{"body":');
}

/** Closes what startBody began and returns it packed. */
export function endBody(): u64 {
  outBuf.putByte(0x7d);
  return finish();
}

/** Returns {"body":json}: json is the new body's JSON text, written as it is. */
export function bodyOutput(json: string): u64 {
  startBody().putStr(json);
  return endBody();
}

/** Returns {"body":v}, a value of the input (or any span) copied as it is. */
export function bodyOutputVal(v: Val): u64 {
  startBody().putVal(v);
  return endBody();
}

/** Returns {"drop":true}: from iom_transform_chunk, leave this chunk out of the stream. */
export function dropChunk(): u64 {
  return finish(outBuf.reset().putStr('{"drop":true}'));
}

/** Returns the iom_describe output {"name","language":"assemblyscript","roles","version"}. */
export function describeOutput(name: string, roles: string[], version: string): u64 {
  const b = outBuf.reset();
  b.putStr('{"name":').putJsonString(name).putStr(',"language":"assemblyscript","roles":[');
  for (let i = 0; i < roles.length; i++) {
    if (i > 0) b.putByte(0x2c);
    b.putJsonString(roles[i]);
  }
  b.putStr('],"version":').putJsonString(version).putByte(0x7d);
  return finish();
}
