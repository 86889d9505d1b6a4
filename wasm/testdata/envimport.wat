;; envimport: a module importing env.abort, as AssemblyScript does unless told otherwise; the
;; host provides only iom.log and WASI, so it is refused at load.
;; Build: wat2wasm envimport.wat -o envimport.wasm
(module
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "iom_abi_version") (result i32) (i32.const 1))
  (func (export "iom_alloc") (param $size i32) (result i32) (i32.const 1024))
  (func (export "iom_free") (param $ptr i32) (param $len i32))
  (func (export "iom_transform") (param $ptr i32) (param $len i32) (result i64) (i64.const 0)))
