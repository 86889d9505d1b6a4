package invoke

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/provider"
)

// A chain's context ends at the request's deadline, and so does every context derived from it
// (a plugin host that waits on Done of its own child context).
func TestTransformContextDeadline(t *testing.T) {
	o := &Outcome{req: &Request{Call: provider.Call{Deadline: time.Now().Add(30 * time.Millisecond)}}}
	ctx, cancel := o.transformContext()
	defer cancel()
	child, stop := context.WithCancel(ctx)
	defer stop()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a context derived from a chain's context never ended")
	}
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Fatalf("derived context ended with %v", child.Err())
	}
}

// Cancelling the call (a client that went away) ends its chain's context at once.
func TestTransformContextCancel(t *testing.T) {
	parent, cancelCall := context.WithCancel(context.Background())
	o := &Outcome{req: &Request{Call: provider.Call{Ctx: parent}}}
	ctx, cancel := o.transformContext()
	defer cancel()
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > transformTimeout {
		t.Fatalf("a call without a deadline gets transformTimeout: %v %v", dl, ok)
	}
	cancelCall()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the call did not end its chain's context")
	}
}
