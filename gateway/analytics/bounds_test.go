package analytics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFitStep(t *testing.T) {
	to := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f := func(span time.Duration, step, want string) {
		t.Helper()
		if got := fitStep(to.Add(-span), to, step); got != want {
			t.Errorf("fitStep(%s, %s) = %s, want %s", span, step, got, want)
		}
	}
	f(time.Hour, "1m", "1m")
	f(1998*time.Minute, "1m", "1m") // 1999 points
	f(1999*time.Minute, "1m", "1m") // 2000 points
	f(2000*time.Minute, "1m", "5m")
	f(7*24*time.Hour, "5m", "15m") // 2017 points at 5m
	f(30*24*time.Hour, "1m", "1h")
	f(MaxRange, "1m", "6h")
	f(MaxRange, "1d", "1d")
}

// TestAnalyticsBounds: a range over MaxRange is refused, a step too fine is widened (and
// reported), and at most MaxSeries series are drawn, the rest counted and kept in the totals.
func TestAnalyticsBounds(t *testing.T) {
	r := newRecorder(t)
	ctx := context.Background()
	now := time.Now()
	for i := range MaxSeries + 20 {
		for range 1 + i%3 {
			r.Record(&Invocation{ID: id(now, i), Time: now, Model: "m", Key: fmt.Sprintf("key-%03d", i), Status: "ok", LatencyMs: 1})
		}
	}
	r.Flush()

	_, err := r.Analytics(ctx, time.UnixMilli(0), now, "1m", "model")
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Param != "since" || !strings.Contains(qe.Message, "366 days") {
		t.Fatalf("since the epoch: %v", err)
	}
	if _, err := r.Analytics(ctx, now, now.Add(-time.Hour), "1m", "model"); !errors.As(err, &qe) {
		t.Fatalf("since after until: %v", err)
	}
	if _, err := r.Analytics(ctx, now.Add(-time.Hour), now, "2m", "model"); !errors.As(err, &qe) || qe.Param != "step" {
		t.Fatalf("bad step: %v", err)
	}

	rep, err := r.Analytics(ctx, now.Add(-30*24*time.Hour), now, "1m", "key")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Step != "1h" || rep.RequestedStep != "1m" {
		t.Fatalf("step %q, requested %q", rep.Step, rep.RequestedStep)
	}
	if len(rep.Series) != MaxSeries || rep.OmittedSeries != 20 || len(rep.Totals) != MaxSeries+20 || rep.Overall.Requests != 240 {
		t.Fatalf("%d series, %d omitted, %d totals, %d requests", len(rep.Series), rep.OmittedSeries, len(rep.Totals), rep.Overall.Requests)
	}
	drawn := map[string]bool{}
	for _, s := range rep.Series {
		if len(s.Points) > MaxPoints {
			t.Fatalf("%s: %d points", s.Key, len(s.Points))
		}
		drawn[s.Key] = true
	}
	for _, tot := range rep.Totals { // the series left out are those with the fewest requests
		if !drawn[tot.Key] && tot.Requests > 1 {
			t.Errorf("%s (%d requests) left out", tot.Key, tot.Requests)
		}
	}

	rep, err = r.Analytics(ctx, now.Add(-time.Hour), now, "1m", "model")
	if err != nil || rep.RequestedStep != "" || rep.OmittedSeries != 0 || len(rep.Series) != 1 || len(rep.Series[0].Points) != 61 {
		t.Fatalf("an hour at one minute: %+v %v", rep, err)
	}

	expired, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Analytics(expired, now.Add(-time.Hour), now, "1m", "model"); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended context: %v", err)
	}
}

// TestListCopiesRecords: a listed record does not hold its whole decoded block alive.
func TestListCopiesRecords(t *testing.T) {
	r := newRecorder(t)
	now := time.Now()
	for i := range 50 {
		r.Record(&Invocation{ID: id(now, i), Time: now, Model: fmt.Sprint("m", i%5), Status: "ok"})
	}
	r.Flush()
	list, _, err := r.List(context.Background(), Query{Model: "m1"})
	if err != nil || len(list) != 10 {
		t.Fatalf("%d records, %v", len(list), err)
	}
	for _, rec := range list {
		if cap(rec) > 2*len(rec) {
			t.Fatalf("a record of %d bytes holds %d", len(rec), cap(rec))
		}
	}
}
