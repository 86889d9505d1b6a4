package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/registry"
)

// VMQuery answers analytics from the VictoriaMetrics every node pushes to: MetricsQL over the
// usage series (usage.go), summed across the node label, so any node shows the whole cluster.
// Its base URL may hold credentials: no error, answer or log line names it.
type VMQuery struct {
	base    string
	client  *http.Client
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	down    bool      // the last query failed: logged once until one succeeds
	lastErr error     // of the last failed query, answered again until retryAt
	retryAt time.Time // a query failed: none is sent before then, so callers fall back at once
}

// Bounds of a query to VictoriaMetrics.
const (
	// DefaultVMQueryTimeout bounds one query; past it the caller answers from its own records.
	DefaultVMQueryTimeout = 3 * time.Second
	maxVMAnswer           = 32 << 20
	// fleetWindow is what the registry's numbers cover when they come from VictoriaMetrics.
	fleetWindow = 24 * time.Hour
	// vmRetryAfter is how long after a failed query the next waits: meanwhile every caller falls
	// back at once rather than waiting out a timeout each.
	vmRetryAfter = 5 * time.Second
)

// NewVMQuery returns a client of the VictoriaMetrics at baseURL (as metrics.victoriaMetrics.url).
func NewVMQuery(baseURL string, timeout time.Duration, log *slog.Logger) *VMQuery {
	if timeout <= 0 {
		timeout = DefaultVMQueryTimeout
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          4,
		MaxIdleConnsPerHost:   4,
		MaxConnsPerHost:       8,
		IdleConnTimeout:       30 * time.Second,
	}
	return &VMQuery{base: strings.TrimSuffix(baseURL, "/"), timeout: timeout, log: log,
		client: &http.Client{Transport: tr, Timeout: timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Close closes idle connections.
func (q *VMQuery) Close() { q.client.CloseIdleConnections() }

// vmSample is one series of an answer: its labels and its points (one for an instant query).
type vmSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
	Values [][2]any          `json:"values"`
}

// errVM is what a failed query says: never the URL, nor the address it was sent to.
type errVM struct{ what string }

func (e *errVM) Error() string { return "VictoriaMetrics " + e.what }

// do runs a query (path /api/v1/query or /api/v1/query_range) and returns its series.
func (q *VMQuery) do(ctx context.Context, path string, form url.Values) ([]vmSample, error) {
	q.mu.Lock()
	if time.Now().Before(q.retryAt) {
		err := q.lastErr
		q.mu.Unlock()
		return nil, err
	}
	q.mu.Unlock()
	res, err := q.send(ctx, path, form)
	if err != nil {
		if ctx.Err() == nil { // a caller that gave up says nothing of the server
			q.failed(err)
		}
		return nil, err
	}
	q.answered()
	return res, nil
}

// send is one query, bounded by the timeout.
func (q *VMQuery) send(ctx context.Context, path string, form url.Values) ([]vmSample, error) {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &errVM{"is not a valid URL"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := q.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return nil, &errVM{"did not answer in time"}
		}
		return nil, &errVM{"is unreachable"}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxVMAnswer+1))
	switch {
	case err != nil:
		return nil, &errVM{"broke off its answer"}
	case len(body) > maxVMAnswer:
		return nil, &errVM{fmt.Sprintf("answered more than %d MiB", maxVMAnswer>>20)}
	case resp.StatusCode != http.StatusOK:
		return nil, &errVM{fmt.Sprintf("answered %d", resp.StatusCode)}
	}
	var ans struct {
		Status string `json:"status"`
		Data   struct {
			Result []vmSample `json:"result"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &ans) != nil || ans.Status != "success" {
		return nil, &errVM{"gave an answer that is not a query result"}
	}
	return ans.Data.Result, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// failed logs a failed query once per outage, and Answered ends the outage.
func (q *VMQuery) failed(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lastErr, q.retryAt = err, time.Now().Add(vmRetryAfter)
	if !q.down {
		q.down = true
		q.log.Warn("analytics: cannot query VictoriaMetrics; answering from this node's records (said once)", "err", err)
	}
}

func (q *VMQuery) answered() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.down {
		q.down = false
		q.log.Info("analytics: VictoriaMetrics answers again")
	}
}

// measures are the figures of a group, each a MetricsQL expression of a window over the usage
// series of a selector; a label m names each in the union of one query.
var measures = []struct {
	name, expr string // expr: %[1]s the selector's labels, %[2]s the window, %[3]s the grouping, %[4]s it with le
}{
	{"requests", `sum%[3]s(increase_pure(iom_usage_requests_total{%[1]s}[%[2]s]))`},
	{"errors", `sum%[3]s(increase_pure(iom_usage_errors_total{%[1]s}[%[2]s]))`},
	{"in", `sum%[3]s(increase_pure(iom_usage_tokens_total{%[1]s,direction="input"}[%[2]s]))`},
	{"out", `sum%[3]s(increase_pure(iom_usage_tokens_total{%[1]s,direction="output"}[%[2]s]))`},
	{"cost", `sum%[3]s(increase_pure(iom_usage_cost_usd_total{%[1]s}[%[2]s]))`},
	{"latsum", `sum%[3]s(increase_pure(iom_usage_duration_seconds_sum{%[1]s}[%[2]s]))`},
	{"p50", `histogram_quantile(0.5, sum%[4]s(increase_pure(iom_usage_duration_seconds_bucket{%[1]s}[%[2]s])))`},
	{"p95", `histogram_quantile(0.95, sum%[4]s(increase_pure(iom_usage_duration_seconds_bucket{%[1]s}[%[2]s])))`},
	{"p99", `histogram_quantile(0.99, sum%[4]s(increase_pure(iom_usage_duration_seconds_bucket{%[1]s}[%[2]s])))`},
}

// union is one query of every measure in only (all when nil), per name (perName) or overall,
// each series labelled m=<measure> (and scope=all overall).
func union(selector, win string, perName bool, only []string) []string {
	by, byLe, scope := " by (name)", " by (name, le)", ""
	if !perName {
		by, byLe, scope = "", " by (le)", `, "scope", "all"`
	}
	var parts []string
	for _, m := range measures {
		if only != nil && !slices.Contains(only, m.name) {
			continue
		}
		parts = append(parts, fmt.Sprintf(`label_set(`+m.expr+`, "m", %[5]q%[6]s)`, selector, win, by, byLe, m.name, scope))
	}
	return parts
}

// vmWindow is a duration in MetricsQL's syntax, in whole seconds.
func vmWindow(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10) + "s"
}

// Analytics answers as Recorder.Analytics does, from every node's pushed series.
func (q *VMQuery) Analytics(ctx context.Context, from, to time.Time, step, dim string) (*Report, error) {
	rep, err := plan(from, to, step, dim)
	if err != nil {
		return nil, err
	}
	rep.Source = SourceVictoriaMetrics
	d := Steps[rep.Step]
	sel := `group=` + strconv.Quote(dim)
	// Totals: one instant query at the end, over the whole range.
	w := vmWindow(to.Sub(rep.From))
	expr := "union(" + strings.Join(append(union(sel, w, true, nil), union(sel, w, false, nil)...), ", ") + ")"
	res, err := q.do(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {unixSeconds(to)}, "nocache": {"1"}})
	if err != nil {
		return nil, err
	}
	totals := map[string]*vmTotal{}
	all := &vmTotal{}
	for _, s := range res {
		v, ok := sampleValue(s.Value)
		if !ok {
			continue
		}
		t := all
		if s.Metric["scope"] != "all" {
			name := s.Metric["name"]
			if t = totals[name]; t == nil {
				t = &vmTotal{}
				totals[name] = t
			}
		}
		t.set(s.Metric["m"], v)
	}
	for name, t := range totals {
		if t.requests == 0 {
			delete(totals, name)
			continue
		}
		rep.Totals = append(rep.Totals, t.total(name))
	}
	rep.Overall = all.total("all")
	sort.Slice(rep.Totals, func(i, j int) bool {
		return rep.Totals[i].CostUSD > rep.Totals[j].CostUSD || rep.Totals[i].CostUSD == rep.Totals[j].CostUSD && rep.Totals[i].Key < rep.Totals[j].Key
	})

	// Series: of the MaxSeries names with the most requests, one range query whose point at
	// t+d is the window [t, t+d), the local report's bucket t.
	names := slices.Collect(maps.Keys(totals))
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(totals[b].requests, totals[a].requests), cmp.Compare(a, b))
	})
	if len(names) > MaxSeries {
		rep.OmittedSeries = len(names) - MaxSeries
		names = names[:MaxSeries]
	}
	rep.Series = []Series{}
	if len(names) > 0 {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = regexp.QuoteMeta(n)
		}
		sel += `,name=~` + strconv.Quote(strings.Join(quoted, "|"))
		first := rep.From.Truncate(d)
		expr := "union(" + strings.Join(union(sel, vmWindow(d), true, nil), ", ") + ")"
		res, err := q.do(ctx, "/api/v1/query_range", url.Values{"query": {expr}, "start": {unixSeconds(first.Add(d))},
			"end": {unixSeconds(to.Truncate(d).Add(d))}, "step": {vmWindow(d)}, "nocache": {"1"}})
		if err != nil {
			return nil, err
		}
		points := map[string]map[int64]*vmTotal{}
		for _, s := range res {
			name := s.Metric["name"]
			if totals[name] == nil {
				continue
			}
			if points[name] == nil {
				points[name] = map[int64]*vmTotal{}
			}
			for _, p := range s.Values {
				ts, ok1 := p[0].(float64)
				v, ok2 := sampleValue(p)
				at := time.Unix(int64(ts), 0)
				if !ok1 || !ok2 || !at.Truncate(d).Equal(at) {
					continue // a point off the steps (VictoriaMetrics ends a range at its latest data) is no bucket's
				}
				bucket := at.Add(-d).Unix()
				t := points[name][bucket]
				if t == nil {
					t = &vmTotal{}
					points[name][bucket] = t
				}
				t.set(s.Metric["m"], v)
			}
		}
		for _, name := range names {
			s := Series{Key: name}
			for t := first; !t.After(to); t = t.Add(d) {
				p := Point{Time: t.UTC()}
				if a := points[name][t.Unix()]; a != nil && a.requests > 0 {
					tot := a.total(name)
					p = Point{Time: t.UTC(), Requests: tot.Requests, Errors: tot.Errors, InputTokens: tot.InputTokens,
						OutputTokens: tot.OutputTokens, CostUSD: tot.CostUSD, Latency: tot.Latency}
				}
				s.Points = append(s.Points, p)
			}
			rep.Series = append(rep.Series, s)
		}
		sort.Slice(rep.Series, func(i, j int) bool { return rep.Series[i].Key < rep.Series[j].Key })
	}
	if rep.Totals == nil {
		rep.Totals = []Total{}
	}
	return rep, nil
}

// ModelStats returns the live numbers of every model that was called in the last fleetWindow,
// on any node: requests, errors, mean latency and its percentiles.
func (q *VMQuery) ModelStats(ctx context.Context) (map[string]*registry.Stats, error) {
	only := []string{"requests", "errors", "latsum", "p50", "p95"}
	expr := "union(" + strings.Join(union(`group="model"`, vmWindow(fleetWindow), true, only), ", ") + ")"
	res, err := q.do(ctx, "/api/v1/query", url.Values{"query": {expr}, "nocache": {"1"}})
	if err != nil {
		return nil, err
	}
	byName := map[string]*vmTotal{}
	for _, s := range res {
		v, ok := sampleValue(s.Value)
		if !ok {
			continue
		}
		name := s.Metric["name"]
		t := byName[name]
		if t == nil {
			t = &vmTotal{}
			byName[name] = t
		}
		t.set(s.Metric["m"], v)
	}
	out := make(map[string]*registry.Stats, len(byName))
	for name, t := range byName {
		if t.requests < 1 {
			continue
		}
		tot := t.total(name)
		out[name] = &registry.Stats{Requests: tot.Requests, Errors: tot.Errors, LatencyMs: tot.Latency.Mean,
			P50Ms: tot.Latency.P50, P95Ms: tot.Latency.P95, SuccessRate: float64(tot.Requests-tot.Errors) / float64(tot.Requests)}
	}
	return out, nil
}

// vmTotal gathers the measures of one name (and point).
type vmTotal struct {
	requests, errors, in, out, cost, latSum, p50, p95, p99 float64
}

func (t *vmTotal) set(measure string, v float64) {
	switch measure {
	case "requests":
		t.requests = v
	case "errors":
		t.errors = v
	case "in":
		t.in = v
	case "out":
		t.out = v
	case "cost":
		t.cost = v
	case "latsum":
		t.latSum = v
	case "p50":
		t.p50 = v
	case "p95":
		t.p95 = v
	case "p99":
		t.p99 = v
	}
}

func (t *vmTotal) total(key string) Total {
	n := int64(math.Round(t.requests))
	out := Total{Key: key, Requests: n, Errors: int64(math.Round(t.errors)), InputTokens: int64(math.Round(t.in)),
		OutputTokens: int64(math.Round(t.out)), CostUSD: roundCost(t.cost)}
	if n > 0 {
		out.Latency = Latency{Mean: round(t.latSum * 1000 / float64(n)), P50: round(t.p50 * 1000), P95: round(t.p95 * 1000), P99: round(t.p99 * 1000)}
	}
	return out
}

// sampleValue reads a point's value, which VictoriaMetrics sends as a string; NaN and
// infinities are not values.
func sampleValue(p [2]any) (float64, bool) {
	s, ok := p[1].(string)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

func unixSeconds(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Fleet keeps the models' numbers of the whole cluster (ModelStats), read from VictoriaMetrics
// when asked and kept for an interval: VictoriaMetrics is queried only while someone looks, at
// most once an interval, whatever the number of nodes or of viewers.
type Fleet struct {
	q     *VMQuery
	every time.Duration
	mu    sync.Mutex // held while reading: a second viewer waits for the first's answer
	stats map[string]*registry.Stats
	at    time.Time
	ok    bool
}

// NewFleet returns the numbers of q, read again at most every interval.
func NewFleet(q *VMQuery, every time.Duration) *Fleet { return &Fleet{q: q, every: every} }

// Stats returns the cluster's numbers per model id and true, or false when VictoriaMetrics did
// not answer within the interval (the caller shows this node's own). A nil Fleet has none.
func (f *Fleet) Stats(ctx context.Context) (map[string]*registry.Stats, bool) {
	if f == nil {
		return nil, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Since(f.at) < f.every {
		return f.stats, f.ok // a failure too is kept for the interval: no query per request while it is down
	}
	f.stats, f.ok = nil, false
	if st, err := f.q.ModelStats(ctx); err == nil {
		f.stats, f.ok = st, true
	}
	f.at = time.Now()
	return f.stats, f.ok
}
