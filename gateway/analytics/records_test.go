package analytics

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/store"
)

func newRecorder(t *testing.T) *Recorder {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(st, time.Hour, NewMetrics(), slog.Default())
	t.Cleanup(func() { r.Close(); st.Close() })
	return r
}

func id(t time.Time, n int) string {
	return fmt.Sprintf("%016x%08x", t.UnixNano(), n)
}

func TestRecordsAcrossBlocks(t *testing.T) {
	r := newRecorder(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Minute)
	var ids []string
	for i := range 30 {
		st := base.Add(time.Duration(i) * time.Millisecond)
		inv := &Invocation{ID: id(st, i), Time: st, Model: "m", Status: "ok", LatencyMs: 3}
		if i%3 == 0 {
			inv.Model, inv.Status = "other", "error"
		}
		if i == 7 {
			inv.LatencyMs = 60_000 // a long stream: found through its index entry
		}
		r.Record(inv)
		ids = append(ids, inv.ID)
		if i%10 == 9 {
			r.Flush() // three blocks
		}
	}
	r.Flush()
	for _, i := range []int{0, 7, 15, 29} {
		raw, err := r.Get(ctx, ids[i])
		var inv Invocation
		if err != nil || json.Unmarshal(raw, &inv) != nil || inv.ID != ids[i] {
			t.Fatalf("Get(%d): %s %v", i, raw, err)
		}
	}
	if _, err := r.Get(ctx, id(base.Add(time.Hour), 1)); err != ErrNotFound {
		t.Fatalf("unknown id: %v", err)
	}
	var got []string
	cur := ""
	for page := 0; ; page++ {
		list, next, err := r.List(ctx, Query{Limit: 7, Before: cur})
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range list {
			var inv Invocation
			json.Unmarshal(raw, &inv)
			got = append(got, inv.ID)
		}
		if next == "" {
			break
		}
		cur = next
		if page > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(got) != 30 || got[0] != ids[29] || got[29] != ids[0] {
		t.Fatalf("paged %d records, first %s last %s", len(got), got[0], got[len(got)-1])
	}
	errs, _, _ := r.List(ctx, Query{Model: "other", Status: "error"})
	if len(errs) != 10 {
		t.Fatalf("filtered: %d", len(errs))
	}
	if list, _, _ := r.List(ctx, Query{Since: time.Now().Add(time.Minute)}); len(list) != 0 {
		t.Fatalf("since in the future: %d", len(list))
	}
	if _, _, err := r.List(ctx, Query{Before: "zz"}); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

func BenchmarkRecord(b *testing.B) {
	st, _ := store.Open(store.Options{Dir: b.TempDir(), MasterKey: make([]byte, 32)})
	r := NewRecorder(st, time.Hour, NewMetrics(), slog.Default())
	defer st.Close()
	defer r.Close()
	inv := &Invocation{Kind: "invocation", Op: "chat", Model: "gpt-4o-mini", ServedBy: "gpt-4o-mini", Provider: "openai",
		Key: "demo-app", KeyID: "config:demo-app", Org: "acme", Status: "ok", HTTPStatus: 200, LatencyMs: 412.5,
		UpstreamMs: 410.1, InTokens: 24, OutTokens: 120, CostUSD: 0.000075}
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		inv.ID, inv.Time = id(now, i), now
		i++
		r.Record(inv)
		if i%1000 == 0 {
			r.Flush()
		}
	}
	r.Flush()
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	cases := []Invocation{
		{ID: "18eb72a3a240ef6300000001", Kind: "invocation", Time: time.Date(2026, 11, 26, 1, 2, 3, 456789, time.UTC), Op: "chat", Model: "m", Status: "ok", HTTPStatus: 200},
		{ID: "x", Kind: "invocation", Time: time.Now(), Op: "chat", Model: "gpt \"quoted\"\n\t<tag>", ServedBy: "fb", Provider: "openai",
			Key: "k", KeyID: "config:k", Org: "acme", Status: "error", HTTPStatus: 502, ErrorKind: "provider", Error: "upstream said: é ✓ \x01",
			Stream: true, LatencyMs: 1234.567, UpstreamMs: 0.001, FirstByte: 12.5, InTokens: 10, OutTokens: 20, CostUSD: 0.00000003,
			Retries: 2, Fallback: "fb", Cache: "miss", Pipeline: "p", Execution: "e", Step: "s", Attempts: []Attempt{{Model: "a", Provider: "openai", Status: 503, Error: "e", LatencyMs: 1}, {Model: "fb", LatencyMs: 2}}},
		{ID: "y", Time: time.Unix(0, 0).UTC(), CostUSD: 1e21, LatencyMs: 1e-7, InTokens: -1},
	}
	for _, inv := range cases {
		want, _ := json.Marshal(&inv)
		got := inv.AppendJSON(nil)
		var a, b map[string]any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatalf("AppendJSON made invalid JSON %s: %v", got, err)
		}
		json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("AppendJSON differs\n got: %s\nwant: %s", got, want)
		}
	}
}
