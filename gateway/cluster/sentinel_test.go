package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/internal/redistest"
)

// sentinelNodes starts n limiters joined through the sentinel s; they refuse while Redis does
// not answer, so that an admission says whether the shared counters took it.
func sentinelNodes(t *testing.T, s *redistest.Sentinel, n int) []node {
	t.Helper()
	nodes := make([]node, n)
	for i := range nodes {
		c, err := Open(Options{Sentinel: &Sentinel{MasterName: redistest.MasterName, Addrs: []string{"127.0.0.1:1", s.Addr}},
			NodeID: "gw-" + string(rune('a'+i)), Version: "test", Log: discard})
		if err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(store.Options{InMemory: true, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		lim, err := policy.NewLimiter(st)
		if err != nil {
			t.Fatal(err)
		}
		lim.SetShared(c.Limits(), true, discard)
		t.Cleanup(func() { lim.Close(); c.Close(); st.Close() })
		nodes[i] = node{c, lim}
	}
	return nodes
}

// exactBurst checks that a fresh key allowed a burst of 12 gets exactly 12 of 20 requests sent
// in turn to the nodes, and that a $1.00 budget buys exactly ten $0.10 calls.
func exactBurst(t *testing.T, nodes []node, id string) {
	t.Helper()
	k := &policy.Key{ID: id, Name: id, Limits: &spec.Limits{RPS: 0.001, Burst: 12}}
	ok := 0
	for i := range 20 {
		switch fe := nodes[i%len(nodes)].lim.Admit(k); {
		case fe == nil:
			ok++
		case fe.Status != 429:
			t.Fatalf("request %d: %d %s", i, fe.Status, fe.Message)
		}
	}
	if ok != 12 {
		t.Fatalf("%d of 20 requests admitted, want exactly 12", ok)
	}
	b := &policy.Key{ID: id + "-budget", Name: id, Limits: &spec.Limits{Budget: &spec.Budget{USD: 1, Period: "day"}}}
	ran := 0
	for i := range 15 {
		n := nodes[i%len(nodes)]
		held, fe := n.lim.Reserve(b, 0.14)
		switch {
		case fe == nil:
			ran++
			n.lim.Spent(held, 1, 0.10)
		case fe.Status != 402:
			t.Fatalf("call %d: %d %s", i, fe.Status, fe.Message)
		}
	}
	if ran != 10 {
		t.Fatalf("%d calls of $0.10 on a $1.00 budget, want exactly 10", ran)
	}
}

// Nodes that find Redis through Sentinel share their limits as with a URL; a sentinel that does
// not answer is skipped for the next.
func TestSentinel(t *testing.T) {
	primary := redistest.Start(t)
	s := redistest.StartSentinel(t, primary)
	nodes := sentinelNodes(t, s, 3)
	exactBurst(t, nodes, "cfg_sentinel")
	if st := statusOf(t, nodes[1].c, 3); st.Redis != "up" {
		t.Fatalf("status %+v, want Redis up and three nodes", st)
	}
}

// When the primary dies, the sentinel promotes its replica and the nodes follow: requests are
// refused meanwhile (onRedisDown: refuse) and counted exactly again afterwards.
func TestSentinelFailover(t *testing.T) {
	primary := redistest.Start(t)
	replica := redistest.StartReplica(t, primary)
	s := redistest.StartSentinel(t, primary)
	nodes := sentinelNodes(t, s, 2)
	exactBurst(t, nodes, "cfg_before")
	// The sentinel knows the replica before the primary goes (it learns it from the primary).
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(replicaInfo(t, s), replica.Addr) {
		if time.Now().After(deadline) {
			t.Fatalf("the sentinel does not list the replica %s", replica.Addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	primary.Stop()
	stopped := time.Now()
	deadline = time.Now().Add(30 * time.Second)
	for s.Primary() != replica.Addr {
		if time.Now().After(deadline) {
			t.Fatalf("the sentinel did not promote the replica: it names %q", s.Primary())
		}
		time.Sleep(100 * time.Millisecond)
	}
	k := &policy.Key{ID: "cfg_probe", Name: "probe", Limits: &spec.Limits{RPS: 1000, Burst: 1000}}
	for _, n := range nodes {
		deadline = time.Now().Add(15 * time.Second)
		for fe := n.lim.Admit(k); fe != nil; fe = n.lim.Admit(k) {
			if fe.Status != 503 {
				t.Fatalf("while failing over: %d %s", fe.Status, fe.Message)
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s still refuses 15 s after the promotion: %s", n.c.NodeID(), fe.Message)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("the nodes admit again %v after the primary stopped", time.Since(stopped).Round(10*time.Millisecond))
	exactBurst(t, nodes, "cfg_after")
}

// replicaInfo is what the sentinel says of the primary's replicas.
func replicaInfo(t *testing.T, s *redistest.Sentinel) string {
	t.Helper()
	c := redisSentinelClient(s.Addr)
	defer c.Close()
	v, err := c.Replicas(t.Context(), redistest.MasterName).Result()
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, r := range v {
		b.WriteString(r["ip"] + ":" + r["port"] + " ")
	}
	return b.String()
}

func redisSentinelClient(addr string) *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: addr, DisableIdentity: true})
}

// The limiter logs what the shared counters answer when they fail: never the Redis address,
// which a dial error names.
func TestLimitErrorsDoNotNameRedis(t *testing.T) {
	for _, o := range []Options{
		{URL: "redis://127.0.0.1:1/0"},
		{Sentinel: &Sentinel{MasterName: "iom", Addrs: []string{"127.0.0.1:1"}}},
	} {
		o.NodeID, o.Log = "gw-a", discard
		c, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		k := &policy.Key{ID: "cfg_app", Name: "app", Limits: &spec.Limits{RPS: 1}}
		a := &policy.Admission{Key: k, Minute: time.Now().Truncate(time.Minute)}
		_, err1 := c.Limits().Admit(a)
		_, err2 := c.Limits().Usage(a)
		c.Close()
		for _, err := range []error{err1, err2} {
			if err == nil || strings.Contains(err.Error(), "127.0.0.1") {
				t.Fatalf("error %v", err)
			}
		}
	}
}
