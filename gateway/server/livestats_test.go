package server_test

import (
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// A registry card counts requests, not upstream attempts, and keeps its counts across a
// restart: before, one test that took three attempts showed "3 requests", and a restart showed
// none while analytics still had them.
func TestModelStatsCountRequests(t *testing.T) {
	f, _ := fakeupstream.StartOpenAI()
	t.Cleanup(f.Close)
	f.Faults = func(n int64, _ *fakeupstream.Received) fakeupstream.Fault {
		if n <= 2 {
			return fakeupstream.Fault{Status: 503}
		}
		return fakeupstream.Fault{}
	}
	dir := t.TempDir()
	cfg := `models:
  - {id: m, name: M, endpoint: ` + f.URL + `, provider: openai, retry: {attempts: 2, backoffMs: 1, maxBackoffMs: 2}}
`
	g := gt.Start(t, dir, cfg)
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	stats := func(g *gt.Gateway) map[string]any {
		m := g.Admin("GET", "/api/models/m", nil).JSON(t)
		s, _ := m["stats"].(map[string]any)
		return s
	}
	if s := stats(g); s == nil || s["requests"] != 1.0 || s["errors"] != 0.0 {
		t.Fatalf("after one request that took three attempts: %v", s)
	}
	g.Flush()
	// The record places each attempt at its start: one after another, retries' waits between.
	rec := g.Admin("GET", "/api/executions?model=m", nil).JSON(t)["data"].([]any)[0].(map[string]any)
	attempts := rec["attempts"].([]any)
	if len(attempts) != 3 {
		t.Fatalf("attempts %v", attempts)
	}
	end := 0.0
	for i, raw := range attempts {
		a := raw.(map[string]any)
		start, _ := a["startMs"].(float64)
		if i > 0 && (start < end || start == 0) {
			t.Fatalf("attempt %d starts at %v ms, before the previous one ended (%v ms): %v", i, start, end, attempts)
		}
		end = start + a["latencyMs"].(float64)
	}
	g.Stop()
	g = gt.Start(t, dir, cfg)
	if s := stats(g); s == nil || s["requests"] != 1.0 {
		t.Fatalf("after a restart: %v", s)
	}
}
