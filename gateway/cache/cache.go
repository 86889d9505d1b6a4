// Package cache is the exact-match response cache: answers of models that enable it, kept in the
// store with a time to live and keyed on the canonical request (its fields in key order, without
// the ones that do not change the answer: stream, stream_options, user) within a scope, the
// callers that may share an answer (policy.CacheScope says who). Reads happen on the request
// path; writes are queued and made in batches in the background.
package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/store"
)

// Cache is the response cache.
type Cache struct {
	st       *store.Store
	log      *slog.Logger
	ch       chan queued
	flushReq chan chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup
	shared   atomic.Pointer[Shared]
}

// Shared is a cache every node of a cluster reads, for models whose cache is shared. Its calls
// are bounded by their own deadlines; a failure is a miss.
type Shared interface {
	// Get returns the value under key and how long it has left to live.
	Get(key []byte) (value []byte, ttl time.Duration, ok bool, err error)
	// Put sets values with their times to live, in one round trip.
	Put(entries []store.Entry) error
}

// queued is an answer to write; shared ones go to the cluster's cache too.
type queued struct {
	store.Entry
	shared bool
}

// SetShared sets the cluster's cache; nil leaves models' shared caches this node's own.
func (c *Cache) SetShared(s Shared) {
	if s == nil {
		c.shared.Store(nil)
		return
	}
	c.shared.Store(&s)
}

var prefix = []byte("cache/")

// New starts the cache's writer.
func New(st *store.Store, log *slog.Logger) *Cache {
	c := &Cache{st: st, log: log, ch: make(chan queued, 1024), flushReq: make(chan chan struct{}), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// ignored fields do not change an answer.
var ignored = [][]byte{[]byte("stream"), []byte("stream_options"), []byte("user")}

// Key derives the cache key of a request for model and op from its top-level fields. Requests of
// different scopes never share a key.
func Key(scope, model, op string, fields []rawjson.Field) []byte {
	sorted := make([]rawjson.Field, 0, len(fields))
	for _, f := range fields {
		if !slices.ContainsFunc(ignored, func(k []byte) bool { return bytes.Equal(k, f.Key) }) && string(f.Key) != "model" {
			sorted = append(sorted, f)
		}
	}
	slices.SortFunc(sorted, func(a, b rawjson.Field) int { return bytes.Compare(a.Key, b.Key) })
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte // the scope's length first: it may hold any byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(scope)))])
	h.Write([]byte(scope))
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write([]byte(op))
	for _, f := range sorted {
		h.Write([]byte{0})
		h.Write(f.Key)
		h.Write([]byte{0})
		h.Write(f.Value)
	}
	return h.Sum(append([]byte(nil), prefix...))
}

// Entry is a cached answer.
type Entry struct {
	Body          []byte
	Input, Output int64 // the usage of the call that made it
}

// Get returns the cached answer under key: this node's, or with shared the cluster's, which
// this node then keeps for the time it has left.
func (c *Cache) Get(key []byte, shared bool) (Entry, bool) {
	v, err := c.st.Get(key)
	if err == nil {
		return decode(v)
	}
	if !errors.Is(err, store.ErrNotFound) {
		c.log.Warn("cache read failed", "err", err)
	}
	sh := c.shared.Load()
	if !shared || sh == nil {
		return Entry{}, false
	}
	v, ttl, ok, err := (*sh).Get(key)
	if err != nil || !ok {
		return Entry{}, false
	}
	e, ok := decode(v)
	if ok && ttl > 0 {
		c.queue(queued{Entry: store.Entry{Key: key, Value: v, TTL: ttl}})
	}
	return e, ok
}

func decode(v []byte) (Entry, bool) {
	if len(v) < 16 {
		return Entry{}, false
	}
	return Entry{Input: int64(binary.BigEndian.Uint64(v)), Output: int64(binary.BigEndian.Uint64(v[8:])), Body: v[16:]}, true
}

// Put queues an answer for writing, to the cluster's cache too with shared; a full queue drops
// it.
func (c *Cache) Put(key []byte, e Entry, ttl time.Duration, shared bool) {
	v := make([]byte, 16, 16+len(e.Body))
	binary.BigEndian.PutUint64(v, uint64(e.Input))
	binary.BigEndian.PutUint64(v[8:], uint64(e.Output))
	v = append(v, e.Body...)
	c.queue(queued{Entry: store.Entry{Key: key, Value: v, TTL: ttl}, shared: shared})
}

func (c *Cache) queue(w queued) {
	select {
	case c.ch <- w:
	default:
	}
}

func (c *Cache) loop() {
	defer c.wg.Done()
	var batch, shared []store.Entry
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	write := func() {
		if len(batch) > 0 {
			if err := c.st.Write(batch); err != nil {
				c.log.Warn("cache write failed", "err", err)
			}
			batch = batch[:0]
		}
		if sh := c.shared.Load(); sh != nil && len(shared) > 0 {
			if err := (*sh).Put(shared); err != nil {
				c.log.Warn("shared cache write failed", "err", err)
			}
		}
		shared = shared[:0]
	}
	add := func(w queued) {
		batch = append(batch, w.Entry)
		if w.shared {
			shared = append(shared, w.Entry)
		}
	}
	for {
		select {
		case w := <-c.ch:
			add(w)
			if len(batch) >= 64 {
				write()
			}
		case <-t.C:
			write()
		case done := <-c.flushReq:
			for len(c.ch) > 0 {
				add(<-c.ch)
			}
			write()
			close(done)
		case <-c.stop:
			for len(c.ch) > 0 {
				add(<-c.ch)
			}
			write()
			return
		}
	}
}

// Flush waits until what is queued is written.
func (c *Cache) Flush() {
	done := make(chan struct{})
	c.flushReq <- done
	<-done
}

// Close writes what is queued and stops.
func (c *Cache) Close() {
	close(c.stop)
	c.wg.Wait()
}
