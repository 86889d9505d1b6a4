package policy

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// openLimiter opens a limiter on a Badger store in dir; the caller closes both, the limiter first.
func openLimiter(t testing.TB, dir string) (*Limiter, *store.Store) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLimiter(st)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return l, st
}

// limiter opens a limiter on a Badger store in a temp dir, closed when the test ends.
func limiter(t *testing.T) *Limiter {
	t.Helper()
	l, st := openLimiter(t, t.TempDir())
	t.Cleanup(func() { l.Close(); st.Close() })
	return l
}

func budgetKey(usd float64) *Key {
	return &Key{ID: "cfg_app", Name: "app", Limits: &spec.Limits{Budget: &spec.Budget{USD: usd, Period: "day"}}}
}

// A $1.00 budget buys exactly ten $0.10 calls, each holding more than it costs: the tenth holds
// what is left, the eleventh finds nothing left. The spend survives a restart.
func TestSequentialCallsSpendTheBudgetExactly(t *testing.T) {
	dir := t.TempDir()
	l, st := openLimiter(t, dir)
	k := budgetKey(1)
	ran := 0
	for range 15 {
		held, fe := l.Reserve(k, 0.14)
		if fe != nil {
			if fe.Status != 402 {
				t.Fatalf("refused with %d %s, want 402", fe.Status, fe.Message)
			}
			continue
		}
		ran++
		l.Spent(held, 3, 0.10)
	}
	if ran != 10 {
		t.Fatalf("%d calls of $0.10 ran on a $1.00 budget, want exactly 10", ran)
	}
	if u := l.UsageOf(k); u.SpentUSD != 1 || u.HeldUSD != 0 || u.OverspentUSD != 0 {
		t.Fatalf("usage %+v, want $1 spent, nothing held or overspent", u)
	}
	l.Close()
	st.Close()
	l2, st2 := openLimiter(t, dir)
	defer st2.Close()
	defer l2.Close()
	if u := l2.UsageOf(k); u.SpentUSD != 1 {
		t.Fatalf("after a restart the key has spent $%v, want $1", u.SpentUSD)
	}
	if _, fe := l2.Reserve(k, 0.14); fe == nil {
		t.Fatal("a call was admitted after a restart on a spent budget")
	}
}

// Twenty callers at once: with holds at least the cost, spend never passes the budget; with
// holds below it, spend passes the budget by at most what calls cost beyond their holds, and
// that is reported, in the usage and to OnOverspend.
func TestConcurrentCallsAreBoundedByHolds(t *testing.T) {
	f := func(estimate, cost float64, wantOver bool) {
		t.Helper()
		l := limiter(t)
		var reported atomic.Int64
		l.OnOverspend = func(scope string, usd float64) {
			if scope != "key" {
				t.Errorf("overspend reported for scope %q", scope)
			}
			reported.Add(Micro(usd))
		}
		k := budgetKey(1)
		var spent atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				// Each caller goes on until the budget is spent, not while calls in flight hold it.
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
					held, fe := l.Reserve(k, estimate)
					if fe != nil && !strings.Contains(fe.Message, "in flight") {
						return
					}
					if fe != nil {
						time.Sleep(100 * time.Microsecond)
						continue
					}
					time.Sleep(time.Millisecond) // the call runs while others are admitted
					l.Spent(held, 1, cost)
					spent.Add(Micro(cost))
				}
			})
		}
		wg.Wait()
		u := l.UsageOf(k)
		if Micro(u.SpentUSD) != spent.Load() {
			t.Fatalf("usage says $%v spent, the calls spent $%v", u.SpentUSD, float64(spent.Load())/1e6)
		}
		if u.HeldUSD != 0 {
			t.Fatalf("$%v still held after every call ended", u.HeldUSD)
		}
		over := Micro(u.OverspentUSD)
		if over != reported.Load() {
			t.Fatalf("usage reports $%v overspent, the metric $%v", u.OverspentUSD, float64(reported.Load())/1e6)
		}
		if spent.Load() > Micro(1)+over {
			t.Fatalf("spent $%v on a $1 budget with $%v reported over", float64(spent.Load())/1e6, u.OverspentUSD)
		}
		if wantOver != (over > 0) {
			t.Fatalf("overspend $%v with holds of $%v for calls of $%v", u.OverspentUSD, estimate, cost)
		}
		if !wantOver && spent.Load() != Micro(1) {
			t.Fatalf("spent $%v, want the whole $1 budget", float64(spent.Load())/1e6)
		}
	}
	f(0.14, 0.10, false)
	f(0.05, 0.10, true)
}

// A call that ends without a cost frees what it held; a hold whose call never ends lapses.
func TestHoldsAreReleasedAndLapse(t *testing.T) {
	l := limiter(t)
	now := time.Now()
	l.now = func() time.Time { return now }
	k := budgetKey(1)
	held, fe := l.Reserve(k, 5) // more than the budget: it holds all of it
	if fe != nil {
		t.Fatal(fe)
	}
	if u := l.UsageOf(k); u.HeldUSD != 1 {
		t.Fatalf("holding $%v, want $1", u.HeldUSD)
	}
	if _, fe := l.Reserve(k, 0.01); fe == nil || !strings.Contains(fe.Message, "calls in flight hold $1.0000") {
		t.Fatalf("a call admitted with the whole budget held: %v", fe)
	}
	l.Release(held)
	l.Release(held) // twice frees once
	l.Spent(held, 0, 0.5)
	if u := l.UsageOf(k); u.HeldUSD != 0 || u.SpentUSD != 0 {
		t.Fatalf("after release: %+v, want nothing held or spent", u)
	}
	if _, fe := l.Reserve(k, 5); fe != nil {
		t.Fatalf("refused after the hold was released: %v", fe)
	}
	now = now.Add(HoldTTL + time.Second)
	l.lapse()
	if u := l.UsageOf(k); u.HeldUSD != 0 {
		t.Fatalf("$%v held after the hold lapsed", u.HeldUSD)
	}
	if _, fe := l.Reserve(k, 0.5); fe != nil {
		t.Fatalf("refused after the hold lapsed: %v", fe)
	}
}

// A key without a budget, or a call without an estimate, holds nothing and keeps its key.
func TestNoBudgetHoldsNothing(t *testing.T) {
	l := limiter(t)
	free := &Key{ID: "cfg_free", Name: "free"}
	if got, fe := l.Reserve(free, 1); fe != nil || got != free || l.Holds(free) {
		t.Fatalf("a key without a budget: %v %v", got != free, fe)
	}
	k := budgetKey(1)
	if got, fe := l.Reserve(k, 0); fe != nil || got != k {
		t.Fatalf("a call without an estimate: %v %v", got != k, fe)
	}
	l.SetOrgBudgets([]OrgBudget{{Org: "acme", Budget: spec.Budget{USD: 1}}})
	org := &Key{ID: "cfg_org", Name: "org", Org: "acme"}
	held, fe := l.Reserve(org, 0.3)
	if fe != nil || held == org || !l.Holds(org) {
		t.Fatalf("a key of an org with a budget holds nothing: %v", fe)
	}
	l.Spent(held, 0, 0.5)
	if got := Micro(l.UsageOf(org).SpentUSD); got != 0 {
		t.Fatalf("a key without its own budget shows spend %v", got)
	}
}

// Spend saved in dollars, before it was counted in micro-dollars, is read back.
func TestSpendSavedInDollarsIsRead(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: dir, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	k := budgetKey(1)
	b, _ := json.Marshal(map[string]any{"period": PeriodStart("day", time.Now()), "usd": 0.7})
	if err := st.Write([]store.Entry{{Key: []byte("spend/key:" + k.ID), Value: b}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	l, st := openLimiter(t, dir)
	defer st.Close()
	defer l.Close()
	if u := l.UsageOf(k); u.SpentUSD != 0.7 {
		t.Fatalf("spent $%v, want $0.7", u.SpentUSD)
	}
}

func BenchmarkReserveAndSpend(b *testing.B) {
	l, st := openLimiter(b, b.TempDir())
	defer st.Close()
	defer l.Close()
	k := budgetKey(1e9)
	b.ReportAllocs()
	for b.Loop() {
		held, fe := l.Reserve(k, 0.01)
		if fe != nil {
			b.Fatal(fe)
		}
		l.Spent(held, 10, 0.005)
	}
}
