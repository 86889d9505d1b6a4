package analytics

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/store"
)

// Invocation is a ModelInvocation: one data-plane call of a model, with every upstream attempt.
type Invocation struct {
	ID    string    `json:"id"`
	Kind  string    `json:"kind"` // "invocation"
	Time  time.Time `json:"time"`
	Op    string    `json:"op"`    // chat, completion, embedding, invoke, test
	Model string    `json:"model"` // what the client asked for
	// ServedBy is the model that answered (a fallback, when one was used).
	ServedBy   string    `json:"servedBy,omitempty"`
	Provider   string    `json:"provider,omitempty"`
	Key        string    `json:"key,omitempty"`
	KeyID      string    `json:"keyId,omitempty"`
	Org        string    `json:"org,omitempty"`
	Status     string    `json:"status"` // ok or error
	HTTPStatus int       `json:"httpStatus"`
	ErrorKind  string    `json:"errorKind,omitempty"`
	Error      string    `json:"error,omitempty"`
	Stream     bool      `json:"stream,omitempty"`
	LatencyMs  float64   `json:"latencyMs"`
	UpstreamMs float64   `json:"upstreamLatencyMs"`
	FirstByte  float64   `json:"firstByteMs,omitempty"`
	InTokens   int64     `json:"inputTokens"`
	OutTokens  int64     `json:"outputTokens"`
	CostUSD    float64   `json:"costUsd"`
	Retries    int       `json:"retries,omitempty"`
	Fallback   string    `json:"fallback,omitempty"`
	Cache      string    `json:"cache,omitempty"`
	Attempts   []Attempt `json:"attempts,omitempty"`
}

// Attempt is one upstream try within an invocation.
type Attempt struct {
	Model     string  `json:"model"`
	Provider  string  `json:"provider,omitempty"`
	Status    int     `json:"status,omitempty"` // upstream HTTP status, 0 when none answered
	Error     string  `json:"error,omitempty"`
	LatencyMs float64 `json:"latencyMs"`
}

// Recorder writes invocations to the store in the background.
type Recorder struct {
	st        *store.Store
	ttl       time.Duration
	ch        chan Invocation
	flushReq  chan chan struct{}
	metrics   *Metrics
	log       *slog.Logger
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var invPrefix = []byte("inv/")

// Batching: a batch is written when it reaches batchSize or every flushEvery.
const (
	batchSize  = 256
	flushEvery = 100 * time.Millisecond
	queueSize  = 16384
)

// NewRecorder starts a recorder; retention of zero keeps records forever.
func NewRecorder(st *store.Store, retention time.Duration, m *Metrics, log *slog.Logger) *Recorder {
	r := &Recorder{st: st, ttl: retention, ch: make(chan Invocation, queueSize),
		flushReq: make(chan chan struct{}), metrics: m, log: log}
	r.wg.Add(1)
	go r.loop()
	return r
}

// SetRetention changes how long new records are kept.
func (r *Recorder) SetRetention(d time.Duration) { r.ttl = d }

// Record queues inv without waiting; when the queue is full the record is dropped and counted.
func (r *Recorder) Record(inv *Invocation) {
	select {
	case r.ch <- *inv:
	default:
		r.metrics.RecordsDropped.Inc()
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
		close(r.ch)
		r.wg.Wait()
	})
}

func (r *Recorder) loop() {
	defer r.wg.Done()
	batch := make([]store.Entry, 0, batchSize)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	write := func() {
		if len(batch) == 0 {
			return
		}
		if err := r.st.Write(batch); err != nil {
			r.log.Error("cannot write invocation records", "count", len(batch), "err", err)
			r.metrics.RecordsDropped.Add(len(batch))
		} else {
			r.metrics.RecordsWritten.Add(len(batch))
		}
		batch = batch[:0]
	}
	add := func(inv *Invocation) {
		b, err := json.Marshal(inv)
		if err != nil {
			r.metrics.RecordsDropped.Inc()
			return
		}
		batch = append(batch, store.Entry{Key: recordKey(inv.ID), Value: b, TTL: r.ttl})
		if len(batch) >= batchSize {
			write()
		}
	}
	for {
		select {
		case inv, ok := <-r.ch:
			if !ok {
				write()
				return
			}
			add(&inv)
		case <-tick.C:
			write()
		case done := <-r.flushReq:
			for n := len(r.ch); n > 0; n-- {
				inv := <-r.ch
				add(&inv)
			}
			write()
			close(done)
		}
	}
}

// recordKey orders records by time: the id starts with the time in hex nanoseconds.
func recordKey(id string) []byte {
	k := make([]byte, 0, len(invPrefix)+8+len(id))
	k = append(k, invPrefix...)
	var ts [8]byte
	if len(id) >= 16 {
		if b, err := hex.DecodeString(id[:16]); err == nil {
			copy(ts[:], b)
		}
	}
	k = append(k, ts[:]...)
	return append(k, id...)
}

// TimeOfID returns the time encoded in a request id.
func TimeOfID(id string) (time.Time, bool) {
	if len(id) < 16 {
		return time.Time{}, false
	}
	b, err := hex.DecodeString(id[:16])
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b))), true
}

// Query filters a listing of invocations.
type Query struct {
	Model  string // requested or serving model
	Key    string // key name or id
	Org    string
	Status string // ok or error
	Since  time.Time
	Until  time.Time
	Before string // cursor: list records older than this id
	Limit  int
}

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("no such invocation")

// List returns invocations newest first, and the cursor for the next page ("" at the end).
func (r *Recorder) List(ctx context.Context, q Query) ([]Invocation, string, error) {
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	o := store.ScanOptions{Reverse: true}
	if q.Before != "" {
		o.Start = decrement(recordKey(q.Before)) // just below the cursor's own record
	} else if !q.Until.IsZero() {
		o.Start = append(recordKey(idAt(q.Until.Add(time.Nanosecond))), 0xff)
	}
	var out []Invocation
	var scanErr error
	next := ""
	err := r.st.Scan(ctx, invPrefix, o, func(k, v []byte) bool {
		var inv Invocation
		if err := json.Unmarshal(v, &inv); err != nil {
			scanErr = err
			return false
		}
		if !q.Since.IsZero() && inv.Time.Before(q.Since) {
			return false
		}
		if !q.Until.IsZero() && inv.Time.After(q.Until) ||
			q.Model != "" && inv.Model != q.Model && inv.ServedBy != q.Model ||
			q.Key != "" && inv.Key != q.Key && inv.KeyID != q.Key ||
			q.Org != "" && inv.Org != q.Org ||
			q.Status != "" && inv.Status != q.Status {
			return true
		}
		if len(out) == q.Limit {
			next = out[len(out)-1].ID
			return false
		}
		out = append(out, inv)
		return true
	})
	if err == nil {
		err = scanErr
	}
	return out, next, err
}

// Get returns one invocation by id.
func (r *Recorder) Get(id string) (*Invocation, error) {
	v, err := r.st.Get(recordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var inv Invocation
	return &inv, json.Unmarshal(v, &inv)
}

func idAt(t time.Time) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano()))
	return hex.EncodeToString(b[:])
}

// decrement returns the greatest key strictly below k with the same length or shorter; it
// positions a reverse scan just before a cursor.
func decrement(k []byte) []byte {
	out := slices.Clone(k)
	for i := len(out) - 1; i >= 0; i-- {
		if out[i] > 0 {
			out[i]--
			return append(out[:i+1], 0xff, 0xff, 0xff, 0xff)
		}
		out = out[:i]
	}
	return out
}

// IsRecordID reports whether s looks like a request id.
func IsRecordID(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') }) < 0
}
