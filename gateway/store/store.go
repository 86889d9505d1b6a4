// Package store is the gateway's embedded, encrypted key-value store on Badger, and the only
// package that imports Badger: the registry, gateway keys, records, rollups and cached responses
// live here under key prefixes their callers own. Put and Delete sync to disk before returning,
// so an acknowledged registry write survives a crash; high-volume records go through Write,
// which does not wait for the disk and is called from background goroutines, never requests.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned by Open when another process (a running gateway) has the store open.
var ErrLocked = errors.New("the store is in use by another process")

// Store is an open database.
type Store struct {
	db   *badger.DB
	log  *slog.Logger
	stop chan struct{}
	wg   sync.WaitGroup
}

// Options configure Open.
type Options struct {
	// Dir holds the database. Empty with InMemory set keeps everything in memory (tests).
	Dir      string
	InMemory bool
	// MasterKey encrypts data at rest: 16, 24 or 32 bytes; nil disables encryption.
	MasterKey []byte
	// LegacyKey, when set, is a key the store may still be encrypted with (LegacyMasterKey): Open
	// then re-encrypts it with MasterKey.
	LegacyKey []byte
	Logger    *slog.Logger
}

// Open opens (creating if needed) the database. Its memory footprint is sized for an edge
// binary: small memtables and caches, not Badger's server defaults.
func Open(o Options) (*Store, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	bo := badger.DefaultOptions(o.Dir).
		WithInMemory(o.InMemory).
		WithSyncWrites(false).
		WithLogger(badgerLogger{log.With("component", "badger")}).
		// A memtable fills up and is flushed in turn with the other; at 2 MiB the pair stays
		// small next to the rest of the heap, which the garbage collector lets grow to twice
		// what is live.
		WithMemTableSize(2 << 20).
		WithNumMemtables(2).
		WithValueThreshold(8 << 10). // large values (record blocks) go to the value log
		// Smaller value log files let the garbage collector rewrite and drop one sooner.
		WithValueLogFileSize(16 << 20).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(6).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithBaseTableSize(1 << 20).
		WithBlockCacheSize(2 << 20).
		WithIndexCacheSize(1 << 20).
		WithCompression(options.Snappy).
		WithMetricsEnabled(false).
		WithDetectConflicts(false)
	if o.InMemory {
		// Without a value log every value lives in the memtable, so both must fit large ones.
		bo = bo.WithDir("").WithValueDir("").WithMemTableSize(64 << 20).WithValueThreshold(1 << 20)
	}
	if len(o.MasterKey) > 0 {
		bo = bo.WithEncryptionKey(o.MasterKey)
	}
	if len(o.LegacyKey) > 0 && len(o.MasterKey) > 0 && !o.InMemory {
		if done, err := rekey(bo, o.LegacyKey); err != nil {
			return nil, fmt.Errorf("cannot re-encrypt the store in %q with the master key: %w", o.Dir, err)
		} else if done {
			log.Info("re-encrypted the store's keys with the master key derived by argon2id", "dir", o.Dir)
		}
	}
	db, err := badger.Open(bo)
	if err != nil {
		if isKeyMismatch(err) || strings.Contains(err.Error(), "encryption key") {
			return nil, fmt.Errorf("cannot open store in %q: the master key does not match the one the data was written with (IOM_MASTER_KEY with master.kdf, or master.key): %w", o.Dir, err)
		}
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("cannot open store in %q: %w (is a gateway running on this data dir?)", o.Dir, ErrLocked)
		}
		return nil, fmt.Errorf("cannot open store in %q: %w", o.Dir, err)
	}
	s := &Store{db: db, log: log, stop: make(chan struct{})}
	if !o.InMemory {
		s.wg.Add(1)
		go s.gcLoop()
	}
	return s, nil
}

// Close flushes and closes the database.
func (s *Store) Close() error {
	close(s.stop)
	s.wg.Wait()
	return s.db.Close()
}

// gcLoop collects the value log's garbage every few minutes.
func (s *Store) gcLoop() {
	defer s.wg.Done()
	gc := time.NewTicker(5 * time.Minute)
	defer gc.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-gc.C:
			for s.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// Get returns a copy of the value at key, or ErrNotFound.
func (s *Store) Get(key []byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	return out, err
}

// Put writes key durably.
func (s *Store) Put(key, value []byte) error {
	return s.durable(func(txn *badger.Txn) error { return txn.Set(key, value) })
}

// durable commits fn and syncs the write-ahead log, so the write survives a crash. The database
// itself does not sync every write: record batches would pay for it.
func (s *Store) durable(fn func(txn *badger.Txn) error) error {
	if err := s.db.Update(fn); err != nil {
		return clean(err)
	}
	return clean(s.db.Sync())
}

// clean drops the dump of the value that some of Badger's errors carry: values may hold secrets
// and errors reach logs.
func clean(err error) error {
	if err == nil {
		return nil
	}
	if msg, _, cut := strings.Cut(err.Error(), "Value:"); cut {
		return errors.New(strings.TrimSpace(msg))
	}
	return err
}

// PutIfAbsent writes key durably unless it exists, and reports whether it wrote.
func (s *Store) PutIfAbsent(key, value []byte) (bool, error) {
	wrote := false
	err := s.durable(func(txn *badger.Txn) error {
		if _, err := txn.Get(key); err == nil {
			return nil
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		wrote = true
		return txn.Set(key, value)
	})
	return wrote, err
}

// Delete removes key durably; a missing key is not an error.
func (s *Store) Delete(key []byte) error {
	return s.durable(func(txn *badger.Txn) error { return txn.Delete(key) })
}

// Entry is one write of a batch. A positive TTL makes it expire.
type Entry struct {
	Key   []byte
	Value []byte
	TTL   time.Duration
}

// Write commits entries in one batch, without waiting for the disk.
func (s *Store) Write(entries []Entry) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range entries {
		be := badger.NewEntry(e.Key, e.Value)
		if e.TTL > 0 {
			be = be.WithTTL(e.TTL)
		}
		if err := wb.SetEntry(be); err != nil {
			return clean(err)
		}
	}
	return clean(wb.Flush())
}

// ScanOptions bound a Scan.
type ScanOptions struct {
	// Reverse walks keys from the highest down.
	Reverse bool
	// Start, when set, is where the walk begins (inclusive); it must share the prefix.
	Start []byte
	// KeysOnly skips reading values.
	KeysOnly bool
}

// Scan calls fn for each key under prefix, in key order (or reverse), until fn returns false.
// Key and value are valid only during the call.
func (s *Store) Scan(ctx context.Context, prefix []byte, o ScanOptions, fn func(key, value []byte) bool) error {
	return s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Reverse = o.Reverse
		io.Prefix = prefix
		io.PrefetchValues = !o.KeysOnly
		io.PrefetchSize = 16
		it := txn.NewIterator(io)
		defer it.Close()
		start := o.Start
		if start == nil {
			start = prefix
			if o.Reverse {
				start = append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
			}
		}
		for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			var val []byte
			if !o.KeysOnly {
				var err error
				if val, err = item.ValueCopy(nil); err != nil {
					return err
				}
			}
			if !fn(item.Key(), val) {
				return nil
			}
		}
		return nil
	})
}

// DropPrefix deletes every key under prefix.
func (s *Store) DropPrefix(prefix []byte) error { return s.db.DropPrefix(prefix) }

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug(strings.TrimSpace(fmt.Sprintf(f, a...))) }
func (b badgerLogger) Debugf(f string, a ...any)   { b.l.Debug(strings.TrimSpace(fmt.Sprintf(f, a...))) }
