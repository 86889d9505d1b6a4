;; runaway: a test transform that misbehaves in the ways the host must bound. The first byte
;; of the raw input names what to do:
;;   o  nothing (answers "unchanged")
;;   l  loop forever
;;   u  trap at once
;;   x  exponential recursion with no loop at all: f(n) = f(n-1) + f(n-1), n the second byte
;;   d  recursion 100,000,000 calls deep
;;   r  recursion 100 × the second byte calls deep
;;   {  (an envelope, from the typed helpers) an output that is not JSON
;;   g  100,000 lines through iom.log
;;   s  100,000 lines on stdout
;;   S  one 1 MiB line on stdout
;; Build: wat2wasm runaway.wat -o runaway.wasm
(module
  (import "iom" "log" (func $log (param i32 i32 i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; 20 pages: the input at 1024, the 1 MiB line at 65536.
  (memory (export "memory") 20)

  (data (i32.const 16) "a line from the guest\n")   ;; 22 bytes with the newline
  (global $big i32 (i32.const 65536))

  (func (export "iom_abi_version") (result i32) (i32.const 1))

  (func (export "iom_alloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 60000)) (then (return (i32.const 0))))
    (i32.const 1024))

  (func (export "iom_free") (param $ptr i32) (param $len i32))

  (func $twice (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
    (i32.add
      (call $twice (i32.sub (local.get $n) (i32.const 1)))
      (call $twice (i32.sub (local.get $n) (i32.const 1)))))

  (func $deep (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (i32.const 0))))
    (i32.add (call $deep (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))

  ;; stdout writes the n bytes at ptr to stdout in one fd_write; the iovec lives at 64.
  (func $stdout (param $ptr i32) (param $n i32)
    (i32.store (i32.const 64) (local.get $ptr))
    (i32.store (i32.const 68) (local.get $n))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72))))

  (func (export "iom_transform") (param $ptr i32) (param $len i32) (result i64)
    (local $op i32)
    (local $i i32)
    (local.set $op (i32.load8_u (local.get $ptr)))
    (if (i32.eq (local.get $op) (i32.const 0x6c)) ;; l
      (then (loop $forever (br $forever))))
    (if (i32.eq (local.get $op) (i32.const 0x75)) ;; u
      (then unreachable))
    (if (i32.eq (local.get $op) (i32.const 0x78)) ;; x
      (then (drop (call $twice (i32.load8_u offset=1 (local.get $ptr))))))
    (if (i32.eq (local.get $op) (i32.const 0x64)) ;; d
      (then (drop (call $deep (i32.const 100000000)))))
    (if (i32.eq (local.get $op) (i32.const 0x72)) ;; r
      (then (drop (call $deep (i32.mul (i32.load8_u offset=1 (local.get $ptr)) (i32.const 100))))))
    (if (i32.eq (local.get $op) (i32.const 0x7b)) ;; {: (16 << 32) | 21, the log line's text
      (then (return (i64.const 0x1000000015))))
    (if (i32.eq (local.get $op) (i32.const 0x67)) ;; g
      (then
        (local.set $i (i32.const 100000))
        (loop $more
          (call $log (i32.const 1) (i32.const 16) (i32.const 21))
          (br_if $more (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))))
    (if (i32.eq (local.get $op) (i32.const 0x73)) ;; s
      (then
        (local.set $i (i32.const 100000))
        (loop $more
          (call $stdout (i32.const 16) (i32.const 22))
          (br_if $more (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))))
    (if (i32.eq (local.get $op) (i32.const 0x53)) ;; S
      (then
        (memory.fill (global.get $big) (i32.const 0x61) (i32.const 1048576))
        (call $stdout (global.get $big) (i32.const 1048576))))
    (i64.const 0)))
