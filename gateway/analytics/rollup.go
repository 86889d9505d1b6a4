package analytics

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/store"
)

// Rollups aggregate records per minute and per hour and per dimension (model, key, org,
// pipeline), so a chart of a week answers from a few hundred small entries instead of every
// record. They are fed by the recorder's goroutine and written with its batches: the current
// minute and hour are kept in memory and written again while they change.

// Dimensions a chart can group by.
var Dimensions = []string{"model", "pipeline", "key", "org"}

// legacyBounds are the upper bounds, in milliseconds, of the fixed latency buckets of rollups
// written before sketches; their counts are read as if each were at its bucket's middle.
var legacyBounds = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000, 120000, 300000, math.Inf(1)}

// Agg is what a group of records adds up to.
type Agg struct {
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	CostUSD      float64 `json:"costUsd"`
	LatencySumMs float64 `json:"latencySumMs"`
	// Lat is the latencies' sketch; MinMs and MaxMs bound them, so a quantile never lies
	// outside what was seen.
	Lat   sketch  `json:"lat,omitempty"`
	MinMs float64 `json:"minMs,omitempty"`
	MaxMs float64 `json:"maxMs,omitempty"`
	// Hist is the latency histogram of a rollup written before sketches (legacyBounds).
	Hist []int64 `json:"hist,omitempty"`
}

func newAgg() *Agg { return &Agg{Lat: sketch{}} }

func (a *Agg) observe(ms float64) {
	if a.Lat == nil {
		a.Lat = sketch{}
	}
	a.Lat.add(ms)
	if a.Requests == 1 || ms < a.MinMs {
		a.MinMs = ms
	}
	a.MaxMs = max(a.MaxMs, ms)
}

func (a *Agg) add(b *Agg) {
	if b.Requests > 0 && (a.Requests == 0 || b.MinMs < a.MinMs) {
		a.MinMs = b.MinMs
	}
	a.MaxMs = max(a.MaxMs, b.MaxMs)
	a.Requests += b.Requests
	a.Errors += b.Errors
	a.InputTokens += b.InputTokens
	a.OutputTokens += b.OutputTokens
	a.CostUSD += b.CostUSD
	a.LatencySumMs += b.LatencySumMs
	if a.Lat == nil {
		a.Lat = sketch{}
	}
	a.Lat.merge(b.Lat)
	for i, n := range b.Hist {
		if n > 0 && i < len(legacyBounds) {
			lo, hi := 0.0, legacyBounds[i]
			if i > 0 {
				lo = legacyBounds[i-1]
			}
			if math.IsInf(hi, 1) {
				hi = lo
			}
			a.Lat[sketchIndex((lo+hi)/2)] += n
		}
	}
}

// Latency are latency statistics in milliseconds, estimated from the sketch.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
}

func (a *Agg) latency() Latency {
	if a.Requests == 0 {
		return Latency{}
	}
	return Latency{Mean: round(a.LatencySumMs / float64(a.Requests)), P50: a.quantile(0.5), P95: a.quantile(0.95), P99: a.quantile(0.99)}
}

// quantile is the sketch's estimate of the q-quantile, clamped to the latencies seen.
func (a *Agg) quantile(q float64) float64 {
	v := a.Lat.quantile(q)
	if a.MaxMs > 0 {
		v = min(max(v, a.MinMs), a.MaxMs)
	}
	return round(v)
}

// observation is one record's contribution.
type observation struct {
	at        time.Time
	dims      [4]string // by Dimensions
	err       bool
	latencyMs float64
	in, out   int64
	cost      float64
}

type period struct {
	start time.Time
	aggs  map[string]map[string]*Agg // dimension → value → agg
	dirty bool
	// fresh: the period was started in memory and may have a stored part (written before a
	// restart, or before it was forgotten and a late record came for it), merged in before
	// it is written, so the write adds to it instead of replacing it.
	fresh bool
}

// rollups is owned by the recorder's goroutine, except for reads of the current periods.
type rollups struct {
	mu      sync.Mutex
	minutes map[int64]*period
	hours   map[int64]*period
}

func newRollups() *rollups {
	return &rollups{minutes: map[int64]*period{}, hours: map[int64]*period{}}
}

func (r *rollups) observe(o observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range []*period{r.get(r.minutes, o.at.Truncate(time.Minute)), r.get(r.hours, o.at.Truncate(time.Hour))} {
		p.dirty = true
		for i, dim := range Dimensions {
			if o.dims[i] == "" {
				continue
			}
			byValue := p.aggs[dim]
			if byValue == nil {
				byValue = map[string]*Agg{}
				p.aggs[dim] = byValue
			}
			a := byValue[o.dims[i]]
			if a == nil {
				a = newAgg()
				byValue[o.dims[i]] = a
			}
			a.Requests++
			a.observe(o.latencyMs)
			if o.err {
				a.Errors++
			}
			a.InputTokens += o.in
			a.OutputTokens += o.out
			a.CostUSD += o.cost
			a.LatencySumMs += o.latencyMs
		}
	}
}

func (r *rollups) get(m map[int64]*period, start time.Time) *period {
	p := m[start.Unix()]
	if p == nil {
		p = &period{start: start, aggs: map[string]map[string]*Agg{}, fresh: true}
		m[start.Unix()] = p
	}
	return p
}

var (
	minutePrefix = []byte("roll/m/")
	hourPrefix   = []byte("roll/h/")
)

// Rollup retention.
const (
	minuteTTL = 48 * time.Hour
	hourTTL   = 90 * 24 * time.Hour
)

func rollKey(prefix []byte, start time.Time, dim string) []byte {
	k := append([]byte(nil), prefix...)
	k = binary.BigEndian.AppendUint64(k, uint64(start.Unix()))
	return append(append(k, '/'), dim...)
}

// entries returns the changed periods to write, and forgets periods that ended before now.
// stored reads a period's stored part (nil when none).
func (r *rollups) entries(now time.Time, stored func(key []byte) []byte) []store.Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.Entry
	for _, set := range []struct {
		m      map[int64]*period
		prefix []byte
		ttl    time.Duration
		length time.Duration
	}{{r.minutes, minutePrefix, minuteTTL, time.Minute}, {r.hours, hourPrefix, hourTTL, time.Hour}} {
		for k, p := range set.m {
			if p.dirty {
				for dim, byValue := range p.aggs {
					if p.fresh {
						mergeStored(byValue, stored(rollKey(set.prefix, p.start, dim)))
					}
					b, _ := json.Marshal(byValue)
					out = append(out, store.Entry{Key: rollKey(set.prefix, p.start, dim), Value: b, TTL: set.ttl})
				}
				p.dirty, p.fresh = false, false
			}
			if now.Sub(p.start) > set.length+time.Minute {
				delete(set.m, k)
			}
		}
	}
	return out
}

// mergeStored adds a stored period's aggregates (JSON, as entries writes them) to byValue.
func mergeStored(byValue map[string]*Agg, raw []byte) {
	if len(raw) == 0 {
		return
	}
	var old map[string]*Agg
	if json.Unmarshal(raw, &old) != nil {
		return
	}
	for value, a := range old {
		if cur := byValue[value]; cur != nil {
			cur.add(a)
		} else {
			n := newAgg()
			n.add(a)
			byValue[value] = n
		}
	}
}

// Series is one group's points over time.
type Series struct {
	Key    string  `json:"key"`
	Points []Point `json:"points"`
}

// Point is one step of a series.
type Point struct {
	Time         time.Time `json:"t"`
	Requests     int64     `json:"requests"`
	Errors       int64     `json:"errors"`
	InputTokens  int64     `json:"inputTokens"`
	OutputTokens int64     `json:"outputTokens"`
	CostUSD      float64   `json:"costUsd"`
	Latency      Latency   `json:"latencyMs"`
}

// Total is one group's totals over the range.
type Total struct {
	Key          string  `json:"key"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"inputTokens"`
	OutputTokens int64   `json:"outputTokens"`
	CostUSD      float64 `json:"costUsd"`
	Latency      Latency `json:"latencyMs"`
}

// Report is the answer of GET /api/analytics.
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Step string    `json:"step"`
	// RequestedStep is the step asked for, when it was widened to Step to keep each series
	// within MaxPoints points.
	RequestedStep string   `json:"requestedStep,omitempty"`
	Group         string   `json:"group"`
	Series        []Series `json:"series"`
	// OmittedSeries counts the groups left out of Series (beyond MaxSeries, those with the
	// fewest requests); Totals still has them.
	OmittedSeries int     `json:"omittedSeries,omitempty"`
	Totals        []Total `json:"totals"`
	Overall       Total   `json:"overall"`
	// Source says where the numbers come from: SourceVictoriaMetrics (every node's, the whole
	// cluster) or SourceLocal (this node's records).
	Source string `json:"source"`
	// SourceError says why a gateway that queries VictoriaMetrics answered from its own records.
	SourceError string `json:"sourceError,omitempty"`
}

// Sources of a report.
const (
	SourceLocal           = "local"
	SourceVictoriaMetrics = "victoriaMetrics"
)

// Bounds of one analytics answer: its size depends on these, never on the range asked for.
const (
	MaxPoints = 2000
	MaxSeries = 100
	MaxRange  = 366 * 24 * time.Hour
)

// A QueryError is a query the caller must change; Param names the parameter at fault.
type QueryError struct{ Param, Message string }

func (e *QueryError) Error() string { return e.Message }

// Steps are the accepted chart steps.
var Steps = map[string]time.Duration{"1m": time.Minute, "5m": 5 * time.Minute, "15m": 15 * time.Minute,
	"1h": time.Hour, "6h": 6 * time.Hour, "1d": 24 * time.Hour}

// stepOrder lists Steps from the finest.
var stepOrder = []string{"1m", "5m", "15m", "1h", "6h", "1d"}

// AutoStep picks a step that gives a chart of at most about 120 points.
func AutoStep(span time.Duration) string {
	for _, s := range stepOrder {
		if span/Steps[s] <= 120 {
			return s
		}
	}
	return "1d"
}

// rollupUnit is the period of the rollups a chart of step d reads: minutes (kept two days) under
// an hour, hours above.
func rollupUnit(d time.Duration) time.Duration {
	if d >= time.Hour {
		return time.Hour
	}
	return time.Minute
}

// fitStep returns the finest step, from step on, that charts from..to in at most MaxPoints
// points. Within MaxRange, one day always fits.
func fitStep(from, to time.Time, step string) string {
	for _, s := range stepOrder[slices.Index(stepOrder, step):] {
		d := Steps[s]
		if to.Sub(from.Truncate(rollupUnit(d)).Truncate(d))/d < MaxPoints {
			return s
		}
	}
	return "1d"
}

// Analytics reports the records between from and to, grouped by dim, in points of step, from
// minute rollups (kept two days) for steps under an hour and hourly rollups otherwise. The answer
// is bounded: at most MaxRange long, MaxSeries series and MaxPoints points a series (step is
// widened, and the one asked for reported). A query the caller must change is a *QueryError.
func (r *Recorder) Analytics(ctx context.Context, from, to time.Time, step, dim string) (*Report, error) {
	rep, err := plan(from, to, step, dim)
	if err != nil {
		return nil, err
	}
	rep.Source = SourceLocal
	d := Steps[rep.Step]
	prefix := minutePrefix
	if rollupUnit(d) == time.Hour {
		prefix = hourPrefix
	}
	from = rep.From
	series := map[string]map[int64]*Agg{}
	totals := map[string]*Agg{}
	all := newAgg()
	addPeriod := func(start time.Time, byValue map[string]*Agg) {
		if start.Before(from) || start.After(to) {
			return
		}
		bucket := start.Truncate(d).Unix()
		for value, a := range byValue {
			if series[value] == nil {
				series[value] = map[int64]*Agg{}
				totals[value] = newAgg()
			}
			if series[value][bucket] == nil {
				series[value][bucket] = newAgg()
			}
			series[value][bucket].add(a)
			totals[value].add(a)
			all.add(a)
		}
	}
	start := rollKey(prefix, from, "")
	err = r.st.Scan(ctx, prefix, store.ScanOptions{Start: start[:len(start)-1]}, func(k, v []byte) bool {
		ts := time.Unix(int64(binary.BigEndian.Uint64(k[len(prefix):])), 0)
		if ts.After(to) {
			return false
		}
		if string(k[len(prefix)+9:]) != dim {
			return true
		}
		var byValue map[string]*Agg
		if json.Unmarshal(v, &byValue) == nil {
			addPeriod(ts, byValue)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(series) > MaxSeries {
		values := slices.Collect(maps.Keys(series))
		slices.SortFunc(values, func(a, b string) int {
			return cmp.Or(cmp.Compare(totals[b].Requests, totals[a].Requests), cmp.Compare(a, b))
		})
		for _, v := range values[MaxSeries:] {
			delete(series, v)
		}
		rep.OmittedSeries = len(values) - MaxSeries
	}
	for value, byBucket := range series {
		s := Series{Key: value}
		for t := from.Truncate(d); !t.After(to); t = t.Add(d) {
			p := Point{Time: t.UTC()}
			if a := byBucket[t.Unix()]; a != nil {
				p = Point{Time: t.UTC(), Requests: a.Requests, Errors: a.Errors, InputTokens: a.InputTokens,
					OutputTokens: a.OutputTokens, CostUSD: roundCost(a.CostUSD), Latency: a.latency()}
			}
			s.Points = append(s.Points, p)
		}
		rep.Series = append(rep.Series, s)
	}
	for value, a := range totals {
		rep.Totals = append(rep.Totals, Total{Key: value, Requests: a.Requests, Errors: a.Errors, InputTokens: a.InputTokens,
			OutputTokens: a.OutputTokens, CostUSD: roundCost(a.CostUSD), Latency: a.latency()})
	}
	sort.Slice(rep.Series, func(i, j int) bool { return rep.Series[i].Key < rep.Series[j].Key })
	sort.Slice(rep.Totals, func(i, j int) bool {
		return rep.Totals[i].CostUSD > rep.Totals[j].CostUSD || rep.Totals[i].CostUSD == rep.Totals[j].CostUSD && rep.Totals[i].Key < rep.Totals[j].Key
	})
	rep.Overall = Total{Key: "all", Requests: all.Requests, Errors: all.Errors, InputTokens: all.InputTokens,
		OutputTokens: all.OutputTokens, CostUSD: roundCost(all.CostUSD), Latency: all.latency()}
	if rep.Series == nil {
		rep.Series, rep.Totals = []Series{}, []Total{}
	}
	return rep, nil
}

// plan checks a query and starts its report: the step used (widened to fit MaxPoints) and the
// start, truncated to the unit of the rollups that step reads.
func plan(from, to time.Time, step, dim string) (*Report, error) {
	if _, ok := Steps[step]; !ok {
		return nil, &QueryError{"step", fmt.Sprintf("step %q is not one of 1m, 5m, 15m, 1h, 6h, 1d", step)}
	}
	if !slices.Contains(Dimensions, dim) {
		return nil, &QueryError{"group", fmt.Sprintf("group %q is not one of model, pipeline, key, org", dim)}
	}
	if !from.Before(to) {
		return nil, &QueryError{"since", "since must be before until"}
	}
	if to.Sub(from) > MaxRange {
		return nil, &QueryError{"since", fmt.Sprintf("since and until may be at most %d days apart", MaxRange/(24*time.Hour))}
	}
	rep := &Report{To: to.UTC(), Step: step, Group: dim, Overall: Total{Key: "all"}}
	if s := fitStep(from, to, step); s != step {
		rep.Step, rep.RequestedStep = s, step
	}
	rep.From = from.Truncate(rollupUnit(Steps[rep.Step])).UTC()
	return rep, nil
}

func roundCost(c float64) float64 { return math.Round(c*1e12) / 1e12 }
