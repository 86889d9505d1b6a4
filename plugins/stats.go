package plugins

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// Stats describes one plugin for GET /api/plugins.
type Stats struct {
	Name string `json:"name"`
	// Kind is always "process", to tell these apart from WASM plugins in one list.
	Kind string `json:"kind"`
	// Role is "provider", "transformer", or "provider,transformer" for a plugin serving both;
	// empty until the plugin has started once.
	Role string `json:"role"`
	Path string `json:"path"`
	// PID is the running process's, or 0.
	PID int `json:"pid"`
	// State is "starting", "running", "restarting" (after a crash, with backoff), "failed" (it
	// keeps failing to start; retried every 30s at most) or "stopped".
	State string `json:"state"`
	// Restarts counts processes started after the first.
	Restarts int64 `json:"restarts"`
	// StartedAt is when the running process started.
	StartedAt time.Time `json:"startedAt,omitzero"`
	// LastError is the last failure to start, crash or failed health check.
	LastError string `json:"lastError,omitempty"`
	Calls     int64  `json:"calls"`
	// Errors counts calls that failed, whoever was at fault (a canceled call is no error).
	Errors int64 `json:"errors"`
	// Busy counts calls refused with ErrBusy (counted in Errors too).
	Busy     int64 `json:"busy"`
	InFlight int64 `json:"inFlight"`
	// Waiting is the calls waiting for a place (see Config.MaxConcurrent).
	Waiting int64 `json:"waiting"`
	// Latency of calls (whole streams included) in milliseconds: the mean over all calls, the
	// percentiles over the latest 1024.
	MeanMs float64 `json:"meanMs"`
	P50Ms  float64 `json:"p50Ms"`
	P95Ms  float64 `json:"p95Ms"`
}

const window = 1024

// callStats counts a plugin's calls. One mutex per plugin is cheap next to a gRPC round trip.
type callStats struct {
	mu      sync.Mutex
	calls   int64
	errors  int64
	busy    int64
	sampled int64 // calls with a latency: all but those that never reached a process
	total   time.Duration
	recent  [window]time.Duration
	next    int
}

func (c *callStats) record(d time.Duration, failed bool) {
	c.mu.Lock()
	c.calls++
	c.sampled++
	if failed {
		c.errors++
	}
	c.total += d
	c.recent[c.next%window] = d
	c.next++
	c.mu.Unlock()
}

// reject counts a call that failed before reaching a process.
func (c *callStats) reject(err error) {
	c.mu.Lock()
	c.calls++
	if countsAsError(err) {
		c.errors++
	}
	if errors.Is(err, ErrBusy) {
		c.busy++
	}
	c.mu.Unlock()
}

func (c *callStats) fill(st *Stats) {
	c.mu.Lock()
	st.Calls, st.Errors, st.Busy = c.calls, c.errors, c.busy
	n := min(c.next, window)
	recent := slices.Clone(c.recent[:n])
	total, sampled := c.total, c.sampled
	c.mu.Unlock()
	if sampled > 0 {
		st.MeanMs = ms(total / time.Duration(sampled))
	}
	if n == 0 {
		return
	}
	slices.Sort(recent)
	st.P50Ms = ms(recent[(n-1)*50/100])
	st.P95Ms = ms(recent[(n-1)*95/100])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
