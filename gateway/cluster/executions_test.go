package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/internal/redistest"
)

// run is a pipeline execution as the recorder gets it.
type run struct {
	ID     string    `json:"id"`
	Kind   string    `json:"kind"`
	Time   time.Time `json:"time"`
	Status string    `json:"status"`
	Input  string    `json:"input"`
}

func (r run) JSON() []byte { b, _ := json.Marshal(r); return b }

func recorderOf(t *testing.T) *analytics.Recorder {
	t.Helper()
	st, err := store.Open(store.Options{InMemory: true, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	r := analytics.NewRecorder(st, time.Hour, analytics.NewMetrics(), discard)
	t.Cleanup(func() { r.Close(); st.Close() })
	return r
}

func openNode(t *testing.T, url, id string) *Cluster {
	t.Helper()
	c, err := Open(Options{URL: url, NodeID: id, Log: discard, Secret: []byte("the-cluster-secret-0123")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// A run recorded on node a is published sealed, for the records' retention, and node b lists it
// (named gw-a) beside its own and reads it by id.
func TestExecutionsArePublished(t *testing.T) {
	rs := redistest.Start(t)
	a, b := openNode(t, rs.URL(), "gw-a"), openNode(t, rs.URL(), "gw-b")
	ra, rb := recorderOf(t), recorderOf(t)
	ra.SetPublish(a.ShareExecutions(time.Hour, nil).Publish)
	rb.SetPublish(b.ShareExecutions(time.Hour, nil).Publish)
	now := time.Now()
	const prompt = "the board meets on thursday"
	idA := strings.Repeat("0", 8) + "a1b2c3d4e5f6a7b8"
	ra.RecordJSON(idA, now, run{ID: idA, Kind: "pipeline", Time: now, Status: "ok", Input: prompt}, analytics.RunSummary{})
	idB := strings.Repeat("0", 8) + "b1b2c3d4e5f6a7b8"
	rb.RecordJSON(idB, now, run{ID: idB, Kind: "pipeline", Time: now.Add(time.Millisecond), Status: "ok"}, analytics.RunSummary{})
	ra.Flush()
	rb.Flush()

	ctx := context.Background()
	var got []json.RawMessage
	deadline := time.Now().Add(2 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		var err, remoteErr error
		got, _, remoteErr, err = rb.ListMerged(ctx, analytics.Query{Kind: "pipeline"}, "gw-b", b.Executions().List)
		if err != nil || remoteErr != nil {
			t.Fatal(err, remoteErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 2 || !strings.Contains(string(got[0]), `"node":"gw-b"`) || !strings.Contains(string(got[1]), `"node":"gw-a"`) || !strings.Contains(string(got[1]), prompt) {
		t.Fatalf("node b lists %s", got)
	}
	line, err := b.Executions().Get(ctx, idA)
	if err != nil || !strings.Contains(string(line), prompt) {
		t.Fatalf("get: %s %v", line, err)
	}
	blob := rs.Client().Get(ctx, executionKey(idA)).Val()
	if strings.Contains(blob, prompt) || strings.Contains(blob, "gw-a") {
		t.Fatalf("Redis holds the run in the clear: %q", blob)
	}
	if ttl := rs.Client().PTTL(ctx, executionKey(idA)).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("the run is kept %s, want the records' hour", ttl)
	}
	if line, err := b.Executions().Get(ctx, strings.Repeat("f", 24)); line != nil || err != nil {
		t.Fatalf("an unknown run: %s %v", line, err)
	}
}

// Publishing never waits: with Redis gone, runs are dropped and counted, at once.
func TestExecutionsDropWhenRedisIsAway(t *testing.T) {
	rs := redistest.Start(t)
	a := openNode(t, rs.URL(), "gw-a")
	var counted atomic.Int64
	ex := a.ShareExecutions(0, func(n int) { counted.Add(int64(n)) })
	rs.Stop()
	start := time.Now()
	for range 3 * executionQueue {
		ex.Publish("0000000000000000aa", []byte(`{"id":"0000000000000000aa","kind":"pipeline"}`))
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("publishing waited %s", took)
	}
	if ex.Dropped() < executionQueue || counted.Load() != ex.Dropped() {
		t.Fatalf("%d runs dropped (%d counted) of %d with Redis away", ex.Dropped(), counted.Load(), 3*executionQueue)
	}
}

// Redis keeps the newest maxExecutions runs: older ones leave the index and their entries go.
func TestExecutionsAreTrimmed(t *testing.T) {
	rs := redistest.Start(t)
	a := openNode(t, rs.URL(), "gw-a")
	ex := a.ShareExecutions(time.Hour, nil)
	start := time.Now().Add(-time.Minute)
	var batch []published
	idOf := func(i int) string { return fmt.Sprintf("%016x%08x", start.UnixNano(), i) }
	for i := range maxExecutions + 100 {
		id := idOf(i)
		at := start.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
		batch = append(batch, published{id, []byte(`{"id":"` + id + `","kind":"pipeline","time":"` + at + `"}`)})
		if len(batch) == executionBatch {
			ex.write(batch)
			batch = batch[:0]
		}
	}
	ex.write(batch)
	ctx := context.Background()
	if n := rs.Client().ZCard(ctx, executionsKey).Val(); n != maxExecutions {
		t.Fatalf("the index holds %d runs, want %d", n, maxExecutions)
	}
	if rs.Client().Exists(ctx, executionKey(idOf(0))).Val() != 0 {
		t.Fatal("the oldest run is still in Redis")
	}
	if rs.Client().Exists(ctx, executionKey(idOf(maxExecutions+99))).Val() != 1 {
		t.Fatal("the newest run is gone")
	}
}
