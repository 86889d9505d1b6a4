package hub

import (
	"context"
	"log/slog"
	"testing"

	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
)

// A WASM transform's refusal keeps its 4xx status and code, as a plugin fault: the ABI's own
// example refuses a large request with 413.
func TestWASMRefusal(t *testing.T) {
	ctx := context.Background()
	h, err := New(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	if err := h.Apply(ctx, []config.Plugin{{Name: "guard", Path: "../../wasm/testdata/sizeguard.wasm"}}); err != nil {
		t.Fatal(err)
	}
	if !h.Has("guard") || h.KnownPlugin("guard") != nil || h.KnownProvider("wasm:guard") == nil {
		t.Fatal("a transform is a known plugin and serves no models")
	}
	big := make([]byte, 0, 5000)
	big = append(big, `{"model":"m","messages":[{"role":"user","content":"`...)
	for len(big) < 4900 {
		big = append(big, "word "...)
	}
	big = append(big, `"}]}`...)
	_, _, err = h.Transform(ctx, "guard", "request", big, invoke.TransformMeta{Op: "chat"})
	fe, ok := err.(*fault.Error)
	if !ok || fe.Kind != fault.Plugin || fe.Status != 413 || fe.Code != "too_large" {
		t.Fatalf("refusal: %#v", err)
	}
}

// A process transformer's answer: a body, a drop, an error with its code and status, and no
// headers, which transforms cannot set.
func TestProcTransformResult(t *testing.T) {
	if body, drop, err := procTransformResult("p", []byte(`{"body":{"a":1}}`)); err != nil || drop || string(body) != `{"a":1}` {
		t.Fatalf("body: %s %v %v", body, drop, err)
	}
	if _, drop, err := procTransformResult("p", []byte(` {"drop":true} `)); err != nil || !drop {
		t.Fatalf("drop: %v %v", drop, err)
	}
	for out, status := range map[string]int{
		`{"error":{"message":"no","code":"blocked","status":429}}`: 429,
		`{"error":{"message":"no","code":"blocked","status":503}}`: 502,
		`{"error":{"message":"no","code":"blocked"}}`:              502,
	} {
		_, _, err := procTransformResult("p", []byte(out))
		if fe, ok := err.(*fault.Error); !ok || fe.Status != status || fe.Code != "blocked" {
			t.Errorf("%s: %#v, want status %d", out, err, status)
		}
	}
	if _, _, err := procTransformResult("p", []byte(`{"headers":{"x":"1"}}`)); err == nil {
		t.Fatal("a transform that sets headers must fail")
	}
}
