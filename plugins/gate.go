package plugins

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// DefaultMaxConcurrent is a plugin's Config.MaxConcurrent when its config sets none.
const DefaultMaxConcurrent = 256

// QueueWait is the longest a call waits for a place when its plugin runs all the calls it may.
// It is short on purpose: the wait smooths a burst over calls that are about to end, and a
// plugin that stays that far behind should shed load (ErrBusy) rather than gather a queue.
const QueueWait = 100 * time.Millisecond

// gate bounds one plugin's calls: at most limit run at once, and at most limit more wait for a
// place, first come, first served. limit is passed in, not kept, so a reload can change it.
type gate struct {
	mu      sync.Mutex
	running int
	queue   []chan struct{} // the waiting calls; a place is handed over by a send
}

var (
	errQueueFull = errors.New("queue full")
	errWaitEnded = errors.New("no place freed in time")
)

// enter takes a place for one call. It fails at once with errQueueFull when limit calls are
// running and limit more waiting; else it waits up to QueueWait (less if ctx's deadline comes
// first) and fails with errWaitEnded, or with context.Canceled if ctx is canceled meanwhile.
func (g *gate) enter(ctx context.Context, limit int) error {
	g.mu.Lock()
	if g.running < limit && len(g.queue) == 0 {
		g.running++
		g.mu.Unlock()
		return nil
	}
	if len(g.queue) >= limit {
		g.mu.Unlock()
		return errQueueFull
	}
	turn := make(chan struct{}, 1)
	g.queue = append(g.queue, turn)
	g.mu.Unlock()

	wait := QueueWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	err := errWaitEnded
	select {
	case <-turn:
		return nil
	case <-t.C:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.Canceled) {
			err = context.Canceled
		}
	}
	g.mu.Lock()
	i := slices.Index(g.queue, turn)
	if i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	g.mu.Unlock()
	if i >= 0 {
		return err
	}
	// The place was handed over as the wait ended: take it, as if it had come a moment earlier.
	<-turn
	return nil
}

// leave gives a call's place back, and hands the free places, if the (perhaps changed) limit
// leaves any, to the calls waiting longest.
func (g *gate) leave(limit int) {
	g.mu.Lock()
	g.running--
	for len(g.queue) > 0 && g.running < limit {
		g.running++
		g.queue[0] <- struct{}{} // buffered, and sent to once: never blocks
		g.queue = slices.Delete(g.queue, 0, 1)
	}
	g.mu.Unlock()
}

// waiting returns how many calls wait for a place.
func (g *gate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}
