// Package analytics owns what the gateway measures: Prometheus metrics, the live statistics of
// each model, and the ModelInvocation records written asynchronously, in batches, to the store.
// Nothing here may block a request: metrics are atomic counters, statistics take a short
// per-model lock, and records go through a bounded channel that drops (and counts) rather than
// waits. It is the only package that imports VictoriaMetrics/metrics.
package analytics

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/iomhq/iom/gateway/fault"
)

// latencyBuckets are Prometheus `le` bounds, in seconds, from sub-millisecond to two minutes.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

func init() {
	// # HELP and # TYPE lines, which Prometheus tooling expects; help texts come from help.
	metrics.ExposeMetadata(true)
}

// help describes each metric family the gateway exposes; WritePrometheus fills it into the
// library's empty # HELP lines.
var help = map[string]string{
	"iom_requests_total":                    "Requests per model and provider, the refused ones under model none.",
	"iom_request_errors_total":              "Failed requests per model, provider and error kind (caller, auth, policy, provider, plugin, gateway).",
	"iom_request_duration_seconds":          "Time from a request's arrival to the end of its answer.",
	"iom_upstream_duration_seconds":         "Time the upstream took to answer (to the first byte, for streams).",
	"iom_tokens_total":                      "Tokens per model, provider and direction (input, output).",
	"iom_cost_usd_total":                    "Cost in US dollars per model and provider, from the registry's prices.",
	"iom_budget_overspend_usd_total":        "What calls cost beyond what they held of their budgets (their estimate was too low), per scope (key, org).",
	"iom_pipeline_runs_total":               "Pipeline runs per pipeline and status (ok, error).",
	"iom_pipeline_duration_seconds":         "Time a pipeline run took.",
	"iom_pipeline_cost_usd_total":           "Cost in US dollars of each pipeline's model calls.",
	"iom_records_written_total":             "Invocation records written to the store.",
	"iom_records_dropped_total":             "Invocation records dropped because the writer fell behind or the store failed.",
	"iom_config_reloads_total":              "Config reloads that were applied.",
	"iom_config_reload_errors_total":        "Config reloads refused because the new config was invalid.",
	"iom_auth_failures_total":               "Requests with a missing or wrong credential, per listener.",
	"iom_auth_lockouts_total":               "Client addresses locked out after repeated authentication failures, per listener.",
	"iom_auth_locked_requests_total":        "Requests refused because their address was locked out, per listener.",
	"iom_connections_refused_total":         "Connections refused by a listener's limits, per reason (per_ip, total).",
	"iom_accept_errors_total":               "Errors accepting connections, per listener.",
	"iom_tool_calls_total":                  "MCP tool calls per tool (<server>__<tool>) and server.",
	"iom_tool_call_errors_total":            "MCP tool calls that failed or answered with an error, per tool and server.",
	"iom_tool_call_duration_seconds":        "Time an MCP tool call took, per tool and server.",
	"iom_cluster_executions_unshared_total": "Pipeline runs not shared with the cluster's other nodes (the queue was full or Redis did not take them).",
	"iom_usage_requests_total":              "Recorded calls per analytics group (model, pipeline, key, org) and name, as /api/analytics counts them.",
	"iom_usage_errors_total":                "Recorded calls that failed, per analytics group and name.",
	"iom_usage_tokens_total":                "Tokens of recorded calls per analytics group, name and direction (input, output).",
	"iom_usage_cost_usd_total":              "Cost in US dollars of recorded calls per analytics group and name.",
	"iom_usage_duration_seconds":            "Latency of recorded calls per analytics group and name.",
}

// Metrics is the gateway's metric set.
type Metrics struct {
	set       *metrics.Set
	mu        sync.Mutex
	models    map[[2]string]*ModelMetrics
	pipelines map[string]*PipelineMetrics
	tools     map[[2]string]*ToolMetrics // bounded by the tools the MCP servers list (ForgetTools)
	usage     *usage                     // nil until EnableUsage

	RecordsWritten *metrics.Counter
	RecordsDropped *metrics.Counter
	// ExecutionsUnshared counts pipeline runs a cluster did not share with the other nodes.
	ExecutionsUnshared *metrics.Counter
	Reloads            *metrics.Counter
	ReloadErrors       *metrics.Counter
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
	newOverspend(s)
	return &Metrics{
		set:                s,
		models:             map[[2]string]*ModelMetrics{},
		pipelines:          map[string]*PipelineMetrics{},
		tools:              map[[2]string]*ToolMetrics{},
		RecordsWritten:     s.NewCounter("iom_records_written_total"),
		RecordsDropped:     s.NewCounter("iom_records_dropped_total"),
		ExecutionsUnshared: s.NewCounter("iom_cluster_executions_unshared_total"),
		Reloads:            s.NewCounter("iom_config_reloads_total"),
		ReloadErrors:       s.NewCounter("iom_config_reload_errors_total"),
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

// modelSeries are the names of a model's series, for unregistering them.
func modelSeries(labels string) []string {
	names := []string{"iom_requests_total" + labels + "}", "iom_request_duration_seconds" + labels + "}",
		"iom_upstream_duration_seconds" + labels + "}", "iom_tokens_total" + labels + `,direction="input"}`,
		"iom_tokens_total" + labels + `,direction="output"}`, "iom_cost_usd_total" + labels + "}"}
	for _, k := range fault.Kinds() {
		names = append(names, "iom_request_errors_total"+labels+`,kind="`+k.String()+`"}`)
	}
	return names
}

// ForgetModels drops the series of every model not in keep (and not "none"), so a deleted model
// leaves /metrics.
func (m *Metrics) ForgetModels(keep map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.models {
		if k[0] == "none" || keep[k[0]] {
			continue
		}
		for _, name := range modelSeries(`{model=` + quote(k[0]) + `,provider=` + quote(k[1])) {
			m.set.UnregisterMetric(name)
		}
		delete(m.models, k)
	}
}

// PipelineMetrics are one pipeline's metrics.
type PipelineMetrics struct {
	OK, Failed *metrics.Counter
	Duration   *metrics.PrometheusHistogram
	Cost       *metrics.FloatCounter
}

// Pipeline returns the metrics of one pipeline, creating them.
func (m *Metrics) Pipeline(id string) *PipelineMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pm, ok := m.pipelines[id]; ok {
		return pm
	}
	names := pipelineSeries(id)
	pm := &PipelineMetrics{OK: m.set.NewCounter(names[0]), Failed: m.set.NewCounter(names[1]),
		Duration: m.set.NewPrometheusHistogramExt(names[2], latencyBuckets), Cost: m.set.NewFloatCounter(names[3])}
	m.pipelines[id] = pm
	return pm
}

func pipelineSeries(id string) []string {
	l := `{pipeline=` + quote(id)
	return []string{"iom_pipeline_runs_total" + l + `,status="ok"}`, "iom_pipeline_runs_total" + l + `,status="error"}`,
		"iom_pipeline_duration_seconds" + l + "}", "iom_pipeline_cost_usd_total" + l + "}"}
}

// ForgetPipelines drops the series of every pipeline not in keep.
func (m *Metrics) ForgetPipelines(keep map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.pipelines {
		if !keep[id] {
			for _, name := range pipelineSeries(id) {
				m.set.UnregisterMetric(name)
			}
			delete(m.pipelines, id)
		}
	}
}

// WritePrometheus writes every metric in Prometheus text format, with process metrics, each
// family with its # HELP and # TYPE lines.
func (m *Metrics) WritePrometheus(w io.Writer) {
	if u := m.usageSet(); u != nil {
		u.sweepIdle(time.Now()) // a quiet node's idle names leave too
	}
	var buf bytes.Buffer
	m.set.WritePrometheus(&buf)
	// Go and process metrics, without the library's own push statistics: they break naming
	// rules and name the VictoriaMetrics URL.
	metrics.WriteGoMetrics(&buf)
	metrics.WriteProcMetrics(&buf)
	bw := bufio.NewWriter(w)
	for line := range bytes.Lines(buf.Bytes()) {
		family := familyOf(line)
		if dropFamilies[family] {
			continue
		}
		if bytes.HasPrefix(line, []byte("# TYPE process_io_")) && bytes.HasSuffix(line, []byte("_total gauge\n")) {
			line = append(bytes.TrimSuffix(line, []byte("gauge\n")), "counter\n"...) // they only grow
		}
		name, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\n")), []byte("# HELP "))
		if !ok || bytes.IndexByte(name, ' ') >= 0 {
			bw.Write(line)
			continue
		}
		text := help[string(name)]
		if text == "" {
			text = "See the gateway's documentation." // the runtime's own metrics, which the library leaves without text
			if strings.HasPrefix(string(name), "go_") || strings.HasPrefix(string(name), "process_") {
				text = "Go runtime and process statistics: " + strings.ReplaceAll(string(name), "_", " ") + "."
			}
		}
		bw.WriteString("# HELP ")
		bw.Write(name)
		bw.WriteByte(' ')
		bw.WriteString(text)
		bw.WriteByte('\n')
	}
	bw.Flush()
}

// dropFamilies are runtime metrics of the library whose names break Prometheus's conventions
// (a counter without _total, a gauge named _count), which promtool rejects.
var dropFamilies = map[string]bool{"go_cgo_calls_count": true, "go_cpu_count": true, "go_gc_forced_count": true}

// familyOf is the metric family a line of the text format is about.
func familyOf(line []byte) string {
	if rest, ok := bytes.CutPrefix(line, []byte("# HELP ")); ok {
		line = rest
	} else if rest, ok := bytes.CutPrefix(line, []byte("# TYPE ")); ok {
		line = rest
	}
	if i := bytes.IndexAny(line, "{ \n"); i >= 0 {
		line = line[:i]
	}
	return string(line)
}

func quote(s string) string {
	return strconv.Quote(strings.ToValidUTF8(s, "?"))
}

// ToolMetrics are one MCP tool's metrics.
type ToolMetrics struct {
	Calls, Errors *metrics.Counter
	Duration      *metrics.PrometheusHistogram
}

// Tool returns the metrics of the MCP tool name of server, creating them. Only tools a server
// lists are called, and ForgetTools drops those it no longer lists, so the series stay bounded.
func (m *Metrics) Tool(name, server string) *ToolMetrics {
	k := [2]string{name, server}
	m.mu.Lock()
	defer m.mu.Unlock()
	if tm, ok := m.tools[k]; ok {
		return tm
	}
	labels := `{tool=` + quote(name) + `,server=` + quote(server) + `}`
	tm := &ToolMetrics{
		Calls:    m.set.NewCounter("iom_tool_calls_total" + labels),
		Errors:   m.set.NewCounter("iom_tool_call_errors_total" + labels),
		Duration: m.set.NewPrometheusHistogramExt("iom_tool_call_duration_seconds"+labels, latencyBuckets),
	}
	m.tools[k] = tm
	return tm
}

// ForgetTools drops the series of every tool not in keep (tool names as clients see them).
func (m *Metrics) ForgetTools(keep map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.tools {
		if keep[k[0]] {
			continue
		}
		labels := `{tool=` + quote(k[0]) + `,server=` + quote(k[1]) + `}`
		for _, name := range []string{"iom_tool_calls_total", "iom_tool_call_errors_total", "iom_tool_call_duration_seconds"} {
			m.set.UnregisterMetric(name + labels)
		}
		delete(m.tools, k)
	}
}
