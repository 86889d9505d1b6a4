// A module that exercises the SDK for test/sdk.test.mjs: iom_transform does what the body's
// "op" member asks and writes back what it read.

import {
  iom_abi_version, iom_alloc, iom_free, Buf, Level, Members, Elements, readEnvelope, jsonGet,
  jsonPath, jsonIs, jsonType, jsonString, jsonUnescape, jsonInt, jsonNumber, jsonBool, jsonRaw,
  isNull, log, output, finish, errorOutput, bodyOutput, bodyOutputVal, dropChunk,
  describeOutput, UNCHANGED, NONE,
} from "@iom/wasm-as";

export { iom_abi_version, iom_alloc, iom_free };

const text = new Buf();

export function iom_transform(ptr: usize, len: u32): u64 {
  const env = readEnvelope(ptr, len);
  const b = env.body;
  const op = jsonGet(b, "op");
  if (jsonIs(op, "read")) {
    const out = output();
    out.putStr('{"body":{"stage":').putJsonString(jsonString(env.stage)!);
    out.putStr(',"request":').putBool(env.isRequest);
    out.putStr(',"model":').putJsonString(jsonString(jsonPath(env.metadata, ["model"]))!);
    out.putStr(',"config":').putVal(env.config);
    out.putStr(',"s":').putJsonString(jsonString(jsonGet(b, "s"))!);
    out.putStr(',"int":').putInt(jsonInt(jsonGet(b, "int")));
    out.putStr(',"neg":').putInt(jsonInt(jsonGet(b, "neg")));
    out.putStr(',"min":').putInt(jsonInt(jsonGet(b, "min")));
    out.putStr(',"big":').putInt(jsonInt(jsonGet(b, "big"), -1));
    out.putStr(',"frac":').putInt(jsonInt(jsonGet(b, "num"), -2));
    out.putStr(',"num":').putStr(jsonNumber(jsonGet(b, "num")).toString());
    out.putStr(',"t":').putBool(jsonBool(jsonGet(b, "t")));
    out.putStr(',"f":').putBool(jsonBool(jsonGet(b, "f"), true));
    out.putStr(',"null":').putBool(isNull(jsonGet(b, "null")));
    out.putStr(',"missing":').putBool(jsonGet(b, "missing") == NONE);
    out.putStr(',"unicodeKey":').putVal(jsonGet(b, "clé 🌍"));
    out.putStr(',"keys":[');
    const it = new Members(jsonGet(b, "obj"));
    for (let i = 0; it.next(); i++) {
      if (i > 0) out.putByte(0x2c);
      out.putVal(it.key);
    }
    out.putStr('],"types":"');
    const el = new Elements(jsonGet(b, "arr"));
    while (el.next()) {
      const t = jsonType(el.value);
      out.putByte(t == 0x22 ? 0x73 : t); // a string's '"' written as 's'
    }
    out.putStr('","raw":').putJsonString(jsonRaw(jsonGet(b, "obj")));
    out.putStr("}}");
    return finish();
  }
  if (jsonIs(op, "escape")) {
    // unescapes s into UTF-8 and writes it back as a JSON string
    text.reset();
    jsonUnescape(jsonGet(b, "s"), text);
    const out = output().putStr('{"body":');
    out.putJsonBytes(text.data, text.len);
    out.putStr("}");
    return finish();
  }
  if (jsonIs(op, "error")) return errorOutput(jsonString(jsonGet(b, "message"))!, "test_code");
  if (jsonIs(op, "error-nocode")) return errorOutput("plain");
  if (jsonIs(op, "body")) return bodyOutput('{"x":1}');
  if (jsonIs(op, "echo")) return bodyOutputVal(b);
  if (jsonIs(op, "log")) {
    log(Level.Warn, "héllo 🌍");
    return UNCHANGED;
  }
  if (jsonIs(op, "big")) {
    // a body of n bytes of 'a', to see the output buffer grow and be given back
    const n = jsonInt(jsonGet(b, "n"));
    const out = output().putStr('{"body":"');
    for (let i: i64 = 0; i < n; i++) out.putByte(0x61);
    out.putStr('"}');
    return finish();
  }
  if (jsonIs(op, "throw")) throw new Error("thrown by the test");
  return UNCHANGED;
}

export function iom_transform_chunk(ptr: usize, len: u32): u64 {
  return dropChunk();
}

export function iom_describe(): u64 {
  return describeOutput("sdk-test", ["transform", "transform_chunk"], "0.1.0");
}
