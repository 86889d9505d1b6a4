package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testdata/sizeguard.wat is the hand-written module ABI.md shows: the ABI is small enough to
// implement without an SDK.
func TestWATExample(t *testing.T) {
	bin := watModule(t, "sizeguard")
	sink := newLogSink()
	host, err := NewHost(context.Background(), "", slog.New(sink))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(context.Background())
	p, err := host.Load(context.Background(), Config{Name: "sizeguard", Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := p.Transform(context.Background(), requestEnv(chatRequest("user", "short"))); err != nil || res.Body != nil {
		t.Fatalf("small request: %+v %v", res, err)
	}
	big := requestEnv(json.RawMessage(chatRequest("user", strings.Repeat("long ", 1000))))
	_, err = p.Transform(context.Background(), big)
	e := wantKind(t, err, KindGuest, "request too large for this model (code too_large)")
	if e.Status != 413 {
		t.Fatalf("status %d", e.Status)
	}
	if !strings.Contains(sink.String(), "WARN sizeguard: refused a large request plugin=sizeguard") {
		t.Fatalf("log: %s", sink.String())
	}
}

// watModule returns testdata/<name>.wasm, compiled from <name>.wat. The compiled modules are
// checked in, so the tests need no wabt; with wat2wasm installed, it also checks that the module
// still matches its source.
func watModule(tb testing.TB, name string) []byte {
	tb.Helper()
	bin, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		tb.Fatal(err)
	}
	if wat2wasm, err := exec.LookPath("wat2wasm"); err == nil {
		out := filepath.Join(tb.TempDir(), name+".wasm")
		if msg, err := exec.Command(wat2wasm, filepath.Join("testdata", name+".wat"), "-o", out).CombinedOutput(); err != nil {
			tb.Fatalf("wat2wasm: %v: %s", err, msg)
		}
		if fresh, _ := os.ReadFile(out); !bytes.Equal(fresh, bin) {
			tb.Fatalf("testdata/%s.wasm is stale: run wat2wasm testdata/%[1]s.wat -o testdata/%[1]s.wasm", name)
		}
	}
	return bin
}

// A module declaring a memory maximum above the plugin's cap is refused, as ABI.md §6.1 says;
// wazero alone would lower the maximum to the cap and load it.
func TestMemoryMaximumOverCap(t *testing.T) {
	bin := watModule(t, "bigmemory")
	_, err := testHost().Load(context.Background(), Config{Name: "bigmemory", Binary: bin})
	wantKind(t, err, KindLoad, "declares a memory maximum of 128 MB, over the plugin's cap of 64 MB (limits.memoryMB)")
	p := load(t, "bigmemory", Config{Binary: bin, MemoryLimitMB: 128})
	if res, err := p.Transform(context.Background(), requestEnv(chatRequest("user", "hi"))); err != nil || res.Body != nil {
		t.Fatalf("under a 128 MB cap: %+v %v", res, err)
	}
}
