package wasm

import (
	"fmt"
)

// Bounds of what a module may declare, checked before wazero reads it: wazero allocates what a
// vector's count or a function's locals say before reading them, so a module of a few bytes that
// claims four billion imports made the gateway run out of memory and die, at load or reload.
const (
	maxLocals     = 50_000  // locals per function, V8's limit
	maxTableElems = 1 << 20 // a table's initial size: its entries are not under the memory cap
)

// precheck refuses a module whose declared counts cannot fit in its bytes, or that asks for more
// locals or table entries than the bounds above. It reads only the parts where wazero would
// allocate from a count; anything else is left to wazero's decoder, which says what is wrong.
func precheck(bin []byte) error {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil // not a module: wazero says so
	}
	r := &reader{b: bin, i: 8}
	for r.i < len(r.b) {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if r.err != nil {
			return fmt.Errorf("section %d: %w", id, r.err)
		}
		if err := precheckSection(id, body); err != nil {
			return fmt.Errorf("section %d: %w", id, err)
		}
	}
	return nil
}

// vector reads a vector's count and checks that that many entries of at least one byte fit in
// what is left.
func (r *reader) vector() uint32 {
	n := r.u32()
	if r.err == nil && int64(n) > int64(len(r.b)-r.i) {
		r.err = fmt.Errorf("declares %d entries in %d bytes", n, len(r.b)-r.i)
	}
	return n
}

// skipName skips a name (a byte vector).
func (r *reader) skipName() { r.bytes(int(r.vector())) }

func precheckSection(id byte, body []byte) error {
	r := &reader{b: body}
	switch id {
	case 0: // custom: the name section's maps are allocated from their counts
		if name := string(r.bytes(int(r.vector()))); name == "name" && r.err == nil {
			return precheckNames(r)
		}
	case 1: // types: each a form byte and two vectors of value types
		for n := r.vector(); n > 0 && r.err == nil; n-- {
			r.byte()
			r.valTypes()
			r.valTypes()
		}
	case 2: // imports
		for n := r.vector(); n > 0 && r.err == nil; n-- {
			r.skipName()
			r.skipName()
			switch r.byte() {
			case 0: // function
				r.u32()
			case 4: // tag: an attribute and a type
				r.byte()
				r.u32()
			case 1: // table
				r.byte()
				r.tableLimits()
			case 2: // memory
				r.limits()
			case 3: // global
				r.byte()
				r.byte()
			default:
				return nil // wazero refuses it
			}
		}
	case 3, 5, 6, 13: // functions, memories, globals, tags: counts only
		r.vector()
	case 4: // tables
		for n := r.vector(); n > 0 && r.err == nil; n-- {
			withInit := r.byte() == 0x40 // 0x40 0x00 reftype limits expr, else reftype limits
			if withInit {
				r.byte()
				r.byte()
			}
			r.tableLimits()
			if withInit && !r.skipConstExpr() {
				return nil // an expression this does not read: wazero's to judge
			}
		}
	case 7: // exports
		for n := r.vector(); n > 0 && r.err == nil; n-- {
			r.skipName()
			r.byte()
			r.u32()
		}
	case 10: // code: each body's locals
		for n := r.vector(); n > 0 && r.err == nil; n-- {
			size := int(r.u32())
			fn := &reader{b: r.bytes(size)}
			var locals uint64
			for d := fn.vector(); d > 0 && fn.err == nil; d-- {
				locals += uint64(fn.u32())
				fn.byte()
			}
			if fn.err != nil {
				return fn.err
			}
			if locals > maxLocals {
				return fmt.Errorf("a function declares %d locals; at most %d are allowed", locals, maxLocals)
			}
		}
	case 11: // data: each segment's bytes
		for n := r.vector(); n > 0 && r.err == nil; n-- {
			switch r.u32() {
			case 0:
				if !r.skipConstExpr() {
					return nil
				}
			case 2:
				r.u32()
				if !r.skipConstExpr() {
					return nil
				}
			}
			r.bytes(int(r.vector()))
		}
	case 9: // elements: each a vector of function indexes or of expressions, by its prefix
		for n := r.vector(); n > 0 && r.err == nil; n-- {
			p := r.u32()
			if p == 2 || p == 6 {
				r.u32() // the table
			}
			if p&1 == 0 && !r.skipConstExpr() { // an active segment's offset
				return nil
			}
			if p&3 != 0 {
				r.byte() // the element kind or reference type
			}
			for m := r.vector(); m > 0 && r.err == nil; m-- {
				if p&4 == 0 {
					r.u32()
				} else if !r.skipConstExpr() {
					return nil
				}
			}
		}
	}
	return r.err
}

// tableLimits reads a table's limits and refuses an initial size over maxTableElems.
func (r *reader) tableLimits() {
	flags := r.byte()
	min := r.u32()
	if flags&1 != 0 {
		r.u32()
	}
	if r.err == nil && min > maxTableElems {
		r.err = fmt.Errorf("a table of %d entries; at most %d are allowed", min, maxTableElems)
	}
}

// skipConstExpr skips a constant expression (MVP and extended-const instructions) up to its
// end. It reports false for an instruction it does not know, whose section it stops checking.
func (r *reader) skipConstExpr() bool {
	for r.err == nil {
		switch op := r.byte(); op {
		case 0x0b:
			return true
		case 0x41, 0x42: // i32.const, i64.const
			r.leb()
		case 0x23, 0xd2: // global.get, ref.func
			r.u32()
		case 0x43:
			r.bytes(4)
		case 0x44:
			r.bytes(8)
		case 0xd0: // ref.null
			r.byte()
		case 0xfd: // v128.const
			if r.u32() != 12 {
				return false
			}
			r.bytes(16)
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		default:
			return false
		}
	}
	return true // truncated: r.err says so
}

// precheckNames checks the name section's maps: function names and local names.
func precheckNames(r *reader) error {
	for r.i < len(r.b) && r.err == nil {
		kind := r.byte()
		sub := &reader{b: r.bytes(int(r.u32()))}
		switch kind {
		case 1: // function names
			for n := sub.vector(); n > 0 && sub.err == nil; n-- {
				sub.u32()
				sub.skipName()
			}
		case 2: // local names
			for n := sub.vector(); n > 0 && sub.err == nil; n-- {
				sub.u32()
				for m := sub.vector(); m > 0 && sub.err == nil; m-- {
					sub.u32()
					sub.skipName()
				}
			}
		}
		if sub.err != nil {
			return sub.err
		}
	}
	return r.err
}
