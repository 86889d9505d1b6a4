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
	g.Stop()
	g = gt.Start(t, dir, cfg)
	if s := stats(g); s == nil || s["requests"] != 1.0 {
		t.Fatalf("after a restart: %v", s)
	}
}
