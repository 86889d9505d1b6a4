// Package analytics owns what the gateway measures: Prometheus metrics, the live statistics of
// each model, and the ModelInvocation records written asynchronously, in batches, to the store.
//
// Nothing here may block a request: metrics are atomic counters, statistics take a short
// per-model lock, and records go through a bounded channel that drops (and counts) rather than
// waits when the writer falls behind. It is the only package that imports VictoriaMetrics/metrics.
package analytics

import (
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/iomhq/iom/gateway/fault"
)

// latencyBuckets are Prometheus `le` bounds, in seconds, from sub-millisecond to two minutes.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// Metrics is the gateway's metric set.
type Metrics struct {
	set    *metrics.Set
	mu     sync.Mutex
	models map[[2]string]*ModelMetrics

	RecordsWritten *metrics.Counter
	RecordsDropped *metrics.Counter
	Reloads        *metrics.Counter
	ReloadErrors   *metrics.Counter
}

// ModelMetrics are one model's metrics, created once so the hot path only touches atomics.
type ModelMetrics struct {
	Requests     *metrics.Counter
	errors       [6]*metrics.Counter
	Latency      *metrics.PrometheusHistogram
	Upstream     *metrics.PrometheusHistogram
	InputTokens  *metrics.Counter
	OutputTokens *metrics.Counter
	Cost         *metrics.FloatCounter
}

// Error counts one error of kind k.
func (m *ModelMetrics) Error(k fault.Kind) {
	if int(k) < len(m.errors) {
		m.errors[k].Inc()
	}
}

// NewMetrics returns an empty metric set.
func NewMetrics() *Metrics {
	s := metrics.NewSet()
	return &Metrics{
		set:            s,
		models:         map[[2]string]*ModelMetrics{},
		RecordsWritten: s.NewCounter("iom_records_written_total"),
		RecordsDropped: s.NewCounter("iom_records_dropped_total"),
		Reloads:        s.NewCounter("iom_config_reloads_total"),
		ReloadErrors:   s.NewCounter("iom_config_reload_errors_total"),
	}
}

// Model returns the metrics of one model and provider; requests that fail before a model is
// known use model "none".
func (m *Metrics) Model(model, provider string) *ModelMetrics {
	k := [2]string{model, provider}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mm, ok := m.models[k]; ok {
		return mm
	}
	labels := `{model=` + quote(model) + `,provider=` + quote(provider)
	mm := &ModelMetrics{
		Requests:     m.set.NewCounter("iom_requests_total" + labels + "}"),
		Latency:      m.set.NewPrometheusHistogramExt("iom_request_duration_seconds"+labels+"}", latencyBuckets),
		Upstream:     m.set.NewPrometheusHistogramExt("iom_upstream_duration_seconds"+labels+"}", latencyBuckets),
		InputTokens:  m.set.NewCounter("iom_tokens_total" + labels + `,direction="input"}`),
		OutputTokens: m.set.NewCounter("iom_tokens_total" + labels + `,direction="output"}`),
		Cost:         m.set.NewFloatCounter("iom_cost_usd_total" + labels + "}"),
	}
	for _, k := range fault.Kinds() {
		mm.errors[k] = m.set.NewCounter("iom_request_errors_total" + labels + `,kind="` + k.String() + `"}`)
	}
	m.models[k] = mm
	return mm
}

// WritePrometheus writes every metric in Prometheus text format, with process metrics.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

func quote(s string) string {
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}
