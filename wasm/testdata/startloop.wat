;; startloop: an ABI v1 transform whose start function never returns, as a top-level statement
;; of an AssemblyScript module might not. Loading it must fail, not hang.
;; Build: wat2wasm startloop.wat -o startloop.wasm
(module
  (memory (export "memory") 1)
  (func $main (loop $forever (br $forever)))
  (start $main)
  (func (export "iom_abi_version") (result i32) (i32.const 1))
  (func (export "iom_alloc") (param $size i32) (result i32) (i32.const 1024))
  (func (export "iom_free") (param $ptr i32) (param $len i32))
  (func (export "iom_transform") (param $ptr i32) (param $len i32) (result i64) (i64.const 0)))
