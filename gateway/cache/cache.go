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
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/store"
)

// Cache is the response cache.
type Cache struct {
	st       *store.Store
	log      *slog.Logger
	ch       chan store.Entry
	flushReq chan chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup
}

var prefix = []byte("cache/")

// New starts the cache's writer.
func New(st *store.Store, log *slog.Logger) *Cache {
	c := &Cache{st: st, log: log, ch: make(chan store.Entry, 1024), flushReq: make(chan chan struct{}), stop: make(chan struct{})}
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

// Get returns the cached answer under key.
func (c *Cache) Get(key []byte) (Entry, bool) {
	v, err := c.st.Get(key)
	if err != nil || len(v) < 16 {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			c.log.Warn("cache read failed", "err", err)
		}
		return Entry{}, false
	}
	return Entry{Input: int64(binary.BigEndian.Uint64(v)), Output: int64(binary.BigEndian.Uint64(v[8:])), Body: v[16:]}, true
}

// Put queues an answer for writing; a full queue drops it.
func (c *Cache) Put(key []byte, e Entry, ttl time.Duration) {
	v := make([]byte, 16, 16+len(e.Body))
	binary.BigEndian.PutUint64(v, uint64(e.Input))
	binary.BigEndian.PutUint64(v[8:], uint64(e.Output))
	v = append(v, e.Body...)
	select {
	case c.ch <- store.Entry{Key: key, Value: v, TTL: ttl}:
	default:
	}
}

func (c *Cache) loop() {
	defer c.wg.Done()
	var batch []store.Entry
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	write := func() {
		if len(batch) > 0 {
			if err := c.st.Write(batch); err != nil {
				c.log.Warn("cache write failed", "err", err)
			}
			batch = batch[:0]
		}
	}
	for {
		select {
		case e := <-c.ch:
			batch = append(batch, e)
			if len(batch) >= 64 {
				write()
			}
		case <-t.C:
			write()
		case done := <-c.flushReq:
			for len(c.ch) > 0 {
				batch = append(batch, <-c.ch)
			}
			write()
			close(done)
		case <-c.stop:
			for len(c.ch) > 0 {
				batch = append(batch, <-c.ch)
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
