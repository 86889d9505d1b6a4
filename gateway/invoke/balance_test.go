package invoke

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/fault"
)

// The breaker opens after threshold failures in a row, lets one probe through once the
// cooldown is over, and closes again on its success; a success between failures starts the
// count again.
func TestBreakerStates(t *testing.T) {
	t0 := time.Now()
	h := &health{threshold: 3, cooldown: 10 * time.Second}
	step := func(what string, want int) {
		t.Helper()
		if st, _ := h.snapshot(); st != want {
			t.Fatalf("%s: state %d, want %d", what, st, want)
		}
	}
	h.failure(t0)
	h.failure(t0)
	h.success(time.Millisecond)
	h.failure(t0)
	h.failure(t0)
	step("two failures after a success", closed)
	if !h.usable(t0) || !h.acquire(t0) {
		t.Fatal("a closed breaker lets calls through")
	}
	h.failure(t0)
	step("three failures in a row", open)
	if h.usable(t0.Add(9*time.Second)) || h.acquire(t0.Add(9*time.Second)) {
		t.Fatal("an open breaker lets no call through before its cooldown")
	}
	later := t0.Add(10 * time.Second)
	if !h.usable(later) || !h.acquire(later) {
		t.Fatal("after the cooldown, one probe goes through")
	}
	step("probing", halfOpen)
	if h.usable(later) || h.acquire(later) {
		t.Fatal("only one probe at a time")
	}
	h.failure(later)
	step("a failed probe", open)
	if h.acquire(later.Add(time.Second)) {
		t.Fatal("a failed probe starts the cooldown again")
	}
	again := later.Add(10 * time.Second)
	if !h.acquire(again) {
		t.Fatal("the next probe")
	}
	h.success(time.Millisecond)
	step("a successful probe", closed)
	h.failure(again)
	h.failure(again)
	step("the count started again", closed)
}

// The latency average follows successes: the first sets it, the next move it by a fifth.
func TestBreakerLatency(t *testing.T) {
	h := &health{threshold: 5, cooldown: time.Second}
	h.success(10 * time.Millisecond)
	if _, ms := h.snapshot(); ms != 10 {
		t.Fatalf("first sample: %v", ms)
	}
	h.success(20 * time.Millisecond)
	if _, ms := h.snapshot(); ms != 12 {
		t.Fatalf("second sample: %v", ms)
	}
}

// Calls on many goroutines at once leave the breaker in a state one order of them explains:
// failures alone open it, and a success after the last failure closes it.
func TestBreakerConcurrent(t *testing.T) {
	for _, lastSucceeds := range []bool{false, true} {
		h := &health{threshold: 50, cooldown: time.Hour}
		now := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 {
					h.usable(now)
					h.failure(now)
				}
			}()
		}
		wg.Wait()
		if st, _ := h.snapshot(); st != open {
			t.Fatalf("800 failures: state %d", st)
		}
		if lastSucceeds {
			// A success closes even an open breaker (a call let through before it opened).
			h.success(time.Millisecond)
			if st, _ := h.snapshot(); st != closed || h.failures.Load() != 0 {
				t.Fatalf("success after the failures: state %d, %d failures", st, h.failures.Load())
			}
		}
	}
}

// A call waiting in a model's queue leaves it when its context ends, not at the queue timeout;
// a full queue refuses at once.
func TestGateWaitEndsWithContext(t *testing.T) {
	g := newGate(1, 1, time.Minute)
	if fe := g.enter(context.Background(), "m"); fe != nil {
		t.Fatal(fe)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *fault.Error, 1)
	go func() { done <- g.enter(ctx, "m") }()
	for g.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	t0 := time.Now()
	if fe := g.enter(context.Background(), "m"); fe == nil || fe.Code != codeBusy || fe.RetryAfter <= 0 {
		t.Fatalf("a full queue: %+v", fe)
	}
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("a full queue waited %v", d)
	}
	cancel()
	select {
	case fe := <-done:
		if fe == nil || fe.Status != 499 {
			t.Fatalf("a cancelled wait: %+v", fe)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled wait went on")
	}
}

// A retry's backoff ends when the call's context does.
func TestSleepContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := sleepContext(ctx, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("slept %v", d)
	}
	if fe := cancelled("m", context.DeadlineExceeded); fe.Kind != fault.Provider {
		t.Fatalf("a deadline is the upstream's timeout: %+v", fe)
	}
}

// A plugin's failure (a guest that trapped on one request, a process plugin restarting) fails
// the call and may fall back, but never opens the model's breaker; an upstream's does.
func TestPluginFaultsLeaveTheBreaker(t *testing.T) {
	trap := fault.PluginFailed("plugin %q: trap", "p")
	trap.Code = "plugin_trap"
	if upstreamFault(trap) || !fallbackable(trap) {
		t.Fatalf("a guest's trap: counts %v, falls back %v", upstreamFault(trap), fallbackable(trap))
	}
	down := fault.Upstream(503, "upstream openai returned HTTP 503")
	if !upstreamFault(down) || !fallbackable(down) {
		t.Fatal("an upstream's 503 counts and falls back")
	}
	bad := fault.Upstream(400, "upstream openai returned HTTP 400")
	bad.Upstream = 400
	if upstreamFault(bad) || fallbackable(bad) {
		t.Fatal("a request the upstream found bad neither counts nor falls back")
	}
}
