package invoke

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/provider"
)

// replica is one upstream of a route.
type replica struct {
	name        string // its endpoint, for records
	up          *provider.Upstream
	unavailable string // why it cannot take calls (no key, bad config)
	health      *health
	weight      int
}

// Circuit breaker states.
const (
	closed = iota
	open
	halfOpen
)

// health is the circuit breaker and latency of one upstream. It outlives route rebuilds, so an
// edit of a model does not forget that its upstream is down. While the upstream is healthy, a
// call's breaker check and success report are atomic reads and one atomic write, so calls on all
// cores never queue on a lock; changes of state go through mu.
type health struct {
	mu       sync.Mutex
	state    atomic.Int32 // closed, open or halfOpen; stored under mu
	failures atomic.Int32 // in a row; stored under mu
	openedAt time.Time
	probing  bool
	ewma     atomic.Uint64 // math.Float64bits of the latency's moving average, in ms
	calls    atomic.Int64  // successful calls, which weigh the average against other nodes'
	// peers is what the other nodes of a cluster saw of the upstream, merged; nil alone.
	peers     atomic.Pointer[analytics.ReplicaLatency]
	threshold int
	cooldown  time.Duration
}

// usable reports whether the breaker would let a call through now (without taking the one
// half-open probe slot).
func (h *health) usable(now time.Time) bool {
	if h.state.Load() == closed {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state.Load() {
	case open:
		return now.Sub(h.openedAt) >= h.cooldown
	case halfOpen:
		return !h.probing
	}
	return true
}

// acquire lets a call through, taking the probe slot of a breaker that is due for a trial.
func (h *health) acquire(now time.Time) bool {
	if h.state.Load() == closed {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch h.state.Load() {
	case open:
		if now.Sub(h.openedAt) < h.cooldown {
			return false
		}
		h.state.Store(halfOpen)
		h.probing = true
	case halfOpen:
		if h.probing {
			return false
		}
		h.probing = true
	}
	return true
}

func (h *health) success(latency time.Duration) {
	// The average is updated without a lock: of two calls that end at once, one may overwrite
	// the other's sample, which an average of many can afford.
	ms := float64(latency) / float64(time.Millisecond)
	if old := math.Float64frombits(h.ewma.Load()); old != 0 {
		ms = old + 0.2*(ms-old)
	}
	h.ewma.Store(math.Float64bits(ms))
	h.calls.Add(1)
	if h.state.Load() == closed && h.failures.Load() == 0 {
		return
	}
	h.mu.Lock()
	h.state.Store(closed)
	h.failures.Store(0)
	h.probing = false
	h.mu.Unlock()
}

func (h *health) failure(now time.Time) {
	h.mu.Lock()
	n := h.failures.Add(1)
	h.probing = false
	if h.state.Load() == halfOpen || int(n) >= h.threshold {
		h.openedAt = now
		h.state.Store(open)
	}
	h.mu.Unlock()
}

func (h *health) snapshot() (state int, ewma float64) {
	return int(h.state.Load()), math.Float64frombits(h.ewma.Load())
}

// latency is the upstream's latency for least-latency balancing, in ms: this node's moving
// average, weighted by calls with the other nodes' (0 while nobody has seen a call).
func (h *health) latency() float64 {
	own, n := math.Float64frombits(h.ewma.Load()), h.calls.Load()
	p := h.peers.Load()
	switch {
	case p == nil || p.Calls == 0:
		return own
	case own == 0 || n == 0:
		return p.Ms
	}
	return (own*float64(n) + p.Ms*float64(p.Calls)) / float64(n+p.Calls)
}

// replicaID names an upstream of a model to the other nodes without saying where it is: a hash
// of the engine's key of its health (model, endpoint and upstream model).
func replicaID(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return strconv.FormatUint(h.Sum64(), 36)
}

// ReplicaLatencies reports this node's latency of every upstream it has called, by replica id.
func (e *Engine) ReplicaLatencies() map[string]analytics.ReplicaLatency {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]analytics.ReplicaLatency, len(e.healths))
	for key, h := range e.healths {
		if n := h.calls.Load(); n > 0 {
			out[replicaID(key)] = analytics.ReplicaLatency{Ms: math.Float64frombits(h.ewma.Load()), Calls: n}
		}
	}
	return out
}

// SetPeerLatencies sets what the other nodes saw of each upstream, by replica id, for
// least-latency balancing; upstreams missing from peers go back to this node's view.
func (e *Engine) SetPeerLatencies(peers map[string]analytics.ReplicaLatency) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for key, h := range e.healths {
		if p, ok := peers[replicaID(key)]; ok && p.Calls > 0 {
			h.peers.Store(&p)
		} else {
			h.peers.Store(nil)
		}
	}
}

// pick chooses a replica for the next attempt by the route's strategy, among those whose breaker
// lets a call through, preferring ones this call has not tried yet.
func (r *Route) pick(tried []*replica, now time.Time) *replica {
	var freshBuf, anyBuf [8]*replica
	fresh, any := freshBuf[:0], anyBuf[:0]
	for _, rep := range r.replicas {
		if rep.up == nil || !rep.health.usable(now) {
			continue
		}
		any = append(any, rep)
		if !slices.Contains(tried, rep) {
			fresh = append(fresh, rep)
		}
	}
	candidates := fresh
	if len(candidates) == 0 {
		candidates = any
	}
	for len(candidates) > 0 {
		i := r.choose(candidates)
		if candidates[i].health.acquire(now) {
			return candidates[i]
		}
		candidates = slices.Delete(candidates, i, i+1)
	}
	return nil
}

func (r *Route) choose(c []*replica) int {
	if len(c) == 1 {
		return 0
	}
	switch r.lb {
	case "weighted":
		total := 0
		for _, rep := range c {
			total += rep.weight
		}
		n := rand.IntN(total)
		for i, rep := range c {
			if n -= rep.weight; n < 0 {
				return i
			}
		}
	case "least-latency":
		best, bestMs := 0, -1.0
		start := int(r.rr.Add(1))
		for k := range c {
			i := (start + k) % len(c)
			if ms := c[i].health.latency(); bestMs < 0 || ms < bestMs {
				best, bestMs = i, ms
			}
		}
		return best
	}
	return int(r.rr.Add(1)-1) % len(c)
}

// gate bounds the calls in flight to a model, with a bounded queue of waiting calls.
type gate struct {
	slots   chan struct{}
	waiting atomic.Int32
	queue   int32
	timeout time.Duration
}

func newGate(max, queue int, timeout time.Duration) *gate {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &gate{slots: make(chan struct{}, max), queue: int32(queue), timeout: timeout}
}

// errBusy marks a model whose queue is full; another model may take the call.
const codeBusy = "model_busy"

// enter takes a slot, waiting in the queue at most the gate's timeout, or until ctx ends.
func (g *gate) enter(ctx context.Context, model string) *fault.Error {
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	busy := func(why string) *fault.Error {
		fe := fault.Limited(1, "model %q is at its concurrency limit (%d) and %s; retry later", model, cap(g.slots), why)
		fe.Code = codeBusy
		return fe
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		return busy("its queue is full")
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(g.timeout)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-t.C:
		return busy("the wait in its queue timed out")
	case <-ctx.Done():
		return cancelled(model, ctx.Err())
	}
}

func (g *gate) leave() { <-g.slots }
