package wasm

import (
	"errors"
	"fmt"
)

// declaredMemoryMax reads the maximum, in 64 KiB pages, that the module bin declares for the
// memory it defines; ok is false when it declares none. wazero would quietly lower a larger
// maximum to the cap, so the host reads it from the binary to refuse such a module instead.
func declaredMemoryMax(bin []byte) (pages uint64, ok bool, err error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return 0, false, errors.New("not a WebAssembly binary module")
	}
	r := &reader{b: bin, i: 8}
	for r.i < len(r.b) && r.err == nil {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if id != 5 || r.err != nil {
			continue
		}
		sr := &reader{b: body}
		for n := sr.u32(); n > 0 && sr.err == nil; n-- {
			flags := sr.byte()
			sr.leb() // the minimum
			if flags&1 == 0 {
				continue
			}
			if m := uint64(sr.u32()); !ok || m > pages {
				pages, ok = m, true
			}
		}
		if sr.err != nil {
			return 0, false, fmt.Errorf("memory section: %w", sr.err)
		}
	}
	if r.err != nil {
		return 0, false, r.err
	}
	return pages, ok, nil
}
