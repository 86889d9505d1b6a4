package cluster

import (
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/internal/redistest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// node is one gateway's limiter joined to the cluster at url.
type node struct {
	c   *Cluster
	lim *policy.Limiter
}

func startNodes(t *testing.T, url string, n int, refuse bool) []node {
	t.Helper()
	nodes := make([]node, n)
	for i := range nodes {
		c, err := Open(Options{URL: url, NodeID: "gw-" + string(rune('a'+i)), Version: "test", Log: discard})
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
		lim.SetShared(c.Limits(), refuse, discard)
		t.Cleanup(func() { lim.Close(); c.Close(); st.Close() })
		nodes[i] = node{c, lim}
	}
	return nodes
}

// A key allowed 30 requests at once and one per 1000 s gets exactly 30 of 45 requests sent in
// turn to three nodes: the nodes share one GCRA state, not three.
func TestRateLimitIsExactAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	nodes := startNodes(t, rs.URL(), 3, false)
	k := &policy.Key{ID: "cfg_app", Name: "app", Limits: &spec.Limits{RPS: 0.001, Burst: 30}}
	ok := 0
	var last *fault.Error
	for i := range 45 {
		if fe := nodes[i%3].lim.Admit(k); fe == nil {
			ok++
		} else {
			last = fe
		}
	}
	if ok != 30 {
		t.Fatalf("%d of 45 requests admitted, want exactly 30", ok)
	}
	if last == nil || last.Status != 429 || last.RetryAfter < 900 {
		t.Fatalf("refusal = %+v, want 429 with Retry-After near 1000 s", last)
	}
}

// A $1.00 budget and calls costing exactly $0.10, sent in turn to three nodes: exactly 10 run.
// The key's org has a budget too, counted in the same round trips.
func TestBudgetIsExactAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	nodes := startNodes(t, rs.URL(), 3, false)
	for _, n := range nodes {
		n.lim.SetOrgBudgets([]policy.OrgBudget{{Org: "acme", Budget: spec.Budget{USD: 5}}})
	}
	k := &policy.Key{ID: "cfg_app", Name: "app", Org: "acme", Limits: &spec.Limits{Budget: &spec.Budget{USD: 1, Period: "day"}}}
	ran := 0
	var refusal *fault.Error
	for i := range 30 {
		n := nodes[i%3]
		if fe := n.lim.Admit(k); fe != nil {
			refusal = fe
			continue
		}
		ran++
		n.lim.Spent(k, 10, 0.10)
	}
	if ran != 10 {
		t.Fatalf("%d calls ran, want exactly 10", ran)
	}
	if refusal == nil || refusal.Status != 402 && refusal.Status != 429 {
		t.Fatalf("refusal = %+v, want the budget's", refusal)
	}
	for _, n := range nodes {
		if u := n.lim.UsageOf(k); u.SpentUSD != 1 {
			t.Fatalf("node %s reports $%v spent, want exactly $1", n.c.NodeID(), u.SpentUSD)
		}
	}
	if got := rs.Client().Get(t.Context(), "iom:{o:acme}:spend:"+strconv.FormatInt(policy.PeriodStart("month", time.Now()).Unix(), 10)).Val(); got != "1000000" {
		t.Fatalf("org spend = %q micro-dollars, want 1000000", got)
	}
}

// Twenty callers at once against a $1.00 budget: the spend goes over by at most what was in
// flight when it ran out, and the key's usage shows it.
func TestConcurrentOverspendIsBounded(t *testing.T) {
	rs := redistest.Start(t)
	nodes := startNodes(t, rs.URL(), 3, false)
	k := &policy.Key{ID: "cfg_app", Name: "app", Limits: &spec.Limits{Budget: &spec.Budget{USD: 1}}}
	var ran atomic.Int64
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Go(func() {
			for i := 0; i < 5; i++ {
				n := nodes[(w+i)%3]
				if n.lim.Admit(k) != nil {
					return
				}
				ran.Add(1)
				time.Sleep(5 * time.Millisecond) // the call
				n.lim.Spent(k, 0, 0.10)
			}
		})
	}
	wg.Wait()
	spent := nodes[0].lim.UsageOf(k).SpentUSD
	if ran.Load() < 10 || spent < 1 {
		t.Fatalf("%d calls ran, $%v spent: the budget was not used", ran.Load(), spent)
	}
	if spent > 1+20*0.10+1e-9 {
		t.Fatalf("$%v spent, more than the budget plus one call per caller", spent)
	}
	if want := float64(ran.Load()) * 0.10; spent < want-1e-9 || spent > want+1e-9 {
		t.Fatalf("$%v spent for %d calls: spend was lost", spent, ran.Load())
	}
}

// With Redis gone, onRedisDown: serve admits on the node's own counters within the Redis
// timeout, and refuse answers 503; spend recorded meanwhile reaches Redis when it is back.
func TestRedisDown(t *testing.T) {
	rs := redistest.Start(t)
	serve := startNodes(t, rs.URL(), 1, false)[0]
	refuse := startNodes(t, rs.URL(), 1, true)[0]
	k := &policy.Key{ID: "cfg_app", Name: "app", Limits: &spec.Limits{RPS: 100, Budget: &spec.Budget{USD: 10}}}
	if serve.lim.Admit(k) != nil || refuse.lim.Admit(k) != nil {
		t.Fatal("refused while Redis is up")
	}
	serve.lim.Spent(k, 0, 0.25)

	rs.Pause()
	t0 := time.Now()
	if fe := serve.lim.Admit(k); fe != nil {
		t.Fatalf("serve: %v", fe)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Fatalf("admitting took %v with Redis paused", d)
	}
	fe := refuse.lim.Admit(k)
	if fe == nil || fe.Status != 503 || fe.Code != "cluster_unavailable" {
		t.Fatalf("refuse: %+v, want 503 cluster_unavailable", fe)
	}
	serve.lim.Spent(k, 0, 0.50) // kept until Redis answers
	if p := serve.c.Status(t.Context()); p.Redis == "up" || p.PendingSpendUSD != 0.5 {
		t.Fatalf("status while paused = %+v", p)
	}
	rs.Resume()

	deadline := time.Now().Add(5 * time.Second)
	for serve.lim.UsageOf(k).SpentUSD != 0.75 {
		if time.Now().After(deadline) {
			t.Fatalf("spent $%v after Redis came back, want $0.75", serve.lim.UsageOf(k).SpentUSD)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if fe := refuse.lim.Admit(k); fe != nil {
		t.Fatalf("refuse after Redis came back: %v", fe)
	}
}

// statusOf waits up to 3 s for c to see n nodes (each announces itself once it has joined),
// and returns its status.
func statusOf(t *testing.T, c *Cluster, n int) Status {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	s := c.Status(t.Context())
	for ; len(s.Nodes) != n; s = c.Status(t.Context()) {
		if time.Now().After(deadline) {
			t.Fatalf("status = %+v, want %d nodes", s, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// Every node sees the others with their versions; a closed node leaves the list.
func TestStatusListsNodes(t *testing.T) {
	rs := redistest.Start(t)
	nodes := startNodes(t, rs.URL(), 3, false)
	s := statusOf(t, nodes[1].c, 3)
	if s.Redis != "up" || s.NodeID != "gw-b" || !s.Nodes[1].Self || !s.Nodes[0].Up || s.Nodes[2].Version != "test" {
		t.Fatalf("status = %+v", s)
	}
}

// A Redis URL that does not parse is refused without being repeated: it may hold a password.
func TestBadURLIsNotRepeated(t *testing.T) {
	_, err := Open(Options{URL: "redis://:s3cret@[::1", NodeID: "a"})
	if err == nil {
		t.Fatal("opened a bad URL")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cret") {
		t.Fatalf("error repeats the password: %s", msg)
	}
}
