package wasm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// A runaway guest is stopped by rewriting each module once, before compiling it: loop heads and
// calls spend fuel, and every fuelPerTrip of them the guest trips through Go, where a passed
// deadline or a call depth over maxCallDepth traps it. wasm/SANDBOX.md explains the scheme and
// why wazero's own mechanism is not used.

// fuelPerTrip is how many loop iterations and calls a guest runs between trips through Go.
// It is also how far past maxCallDepth a guest may nest calls before it traps.
const fuelPerTrip = 4096

// maxCallDepth is how many guest calls may be nested (give or take fuelPerTrip).
const maxCallDepth = 10_000

// Names an instrumented module exports. Every export name starting with reservedPrefix is the
// host's.
const (
	reservedPrefix  = "__iom_"
	interruptGlobal = "__iom_interrupt" // the interrupt flag
	depthGlobal     = "__iom_depth"     // the call depth
	startExport     = "__iom_start"     // the former start function
)

var (
	errUnknownOpcode = errors.New("unknown instruction")
	errReservedName  = errors.New("export names starting with " + reservedPrefix + " are reserved")
	errNoMemory      = errors.New("the module has no memory, which the interrupt check uses")
)

// funcType is a function type, its value types as encoded.
type funcType struct {
	params, results []byte
	nResults        int
}

// instrument returns a copy of the module bin with the checks described above.
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

	// The new globals' indexes follow the imported and defined globals.
	var importedFuncs, importedGlobals, definedGlobals uint32
	var types []funcType
	var funcs []uint32 // the type of each defined function
	var start []byte   // the start section's body, a function index
	hasMemory := false
	for _, s := range sections {
		var err error
		switch s.id {
		case 1:
			if types, err = readTypes(s.body); err != nil {
				return nil, fmt.Errorf("type section: %w", err)
			}
		case 2:
			fns, globals, mems, err := countImports(s.body)
			if err != nil {
				return nil, fmt.Errorf("import section: %w", err)
			}
			importedFuncs, importedGlobals = fns, globals
			hasMemory = hasMemory || mems > 0
		case 3:
			sr := &reader{b: s.body}
			for n := sr.u32(); n > 0 && sr.err == nil; n-- {
				funcs = append(funcs, sr.u32())
			}
			if sr.err != nil {
				return nil, fmt.Errorf("function section: %w", sr.err)
			}
		case 5:
			sr := &reader{b: s.body}
			hasMemory = hasMemory || sr.u32() > 0
		case 6:
			sr := &reader{b: s.body}
			definedGlobals = sr.u32()
			if sr.err != nil {
				return nil, fmt.Errorf("global section: %w", sr.err)
			}
		case 7:
			if err := checkExportNames(s.body); err != nil {
				return nil, err
			}
		case 8:
			start = s.body
		}
	}
	if !hasMemory {
		return nil, errNoMemory
	}
	for _, t := range funcs {
		if int(t) >= len(types) {
			return nil, fmt.Errorf("function section: type %d does not exist", t)
		}
	}
	fuel := importedGlobals + definedGlobals
	c := newChecks(fuel, fuel+1, fuel+2)

	// The block around each function's body has the function's results. More than one result
	// needs a type [] -> results, added when the module has none.
	blockTypes := make([][]byte, len(types))
	var newTypes []byte
	var addedTypes uint32
	for _, t := range funcs {
		ft := types[t]
		switch {
		case blockTypes[t] != nil:
		case ft.nResults == 0:
			blockTypes[t] = []byte{0x40}
		case ft.nResults == 1:
			blockTypes[t] = ft.results
		default:
			idx := -1
			for i, u := range types {
				if len(u.params) == 0 && bytes.Equal(u.results, ft.results) && u.nResults == ft.nResults {
					idx = i
					break
				}
			}
			if idx < 0 {
				idx = len(types)
				addedTypes++
				newTypes = append(newTypes, 0x60, 0x00)
				newTypes = appendU32(newTypes, uint32(ft.nResults))
				newTypes = append(newTypes, ft.results...)
				types = append(types, funcType{results: ft.results, nResults: ft.nResults})
			}
			blockTypes[t] = appendS32(nil, int32(idx))
		}
	}

	// fuel: mutable i32 = fuelPerTrip; flag and depth: mutable i32 = 0
	newGlobals := append([]byte{0x7f, 0x01, 0x41}, appendS32(nil, fuelPerTrip)...)
	newGlobals = append(newGlobals, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b)
	newExports := appendU32(append(appendName(nil, interruptGlobal), 0x03), fuel+1)
	newExports = appendU32(append(appendName(newExports, depthGlobal), 0x03), fuel+2)
	nExports := uint32(2)
	if start != nil {
		sr := &reader{b: start}
		idx := sr.u32()
		if sr.err != nil || sr.i != len(start) {
			return nil, errors.New("start section: malformed")
		}
		newExports = appendU32(append(appendName(newExports, startExport), 0x00), idx)
		nExports++
	}

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
				emit(6, append([]byte{3}, newGlobals...))
				haveGlobals = true
			}
			if !haveExports && order[s.id] > order[7] {
				emit(7, append(appendU32(nil, nExports), newExports...))
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
		case 1:
			emit(1, appendVecItems(s.body, addedTypes, newTypes))
		case 6:
			emit(6, appendVecItems(s.body, 3, newGlobals))
			haveGlobals = true
		case 7:
			emit(7, appendVecItems(s.body, nExports, newExports))
			haveExports = true
		case 8:
			// taken out: the host calls the start function itself, under a deadline
		case 10:
			body, err := instrumentCode(s.body, c, funcs, blockTypes, importedFuncs)
			if err != nil {
				return nil, err
			}
			emit(10, body)
		default:
			emit(s.id, s.body)
		}
	}
	if !haveGlobals {
		emit(6, append([]byte{3}, newGlobals...))
	}
	if !haveExports {
		emit(7, append(appendU32(nil, nExports), newExports...))
	}
	return out, nil
}

// checks are the instructions the rewriter inserts.
type checks struct {
	loop  []byte // at every loop head
	entry []byte // at every function's entry
	count []byte // instead, at the entry of a function whose first step is into a loop
	exit  []byte // before every way out of a function
}

func newChecks(fuel, flag, depth uint32) checks {
	gget := func(b []byte, g uint32) []byte { return appendU32(append(b, 0x23), g) }
	gset := func(b []byte, g uint32) []byte { return appendU32(append(b, 0x24), g) }
	// fuel -= 1
	// if fuel == 0 {
	//	fuel = fuelPerTrip; drop(memory.grow(0))
	//	if flag | depth > maxCallDepth { unreachable }
	// }
	loop := gget(nil, fuel)
	loop = append(loop, 0x41, 0x01, 0x6b) // i32.const 1, i32.sub
	loop = gset(loop, fuel)
	loop = gget(loop, fuel)
	loop = append(loop, 0x45, 0x04, 0x40) // i32.eqz, if
	loop = append(loop, 0x41)
	loop = appendS32(loop, fuelPerTrip)
	loop = gset(loop, fuel)
	loop = append(loop, 0x41, 0x00, 0x40, 0x00, 0x1a) // i32.const 0, memory.grow 0, drop
	loop = gget(loop, flag)
	loop = gget(loop, depth)
	loop = append(loop, 0x41)
	loop = appendS32(loop, maxCallDepth)
	loop = append(loop, 0x4b, 0x72)             // i32.gt_u, i32.or
	loop = append(loop, 0x04, 0x40, 0x00, 0x0b) // if, unreachable, end
	loop = append(loop, 0x0b)                   // end

	// depth += 1, then the loop's check
	count := gget(nil, depth)
	count = append(count, 0x41, 0x01, 0x6a) // i32.const 1, i32.add
	count = gset(count, depth)
	entry := append(append([]byte(nil), count...), loop...)

	// depth -= 1
	exit := gget(nil, depth)
	exit = append(exit, 0x41, 0x01, 0x6b) // i32.const 1, i32.sub
	exit = gset(exit, depth)
	return checks{loop: loop, entry: entry, count: count, exit: exit}
}

// appendVecItems returns a vector section's body with n more items, encoded in items, at the end.
func appendVecItems(body []byte, n uint32, items []byte) []byte {
	r := &reader{b: body}
	count := r.u32()
	out := appendU32(nil, count+n)
	out = append(out, body[r.i:]...)
	return append(out, items...)
}

// countImports returns how many functions, globals and memories a module imports.
func countImports(body []byte) (funcs, globals, memories uint32, err error) {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		r.name()
		r.name()
		switch kind := r.byte(); kind {
		case 0: // function: type index
			r.u32()
			funcs++
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
			return 0, 0, 0, fmt.Errorf("unknown import kind %d", kind)
		}
	}
	return funcs, globals, memories, r.err
}

// readTypes decodes the type section. Only function types are known (the host enables no
// proposal that adds others).
func readTypes(body []byte) ([]funcType, error) {
	r := &reader{b: body}
	n := r.u32()
	types := make([]funcType, 0, min(n, 1<<16))
	for ; n > 0 && r.err == nil; n-- {
		if form := r.byte(); form != 0x60 && r.err == nil {
			return nil, fmt.Errorf("type form 0x%02x is not a function type", form)
		}
		params, _ := r.valTypes()
		results, nResults := r.valTypes()
		types = append(types, funcType{params: params, results: results, nResults: nResults})
	}
	return types, r.err
}

// valTypes reads a vector of value types and returns it as encoded, without its length.
func (r *reader) valTypes() ([]byte, int) {
	n := r.vector()
	from := r.i
	for k := n; k > 0 && r.err == nil; k-- {
		if t := r.byte(); t == 0x63 || t == 0x64 { // (ref null? heaptype)
			r.leb()
		}
	}
	if r.err != nil {
		return nil, 0
	}
	return r.b[from:r.i], int(n)
}

// checkExportNames refuses a module exporting a name the host reserves.
func checkExportNames(body []byte) error {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		if name := r.name(); strings.HasPrefix(name, reservedPrefix) {
			return fmt.Errorf("%w: it exports %s", errReservedName, name)
		}
		r.byte()
		r.u32()
	}
	if r.err != nil {
		return fmt.Errorf("export section: %w", r.err)
	}
	return nil
}

// instrumentCode rewrites the code section: each function that calls others gets the entry and
// exit checks, and every loop the loop check. funcs holds each function's type, blockTypes the
// block type of each type's results; importedFuncs is the number of imported functions.
func instrumentCode(body []byte, c checks, funcs []uint32, blockTypes [][]byte, importedFuncs uint32) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if r.err == nil && int(n) != len(funcs) {
		return nil, fmt.Errorf("code section: %d bodies for %d functions", n, len(funcs))
	}
	out := appendU32(make([]byte, 0, len(body)+len(body)/8+int(n)*(len(c.entry)+len(c.exit)+4)), n)
	var fn []byte
	var edits []edit
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		code := r.bytes(int(size))
		if r.err != nil {
			break
		}
		var err error
		if fn, edits, err = instrumentFunction(fn[:0], code, c, blockTypes[funcs[i]], importedFuncs, edits); err != nil {
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

// instrumentFunction appends the rewritten body code to out. A function that calls guest
// functions gets the entry and exit checks, its body a block of type blockType so that a branch
// to its outermost label passes the exit check; one that calls none gets neither, and one that
// steps straight into a loop spends no fuel at entry (SANDBOX.md). imported is the number of
// imported functions, which are the host's.
func instrumentFunction(out, code []byte, c checks, blockType []byte, imported uint32, edits []edit) ([]byte, []edit, error) {
	start, edits, calls, loopFirst, err := scanFunction(code, imported, edits[:0])
	if err != nil {
		return nil, edits, err
	}
	out = append(out, code[:start]...)
	if calls && loopFirst {
		out = append(out, c.count...) // the loop's check comes next
		out = append(out, 0x02)
		out = append(out, blockType...)
	} else if calls {
		out = append(out, c.entry...)
		out = append(out, 0x02)
		out = append(out, blockType...)
	}
	copied := start
	for _, e := range edits {
		switch {
		case e.loop:
			out = append(out, code[copied:e.at]...)
			out = append(out, c.loop...)
		case calls:
			out = append(out, code[copied:e.at]...)
			out = append(out, c.exit...)
		default:
			continue
		}
		copied = e.at
	}
	out = append(out, code[copied:]...) // its last byte, the body's end, closes the block
	if calls {
		out = append(out, c.exit...)
		out = append(out, 0x0b)
	}
	return out, edits, nil
}

// edit is where a check goes in a function's code.
type edit struct {
	at   int  // the offset: after a loop's block type, or at a return or tail call
	loop bool // the loop check there, else the exit check
}

// scanFunction decodes a function's code. It returns where the instructions start, after the
// locals; the edits, in order; whether the function calls any guest function; and whether it
// enters a loop before anything else that branches or calls.
func scanFunction(code []byte, imported uint32, edits []edit) (start int, _ []edit, calls, loopFirst bool, err error) {
	r := &reader{b: code}
	for n := r.u32(); n > 0 && r.err == nil; n-- { // locals: count and type
		r.u32()
		if t := r.byte(); t == 0x63 || t == 0x64 {
			r.leb()
		}
	}
	start = r.i
	prefix := true // only straight-line code and blocks so far
	for r.i < len(r.b) && r.err == nil {
		at := r.i
		op := r.byte()
		if prefix && op != 0x02 && op != 0x03 && !(op >= 0x1a && op <= 0x24) && !(op >= 0x28 && op <= 0xc4) {
			prefix = false
		}
		switch {
		case op == 0x03: // loop blocktype
			r.leb()
			edits = append(edits, edit{at: r.i, loop: true})
			loopFirst = loopFirst || prefix
			prefix = false
		case op == 0x0f: // return
			edits = append(edits, edit{at: at})
		case op == 0x10: // call
			if r.u32() >= imported {
				calls = true
			}
		case op == 0x12 || op == 0x15: // return_call, return_call_ref: one index
			r.leb()
			edits = append(edits, edit{at: at})
			calls = true
		case op == 0x13: // return_call_indirect: type, table
			r.leb()
			r.leb()
			edits = append(edits, edit{at: at})
			calls = true
		case op == 0x11: // call_indirect: type, table
			r.leb()
			r.leb()
			calls = true
		case op == 0x14: // call_ref: type
			r.leb()
			calls = true
		case op == 0x02 || op == 0x04 || op == 0x06: // block, if, try: blocktype
			r.leb()
		case op <= 0x01 || op == 0x05 || op == 0x0a || op == 0x0b || op == 0x19 || op == 0x1a || op == 0x1b || op == 0xd1 || op == 0xd3 || op == 0xd5:
			// no immediates
		case op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0c || op == 0x0d ||
			op == 0x18 || op == 0xd2 || op == 0xd4 || op == 0xd6 || op >= 0x20 && op <= 0x26:
			r.leb() // one index
		case op == 0x0e: // br_table
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				r.leb()
			}
			r.leb()
		case op == 0x1c: // select t*
			for n := r.u32(); n > 0 && r.err == nil; n-- {
				if t := r.byte(); t == 0x63 || t == 0x64 {
					r.leb()
				}
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
				return 0, edits, false, false, err
			}
		case op == 0xfd:
			if err := r.skipSIMD(); err != nil {
				return 0, edits, false, false, err
			}
		case op == 0xfe: // atomics
			if sub := r.u32(); sub == 0x03 {
				r.byte() // atomic.fence
			} else {
				r.memarg()
			}
		default:
			return 0, edits, false, false, fmt.Errorf("%w 0x%02x at offset %d", errUnknownOpcode, op, at)
		}
	}
	return start, edits, calls, loopFirst, r.err
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
