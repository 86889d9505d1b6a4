// Tests the SDK the way the gateway drives a module (ABI v1, wasm/ABI.md §3): builds
// test/sdk.ts with build.sh, then calls iom_alloc, the role function and iom_free on it.
// Run with: npm test (after npm ci).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const sdk = dirname(dirname(fileURLToPath(import.meta.url)));
let dir, binary;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "iom-wasm-as-test-"));
  const wasm = join(dir, "sdk.wasm");
  execFileSync("bash", [join(sdk, "build.sh"), join(sdk, "test", "sdk.ts"), wasm], { stdio: "inherit" });
  binary = readFileSync(wasm);
});

after(() => rmSync(dir, { recursive: true, force: true }));

// instantiate returns a fresh instance and the lines it logs through iom.log.
async function instantiate() {
  const logs = [];
  let memory;
  const imports = {
    iom: {
      log(level, ptr, len) {
        logs.push([level, Buffer.from(memory.buffer, ptr, len).toString("utf8")]);
      },
    },
  };
  const { instance } = await WebAssembly.instantiate(binary, imports);
  memory = instance.exports.memory;
  return { ex: instance.exports, logs };
}

// call passes doc (bytes, a string or a value to encode) to export as the host does and
// returns the output as a string, or null for no output.
function call(ex, exp, doc) {
  const bytes = Buffer.isBuffer(doc) ? doc : Buffer.from(typeof doc === "string" ? doc : JSON.stringify(doc));
  const ptr = ex.iom_alloc(bytes.length);
  assert.notEqual(ptr, 0);
  new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
  const r = exp === "iom_describe" ? ex.iom_describe() : ex[exp](ptr, bytes.length);
  const len = Number(BigInt.asUintN(64, r) & 0xffffffffn);
  const at = Number(BigInt.asUintN(64, r) >> 32n);
  if (len === 0) return null;
  const out = Buffer.from(new Uint8Array(ex.memory.buffer, at, len)).toString("utf8");
  ex.iom_free(at, len);
  return out;
}

function envelope(body, stage = "request") {
  return {
    abi: 1,
    stage,
    body,
    config: { level: 2, names: ["a"] },
    metadata: { requestId: "r1", model: "local", provider: "openai", key: "k", org: "o", op: "chat", stream: false },
  };
}

test("ABI exports", async () => {
  const { ex } = await instantiate();
  assert.equal(ex.iom_abi_version(), 1);
  assert.ok(ex.memory instanceof WebAssembly.Memory);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(binary));
  assert.deepEqual(imports.map((i) => `${i.module}.${i.name}`), ["iom.log"]);
});

test("reads an envelope", async () => {
  const { ex } = await instantiate();
  const body = {
    op: "read",
    s: "quote \" backslash \\ newline \n tab \t ctl \u0001 é 🌍",
    int: 42,
    neg: -7,
    min: -9223372036854775808n,
    big: 9223372036854775808n,
    num: 3.25,
    t: true,
    f: false,
    null: null,
    "clé 🌍": "found",
    obj: { a: 1, "b\"c": [2], d: { e: null } },
    arr: [{}, [], "x", 1, -2, null, true, false],
  };
  // BigInts are written by hand: JSON.stringify has no 64-bit integers.
  const doc = JSON.stringify(envelope(body), (k, v) => (typeof v === "bigint" ? `@${v}@` : v)).replace(/"@(-?\d+)@"/g, "$1");
  const out = JSON.parse(call(ex, "iom_transform", doc)).body;
  assert.deepEqual(out, {
    stage: "request",
    request: true,
    model: "local",
    config: { level: 2, names: ["a"] },
    s: body.s,
    int: 42,
    neg: -7,
    min: -9223372036854775808,
    big: -1,
    frac: -2,
    num: 3.25,
    t: true,
    f: false,
    null: true,
    missing: true,
    unicodeKey: "found",
    keys: ["a", "b\"c", "d"],
    types: "{[s00ntf",
    raw: JSON.stringify(body.obj),
  });
});

test("reads an envelope with spaces between its tokens", async () => {
  const { ex } = await instantiate();
  const body = '{ "op" :\t"echo" ,\r\n "list" : [ 1 , { "a" : [ ] } ] }';
  const doc = `{ "abi" : 1 ,\n "stage" : "request" , "body" : ${body} , "metadata" : { } }`;
  assert.equal(call(ex, "iom_transform", doc), `{"body":${body}}`);
});

test("escapes strings as the C SDK does", async () => {
  const { ex } = await instantiate();
  const cases = [
    ["plain text, long enough for the eight-byte path", "plain text, long enough for the eight-byte path"],
    ['a "quoted" \\ path', 'a \\"quoted\\" \\\\ path'],
    ["lines\nand\ttabs\rand \u0001\u001f", "lines\\nand\\ttabs\\rand \\u0001\\u001f"],
    ["é, ü, 🌍 and \u007f stay", "é, ü, 🌍 and \u007f stay"],
    ["\ud83c\udf0d from a pair", "🌍 from a pair"],
  ];
  for (const [s, want] of cases) {
    assert.equal(call(ex, "iom_transform", envelope({ op: "escape", s })), `{"body":"${want}"}`);
  }
  // a lone surrogate escape and invalid UTF-8 become U+FFFD
  assert.equal(call(ex, "iom_transform", '{"body":{"op":"escape","s":"x\\ud800y"}}'), '{"body":"x\ufffdy"}');
  const raw = Buffer.concat([Buffer.from('{"body":{"op":"escape","s":"a'), Buffer.from([0xff, 0xc3]), Buffer.from('b"}}')]);
  assert.equal(call(ex, "iom_transform", raw), '{"body":"a\\ufffd\\ufffdb"}');
});

test("outputs", async () => {
  const { ex } = await instantiate();
  assert.equal(call(ex, "iom_transform", envelope({ op: "none" })), null);
  assert.equal(call(ex, "iom_transform", envelope({ op: "body" })), '{"body":{"x":1}}');
  assert.equal(
    call(ex, "iom_transform", envelope({ op: "error", message: 'no "thing"' })),
    '{"error":{"message":"no \\"thing\\"","code":"test_code"}}',
  );
  assert.equal(call(ex, "iom_transform", envelope({ op: "error-nocode" })), '{"error":{"message":"plain"}}');
  assert.equal(call(ex, "iom_transform_chunk", envelope({}, "chunk")), '{"drop":true}');
  assert.deepEqual(JSON.parse(call(ex, "iom_describe", "")), {
    name: "sdk-test",
    language: "assemblyscript",
    roles: ["transform", "transform_chunk"],
    version: "0.1.0",
  });
});

test("large inputs and outputs, then small ones", async () => {
  const { ex } = await instantiate();
  for (const n of [10, 3 << 20, 10, 5 << 20, 10]) {
    const out = call(ex, "iom_transform", envelope({ op: "big", n, pad: "p".repeat(n) }));
    assert.equal(out, `{"body":"${"a".repeat(n)}"}`);
  }
});

test("logs through iom.log", async () => {
  const { ex, logs } = await instantiate();
  assert.equal(call(ex, "iom_transform", envelope({ op: "log" })), null);
  assert.deepEqual(logs, [[2, "héllo 🌍"]]);
});

test("abort logs its text at error level and traps", async () => {
  const { ex, logs } = await instantiate();
  assert.throws(() => call(ex, "iom_transform", envelope({ op: "throw" })), WebAssembly.RuntimeError);
  assert.equal(logs.length, 1);
  assert.equal(logs[0][0], 3);
  assert.match(logs[0][1], /^abort: thrown by the test at sdk\.ts:\d+:\d+$/);
});
