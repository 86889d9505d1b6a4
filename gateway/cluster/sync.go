package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Source is a kind of state the nodes share (keys made through the admin API, say): each entry
// is an id and its stored form, kept by the source in its own store.
type Source interface {
	// Stored returns every entry.
	Stored() map[string][]byte
	// ApplyShared sets an entry another node changed; nil data deletes it.
	ApplyShared(id string, data []byte) error
}

// The shared state: a hash of entries per kind, and one stream of changes that wakes every node.
const (
	changesKey = "iom:changes"
	maxChanges = 10000 // the stream's length; a node further behind reloads every kind
	// stallAfter is how long a node may go without reading the stream before it reloads every
	// kind, since the stream may have been trimmed past it meanwhile (a paused process).
	stallAfter = 5 * time.Second
)

func stateKey(kind string) string { return "iom:state:" + kind }

// seededKey marks a kind as loaded into Redis by a node (the first after Redis started empty).
func seededKey(kind string) string { return "iom:seeded:" + kind }

// publishScript sets or deletes one entry and announces it on the stream, in one step. It
// refuses while the kind is not seeded (Redis restarted empty and no node has loaded it again):
// a node seeding later from an older copy would otherwise undo the change, a revoked key
// coming back.
// KEYS: the kind's hash, the stream, the seeded flag. ARGV: id, data ("" deletes), kind, node.
var publishScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 0 then return redis.error_reply('NOTSEEDED the shared state is being reloaded') end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ` + strconv.Itoa(maxChanges) + `, '*', 'kind', ARGV[3], 'id', ARGV[1], 'node', ARGV[4])
`)

// Share registers a kind of state and returns the function its source calls to share a change
// before making it: an error means the change reached no other node and must not be made.
// Every Share must come before StartSync.
func (c *Cluster) Share(kind string, s Source) func(id string, data []byte) error {
	c.sources[kind] = s
	return func(id string, data []byte) error {
		ctx, cancel := context.WithTimeout(context.Background(), 4*c.opts.Timeout)
		defer cancel()
		if err := publishScript.Run(ctx, c.rdb, []string{stateKey(kind), changesKey, seededKey(kind)}, id, c.sealed(kind, id, data), kind, c.opts.NodeID).Err(); err != nil {
			return errors.New("redis: " + redisError(err)) // without the server's address
		}
		return nil
	}
}

// sealed is data as it goes to Redis: encrypted when the cluster has a secret; "" deletes.
func (c *Cluster) sealed(kind, id string, data []byte) string {
	if data == nil || c.seal == nil {
		return string(data)
	}
	return string(c.seal.seal(kind, id, data))
}

// unsealed is an entry as Redis holds it, opened.
func (c *Cluster) unsealed(kind, id string, blob []byte) ([]byte, error) {
	if c.seal == nil {
		return blob, nil
	}
	return c.seal.open(kind, id, blob)
}

// StartSync loads the shared state and then follows the stream of changes, so that a change
// made on any node applies here within a second.
func (c *Cluster) StartSync() {
	c.wg.Add(1)
	go c.syncLoop()
}

func (c *Cluster) syncLoop() {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-c.stop
		cancel()
	}()
	last, checked := "", time.Now()
	for ctx.Err() == nil {
		if last == "" {
			var err error
			if last, err = c.loadAll(ctx); err != nil {
				last = ""
				c.pause(ctx, beatEvery)
				continue
			}
		}
		t0 := time.Now()
		rctx, rcancel := context.WithTimeout(ctx, beatEvery+2*c.opts.Timeout+time.Second)
		streams, err := c.rdb.XRead(rctx, &redis.XReadArgs{Streams: []string{changesKey, last}, Count: 256, Block: beatEvery}).Result()
		rcancel()
		switch {
		case time.Since(t0) > beatEvery+stallAfter:
			last = "" // this node stood still (a paused process): the stream may have moved past it
			continue
		case errors.Is(err, redis.Nil):
			if time.Since(checked) > stallAfter {
				checked = time.Now()
				if !c.seeded(ctx) {
					last = "" // Redis restarted empty between two reads: load it again
				}
			}
			continue
		case err != nil:
			last = "" // Redis went away: reload everything when it is back
			c.pause(ctx, beatEvery)
			continue
		}
		for _, st := range streams {
			for _, m := range st.Messages {
				last = m.ID
				if m.Values["node"] == c.opts.NodeID {
					continue
				}
				kind, _ := m.Values["kind"].(string)
				id, _ := m.Values["id"].(string)
				if err := c.applyOne(ctx, kind, id); err != nil {
					last = "" // reload rather than miss a change
				}
			}
		}
	}
}

// seeded says whether Redis still holds every kind this node shares; false after it restarted
// empty (or lost them), when the node must load and seed it again.
func (c *Cluster) seeded(ctx context.Context) bool {
	keys := make([]string, 0, len(c.sources))
	for kind := range c.sources {
		keys = append(keys, seededKey(kind))
	}
	rctx, cancel := context.WithTimeout(ctx, 4*c.opts.Timeout)
	defer cancel()
	n, err := c.rdb.Exists(rctx, keys...).Result()
	return err != nil || n == int64(len(keys)) // a failed check is left to the next read
}

func (c *Cluster) pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// applyOne reads one entry from its kind's hash and sets (or deletes) it here.
func (c *Cluster) applyOne(ctx context.Context, kind, id string) error {
	s := c.sources[kind]
	if s == nil || id == "" {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 4*c.opts.Timeout)
	data, err := c.rdb.HGet(rctx, stateKey(kind), id).Bytes()
	cancel()
	switch {
	case errors.Is(err, redis.Nil):
		data = nil
	case err != nil:
		return err
	default:
		if data, err = c.unsealed(kind, id, data); err != nil {
			c.log.Warn("cluster: cannot apply a shared change", "kind", kind, "id", id, "err", err)
			return nil
		}
	}
	if err := s.ApplyShared(id, data); err != nil {
		c.log.Warn("cluster: cannot apply a shared change", "kind", kind, "id", id, "err", err)
	}
	return nil
}

// loadAll makes every kind here what Redis holds, and returns the stream position to follow
// from. The position is read first, so a change made during the load is read again, not lost.
// A kind Redis has never held is first seeded from this node's entries (a node joining with
// state of its own, or Redis restarted empty), merged with what other nodes wrote meanwhile.
func (c *Cluster) loadAll(ctx context.Context) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, 20*c.opts.Timeout)
	defer cancel()
	last := "0-0"
	msgs, err := c.rdb.XRevRangeN(rctx, changesKey, "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) > 0 {
		last = msgs[0].ID
	}
	for _, kind := range slices.Sorted(maps.Keys(c.sources)) {
		s := c.sources[kind]
		if err := c.seed(rctx, kind, s); err != nil {
			return "", err
		}
		shared, err := c.readAll(rctx, kind)
		if err != nil {
			return "", err
		}
		local := s.Stored()
		for id, blob := range shared {
			data, err := c.unsealed(kind, id, []byte(blob))
			if err != nil {
				c.log.Warn("cluster: cannot apply a shared entry", "kind", kind, "id", id, "err", err)
				continue
			}
			if string(local[id]) != string(data) {
				if err := s.ApplyShared(id, data); err != nil {
					c.log.Warn("cluster: cannot apply a shared entry", "kind", kind, "id", id, "err", err)
				}
			}
		}
		for id := range local {
			if _, ok := shared[id]; !ok {
				if err := s.ApplyShared(id, nil); err != nil {
					c.log.Warn("cluster: cannot remove an entry the cluster no longer has", "kind", kind, "id", id, "err", err)
				}
			}
		}
	}
	return last, nil
}

// seedScript fills a kind's hash with a node's entries, once: only when no node did before
// (Redis never held the kind, or restarted empty). All at once, so no node reads half of it.
// KEYS: the seeded flag, the kind's hash, the stream. ARGV: node, kind, then id and data pairs.
var seedScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ` + strconv.Itoa(maxChanges) + `, '*', 'kind', ARGV[2], 'id', ARGV[i], 'node', ARGV[1])
end
return 1
`)

func (c *Cluster) seed(ctx context.Context, kind string, s Source) error {
	args := []any{c.opts.NodeID, kind}
	for id, data := range s.Stored() {
		args = append(args, id, c.sealed(kind, id, data))
	}
	return seedScript.Run(ctx, c.rdb, []string{seededKey(kind), stateKey(kind), changesKey}, args...).Err()
}

// maxEntries bounds what one kind may hold in Redis.
const maxEntries = 100_000

// readAll reads a kind's hash in pages.
func (c *Cluster) readAll(ctx context.Context, kind string) (map[string]string, error) {
	out := map[string]string{}
	var cursor uint64
	for {
		kv, next, err := c.rdb.HScan(ctx, stateKey(kind), cursor, "", 500).Result()
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		if len(out) > maxEntries {
			return nil, fmt.Errorf("the cluster holds more than %d %s", maxEntries, kind)
		}
		if cursor = next; cursor == 0 {
			return out, nil
		}
	}
}
