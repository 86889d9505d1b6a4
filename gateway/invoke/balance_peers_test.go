package invoke

import (
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/provider"
)

// least-latency weighs this node's latency of each upstream, by calls, with what the other nodes
// of a cluster saw: an upstream slow on other nodes loses here too, even before this node called it.
func TestLeastLatencyUsesPeers(t *testing.T) {
	now := time.Now()
	a := &replica{name: "a", up: &provider.Upstream{}, health: &health{threshold: 5}}
	b := &replica{name: "b", up: &provider.Upstream{}, health: &health{threshold: 5}}
	r := &Route{lb: "least-latency", replicas: []*replica{a, b}}
	b.health.success(50 * time.Millisecond)
	if got := r.pick(nil, now); got != a {
		t.Fatalf("picked %s, want a: unknown here, it may be faster", got.name)
	}
	a.health.peers.Store(&analytics.ReplicaLatency{Ms: 500, Calls: 10})
	for range 4 {
		if got := r.pick(nil, now); got != b {
			t.Fatalf("picked %s, want b: a is slow on the other nodes", got.name)
		}
	}
	a.health.success(10 * time.Millisecond) // one fast call here against ten slow ones there
	if ms := a.health.latency(); ms < 455 || ms > 456 {
		t.Fatalf("a's latency %v ms, want the calls' weighted mean (10 + 10×500)/11", ms)
	}
	b.health.peers.Store(&analytics.ReplicaLatency{Ms: 2000, Calls: 99})
	if got := r.pick(nil, now); got != a {
		t.Fatalf("picked %s, want a: b is slower across the cluster", got.name)
	}
}

// The engine reports its own latency of each upstream it called, by an id that does not name
// the upstream, and takes the peers' by the same ids.
func TestReplicaLatenciesRoundTrip(t *testing.T) {
	ha, hb := &health{}, &health{}
	e := &Engine{healths: map[string]*health{"m|http://10.0.0.1/v1|x": ha, "m|http://10.0.0.2/v1|x": hb}}
	ha.success(30 * time.Millisecond)
	own := e.ReplicaLatencies()
	if len(own) != 1 {
		t.Fatalf("own = %v, want only the upstream that was called", own)
	}
	for id, l := range own {
		if l.Calls != 1 || l.Ms != 30 || id != replicaID("m|http://10.0.0.1/v1|x") {
			t.Fatalf("own = %v", own)
		}
		e.SetPeerLatencies(map[string]analytics.ReplicaLatency{id: {Ms: 90, Calls: 2}})
	}
	if ms := ha.latency(); ms != 70 {
		t.Fatalf("merged latency %v ms, want (30 + 2×90)/3 = 70", ms)
	}
	if hb.peers.Load() != nil {
		t.Fatal("an upstream the peers did not report has peers")
	}
	e.SetPeerLatencies(nil)
	if ms := ha.latency(); ms != 30 {
		t.Fatalf("latency %v ms once the peers are gone, want this node's 30", ms)
	}
}

func TestMergeLatency(t *testing.T) {
	m := analytics.MergeLatency([]analytics.ReplicaLatency{{Ms: 100, Calls: 1}, {Ms: 10, Calls: 9}, {Ms: 0, Calls: 0}})
	if m.Calls != 10 || m.Ms != 19 {
		t.Fatalf("merged %+v, want 10 calls at 19 ms", m)
	}
}
