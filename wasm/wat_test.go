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
// implement without an SDK. The compiled module is checked in; with wabt installed the test
// also checks it still matches its source.
func TestWATExample(t *testing.T) {
	bin, err := os.ReadFile("testdata/sizeguard.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if wat2wasm, err := exec.LookPath("wat2wasm"); err == nil {
		out := filepath.Join(t.TempDir(), "sizeguard.wasm")
		if msg, err := exec.Command(wat2wasm, "testdata/sizeguard.wat", "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm: %v: %s", err, msg)
		}
		if fresh, _ := os.ReadFile(out); !bytes.Equal(fresh, bin) {
			t.Fatal("testdata/sizeguard.wasm is stale: run wat2wasm testdata/sizeguard.wat -o testdata/sizeguard.wasm")
		}
	}
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
	if e.Status != 0 {
		t.Fatalf("status %d", e.Status)
	}
	if !strings.Contains(sink.String(), "WARN sizeguard: refused a large request plugin=sizeguard") {
		t.Fatalf("log: %s", sink.String())
	}
}
