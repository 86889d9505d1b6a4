// Package invoke runs model calls: it resolves a model for a key, and drives one call through
// retries with backoff, fallbacks and the provider adapter, then records what happened (metrics,
// live statistics, a ModelInvocation) without blocking the caller.
//
// It is transport-agnostic: the HTTP server, the admin API's test endpoint and pipelines all call
// models through it. It keeps a table of compiled routes, rebuilt whenever the registry or the
// provider defaults change; a request reads the table without locks.
package invoke

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/registry"
)

// Route is one model compiled for calls.
type Route struct {
	*registry.Entry
	// Upstream is nil when the model cannot take calls; Unavailable says why.
	Upstream    *provider.Upstream
	Unavailable string
	Stats       *analytics.ModelStats
	Metrics     *analytics.ModelMetrics
	retry       registry.Retry
}

// Status is the model's availability: unavailable without a usable upstream, degraded when many
// recent calls failed.
func (r *Route) Status() string {
	if r.Upstream == nil {
		return registry.StatusUnavailable
	}
	if rate, n := r.Stats.RecentErrorRate(); n >= 10 && rate > 0.25 {
		return registry.StatusDegraded
	}
	return registry.StatusAvailable
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
	ids       idGen
	sleep     func(time.Duration)
}

// New returns an engine with no routes.
func New(pool *provider.Pool, live *analytics.Live, m *analytics.Metrics, rec *analytics.Recorder, log *slog.Logger) *Engine {
	e := &Engine{pool: pool, live: live, metrics: m, rec: rec, log: log, sleep: time.Sleep, ids: newIDGen()}
	e.table.Store(&table{routes: map[string]*Route{}})
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

var defaultRetry = registry.Retry{Attempts: 2, BackoffMs: 200, MaxBackoffMs: 2000}

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
		up, err := e.pool.Upstream(entry.Model, e.providers[entry.Provider])
		switch {
		case err != nil:
			r.Unavailable = err.Error()
		case !up.Key.IsSet() && provider.RequiresKey(entry.Endpoint):
			r.Unavailable = fmt.Sprintf("no API key is set for %s (set the model's apiKey, or providers.%s.apiKey)", entry.Endpoint, entry.Provider)
		default:
			r.Upstream = up
		}
		routes[entry.ID] = r
	}
	e.table.Store(&table{routes: routes})
}

// Route returns the route of model id, or nil.
func (e *Engine) Route(id string) *Route { return e.table.Load().routes[id] }

// Live returns a model's status and statistics, for registry listings.
func (e *Engine) Live(entry *registry.Entry) (string, *registry.Stats) {
	r := e.Route(entry.ID)
	if r == nil {
		return registry.StatusUnavailable, nil
	}
	return r.Status(), r.Stats.Snapshot()
}

// Resolve returns the route of model id if key may use it. A model the key may not use is
// reported exactly like one that does not exist, so keys cannot probe for models.
func (e *Engine) Resolve(key *policy.Key, id string) (*Route, *fault.Error) {
	r := e.Route(id)
	if r == nil || key != nil && !policy.Allows(key, r.Model) {
		return nil, fault.NotFound("model_not_found", "the model %q does not exist or you do not have access to it", id)
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
