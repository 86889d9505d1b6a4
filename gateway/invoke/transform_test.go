package invoke

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A chain's context ends at its deadline, with no channel to wait on.
func TestChainContext(t *testing.T) {
	at := time.Now().Add(50 * time.Millisecond)
	c := &chainContext{at: at}
	if d, ok := c.Deadline(); !ok || !d.Equal(at) {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if c.Done() != nil || c.Err() != nil || c.Value("k") != nil {
		t.Fatal("before the deadline: no channel, no error, no values")
	}
	time.Sleep(time.Until(at))
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Fatalf("after the deadline: %v", c.Err())
	}
	// A context made from it (as the process plugins' side does) is timed by its deadline.
	c = &chainContext{at: time.Now().Add(20 * time.Millisecond)}
	dl, _ := c.Deadline()
	timed, cancel := context.WithDeadline(c, dl)
	defer cancel()
	select {
	case <-timed.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a context made from a chain's deadline never ended")
	}
}
