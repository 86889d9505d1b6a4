package wasm

import (
	"context"
	"testing"
)

// module assembles a binary module from sections (id, then body).
func module(sections ...[]byte) []byte {
	bin := []byte{0, 'a', 's', 'm', 1, 0, 0, 0}
	for _, s := range sections {
		bin = append(bin, s[0])
		bin = appendU32(bin, uint32(len(s)-1))
		bin = append(bin, s[1:]...)
	}
	return bin
}

// Modules of a few bytes that declare vast counts are refused at load, before wazero reads them:
// it would allocate what they declare first, and the first one made the gateway run out of
// memory and die.
func TestPrecheckRefusesVastDeclarations(t *testing.T) {
	huge := appendU32(nil, 0xffffffff)
	cases := map[string][]byte{
		"imports":          module(append([]byte{2}, huge...)),
		"functions":        module(append([]byte{3}, huge...)),
		"exports":          module(append([]byte{7}, huge...)),
		"type parameters":  module(append([]byte{1, 1, 0x60}, huge...)),
		"locals":           module([]byte{1, 1, 0x60, 0, 0}, []byte{3, 1, 0}, append(append([]byte{10, 1, 7, 1}, appendU32(nil, 1<<30)...), 0x7f, 0x0b)),
		"a table":          module(append([]byte{4, 1, 0x70, 0}, appendU32(nil, 1<<27)...)),
		"data bytes":       module(append([]byte{11, 1, 1}, huge...)),
		"element indexes":  module(append([]byte{9, 1, 1, 0}, huge...)),
		"a custom section": append(module(), 0, 0xff, 0xff, 0xff, 0x0f, 1, 'x'),
		"function names":   module(append([]byte{0, 4, 'n', 'a', 'm', 'e', 1, 5}, huge...)),
	}
	for name, bin := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := testHost().Load(context.Background(), Config{Name: "vast", Binary: bin})
			wantKind(t, err, KindLoad, "invalid module")
		})
	}
}

// The WAT fixtures and the fuzzer's seed pass the check; every other module the tests load
// passes it too, since each load runs it.
func TestPrecheckAcceptsRealModules(t *testing.T) {
	for _, name := range []string{"sizeguard", "shapes", "runaway", "startloop", "bigmemory", "future", "envimport"} {
		if err := precheck(watModule(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := precheck(countdown); err != nil {
		t.Errorf("countdown: %v", err)
	}
}
