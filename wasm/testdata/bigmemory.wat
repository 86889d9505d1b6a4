;; bigmemory: an ABI v1 transform that leaves everything unchanged, but declares a memory maximum
;; of 128 MB, twice the default cap: the host refuses it unless the cap allows 128 MB.
;; Build: wat2wasm bigmemory.wat -o bigmemory.wasm
(module
  (memory (export "memory") 1 2048)
  (func (export "iom_abi_version") (result i32) (i32.const 1))
  (func (export "iom_alloc") (param $size i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (i32.add (local.get $size) (i32.const 1024)) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
        (then (return (i32.const 0))))))
    (i32.const 1024))
  (func (export "iom_free") (param $ptr i32) (param $len i32))
  (func (export "iom_transform") (param $ptr i32) (param $len i32) (result i64) (i64.const 0)))
