package plugins

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitFor enters g in a goroutine and returns where its result arrives; it returns once the call
// is queued, so the calls queue in the order they were made.
func waitFor(t *testing.T, g *gate, ctx context.Context, limit int) <-chan error {
	t.Helper()
	queued := g.waiting()
	done := make(chan error, 1)
	go func() { done <- g.enter(ctx, limit) }()
	eventually(t, time.Second, "the call queued", func() bool { return g.waiting() == queued+1 })
	return done
}

func TestGateRefusesBeyondTheQueueAtOnce(t *testing.T) {
	var g gate
	ctx := context.Background()
	for range 2 {
		if err := g.enter(ctx, 2); err != nil {
			t.Fatal(err)
		}
	}
	first, second := waitFor(t, &g, ctx, 2), waitFor(t, &g, ctx, 2)
	start := time.Now()
	for range 10 {
		if err := g.enter(ctx, 2); err != errQueueFull {
			t.Fatalf("a call beyond the queue: %v, want errQueueFull", err)
		}
	}
	if d := time.Since(start); d > QueueWait/2 {
		t.Fatalf("refusing 10 calls took %s", d)
	}
	// Places go to the waiting calls in turn.
	g.leave(2)
	if err := <-first; err != nil {
		t.Fatalf("the first waiting call: %v", err)
	}
	if g.waiting() != 1 {
		t.Fatalf("%d calls waiting, want 1", g.waiting())
	}
	g.leave(2)
	if err := <-second; err != nil {
		t.Fatalf("the second waiting call: %v", err)
	}
	for range 2 {
		g.leave(2)
	}
	if g.running != 0 || g.waiting() != 0 {
		t.Fatalf("after every call left: %d running, %d waiting", g.running, g.waiting())
	}
}

func TestGateWaitIsBounded(t *testing.T) {
	f := func(ctx context.Context, want error, lo, hi time.Duration) {
		t.Helper()
		var g gate
		if err := g.enter(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := g.enter(ctx, 1)
		if d := time.Since(start); err != want || d < lo || d > hi {
			t.Fatalf("enter = %v after %s; want %v after %s to %s", err, d, want, lo, hi)
		}
		if g.running != 1 || g.waiting() != 0 {
			t.Fatalf("after the wait: %d running, %d waiting", g.running, g.waiting())
		}
	}
	f(context.Background(), errWaitEnded, QueueWait, time.Second)
	// The caller's deadline shortens the wait.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	f(ctx, errWaitEnded, 15*time.Millisecond, QueueWait-time.Millisecond)
	// A deadline already past: no wait.
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	f(past, errWaitEnded, 0, QueueWait/2)
	// A caller that gives up is told so.
	canceled, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	f(canceled, context.Canceled, 5*time.Millisecond, QueueWait-time.Millisecond)
}

func TestGateLimitChanges(t *testing.T) {
	var g gate
	ctx := context.Background()
	if err := g.enter(ctx, 1); err != nil {
		t.Fatal(err)
	}
	a, b := waitFor(t, &g, ctx, 1), waitFor(t, &g, ctx, 2)
	// Raised: the call leaving lets both waiting calls in.
	g.leave(3)
	for _, c := range []<-chan error{a, b} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	// Lowered: calls leave without handing their places on until under the new limit.
	if err := g.enter(ctx, 3); err != nil {
		t.Fatal(err)
	}
	c := waitFor(t, &g, ctx, 1)
	g.leave(1)
	g.leave(1)
	select {
	case err := <-c:
		t.Fatalf("a call got in over the lowered limit: %v", err)
	case <-time.After(10 * time.Millisecond):
	}
	g.leave(1)
	if err := <-c; err != nil {
		t.Fatal(err)
	}
	if g.running != 1 {
		t.Fatalf("%d running, want 1", g.running)
	}
}

func TestGateErrors(t *testing.T) {
	m, _ := newManager(t, Options{})
	s := newSlot(m, checked{Config: Config{Name: "g", MaxConcurrent: 1}})
	if err := s.enter(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx     context.Context
		kind    ErrorKind
		is      error
		message string
	}{
		{context.Background(), Busy, ErrBusy, `plugin "g" is busy: it runs as many calls as it may (1), and none ended in time for this one`},
		{ctx, Canceled, context.Canceled, `plugin "g": call canceled by the caller while waiting for the busy plugin`},
	} {
		err := s.enter(tc.ctx)
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != tc.kind || !errors.Is(err, tc.is) || err.Error() != tc.message {
			t.Errorf("enter = %#v, want a %s *Error wrapping %v: %s", err, tc.kind, tc.is, tc.message)
		}
	}
}

// The cost of the bound on the hot path: a place taken and given back, with no wait.
func BenchmarkGate(b *testing.B) {
	var g gate
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := g.enter(ctx, DefaultMaxConcurrent); err != nil {
			b.Fatal(err)
		}
		g.leave(DefaultMaxConcurrent)
	}
}

func BenchmarkGateParallel(b *testing.B) {
	var g gate
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := g.enter(ctx, DefaultMaxConcurrent); err != nil {
				b.Error(err)
				return
			}
			g.leave(DefaultMaxConcurrent)
		}
	})
}
