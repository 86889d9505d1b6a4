// Package invoke runs model calls for every transport (the HTTP server, the admin API's test
// endpoint, pipelines): it resolves a model for a key, drives the call through retries with
// backoff, fallbacks and the provider adapter, and records it (metrics, live statistics, a
// ModelInvocation) without blocking the caller. Its table of compiled routes is rebuilt when the
// registry or the provider defaults change, and read by requests without locks.
package invoke

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/spec"
)

// Route is one model compiled for calls.
type Route struct {
	*spec.Entry
	// Unavailable says why no replica can take calls, when none can.
	Unavailable string
	Stats       *analytics.ModelStats
	Metrics     *analytics.ModelMetrics
	replicas    []*replica
	retry       spec.Retry
	lb          string
	rr          atomic.Uint32
	gate        *gate
}

// Status is the model's availability: unavailable when no upstream can take a call (none is
// configured, or every circuit is open), degraded when some circuit is open or many recent
// calls failed.
func (r *Route) Status() string {
	now := time.Now()
	usable, tripped := 0, 0
	for _, rep := range r.replicas {
		if rep.up == nil {
			continue
		}
		if st, _ := rep.health.snapshot(); st != closed {
			tripped++
		}
		if rep.health.usable(now) {
			usable++
		}
	}
	switch {
	case usable == 0:
		return spec.StatusUnavailable
	case tripped > 0:
		return spec.StatusDegraded
	}
	if rate, n := r.Stats.RecentErrorRate(); n >= 10 && rate > 0.25 {
		return spec.StatusDegraded
	}
	return spec.StatusAvailable
}

type table struct {
	routes map[string]*Route
}

// Engine calls models.
type Engine struct {
	pool      *provider.Pool
	live      *analytics.Live
	metrics   *analytics.Metrics
	rec       *analytics.Recorder
	log       *slog.Logger
	table     atomic.Pointer[table]
	mu        sync.Mutex // serialises rebuilds
	snap      *registry.Snapshot
	providers map[string]provider.Defaults
	healths   map[string]*health
	gates     map[string]*gate
	ids       idGen
	sleep     func(context.Context, time.Duration) error
	// Spend, when set, is told what each finished call of a key used.
	Spend func(key *policy.Key, tokens int64, usd float64)
	// Transforms runs the plugins of models' transform chains.
	Transforms Transformer
	// finished is told of each finished call (see OnFinish).
	finished atomic.Pointer[func(*Request, *analytics.Invocation)]

	probeStop, probeDone chan struct{}
}

// New returns an engine with no routes.
func New(pool *provider.Pool, live *analytics.Live, m *analytics.Metrics, rec *analytics.Recorder, log *slog.Logger) *Engine {
	e := &Engine{pool: pool, live: live, metrics: m, rec: rec, log: log, sleep: sleepContext, ids: newIDGen(),
		healths: map[string]*health{}, gates: map[string]*gate{}}
	e.table.Store(&table{routes: map[string]*Route{}})
	e.startProbes()
	return e
}

// SetModels rebuilds the routes from a registry snapshot.
func (e *Engine) SetModels(s *registry.Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.snap = s
	e.rebuildLocked()
}

// SetProviders replaces the provider defaults (shared keys and headers) and rebuilds.
func (e *Engine) SetProviders(p map[string]provider.Defaults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.providers = p
	e.rebuildLocked()
}

var defaultRetry = spec.Retry{Attempts: 2, BackoffMs: 200, MaxBackoffMs: 2000}

func (e *Engine) rebuildLocked() {
	if e.snap == nil {
		return
	}
	routes := make(map[string]*Route, len(e.snap.All()))
	for _, entry := range e.snap.All() {
		r := &Route{Entry: entry, Stats: e.live.Model(entry.ID), Metrics: e.metrics.Model(entry.ID, entry.Provider), retry: defaultRetry}
		if entry.Retry != nil {
			r.retry = *entry.Retry
			if r.retry.BackoffMs == 0 {
				r.retry.BackoffMs = defaultRetry.BackoffMs
			}
			if r.retry.MaxBackoffMs == 0 {
				r.retry.MaxBackoffMs = max(defaultRetry.MaxBackoffMs, r.retry.BackoffMs)
			}
		}
		r.lb = entry.LoadBalancing
		e.buildReplicas(r, entry.Model)
		if c := entry.Concurrency; c != nil {
			key := fmt.Sprintf("%s|%d|%d|%d", entry.ID, c.Max, c.Queue, c.QueueTimeoutMs)
			if e.gates[key] == nil {
				e.gates[key] = newGate(c.Max, c.Queue, time.Duration(c.QueueTimeoutMs)*time.Millisecond)
			}
			r.gate = e.gates[key]
		}
		routes[entry.ID] = r
	}
	e.table.Store(&table{routes: routes})
}

// buildReplicas compiles the model's upstreams: its endpoint, then its replicas.
func (e *Engine) buildReplicas(r *Route, m *spec.Model) {
	threshold, cooldown := 5, 10*time.Second
	if b := m.Breaker; b != nil {
		if b.Failures > 0 {
			threshold = b.Failures
		}
		if b.CooldownMs > 0 {
			cooldown = time.Duration(b.CooldownMs) * time.Millisecond
		}
	}
	add := func(variant *spec.Model, weight int) {
		rep := &replica{name: variant.Endpoint, weight: max(weight, 1)}
		key := fmt.Sprintf("%s|%s|%s", m.ID, variant.Endpoint, variant.UpstreamModel)
		if rep.health = e.healths[key]; rep.health == nil {
			rep.health = &health{}
			e.healths[key] = rep.health
		}
		rep.health.mu.Lock()
		rep.health.threshold, rep.health.cooldown = threshold, cooldown
		rep.health.mu.Unlock()
		up, err := e.pool.Upstream(variant, e.providers[variant.Provider])
		switch {
		case err != nil:
			rep.unavailable = err.Error()
		case up.KeyWithheld && provider.RequiresKey(variant.Endpoint):
			rep.unavailable = fmt.Sprintf("no API key is set for %s: providers.%s.apiKey goes only to the hosts of providers.%s.keyHosts (set the model's apiKey, or list the host there)",
				variant.Endpoint, variant.Provider, variant.Provider)
		case !up.Key.IsSet() && provider.RequiresKey(variant.Endpoint):
			rep.unavailable = fmt.Sprintf("no API key is set for %s (set the model's apiKey, or providers.%s.apiKey)", variant.Endpoint, variant.Provider)
		default:
			rep.up = up
		}
		r.replicas = append(r.replicas, rep)
	}
	if m.Endpoint != "" || len(m.Replicas) == 0 {
		add(m, 1)
	}
	for _, rp := range m.Replicas {
		v := *m
		v.Endpoint, v.APIKey, v.Headers = rp.Endpoint, rp.APIKey, rp.Headers
		if rp.UpstreamModel != "" {
			v.UpstreamModel = rp.UpstreamModel
		}
		add(&v, rp.Weight)
	}
	var why []string
	for _, rep := range r.replicas {
		if rep.up != nil {
			return
		}
		why = append(why, rep.unavailable)
	}
	r.Unavailable = strings.Join(why, "; ")
}

// Route returns the route of model id, or nil.
func (e *Engine) Route(id string) *Route { return e.table.Load().routes[id] }

// Live returns a model's status and statistics, for registry listings.
func (e *Engine) Live(entry *spec.Entry) (string, *registry.Stats) {
	r := e.Route(entry.ID)
	if r == nil {
		return spec.StatusUnavailable, nil
	}
	return r.Status(), r.Stats.Snapshot()
}

// Resolve returns the route of model id if key may use it. A model the key may not use is
// reported exactly like one that does not exist, so keys cannot probe for models.
func (e *Engine) Resolve(key *policy.Key, id string) (*Route, *fault.Error) {
	r := e.Route(id)
	if r == nil || key != nil && !policy.Allows(key, r.Model) {
		// A copy, so id does not escape: a caller's string(bytes) stays off the heap.
		return nil, fault.NotFound("model_not_found", "the model %q does not exist or you do not have access to it", strings.Clone(id))
	}
	return r, nil
}

// Visible returns the routes key may use, in id order.
func (e *Engine) Visible(key *policy.Key) []*Route {
	e.mu.Lock()
	snap := e.snap
	e.mu.Unlock()
	if snap == nil {
		return nil
	}
	t := e.table.Load()
	out := make([]*Route, 0, len(snap.All()))
	for _, entry := range snap.All() {
		if r := t.routes[entry.ID]; r != nil && (key == nil || policy.Allows(key, r.Model)) {
			out = append(out, r)
		}
	}
	return out
}

// NewID returns a request id: the time in hex nanoseconds, then a counter, so ids sort by time
// and a record can be found from its id alone.
func (e *Engine) NewID(now time.Time) string { return e.ids.next(now) }

type idGen struct{ n atomic.Uint32 }

func newIDGen() idGen { return idGen{} }

func (g *idGen) next(now time.Time) string {
	const hexdigits = "0123456789abcdef"
	var b [24]byte
	ns := uint64(now.UnixNano())
	for i := 15; i >= 0; i-- {
		b[i] = hexdigits[ns&0xf]
		ns >>= 4
	}
	c := g.n.Add(1)
	for i := 23; i >= 16; i-- {
		b[i] = hexdigits[c&0xf]
		c >>= 4
	}
	return string(b[:])
}
