package analytics

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/registry"
)

// Live keeps the live statistics of every model, by id. Statistics survive registry changes,
// so an edited model keeps its history.
type Live struct {
	mu     sync.Mutex
	models map[string]*ModelStats
	// ownReplicas and peerReplicas exchange per-replica latency in a cluster (ShareReplicas).
	ownReplicas  func() map[string]ReplicaLatency
	peerReplicas func(map[string]ReplicaLatency)
}

// NewLive returns empty statistics.
func NewLive() *Live { return &Live{models: map[string]*ModelStats{}} }

// Each calls fn with every model's statistics.
func (l *Live) Each(fn func(id string, s *ModelStats)) {
	l.mu.Lock()
	ids := make([]string, 0, len(l.models))
	for id := range l.models {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	for _, id := range ids {
		fn(id, l.Model(id))
	}
}

// Model returns the statistics of model id, creating them.
func (l *Live) Model(id string) *ModelStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.models[id]
	if !ok {
		s = &ModelStats{}
		l.models[id] = s
	}
	return s
}

const (
	ewmaWeight = 0.2
	window     = 128
)

// ModelStats are one model's live statistics: requests and errors count requests (a request
// retried three times is one), latency and the recent error rate count upstream attempts, which
// is what a model's health is.
type ModelStats struct {
	mu        sync.Mutex
	requests  int64
	errors    int64
	ewma      float64
	latencies [window]float32 // ms, a ring of the latest successful attempts
	outcomes  [window]bool    // true = error, a ring of the latest attempts
	nLat      int
	nOut      int
	lastErr   string
	lastErrAt time.Time
	lastAt    time.Time
	// seeded are the percentiles read from the stored rollups at start, shown until the first
	// attempt of this run.
	seededP50, seededP95 float64
	// peers are the other nodes' statistics of the model, merged (nil alone).
	peers atomic.Pointer[registry.Stats]
}

// SetPeers sets what the other nodes of a cluster saw of the model; Snapshot adds it in.
func (s *ModelStats) SetPeers(p *registry.Stats) { s.peers.Store(p) }

// Observe records one upstream attempt. errMsg is empty on success.
func (s *ModelStats) Observe(now time.Time, latency time.Duration, errMsg string) {
	ms := float64(latency) / float64(time.Millisecond)
	s.mu.Lock()
	s.outcomes[s.nOut%window] = errMsg != ""
	s.nOut++
	if errMsg != "" {
		s.lastErr, s.lastErrAt = errMsg, now
	} else {
		if s.ewma == 0 {
			s.ewma = ms
		} else {
			s.ewma += ewmaWeight * (ms - s.ewma)
		}
		s.latencies[s.nLat%window] = float32(ms)
		s.nLat++
	}
	s.mu.Unlock()
}

// Count records one request to the model, however many attempts it took; failed says it got
// no answer from this model.
func (s *ModelStats) Count(now time.Time, failed bool) {
	s.mu.Lock()
	s.requests++
	if failed {
		s.errors++
	}
	s.lastAt = now
	s.mu.Unlock()
}

// Seed starts the statistics from what the stored rollups say of the model (a restart keeps the
// history analytics shows): its requests, errors and latency.
func (s *ModelStats) Seed(t Total) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests += t.Requests
	s.errors += t.Errors
	if s.ewma == 0 {
		s.ewma = t.Latency.Mean
	}
	s.seededP50, s.seededP95 = t.Latency.P50, t.Latency.P95
}

// RecentErrorRate is the share of errors among the latest calls, and how many calls that is.
func (s *ModelStats) RecentErrorRate() (rate float64, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(s.nOut, window)
	if n == 0 {
		return 0, 0
	}
	errs := 0
	for _, e := range s.outcomes[:n] {
		if e {
			errs++
		}
	}
	return float64(errs) / float64(n), n
}

// Snapshot returns the statistics as the registry and auto routing see them: this node's with
// the other nodes' merged in, or nil before any call.
func (s *ModelStats) Snapshot() *registry.Stats {
	own, peers := s.Own(), s.peers.Load()
	if peers == nil {
		return own
	}
	if own == nil {
		c := *peers
		return &c
	}
	return MergeStats([]*registry.Stats{own, peers})
}

// MergeStats merges several nodes' statistics of one model: counts add up, latencies are
// averaged weighted by requests, the last error and request are the latest.
func MergeStats(list []*registry.Stats) *registry.Stats {
	var m registry.Stats
	var weight float64
	for _, st := range list {
		if st == nil || st.Requests <= 0 {
			continue
		}
		w := float64(st.Requests)
		m.Requests += st.Requests
		m.Errors += st.Errors
		m.LatencyMs += w * st.LatencyMs
		m.P50Ms += w * st.P50Ms
		m.P95Ms += w * st.P95Ms
		weight += w
		if st.LastErrorAt.After(m.LastErrorAt) {
			m.LastError, m.LastErrorAt = st.LastError, st.LastErrorAt
		}
		if st.LastRequestAt.After(m.LastRequestAt) {
			m.LastRequestAt = st.LastRequestAt
		}
	}
	if weight == 0 {
		return nil
	}
	m.LatencyMs, m.P50Ms, m.P95Ms = round(m.LatencyMs/weight), round(m.P50Ms/weight), round(m.P95Ms/weight)
	m.SuccessRate = float64(m.Requests-m.Errors) / float64(m.Requests)
	return &m
}

// Own returns this node's statistics alone, or nil before any call.
func (s *ModelStats) Own() *registry.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests == 0 {
		return nil
	}
	st := &registry.Stats{Requests: s.requests, Errors: s.errors, LatencyMs: round(s.ewma),
		SuccessRate: float64(s.requests-s.errors) / float64(s.requests),
		LastError:   s.lastErr, LastErrorAt: s.lastErrAt, LastRequestAt: s.lastAt}
	if n := min(s.nLat, window); n > 0 {
		lat := slices.Clone(s.latencies[:n])
		slices.Sort(lat)
		st.P50Ms = round(float64(lat[(n-1)*50/100]))
		st.P95Ms = round(float64(lat[(n-1)*95/100]))
	} else {
		st.P50Ms, st.P95Ms = s.seededP50, s.seededP95
	}
	return st
}

func round(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
