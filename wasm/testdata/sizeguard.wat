;; sizeguard: an ABI v1 transform written by hand. It refuses requests whose envelope is larger
;; than 4096 bytes and leaves all others unchanged, logging each refusal.
;; Build: wat2wasm sizeguard.wat -o sizeguard.wasm
(module
  (import "iom" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)

  ;; Constant strings, at fixed addresses below the input buffer.
  (data (i32.const 16) "{\"error\":{\"message\":\"request too large for this model\",\"code\":\"too_large\",\"status\":413}}")
  (data (i32.const 128) "sizeguard: refused a large request")

  (func (export "iom_abi_version") (result i32) (i32.const 1))

  ;; The input buffer starts at 1024 and is reused for every call, since the host calls
  ;; iom_alloc once per call and never touches the input after the role function returns.
  (func (export "iom_alloc") (param $size i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (i32.add (local.get $size) (i32.const 1024)) (i32.const 65535))
                 (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1024))

  ;; Outputs are constants: nothing to free.
  (func (export "iom_free") (param $ptr i32) (param $len i32))

  (func (export "iom_transform") (param $ptr i32) (param $len i32) (result i64)
    (if (i32.le_u (local.get $len) (i32.const 4096))
      (then (return (i64.const 0))))             ;; 0: unchanged
    (call $log (i32.const 2) (i32.const 128) (i32.const 34))
    ;; (ptr << 32) | len of the error object at 16
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 88))))
