package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iomhq/iom/gateway/analytics"
)

// Executions shares finished pipeline runs between the nodes so that any node lists every run:
// each is written to iom:execution:<id> for the records' retention (sealed with the cluster's
// secret when it has one, as runs hold prompts) and indexed by its end in iom:executions. Publish
// never waits: a run that finds the batch writer's queue full is dropped, counted and logged once.
type Executions struct {
	c       *Cluster
	ttl     time.Duration
	queue   chan published
	dropped atomic.Int64
	onDrop  func(n int)
	logged  atomic.Bool
}

type published struct {
	id   string
	line []byte
}

const (
	executionsKey = "iom:executions"
	// maxExecutions bounds the runs kept: older ones leave the index and Redis.
	maxExecutions  = 10_000
	executionQueue = 1024
	executionBatch = 64
	// executionScan bounds how many of the other nodes' runs one listing reads.
	executionScan = 2000
	// DefaultExecutionTTL is how long a shared run is kept when records are kept forever.
	DefaultExecutionTTL = 24 * time.Hour
)

func executionKey(id string) string { return "iom:execution:" + id }

// ShareExecutions starts sharing pipeline executions, each kept ttl in Redis
// (DefaultExecutionTTL when zero); onDrop (optional) counts the runs not shared. Call it once,
// before Executions.
func (c *Cluster) ShareExecutions(ttl time.Duration, onDrop func(n int)) *Executions {
	if ttl <= 0 {
		ttl = DefaultExecutionTTL
	}
	if onDrop == nil {
		onDrop = func(int) {}
	}
	e := &Executions{c: c, ttl: ttl, queue: make(chan published, executionQueue), onDrop: onDrop}
	c.execs = e
	c.wg.Add(1)
	go e.loop()
	return e
}

// Executions is the cluster's shared pipeline executions; nil before ShareExecutions.
func (c *Cluster) Executions() *Executions { return c.execs }

// Dropped counts the runs not shared because the queue was full.
func (e *Executions) Dropped() int64 { return e.dropped.Load() }

// Publish queues a finished run (its record's JSON line) for the other nodes, without waiting.
func (e *Executions) Publish(id string, line []byte) {
	p := published{id, analytics.WithNode(line, e.c.opts.NodeID)} // a copy, with this node named
	select {
	case e.queue <- p:
	default:
		e.drop(1)
		if e.logged.CompareAndSwap(false, true) {
			e.c.log.Warn("cluster: pipeline executions come faster than Redis takes them; some are not shared (said once)")
		}
	}
}

func (e *Executions) drop(n int) {
	e.dropped.Add(int64(n))
	e.onDrop(n)
}

func (e *Executions) loop() {
	defer e.c.wg.Done()
	batch := make([]published, 0, executionBatch)
	for {
		select {
		case <-e.c.stop:
			// What is queued still goes: the recorder, which publishes, closes first.
			for len(e.queue) > 0 {
				batch = batch[:0]
				for len(batch) < executionBatch && len(e.queue) > 0 {
					batch = append(batch, <-e.queue)
				}
				e.write(batch)
			}
			return
		case p := <-e.queue:
			batch = append(batch[:0], p)
			for len(batch) < executionBatch {
				select {
				case p := <-e.queue:
					batch = append(batch, p)
					continue
				default:
				}
				break
			}
			e.write(batch)
		}
	}
}

// write stores a batch of runs and trims the index, in one round trip. A batch Redis does not
// take is dropped (this node still has the runs): the cluster's view of them is best effort.
func (e *Executions) write(batch []published) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*e.c.opts.Timeout)
	defer cancel()
	var q analytics.Query
	var card *redis.IntCmd
	_, err := e.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range batch {
			_, end, _ := q.Finished(r.line)
			p.Set(ctx, executionKey(r.id), e.c.sealed("execution", r.id, r.line), e.ttl)
			p.ZAdd(ctx, executionsKey, redis.Z{Score: float64(end.UnixMilli()), Member: r.id})
		}
		p.ZRemRangeByScore(ctx, executionsKey, "-inf", "("+formatMs(time.Now().Add(-e.ttl).UnixMilli()))
		card = p.ZCard(ctx, executionsKey)
		return nil
	})
	if err == nil && card.Val() > maxExecutions {
		err = e.trim(ctx, card.Val()-maxExecutions)
	}
	if err != nil {
		e.drop(len(batch))
		if e.logged.CompareAndSwap(false, true) {
			e.c.log.Warn("cluster: cannot share pipeline executions (said once)", "err", redisError(err))
		}
	}
}

// trim deletes the n oldest runs of the index (at most a thousand at a time) with their entries,
// so that Redis holds at most about maxExecutions of them.
func (e *Executions) trim(ctx context.Context, n int64) error {
	old, err := e.c.rdb.ZRange(ctx, executionsKey, 0, min(n, 1000)-1).Result()
	if err != nil || len(old) == 0 {
		return err
	}
	keys := make([]string, len(old))
	members := make([]any, len(old))
	for i, id := range old {
		keys[i], members[i] = executionKey(id), id
	}
	_, err = e.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, keys...)
		p.ZRem(ctx, executionsKey, members...)
		return nil
	})
	return err
}

// List is an analytics.Remote: the other nodes' runs that q matches, most recently finished
// first, after the position after. It reads at most executionScan of them; a listing that
// reaches that bound ends its page early, and resume is where the next goes on.
func (e *Executions) List(ctx context.Context, q *analytics.Query, after analytics.RemotePos, limit int) (recs []analytics.RemoteRecord, resume analytics.RemotePos, more bool, err error) {
	if q.Kind == "invocation" {
		return nil, after, false, nil // only pipeline runs are shared
	}
	ctx, cancel := context.WithTimeout(ctx, 8*e.c.opts.Timeout)
	defer cancel()
	top := "+inf"
	if after.ID != "" {
		top = formatMs(after.Ms)
	}
	resume = after
	scanned, offset := 0, int64(0)
	const page = 200
	for scanned < executionScan {
		zs, err := e.c.rdb.ZRevRangeByScoreWithScores(ctx, executionsKey, &redis.ZRangeBy{Max: top, Min: "-inf", Offset: offset, Count: page}).Result()
		if err != nil {
			return nil, after, false, errors.New("redis: " + redisError(err))
		}
		offset += int64(len(zs))
		var ids []string
		var pos []analytics.RemotePos
		for _, z := range zs {
			id, _ := z.Member.(string)
			ms := int64(z.Score)
			// Runs of the same millisecond come in descending id order: skip those listed already.
			if after.ID != "" && ms == after.Ms && id >= after.ID {
				continue
			}
			ids = append(ids, id)
			pos = append(pos, analytics.RemotePos{Ms: ms, ID: id})
		}
		if len(ids) > 0 {
			keys := make([]string, len(ids))
			for i, id := range ids {
				keys[i] = executionKey(id)
			}
			blobs, err := e.c.rdb.MGet(ctx, keys...).Result()
			if err != nil {
				return nil, after, false, errors.New("redis: " + redisError(err))
			}
			for i, b := range blobs {
				s, ok := b.(string)
				if !ok {
					resume, scanned = pos[i], scanned+1
					continue // expired meanwhile
				}
				line, err := e.c.unsealed("execution", ids[i], []byte(s))
				if err == nil {
					if _, _, match := q.Finished(line); match && nodeOf(line) != e.c.opts.NodeID { // this node lists its own from its store
						if len(recs) == limit {
							return recs, resume, true, nil
						}
						recs = append(recs, analytics.RemoteRecord{Pos: pos[i], Raw: line})
					}
				}
				resume, scanned = pos[i], scanned+1
			}
		}
		if len(zs) < page {
			return recs, resume, false, nil
		}
	}
	return recs, resume, true, nil
}

// Get returns the run id, from whichever node published it.
func (e *Executions) Get(ctx context.Context, id string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*e.c.opts.Timeout)
	defer cancel()
	b, err := e.c.rdb.Get(ctx, executionKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, errors.New("redis: " + redisError(err))
	}
	return e.c.unsealed("execution", id, b)
}

func nodeOf(line []byte) string {
	var h struct {
		Node string `json:"node"`
	}
	_ = json.Unmarshal(line, &h)
	return h.Node
}

func formatMs(ms int64) string { return strconv.FormatInt(ms, 10) }
