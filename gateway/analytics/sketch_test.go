package analytics

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/store"
)

// nearestRank is the exact q-quantile of sorted values: the value of rank ⌈q·n⌉.
func nearestRank(sorted []float64, q float64) float64 {
	return sorted[max(int(math.Ceil(q*float64(len(sorted))))-1, 0)]
}

// Percentiles from the rollups are within 5% of the exact ones, never outside the latencies
// seen, and merge across minutes and models. (With fixed buckets one 206 ms request read as p50
// 350, p95 485 and p99 497 ms.)
func TestPercentilesFromRollups(t *testing.T) {
	r := newRecorder(t)
	base := time.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	rng := rand.New(rand.NewPCG(1, 2))
	var all []float64
	byModel := map[string][]float64{}
	n := 0
	record := func(model string, at time.Time, ms float64) {
		n++
		r.Record(&Invocation{ID: id(at, n), Time: at, Model: model, Status: "ok", LatencyMs: ms})
		all = append(all, ms)
		byModel[model] = append(byModel[model], ms)
	}
	record("single", base, 206)
	// Two models over five minutes: fast answers, a slow tail, and a few outliers.
	for i := range 2000 {
		at := base.Add(time.Duration(i%5)*time.Minute + time.Duration(i)*time.Millisecond)
		model := []string{"a", "b"}[i%2]
		ms := 20 + rng.ExpFloat64()*80
		if i%50 == 0 {
			ms = 2000 + rng.Float64()*8000
		}
		record(model, at, math.Round(ms*10)/10)
		if i%200 == 199 {
			r.Flush() // the recorder's queue drops what it cannot hold
		}
	}
	r.Flush()
	rep, err := r.Analytics(context.Background(), base.Add(-time.Minute), base.Add(10*time.Minute), "1m", "model")
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got Latency, values []float64) {
		t.Helper()
		sorted := slices.Sorted(slices.Values(values))
		for _, p := range []struct {
			q   float64
			got float64
		}{{0.5, got.P50}, {0.95, got.P95}, {0.99, got.P99}} {
			want := nearestRank(sorted, p.q)
			if math.Abs(p.got-want) > 0.05*want {
				t.Errorf("%s: p%g = %g, exact %g", name, p.q*100, p.got, want)
			}
			if p.got < sorted[0] || p.got > sorted[len(sorted)-1] {
				t.Errorf("%s: p%g = %g outside [%g, %g]", name, p.q*100, p.got, sorted[0], sorted[len(sorted)-1])
			}
		}
	}
	for _, tot := range rep.Totals {
		check(tot.Key, tot.Latency, byModel[tot.Key])
	}
	check("all", rep.Overall.Latency, all)
	if len(rep.Totals) != 3 {
		t.Fatalf("totals %+v", rep.Totals)
	}
	for _, tot := range rep.Totals {
		if tot.Key == "single" && (tot.Latency.P50 != 206 || tot.Latency.P99 != 206) {
			t.Fatalf("one 206 ms request: %+v", tot.Latency)
		}
	}
}

// A rollup written with the old fixed buckets still reads, at its buckets' middles.
func TestLegacyHistogram(t *testing.T) {
	old := &Agg{Requests: 2, LatencySumMs: 300, Hist: make([]int64, len(legacyBounds))}
	old.Hist[7] = 2 // (100, 200]
	a := newAgg()
	a.add(old)
	if p := a.latency().P50; math.Abs(p-150) > 0.05*150 {
		t.Fatalf("p50 %g", p)
	}
}

// A minute's and an hour's rollups add up across a restart: the second recorder's write adds to
// what the first one stored instead of replacing it.
func TestRollupsSurviveRestart(t *testing.T) {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	for i := range 2 {
		r := NewRecorder(st, time.Hour, NewMetrics(), slog.Default())
		r.Record(&Invocation{ID: id(now, i), Time: now.Add(time.Duration(i) * time.Millisecond), Model: "m", Status: "ok", LatencyMs: 10})
		r.Close()
	}
	r := NewRecorder(st, time.Hour, NewMetrics(), slog.Default())
	defer r.Close()
	for _, step := range []string{"1m", "1h"} {
		rep, err := r.Analytics(context.Background(), now.Add(-time.Hour), now.Add(time.Minute), step, "model")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Overall.Requests != 2 {
			t.Fatalf("step %s: %d requests after a restart, want 2", step, rep.Overall.Requests)
		}
	}
}
