// abort-as: an AssemblyScript transform built with sdk/wasm-as that fails on request, to test
// how the SDK routes AssemblyScript's abort, trace and seed. The body's "fault" member picks:
//
//   throw   throws an Error (AssemblyScript compiles throw to abort)
//   assert  fails an assertion
//   index   reads an array past its end (the standard library aborts)
//   trace   calls trace, which the SDK logs at debug level
//   random  logs a Math.random() number (its seed comes from WASI's random_get)
//   echo    answers the body unchanged, as a new body
//
// Anything else leaves the request unchanged.

import {
  iom_abi_version, iom_alloc, iom_free, readEnvelope, jsonGet, jsonIs, logInfo, bodyOutputVal,
  UNCHANGED,
} from "@iom/wasm-as";

export { iom_abi_version, iom_alloc, iom_free };

export function iom_transform(ptr: usize, len: u32): u64 {
  const env = readEnvelope(ptr, len);
  const fault = jsonGet(env.body, "fault");
  if (jsonIs(fault, "throw")) throw new Error("refused: the body asked for a throw");
  if (jsonIs(fault, "assert")) assert(len == 0, "the input is not empty");
  if (jsonIs(fault, "index")) {
    const a = new Array<u64>(2);
    return a[<i32>len];
  }
  if (jsonIs(fault, "trace")) trace("traced", 2, 1.5, 2);
  if (jsonIs(fault, "random")) logInfo("random " + Math.random().toString());
  if (jsonIs(fault, "echo")) return bodyOutputVal(env.body);
  return UNCHANGED;
}
