package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// A hand-assembled module: one function with a loop that counts its parameter down to zero,
// exported as "count", with a global of its own so the new ones must take indexes 1 and 2.
var countdown = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
	0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f, // type: (i32) -> i32
	0x03, 0x02, 0x01, 0x00, // function 0 has type 0
	0x05, 0x03, 0x01, 0x00, 0x01, // memory: min 1 page (the check needs one)
	0x06, 0x06, 0x01, 0x7f, 0x01, 0x41, 0x07, 0x0b, // global 0: mut i32 = 7
	0x07, 0x09, 0x01, 0x05, 'c', 'o', 'u', 'n', 't', 0x00, 0x00, // export "count" func 0
	0x0a, 0x15, 0x01, 0x13, 0x00, // code: one body of 19 bytes, no locals
	0x03, 0x40, //   loop
	0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00, //     local.get 0, i32.const 1, i32.sub, local.tee 0
	0x0d, 0x00, //     br_if 0
	0x0b,       //   end
	0x23, 0x00, //   global.get 0
	0x20, 0x00, 0x6a, //   local.get 0, i32.add
	0x0b, // end
}

func TestInstrumentAddsChecks(t *testing.T) {
	out, err := instrument(countdown)
	if err != nil {
		t.Fatal(err)
	}
	c := newChecks(1, 2, 3) // the module's own global is 0
	if !bytes.Contains(out, append([]byte{0x03, 0x40}, c.loop...)) {
		t.Fatalf("no check after the loop:\n% x", out)
	}
	if bytes.Contains(out, c.entry) || bytes.Contains(out, c.exit) {
		t.Fatalf("checks at the entry or exit of a function that calls none:\n% x", out)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatalf("the rewritten module does not validate: %v", err)
	}
	res, err := mod.ExportedFunction("count").Call(ctx, 1000)
	if err != nil || res[0] != 7 {
		t.Fatalf("count(1000) = %v, %v; want 7", res, err)
	}
	flag := mod.ExportedGlobal(interruptGlobal)
	if flag == nil || flag.Get() != 0 {
		t.Fatalf("flag %v", flag)
	}
	if depth := mod.ExportedGlobal(depthGlobal); depth == nil || depth.Get() != 0 {
		t.Fatalf("depth %v", depth)
	}
}

// The rewritten module computes what the original does, whatever shape its functions have, and
// every way out of a function gives back its depth.
func TestInstrumentKeepsMeaning(t *testing.T) {
	bin := watModule(t, "shapes")
	out, err := instrument(bin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	// The functions that call others get the checks; $init and $tick, which call none, do not.
	// spin, whose first step is into a loop, only counts its depth at entry.
	c := newChecks(2, 3, 4)
	if n := bytes.Count(out, c.entry); n != 4 {
		t.Fatalf("%d entry checks, want 4", n)
	}
	spin := append(append(append([]byte(nil), c.count...), 0x02, 0x7f, 0x02, 0x40, 0x03, 0x40), c.loop...)
	if n := bytes.Count(out, spin); n != 1 {
		t.Fatalf("%d entries that only count the depth, want 1", n)
	}
	if n := bytes.Count(out, append(append([]byte{0x0b}, c.exit...), 0x0b)); n != 5 {
		t.Fatalf("%d exit checks at a function's end, want 5", n)
	}
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatalf("the rewritten module does not validate: %v", err)
	}
	started := mod.ExportedGlobal("started")
	depth := mod.ExportedGlobal(depthGlobal)
	if started.Get() != 0 {
		t.Fatal("the start function ran at instantiation")
	}
	if _, err := mod.ExportedFunction(startExport).Call(ctx); err != nil || started.Get() != 42 {
		t.Fatalf("the start function, called by its export: %v, started=%d", err, started.Get())
	}
	f := func(name string, arg uint64, want ...uint64) {
		t.Helper()
		got, err := mod.ExportedFunction(name).Call(ctx, arg)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s(%d) = %v, %v; want %v", name, arg, got, err, want)
		}
		if d := depth.Get(); d != 0 {
			t.Fatalf("%s(%d) left depth %d", name, arg, d)
		}
	}
	f("pair", 0, 0, 0)
	f("pair", 5, 1, 2)
	f("find", 3, 30)
	f("pick", 0, 7)
	f("pick", 9, 7)
	f("spin", 5, 5)
	f("sum", 100, 5050)
	f("sum", maxCallDepth-1, (maxCallDepth-1)*maxCallDepth/2)
	// The depth is checked at the trips through Go, one every fuelPerTrip calls at most.
	_, err = mod.ExportedFunction("sum").Call(ctx, maxCallDepth+fuelPerTrip)
	if d := depth.Get(); err == nil || !strings.Contains(err.Error(), "unreachable") || d <= maxCallDepth || d > maxCallDepth+fuelPerTrip {
		t.Fatalf("sum(%d): %v, depth %d; want a trap past depth %d", maxCallDepth+fuelPerTrip, err, d, maxCallDepth)
	}
}

func TestInstrumentRefuses(t *testing.T) {
	tests := []struct {
		name string
		bin  []byte
		want string
	}{
		{"not wasm", []byte("hello"), "not a WebAssembly 1.0 binary"},
		{"truncated", countdown[:len(countdown)-5], "truncated"},
		{"no memory", bytes.Replace(countdown, []byte{0x05, 0x03, 0x01, 0x00, 0x01}, nil, 1), "no memory"},
		{"empty memory section", bytes.Replace(countdown, []byte{0x05, 0x03, 0x01, 0x00, 0x01}, []byte{0x05, 0x01, 0x00}, 1), "no memory"},
		{"unknown opcode", bytes.Replace(countdown, []byte{0x6b, 0x22}, []byte{0xfb, 0x22}, 1), "unknown instruction 0xfb"},
		{"name taken", bytes.Replace(countdown, []byte{0x05, 'c', 'o', 'u', 'n', 't'},
			append([]byte{0x0f}, interruptGlobal...), 1), "export names starting with __iom_ are reserved: it exports __iom_interrupt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := tt.bin
			if tt.name == "name taken" { // the export section grew by 10 bytes
				bin = bytes.Replace(bin, []byte{0x07, 0x09, 0x01}, []byte{0x07, 0x13, 0x01}, 1)
			}
			_, err := instrument(bin)
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := instrument(bytes.Replace(countdown, []byte{0x6b, 0x22}, []byte{0xfb, 0x22}, 1)); !errors.Is(err, errUnknownOpcode) {
		t.Fatalf("unknown opcode: %v", err)
	}
}

// Every guest the tests build, in Go and C, is rewritten and still loads.
func TestInstrumentGuests(t *testing.T) {
	if raceEnabled {
		t.Skip("compiling every guest under -race takes minutes")
	}
	for name := range guests {
		if name == "abi2" { // refused at load, by design
			continue
		}
		t.Run(name, func(t *testing.T) {
			p := load(t, name, Config{Name: name + "-instrumented"})
			if p.mode != interruptFlag {
				t.Fatalf("%s fell back to interrupt mode %d", name, p.mode)
			}
		})
	}
}
