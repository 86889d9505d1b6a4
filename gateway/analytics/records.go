package analytics

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/store"
)

// Invocation is a ModelInvocation: one data-plane call of a model, with every upstream attempt.
type Invocation struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"` // "invocation"
	Time  time.Time `json:"time"`
	Op    string    `json:"op"`    // chat, completion, embedding, invoke, test, tool (an MCP tool call)
	Model string    `json:"model"` // what the client asked for
	// ServedBy is the model that answered (a fallback, when one was used).
	ServedBy   string  `json:"servedBy,omitempty"`
	Provider   string  `json:"provider,omitempty"`
	Key        string  `json:"key,omitempty"`
	KeyID      string  `json:"keyId,omitempty"`
	Org        string  `json:"org,omitempty"`
	Status     string  `json:"status"` // ok or error
	HTTPStatus int     `json:"httpStatus"`
	ErrorKind  string  `json:"errorKind,omitempty"`
	Error      string  `json:"error,omitempty"`
	Stream     bool    `json:"stream,omitempty"`
	LatencyMs  float64 `json:"latencyMs"`
	UpstreamMs float64 `json:"upstreamLatencyMs"`
	FirstByte  float64 `json:"firstByteMs,omitempty"`
	InTokens   int64   `json:"inputTokens"`
	OutTokens  int64   `json:"outputTokens"`
	// CachedTokens and CacheWriteTokens are the parts of InTokens read from and written to the
	// provider's prompt cache; ReasoningTokens the part of OutTokens spent reasoning.
	CachedTokens     int64     `json:"cachedInputTokens,omitempty"`
	CacheWriteTokens int64     `json:"cacheWriteInputTokens,omitempty"`
	ReasoningTokens  int64     `json:"reasoningTokens,omitempty"`
	CostUSD          float64   `json:"costUsd"`
	Retries          int       `json:"retries,omitempty"`
	Fallback         string    `json:"fallback,omitempty"`
	Cache            string    `json:"cache,omitempty"`
	Attempts         []Attempt `json:"attempts,omitempty"`
	// Pipeline, Execution and Step name the pipeline step that made the call, if one did.
	Pipeline  string `json:"pipeline,omitempty"`
	Execution string `json:"execution,omitempty"`
	Step      string `json:"step,omitempty"`
	// TraceID is the request's W3C trace id (x-iom-trace-id), as hex.
	TraceID string `json:"traceId,omitempty"`
	// RequestBytes and ResponseBytes are the sizes of a tool call's arguments and result (op
	// tool); records written before they existed read as 0.
	RequestBytes  int64 `json:"requestBytes,omitempty"`
	ResponseBytes int64 `json:"responseBytes,omitempty"`
	// Node is the cluster node that made the record, as a cluster's listing shows it (records
	// are stored without it).
	Node string `json:"node,omitempty"`
}

// Attempt is one upstream try within an invocation.
type Attempt struct {
	Model    string `json:"model"`
	Provider string `json:"provider,omitempty"`
	// Upstream is the replica's endpoint, when the model has several.
	Upstream  string  `json:"upstream,omitempty"`
	Status    int     `json:"status,omitempty"` // upstream HTTP status, 0 when none answered
	Error     string  `json:"error,omitempty"`
	LatencyMs float64 `json:"latencyMs"`
	// StartMs is when the attempt began, from the request's arrival: retries' backoff shows as
	// the gaps between attempts.
	StartMs float64 `json:"startMs"`
}

// Recorder writes invocations to the store in the background, in compressed blocks.
type Recorder struct {
	st        *store.Store
	ttl       atomic.Int64 // time.Duration
	ch        chan Invocation
	raw       chan rawRecord
	flushReq  chan chan struct{}
	kick      chan struct{} // the queue is half full: drain it now
	stop      chan struct{}
	metrics   *Metrics
	log       *slog.Logger
	blocks    *blockCodec
	roll      *rollups
	publish   atomic.Pointer[func(id string, line []byte)]
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// A block is sealed when it holds blockRecords records or blockBytes bytes, or every flushEvery.
const (
	blockRecords = 1024
	blockBytes   = 512 << 10 // a power of two: the compressor's window
	flushEvery   = 100 * time.Millisecond
	// queueSize absorbs a stall of the store (a sync, a compaction): 2048 records are ~100 ms at
	// 20k requests per second, and ~1.1 MiB held. A queue half full wakes the loop early (see
	// Record), so a busy gateway does not drop records between two ticks.
	queueSize = 2048
)

// NewRecorder starts a recorder; retention of zero keeps records forever.
func NewRecorder(st *store.Store, retention time.Duration, m *Metrics, log *slog.Logger) *Recorder {
	r := &Recorder{st: st, ch: make(chan Invocation, queueSize), raw: make(chan rawRecord, 1024), flushReq: make(chan chan struct{}), kick: make(chan struct{}, 1), stop: make(chan struct{}),
		metrics: m, log: log, blocks: newBlockCodec(), roll: newRollups()}
	r.ttl.Store(int64(retention))
	r.wg.Add(1)
	go r.loop()
	return r
}

// SetPublish makes the recorder hand every pipeline execution it writes, as its JSON line, to
// publish (a cluster sharing them), on the recorder's goroutine: publish must not wait, and must
// copy line if it keeps it.
func (r *Recorder) SetPublish(publish func(id string, line []byte)) { r.publish.Store(&publish) }

// Retention is how long new records are kept; zero is forever.
func (r *Recorder) Retention() time.Duration { return time.Duration(r.ttl.Load()) }

// SetRetention changes how long new records are kept.
func (r *Recorder) SetRetention(d time.Duration) { r.ttl.Store(int64(d)) }

// Record queues inv without waiting; when the queue is full the record is dropped and counted.
func (r *Recorder) Record(inv *Invocation) {
	select {
	case r.ch <- *inv:
	default:
		r.metrics.RecordsDropped.Inc()
	}
	if len(r.ch) >= queueSize/2 {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// rawRecord is a record of another kind (a pipeline execution).
type rawRecord struct {
	id  string
	at  time.Time
	rec Line
	sum RunSummary
}

// A Line is a record of another kind: JSON() encodes it as one line (JSON has no raw newlines).
// The recorder calls it on its own goroutine, so the record must not change once queued.
type Line interface{ JSON() []byte }

// RunSummary is what a pipeline run adds to the analytics (grouped by pipeline only: its model
// calls are counted as invocations).
type RunSummary struct {
	Pipeline  string
	Error     bool
	LatencyMs float64
	In, Out   int64
	CostUSD   float64
}

// RecordJSON queues a record of another kind whose id is a request id; it is encoded off the
// caller's path. It waits for room rather than drop: such records are few.
func (r *Recorder) RecordJSON(id string, at time.Time, rec Line, sum RunSummary) {
	if sum.Pipeline != "" {
		pm := r.metrics.Pipeline(sum.Pipeline)
		if sum.Error {
			pm.Failed.Inc()
		} else {
			pm.OK.Inc()
		}
		pm.Duration.Update(sum.LatencyMs / 1000)
		pm.Cost.Add(sum.CostUSD)
	}
	select {
	case r.raw <- rawRecord{id, at, rec, sum}:
	case <-r.stop:
	}
}

// Flush waits until every record queued before the call is written.
func (r *Recorder) Flush() {
	done := make(chan struct{})
	r.flushReq <- done
	<-done
}

// Close writes what is queued and stops.
func (r *Recorder) Close() {
	r.closeOnce.Do(func() {
		close(r.stop)
		r.wg.Wait()
	})
}

func (r *Recorder) loop() {
	defer r.wg.Done()
	b := &blockWriter{codec: r.blocks}
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	seal := func() {
		rolls := r.roll.entries(time.Now(), func(key []byte) []byte {
			v, _ := r.st.Get(key)
			return v
		})
		if b.n == 0 {
			if len(rolls) > 0 {
				if err := r.st.Write(rolls); err != nil {
					r.log.Error("cannot write rollups", "err", err)
				}
			}
			return
		}
		entries, n := b.seal(time.Now(), time.Duration(r.ttl.Load()))
		if err := r.st.Write(append(entries, rolls...)); err != nil {
			r.log.Error("cannot write invocation records", "count", n, "err", err)
			r.metrics.RecordsDropped.Add(n)
		} else {
			r.metrics.RecordsWritten.Add(n)
		}
	}
	observe := func(o observation) {
		r.roll.observe(o)
		if u := r.metrics.usageSet(); u != nil {
			u.observe(&o)
		}
	}
	add := func(inv *Invocation) {
		model := inv.ServedBy
		if model == "" || inv.Op == "tool" { // a tool call counts under its tool, not its server
			model = inv.Model
		}
		observe(observation{at: inv.Time, dims: [4]string{model, "", inv.Key, inv.Org}, err: inv.Status != "ok",
			latencyMs: inv.LatencyMs, in: inv.InTokens, out: inv.OutTokens, cost: inv.CostUSD})
		if err := b.add(inv); err != nil {
			r.metrics.RecordsDropped.Inc()
			return
		}
		if b.n >= blockRecords || len(b.raw) >= blockBytes {
			seal()
		}
	}
	// The loop wakes on its ticker and drains the queue, rather than waiting on the queue: a
	// request that records does not wake a goroutine, which would cost it more than the record
	// (only one that finds the queue half full does, for all the records queued).
	drain := func() {
		for n := len(r.ch); n > 0; n-- {
			inv, ok := <-r.ch
			if !ok {
				return
			}
			add(&inv)
		}
		for n := len(r.raw); n > 0; n-- {
			raw := <-r.raw
			if s := raw.sum; s.Pipeline != "" {
				observe(observation{at: raw.at, dims: [4]string{"", s.Pipeline, "", ""}, err: s.Error,
					latencyMs: s.LatencyMs, in: s.In, out: s.Out, cost: s.CostUSD})
			}
			line := b.addRaw(raw)
			if p := r.publish.Load(); p != nil {
				(*p)(raw.id, line)
			}
		}
		if b.n >= blockRecords || len(b.raw) >= blockBytes {
			seal()
		}
	}
	for {
		select {
		case <-r.stop:
			drain()
			seal()
			return
		case <-tick.C:
			drain()
			seal()
		case <-r.kick:
			drain()
		case done := <-r.flushReq:
			drain()
			seal()
			close(done)
		}
	}
}

// Query filters a listing of records.
type Query struct {
	Kind     string // invocation or pipeline
	Pipeline string // records of this pipeline (its runs, and the calls of its steps)
	Model    string // requested or serving model
	Key      string // key name or id
	Org      string
	Status   string // ok or error
	Since    time.Time
	Until    time.Time
	// Before is a cursor from a previous page's Next.
	Before string
	Limit  int
}

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("no such invocation")

// ErrBadCursor is returned by List for a cursor it did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// MaxLimit is the most records one page of a listing holds.
const MaxLimit = 500

// maxScan bounds how many records one listing reads, so a filter that matches nothing answers
// quickly; the page then ends early with a cursor to go on from.
const maxScan = 200_000

// header is what every record has, for filtering.
type header struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"`
	Model    string    `json:"model"`
	ServedBy string    `json:"servedBy"`
	Key      string    `json:"key"`
	KeyID    string    `json:"keyId"`
	Org      string    `json:"org"`
	Status   string    `json:"status"`
	Pipeline string    `json:"pipeline"`
	// LatencyMs dates the record's end, which orders a cluster's merged listing.
	LatencyMs float64 `json:"latencyMs"`
}

func (q *Query) matches(inv *header) bool {
	return (q.Kind == "" || inv.Kind == q.Kind) && (q.Pipeline == "" || inv.Pipeline == q.Pipeline) &&
		(q.Since.IsZero() || !inv.Time.Before(q.Since)) &&
		(q.Until.IsZero() || !inv.Time.After(q.Until)) &&
		(q.Model == "" || inv.Model == q.Model || inv.ServedBy == q.Model) &&
		(q.Key == "" || inv.Key == q.Key || inv.KeyID == q.Key) &&
		(q.Org == "" || inv.Org == q.Org) &&
		(q.Status == "" || inv.Status == q.Status)
}

// List returns records (JSON objects), most recently finished first, and the cursor of the next
// page ("" at the end).
func (r *Recorder) List(ctx context.Context, q Query) ([]json.RawMessage, string, error) {
	entries, next, err := r.list(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]json.RawMessage, len(entries))
	for i, e := range entries {
		out[i] = e.raw
	}
	return out, next, nil
}

// list is List with each record's id, end and cursor.
func (r *Recorder) list(ctx context.Context, q Query) ([]entry, string, error) {
	if q.Limit <= 0 || q.Limit > MaxLimit {
		q.Limit = 50
	}
	start, skip, err := parseCursor(q.Before)
	if err != nil {
		return nil, "", err
	}
	if start == nil && !q.Until.IsZero() {
		// A record is sealed after it finishes; requests are assumed to finish within an hour.
		start = blockKey(q.Until.Add(time.Hour), 0xffffffff)
	}
	var out []entry
	next, scanned := "", 0
	var scanErr error
	err = r.st.Scan(ctx, blockPrefix, store.ScanOptions{Reverse: true, Start: start}, func(k, v []byte) bool {
		if !q.Since.IsZero() && blockTime(k).Before(q.Since) {
			return false // everything older was sealed, so finished, before since
		}
		lines, err := r.blocks.lines(v)
		if err != nil {
			scanErr = fmt.Errorf("cannot read record block: %w", err)
			return false
		}
		for i := len(lines) - 1 - skip; i >= 0; i-- {
			if len(out) == q.Limit || scanned == maxScan {
				next = cursor(k, len(lines)-1-i)
				return false
			}
			scanned++
			var h header
			if err := json.Unmarshal(lines[i], &h); err != nil {
				continue
			}
			if q.matches(&h) {
				// A copy: the line would hold its whole decoded block (up to blockBytes) alive.
				out = append(out, entry{id: h.ID, raw: json.RawMessage(bytes.Clone(lines[i])), cursor: cursor(k, len(lines)-i),
					finished: finishedAt(h.Time, h.LatencyMs)})
			}
		}
		skip = 0
		return true
	})
	if err == nil {
		err = scanErr
	}
	return out, next, err
}

// Get returns one record by id.
func (r *Recorder) Get(ctx context.Context, id string) (json.RawMessage, error) {
	t, ok := TimeOfID(id)
	if !ok {
		return nil, ErrNotFound
	}
	var found json.RawMessage
	look := func(block []byte) bool {
		lines, err := r.blocks.lines(block)
		if err != nil {
			return false
		}
		want := []byte(`"id":"` + id + `"`)
		for _, line := range lines {
			if bytes.Contains(line, want) {
				var h header
				if json.Unmarshal(line, &h) == nil && h.ID == id {
					found = json.RawMessage(bytes.Clone(line))
					return true
				}
			}
		}
		return false
	}
	// A record sealed long after its start has an index entry naming its block.
	if k, err := r.st.Get(indexKey(id)); err == nil {
		if v, err := r.st.Get(k); err == nil && look(v) {
			return found, nil
		}
	}
	// Any other is in a block sealed within indexAfter of its start.
	end := blockKey(t.Add(indexAfter), 0xffffffff)
	err := r.st.Scan(ctx, blockPrefix, store.ScanOptions{Start: blockKey(t, 0)}, func(k, v []byte) bool {
		if bytes.Compare(k, end) > 0 {
			return false
		}
		return !look(v)
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, ErrNotFound
	}
	return found, nil
}

// TimeOfID returns the time encoded in a request id.
func TimeOfID(id string) (time.Time, bool) {
	if !IsRecordID(id) {
		return time.Time{}, false
	}
	b, err := hex.DecodeString(id[:16])
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))), true
}

// IsRecordID reports whether s looks like a request id.
func IsRecordID(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') }) < 0
}
