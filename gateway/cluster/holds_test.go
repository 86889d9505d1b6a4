package cluster

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/internal/redistest"
)

func budgetedKey() *policy.Key {
	return &policy.Key{ID: "cfg_app", Name: "app", Org: "acme", Limits: &spec.Limits{Budget: &spec.Budget{USD: 1, Period: "day"}}}
}

// Calls holding $0.14 and costing $0.10, sent in turn to three nodes, on a $1.00 budget:
// exactly 10 run, the tenth holding what is left; the org's budget holds and counts the same.
func TestHoldsAreExactAcrossNodes(t *testing.T) {
	rs := redistest.Start(t)
	nodes := startNodes(t, rs.URL(), 3, false)
	for _, n := range nodes {
		n.lim.SetOrgBudgets([]policy.OrgBudget{{Org: "acme", Budget: spec.Budget{USD: 5}}})
	}
	k := budgetedKey()
	ran := 0
	for i := range 30 {
		n := nodes[i%3]
		held, fe := n.lim.Reserve(k, 0.14)
		if fe != nil {
			if fe.Status != 402 {
				t.Fatalf("call %d refused with %d %s", i, fe.Status, fe.Message)
			}
			continue
		}
		if held == k {
			t.Fatalf("call %d holds nothing", i)
		}
		ran++
		n.lim.Spent(held, 10, 0.10)
	}
	if ran != 10 {
		t.Fatalf("%d calls ran, want exactly 10", ran)
	}
	for _, n := range nodes {
		if u := n.lim.UsageOf(k); u.SpentUSD != 1 || u.HeldUSD != 0 || u.OverspentUSD != 0 {
			t.Fatalf("node %s reports %+v, want $1 spent, nothing held or overspent", n.c.NodeID(), u)
		}
	}
	if got := rs.Client().Get(t.Context(), "iom:{o:acme}:held").Val(); got != "0" {
		t.Fatalf("the org holds %q micro-dollars after every call ended", got)
	}
}

// Twenty callers on three nodes at once: with holds at least the cost, the spend is exactly the
// budget; with holds below it, the spend passes the budget by at most what calls cost beyond
// their holds, which the key's usage and each node's OnOverspend report.
func TestConcurrentHoldsBoundTheSpend(t *testing.T) {
	f := func(estimate, cost float64, wantOver bool) {
		t.Helper()
		rs := redistest.Start(t)
		nodes := startNodes(t, rs.URL(), 3, false)
		var reported atomic.Int64
		for _, n := range nodes {
			n.lim.OnOverspend = func(scope string, usd float64) { reported.Add(policy.Micro(usd)) }
		}
		k := budgetedKey()
		k.Org = ""
		var spent atomic.Int64
		var wg sync.WaitGroup
		for w := range 20 {
			wg.Go(func() {
				// Each caller goes on until the budget is spent, not while calls in flight hold it.
				deadline := time.Now().Add(10 * time.Second)
				for i := 0; time.Now().Before(deadline); i++ {
					n := nodes[(w+i)%3]
					held, fe := n.lim.Reserve(k, estimate)
					if fe != nil && !strings.Contains(fe.Message, "in flight") {
						return
					}
					if fe != nil {
						time.Sleep(100 * time.Microsecond)
						continue
					}
					time.Sleep(2 * time.Millisecond) // the call
					n.lim.Spent(held, 0, cost)
					spent.Add(policy.Micro(cost))
				}
			})
		}
		wg.Wait()
		u := nodes[1].lim.UsageOf(k)
		over := policy.Micro(u.OverspentUSD)
		switch {
		case policy.Micro(u.SpentUSD) != spent.Load():
			t.Fatalf("Redis says $%v spent, the calls spent $%v", u.SpentUSD, float64(spent.Load())/1e6)
		case u.HeldUSD != 0:
			t.Fatalf("$%v still held after every call ended", u.HeldUSD)
		case over != reported.Load():
			t.Fatalf("usage reports $%v overspent, the nodes $%v", u.OverspentUSD, float64(reported.Load())/1e6)
		case spent.Load() > policy.Micro(1)+over:
			t.Fatalf("$%v spent on a $1 budget with $%v reported over", float64(spent.Load())/1e6, u.OverspentUSD)
		case wantOver != (over > 0):
			t.Fatalf("$%v overspent with holds of $%v for calls of $%v", u.OverspentUSD, estimate, cost)
		case !wantOver && spent.Load() != policy.Micro(1):
			t.Fatalf("$%v spent, want the whole $1 budget and no more", float64(spent.Load())/1e6)
		}
	}
	f(0.14, 0.10, false)
	f(0.05, 0.10, true)
}

// A call that fails frees its hold on every node; a node that dies holding the whole budget
// holds it until the hold lapses, and the next admission then clears it.
func TestHoldsAreReleasedAndLapse(t *testing.T) {
	rs := redistest.Start(t)
	nodes := startNodes(t, rs.URL(), 2, false)
	k := budgetedKey()
	k.Org = ""
	held, fe := nodes[0].lim.Reserve(k, 5)
	if fe != nil {
		t.Fatal(fe)
	}
	if _, fe := nodes[1].lim.Reserve(k, 0.01); fe == nil || !strings.Contains(fe.Message, "calls in flight hold $1.0000") {
		t.Fatalf("node b admitted a call with the whole budget held on node a: %v", fe)
	}
	nodes[0].lim.Release(held)
	if u := nodes[1].lim.UsageOf(k); u.HeldUSD != 0 || u.SpentUSD != 0 {
		t.Fatalf("after the release: %+v", u)
	}
	if _, fe := nodes[0].lim.Reserve(k, 5); fe != nil { // never settled: its node "crashed"
		t.Fatal(fe)
	}
	if _, fe := nodes[1].lim.Reserve(k, 0.01); fe == nil {
		t.Fatal("admitted with the budget held")
	}
	// Time passes beyond the hold's life: its score is when it lapses.
	rdb := rs.Client()
	members := rdb.ZRange(t.Context(), "iom:{k:cfg_app}:holds", 0, -1).Val()
	if len(members) != 1 || !strings.HasSuffix(members[0], ":1000000") {
		t.Fatalf("holds = %v, want one of 1000000 micro-dollars", members)
	}
	if life := rdb.PTTL(t.Context(), "iom:{k:cfg_app}:holds").Val(); life < policy.HoldTTL || life > policy.HoldTTL+2*time.Second {
		t.Fatalf("the holds live %v, want about %v", life, policy.HoldTTL)
	}
	rdb.ZAdd(t.Context(), "iom:{k:cfg_app}:holds", redisZ(1, members[0]))
	if _, fe := nodes[1].lim.Reserve(k, 0.01); fe != nil {
		t.Fatalf("refused after the dead node's hold lapsed: %v", fe)
	}
	if got := rdb.Get(t.Context(), "iom:{k:cfg_app}:held").Val(); got != "10000" {
		t.Fatalf("held %q micro-dollars, want only the new call's 10000", got)
	}
}

func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }
