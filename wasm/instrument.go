package wasm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// How a runaway guest is stopped.
//
// wazero's own mechanism (RuntimeConfig.WithCloseOnContextDone) compiles a check into every
// loop head and function entry that leaves the native code for Go and back, and watches each
// call's context from a goroutine of its own. Measured on a 1 KB request (bench_test.go), it
// made the C pii-redact transform some 20 times slower (p50 170–210 µs instead of 7.6 µs) and
// the same transform in Go 12 times slower: every loop iteration pays a round trip into Go. The
// scheme below costs 8.7–9 µs there (and 43 µs instead of 40 for Go).
//
// The host instead rewrites each module once, before compiling it. It adds two mutable i32
// globals, a fuel counter and an interrupt flag (exported as interruptGlobal), and at the head
// of every loop the instructions
//
//	fuel -= 1
//	if fuel == 0 {
//		fuel = fuelPerTrip
//		drop(memory.grow(0))   // a trip through Go
//		if interrupt { unreachable }
//	}
//
// A loop iteration costs a decrement and an untaken branch, in native code. Each call arms a
// timer (one per instance, reused) that sets the flag when the call's deadline passes; the guest
// traps at its next trip, the host sees that the timer fired and reports a timeout, and the
// instance is thrown away. Code without loops cannot run away: it ends or overflows its stack.
//
// The trip through Go matters as much as the flag. Native code cannot be preempted: a guest
// spinning in native code forever would keep the Go runtime from ever stopping the world for
// garbage collection, the stop would wait on it, and so would every goroutine, the timer's
// included (a first version that only checked the flag hung the whole process that way).
// memory.grow leaves wazero's native code for its Go side, where a pending preemption or
// stop-the-world takes effect, so a spinning guest delays them by at most fuelPerTrip
// iterations, microseconds. Growing by 0 changes nothing.
//
// A module the rewriter cannot read (an instruction it does not know) falls back to wazero's
// mechanism, with a warning in the log.

// fuelPerTrip is how many loop iterations a guest runs between trips through Go.
const fuelPerTrip = 4096

// interruptGlobal is the name under which an instrumented module exports its interrupt flag.
const interruptGlobal = "__iom_interrupt"

var errUnknownOpcode = errors.New("unknown instruction")

// instrument returns a copy of the module bin with the interrupt check at every loop head.
func instrument(bin []byte) ([]byte, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" || binary.LittleEndian.Uint32(bin[4:8]) != 1 {
		return nil, errors.New("not a WebAssembly 1.0 binary module")
	}
	type section struct {
		id   byte
		body []byte
	}
	var sections []section
	r := &reader{b: bin, i: 8}
	for r.i < len(r.b) {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, r.err)
		}
		sections = append(sections, section{id, body})
	}

	// The new global's index follows the imported and defined globals.
	var importedGlobals, definedGlobals uint32
	hasMemory := false
	for _, s := range sections {
		switch s.id {
		case 2:
			n, mems, err := countImports(s.body)
			if err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
			importedGlobals = n
			hasMemory = hasMemory || mems > 0
		case 5:
			hasMemory = true
		case 6:
			sr := &reader{b: s.body}
			definedGlobals = sr.u32()
			if sr.err != nil {
				return nil, fmt.Errorf("global section: %w", sr.err)
			}
		case 7:
			if bytes.Contains(s.body, []byte(interruptGlobal)) {
				return nil, fmt.Errorf("the module already exports something named %s", interruptGlobal)
			}
		}
	}
	if !hasMemory {
		return nil, errors.New("the module has no memory, which the interrupt check uses")
	}
	fuel := importedGlobals + definedGlobals
	flag := fuel + 1
	check := loopCheck(fuel, flag)

	// fuel: mutable i32 = fuelPerTrip; flag: mutable i32 = 0
	newGlobals := append(append([]byte{0x7f, 0x01, 0x41}, appendS32(nil, fuelPerTrip)...), 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b)
	newExport := append(appendName(nil, interruptGlobal), 0x03)
	newExport = appendU32(newExport, flag)

	out := append([]byte(nil), bin[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	haveGlobals, haveExports := false, false
	// order is where a section sits among the known sections, for placing new ones.
	order := map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
	for _, s := range sections {
		if s.id != 0 {
			if !haveGlobals && order[s.id] > order[6] {
				emit(6, append([]byte{2}, newGlobals...))
				haveGlobals = true
			}
			if !haveExports && order[s.id] > order[7] {
				emit(7, append([]byte{1}, newExport...))
				haveExports = true
			}
		}
		switch s.id {
		case 0:
			// DWARF refers to code offsets the rewrite moves; keep other custom sections (names).
			name := (&reader{b: s.body}).name()
			if strings.HasPrefix(name, ".debug_") {
				continue
			}
			emit(s.id, s.body)
		case 6:
			emit(6, appendVecItems(s.body, 2, newGlobals))
			haveGlobals = true
		case 7:
			emit(7, appendVecItems(s.body, 1, newExport))
			haveExports = true
		case 10:
			body, err := instrumentCode(s.body, check)
			if err != nil {
				return nil, err
			}
			emit(10, body)
		default:
			emit(s.id, s.body)
		}
	}
	if !haveGlobals {
		emit(6, append([]byte{2}, newGlobals...))
	}
	if !haveExports {
		emit(7, append([]byte{1}, newExport...))
	}
	return out, nil
}

// loopCheck returns the instructions put at every loop head (see the comment at the top).
func loopCheck(fuel, flag uint32) []byte {
	gget := func(b []byte, g uint32) []byte { return appendU32(append(b, 0x23), g) }
	gset := func(b []byte, g uint32) []byte { return appendU32(append(b, 0x24), g) }
	b := gget(nil, fuel)
	b = append(b, 0x41, 0x01, 0x6b) // i32.const 1, i32.sub
	b = gset(b, fuel)
	b = gget(b, fuel)
	b = append(b, 0x45, 0x04, 0x40) // i32.eqz, if
	b = append(b, 0x41)
	b = appendS32(b, fuelPerTrip)
	b = gset(b, fuel)
	b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0, memory.grow 0, drop
	b = gget(b, flag)
	b = append(b, 0x04, 0x40, 0x00, 0x0b) // if, unreachable, end
	return append(b, 0x0b)                // end
}

// appendVecItems returns a vector section's body with n more items, encoded in items, at the end.
func appendVecItems(body []byte, n uint32, items []byte) []byte {
	r := &reader{b: body}
	count := r.u32()
	out := appendU32(nil, count+n)
	out = append(out, body[r.i:]...)
	return append(out, items...)
}

// countImports returns how many globals and memories a module imports.
func countImports(body []byte) (globals, memories uint32, err error) {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0: // function: type index
			r.u32()
		case 1: // table: reference type, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			r.limits()
			memories++
		case 3: // global: value type, mutability
			r.byte()
			r.byte()
			globals++
		case 4: // tag: attribute, type index
			r.byte()
			r.u32()
		default:
			return 0, 0, fmt.Errorf("unknown import kind %d", kind)
		}
	}
	return globals, memories, r.err
}

// instrumentCode rewrites the code section, inserting check after every loop's block type.
func instrumentCode(body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(body)+len(body)/16), n)
	var fn []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			break
		}
		var err error
		if fn, err = instrumentFunction(fn[:0], code, check); err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.err != nil {
		return nil, fmt.Errorf("code section: %w", r.err)
	}
	return out, nil
}

func instrumentFunction(out, code, check []byte) ([]byte, error) {
	r := &reader{b: code}
	for n := r.u32(); n > 0 && r.err == nil; n-- { // locals: count and type
		r.u32()
		r.byte()
	}
	copied := 0
	for r.i < len(r.b) && r.err == nil {
		op := r.byte()
		switch {
		case op == 0x03: // loop blocktype
			r.leb()
			out = append(out, code[copied:r.i]...)
			out = append(out, check...)
			copied = r.i
		case op == 0x02 || op == 0x04 || op == 0x06: // block, if, try: blocktype
			r.leb()
		case op <= 0x01 || op == 0x05 || op == 0x0a || op == 0x0b || op == 0x0f || op == 0x19 || op == 0x1a || op == 0x1b || op == 0xd1 || op == 0xd3 || op == 0xd5:
			// no immediates
		case op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0c || op == 0x0d || op == 0x10 || op == 0x12 ||
			op == 0x14 || op == 0x15 || op == 0x18 || op == 0xd2 || op == 0xd4 || op == 0xd6 || op >= 0x20 && op <= 0x26:
			r.leb() // one index
		case op == 0x0e: // br_table
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.leb()
			}
			r.leb()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect: type, table
			r.leb()
			r.leb()
		case op == 0x1c: // select t*
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.leb()
			}
		case op == 0x1f: // try_table: blocktype, catch clauses
			r.leb()
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				if kind := r.byte(); kind <= 1 {
					r.leb() // tag
				}
				r.leb() // label
			}
		case op >= 0x28 && op <= 0x3e: // loads and stores
			r.memarg()
		case op == 0x3f || op == 0x40: // memory.size, memory.grow
			r.leb()
		case op == 0x41 || op == 0x42: // i32.const, i64.const
			r.leb()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric, no immediates
		case op == 0xd0: // ref.null heaptype
			r.leb()
		case op == 0xfc:
			if err := r.skipFC(); err != nil {
				return nil, err
			}
		case op == 0xfd:
			if err := r.skipSIMD(); err != nil {
				return nil, err
			}
		case op == 0xfe: // atomics
			if sub := r.u32(); sub == 0x03 {
				r.byte() // atomic.fence
			} else {
				r.memarg()
			}
		default:
			return nil, fmt.Errorf("%w 0x%02x at offset %d", errUnknownOpcode, op, r.i-1)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return append(out, code[copied:]...), nil
}

func (r *reader) skipFC() error {
	switch sub := r.u32(); {
	case sub <= 7: // saturating truncations
	case sub == 8: // memory.init data, memory
		r.leb()
		r.leb()
	case sub == 9 || sub == 13: // data.drop, elem.drop
		r.leb()
	case sub == 10 || sub == 12 || sub == 14: // memory.copy, table.init, table.copy
		r.leb()
		r.leb()
	case sub == 11 || sub >= 15 && sub <= 17: // memory.fill, table.grow/size/fill
		r.leb()
	default:
		return fmt.Errorf("%w 0xfc %d", errUnknownOpcode, sub)
	}
	return nil
}

func (r *reader) skipSIMD() error {
	switch sub := r.u32(); {
	case sub <= 11 || sub == 92 || sub == 93: // loads and stores
		r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract and replace lane
		r.byte()
	case sub >= 84 && sub <= 91: // load and store lane
		r.memarg()
		r.byte()
	case sub <= 0x113: // no immediates
	default:
		return fmt.Errorf("%w 0xfd %d", errUnknownOpcode, sub)
	}
	return nil
}

// reader decodes the parts of the binary format the rewriter needs. The first error sticks.
type reader struct {
	b   []byte
	i   int
	err error
}

var errTruncated = errors.New("truncated")

func (r *reader) byte() byte {
	if r.err != nil || r.i >= len(r.b) {
		r.err = errTruncated
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.i {
		r.err = errTruncated
		return nil
	}
	b := r.b[r.i : r.i+n]
	r.i += n
	return b
}

// leb skips one LEB128 number, signed or not, of up to 64 bits.
func (r *reader) leb() {
	for k := 0; k < 10; k++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	if r.err == nil {
		r.err = errors.New("LEB128 number too long")
	}
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	if r.err == nil {
		r.err = errors.New("u32 too long")
	}
	return 0
}

func (r *reader) name() string { return string(r.bytes(int(r.u32()))) }

func (r *reader) limits() {
	flags := r.byte()
	r.leb()
	if flags&1 != 0 {
		r.leb()
	}
}

// memarg skips alignment (with a memory index when bit 6 is set, for multiple memories) and
// offset.
func (r *reader) memarg() {
	align := r.u32()
	if align&0x40 != 0 {
		r.leb()
	}
	r.leb()
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}
