;; future: a module that speaks ABI version 2, which this host does not: it is refused at load,
;; naming both versions. Build: wat2wasm future.wat -o future.wasm
(module
  (memory (export "memory") 1)
  (func (export "iom_abi_version") (result i32) (i32.const 2))
  (func (export "iom_alloc") (param $size i32) (result i32) (i32.const 1024))
  (func (export "iom_free") (param $ptr i32) (param $len i32))
  (func (export "iom_transform") (param $ptr i32) (param $len i32) (result i64) (i64.const 0)))
