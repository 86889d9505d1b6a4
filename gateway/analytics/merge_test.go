package analytics

import (
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/registry"
)

// Merged statistics add counts, weigh latencies by requests and keep the latest error.
func TestMergeStats(t *testing.T) {
	t0 := time.Unix(1000, 0)
	m := MergeStats([]*registry.Stats{
		{Requests: 3, Errors: 1, LatencyMs: 10, P50Ms: 10, P95Ms: 20, LastError: "old", LastErrorAt: t0},
		nil,
		{Requests: 1, LatencyMs: 50, P50Ms: 50, P95Ms: 60, LastError: "new", LastErrorAt: t0.Add(time.Second), LastRequestAt: t0},
		{Requests: 0, LatencyMs: 999},
	})
	if m.Requests != 4 || m.Errors != 1 || m.LatencyMs != 20 || m.P50Ms != 20 || m.P95Ms != 30 || m.SuccessRate != 0.75 ||
		m.LastError != "new" || !m.LastRequestAt.Equal(t0) {
		t.Fatalf("merged %+v", m)
	}
	if MergeStats(nil) != nil {
		t.Fatal("nothing merged must be nil")
	}
	var s ModelStats
	s.SetPeers(&registry.Stats{Requests: 2, LatencyMs: 5})
	if got := s.Snapshot(); got == nil || got.Requests != 2 {
		t.Fatalf("peers alone: %+v", got)
	}
}
