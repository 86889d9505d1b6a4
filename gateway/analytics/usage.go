package analytics

import (
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Usage metrics mirror the rollups as series per dimension (model, pipeline, key, org) and value,
// so a VictoriaMetrics holding every node's pushes answers the cluster's analytics (VMQuery). The
// recorder's goroutine feeds them, off the request path, once EnableUsage is called. At most
// maxUsageValues values a dimension get series, the rest count under OtherValue, and a value
// unseen for usageIdle leaves the set (VictoriaMetrics keeps its past).

const (
	maxUsageValues = 500
	usageIdle      = time.Hour
	// OtherValue is the value under which a dimension's values beyond maxUsageValues count.
	OtherValue = "(other)"
)

// usage is the set of usage series; nil until enabled.
type usage struct {
	set       *metrics.Set
	mu        sync.Mutex
	byDim     [4]map[string]*usageSeries // by Dimensions
	lastSweep time.Time
}

type usageSeries struct {
	requests, errs *metrics.Counter
	input, output  *metrics.Counter
	cost           *metrics.FloatCounter
	duration       *metrics.PrometheusHistogram
	lastSeen       time.Time
	names          []string
}

// EnableUsage starts keeping the usage series (for a gateway that pushes to VictoriaMetrics).
func (m *Metrics) EnableUsage() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.usage == nil {
		u := &usage{set: m.set}
		for i := range u.byDim {
			u.byDim[i] = map[string]*usageSeries{}
		}
		m.usage = u
	}
}

func (m *Metrics) usageSet() *usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usage
}

func usageNames(labels string) []string {
	return []string{"iom_usage_requests_total" + labels + "}", "iom_usage_errors_total" + labels + "}",
		"iom_usage_tokens_total" + labels + `,direction="input"}`, "iom_usage_tokens_total" + labels + `,direction="output"}`,
		"iom_usage_cost_usd_total" + labels + "}", "iom_usage_duration_seconds" + labels + "}"}
}

// observe adds one record's contribution to the series of each of its dimensions.
func (u *usage) observe(o *observation) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if now.Sub(u.lastSweep) > time.Minute {
		u.sweep(now)
	}
	for i, value := range o.dims {
		if value == "" {
			continue
		}
		s := u.byDim[i][value]
		if s == nil {
			if len(u.byDim[i]) >= maxUsageValues-1 { // OtherValue takes the last place
				value = OtherValue
				s = u.byDim[i][value]
			}
			if s == nil {
				s = u.newSeries(Dimensions[i], value)
				u.byDim[i][value] = s
			}
		}
		s.lastSeen = now
		s.requests.Inc()
		if o.err {
			s.errs.Inc()
		}
		s.input.Add(int(o.in))
		s.output.Add(int(o.out))
		s.cost.Add(o.cost)
		s.duration.Update(o.latencyMs / 1000)
	}
}

func (u *usage) newSeries(dim, value string) *usageSeries {
	labels := `{group=` + quote(dim) + `,name=` + quote(value)
	n := usageNames(labels)
	return &usageSeries{names: n,
		requests: u.set.GetOrCreateCounter(n[0]), errs: u.set.GetOrCreateCounter(n[1]),
		input: u.set.GetOrCreateCounter(n[2]), output: u.set.GetOrCreateCounter(n[3]),
		cost: u.set.GetOrCreateFloatCounter(n[4]), duration: u.set.GetOrCreatePrometheusHistogramExt(n[5], latencyBuckets)}
}

// sweepIdle sweeps at most once a minute.
func (u *usage) sweepIdle(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if now.Sub(u.lastSweep) > time.Minute {
		u.sweep(now)
	}
}

// sweep drops the series of values unseen for usageIdle.
func (u *usage) sweep(now time.Time) {
	u.lastSweep = now
	for _, byValue := range u.byDim {
		for value, s := range byValue {
			if now.Sub(s.lastSeen) > usageIdle {
				for _, name := range s.names {
					u.set.UnregisterMetric(name)
				}
				delete(byValue, value)
			}
		}
	}
}
