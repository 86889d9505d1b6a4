;; shapes: functions shaped the ways the rewriter must keep working (instrument_test.go): a start
;; function, several results, branches to a function's outermost label, returns from nested
;; blocks and loops, recursion. Each calls $tick, which counts calls, so that it gets the
;; checks a function calling no other goes without.
;; Build: wat2wasm shapes.wat -o shapes.wasm
(module
  (memory 1)
  (global $started (export "started") (mut i32) (i32.const 0))
  (global $ticks (export "ticks") (mut i32) (i32.const 0))

  (func $init (global.set $started (i32.const 42)))
  (start $init)

  (func $tick (global.set $ticks (i32.add (global.get $ticks) (i32.const 1))))

  ;; Two results, and a br_if to the function's label: pair(0) = (0, 0), else (1, 2).
  (func (export "pair") (param $x i32) (result i32 i32)
    (call $tick)
    (local.get $x)
    (local.get $x)
    (br_if 0 (i32.eqz (local.get $x)))
    (drop)
    (drop)
    (i32.const 1)
    (i32.const 2))

  ;; A return from inside a loop inside a block: find(n) = 10n.
  (func (export "find") (param $n i32) (result i32)
    (local $i i32)
    (call $tick)
    (block $out
      (loop $next
        (if (i32.eq (local.get $i) (local.get $n))
          (then (return (i32.mul (local.get $i) (i32.const 10)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const -1))

  ;; A br_table whose targets are the function's label: pick(k) = 7.
  (func (export "pick") (param $k i32) (result i32)
    (call $tick)
    (i32.const 7)
    (br_table 0 0 (local.get $k)))

  ;; A function whose first step is into a loop counts its depth at entry but spends no fuel
  ;; there: the loop head does. spin(n) calls $tick n times and returns n.
  (func (export "spin") (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $tick)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $i))

  ;; sum(n) = n + (n-1) + … + 0, n calls deep.
  (func $sum (export "sum") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (local.get $n) (call $sum (i32.sub (local.get $n) (i32.const 1))))))))
