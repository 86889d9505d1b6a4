package wasm

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// Modules built with the AssemblyScript SDK (sdk/wasm-as): AssemblyScript imports abort, trace
// and seed from "env" unless told otherwise, and the host refuses any import beyond iom.log and
// WASI, so the SDK's build routes them to itself.

// TestASImports checks that AssemblyScript modules import only iom.log and WASI, and that the
// host loads them (which it would refuse otherwise).
func TestASImports(t *testing.T) {
	for _, name := range []string{"pii-redact-as", "abort-as"} {
		t.Run(name, func(t *testing.T) {
			bin, err := os.ReadFile(guestPath(t, name))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
			defer rt.Close(ctx)
			cm, err := rt.CompileModule(ctx, bin)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range cm.ImportedFunctions() {
				mod, fn, _ := f.Import()
				if !(mod == "iom" && fn == "log") && mod != "wasi_snapshot_preview1" {
					t.Errorf("imports %s.%s", mod, fn)
				}
			}
			if len(cm.ImportedMemories()) != 0 {
				t.Error("imports its memory")
			}
			if _, ok := cm.ExportedMemories()["memory"]; !ok {
				t.Error("does not export memory")
			}
			load(t, name, Config{Name: name + "-imports"})
		})
	}
}

// TestASAbort checks that an AssemblyScript abort (a throw, a failed assertion, an index out of
// range in the standard library) ends the call with a trap, logs its text at error level, and
// costs only that call; and that trace and Math.random work without imports from "env".
func TestASAbort(t *testing.T) {
	path := guestPath(t, "abort-as")
	sink := newLogSink()
	ctx := context.Background()
	host, err := NewHost(ctx, testCacheDir(), slog.New(sink))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(ctx)
	p, err := host.Load(ctx, Config{Name: "abort-as", Path: path, Timeout: 5 * time.Second, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ fault, log string }{
		{"throw", "ERROR abort: refused: the body asked for a throw at abort.ts:"},
		{"assert", "ERROR abort: the input is not empty at abort.ts:"},
		{"index", "ERROR abort: Index out of range at ~lib/array.ts:"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			_, err := p.Transform(ctx, faultEnv(tt.fault))
			wantKind(t, err, KindTrap, "unreachable")
			if logs := sink.String(); !strings.Contains(logs, tt.log) {
				t.Errorf("logs lack %q:\n%s", tt.log, logs)
			}
			res, err := p.Transform(ctx, faultEnv("echo"))
			if err != nil || !strings.Contains(string(res.Body), `"fault":"echo"`) {
				t.Fatalf("the call after the abort: %s %v", res.Body, err)
			}
		})
	}
	t.Run("trace and random", func(t *testing.T) {
		for _, fault := range []string{"trace", "random"} {
			if res, err := p.Transform(ctx, faultEnv(fault)); err != nil || res.Body != nil {
				t.Fatalf("%s: %s %v", fault, res.Body, err)
			}
		}
		logs := sink.String()
		for _, want := range []string{"DEBUG trace: traced 1.5, 2.0", "INFO random 0."} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %q:\n%s", want, logs)
			}
		}
	})
	if s := p.Stats(); s.Discarded != uint64(len(tests)) {
		t.Errorf("discarded %d instances, want %d", s.Discarded, len(tests))
	}
}
