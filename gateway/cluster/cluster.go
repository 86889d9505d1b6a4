// Package cluster joins gateway nodes into one system through Redis, its only engine (no gossip
// or consensus of our own): the rate, token and budget counters every node shares, and the list
// of nodes with their heartbeats. Every Redis call has a short deadline; a node that cannot reach
// Redis serves on its own state or refuses, as cluster.onRedisDown says (see policy.Limiter).
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configure a node's membership.
type Options struct {
	// URL is the Redis URL (redis:// or rediss://, with a password and a database number).
	URL string
	// Sentinel, instead of URL, finds the primary through Redis Sentinel.
	Sentinel *Sentinel
	NodeID   string
	// Version and ConfigHash are shown in the list of nodes.
	Version    string
	ConfigHash func() string
	Log        *slog.Logger
	// Timeout bounds each Redis call on the request path (default 250 ms).
	Timeout time.Duration
	// Secret, when set, encrypts the state the nodes share in Redis; models (with their
	// upstream keys) are shared only then.
	Secret []byte
}

// Sentinel is a set of Redis Sentinels watching the primary the nodes share. The client asks
// them for the primary and follows a failover to the replica they promote.
type Sentinel struct {
	MasterName string
	Addrs      []string // host:port of each sentinel
	// Password is the Redis servers' (requirepass), not the sentinels'.
	Password string
}

// Heartbeats: every node writes one each beatEvery; a node silent for downAfter is shown down,
// and one silent for forgetAfter leaves the list.
const (
	beatEvery   = time.Second
	downAfter   = 5 * time.Second
	forgetAfter = time.Hour
	nodesKey    = "iom:nodes"
)

// Cluster is this node's connection to the others.
type Cluster struct {
	rdb     *redis.Client
	opts    Options
	log     *slog.Logger
	started time.Time
	limits  *Limits
	sources map[string]Source
	seal    *sealer     // nil without a secret: entries go to Redis as they are
	execs   *Executions // nil until ShareExecutions

	mu      sync.Mutex
	lastErr error // of the last heartbeat; nil when Redis answered
	stop    chan struct{}
	wg      sync.WaitGroup
}

// Open connects to Redis and starts the heartbeat. It does not fail when Redis is down: the
// node starts on its own state and joins when Redis answers.
func Open(o Options) (*Cluster, error) {
	var ro *redis.Options
	if o.Sentinel == nil {
		var err error
		if ro, err = redis.ParseURL(o.URL); err != nil {
			return nil, fmt.Errorf("cluster.redis.url: %s", redactURLError(err))
		}
	}
	if o.Timeout <= 0 {
		o.Timeout = 250 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.ConfigHash == nil {
		o.ConfigHash = func() string { return "" }
	}
	// Short socket deadlines and no retries inside the client (go-redis takes 0 for its default
	// of 3; -1 is none): a request waits at most one timeout for Redis, the limiter decides what
	// a failure means, and a blocked stream read that fails is seen, so the node reloads.
	var rdb *redis.Client
	if sn := o.Sentinel; sn != nil {
		rdb = redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sn.MasterName, SentinelAddrs: sn.Addrs,
			Password: sn.Password, DialTimeout: 2 * o.Timeout, ReadTimeout: o.Timeout, WriteTimeout: o.Timeout,
			PoolTimeout: o.Timeout, MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true, DisableIdentity: true})
	} else {
		ro.DialTimeout = 2 * o.Timeout
		ro.ReadTimeout = o.Timeout
		ro.WriteTimeout = o.Timeout
		ro.PoolTimeout = o.Timeout
		ro.MaxRetries = -1
		ro.DialerRetries = 1
		ro.ContextTimeoutEnabled = true
		ro.DisableIdentity = true
		rdb = redis.NewClient(ro)
	}
	quietClient.Do(func() { redis.SetLogger(quiet{}) })
	c := &Cluster{rdb: rdb, opts: o, log: o.Log, started: time.Now().UTC(), stop: make(chan struct{}),
		sources: map[string]Source{}}
	if len(o.Secret) > 0 {
		var err error
		if c.seal, err = newSealer(o.Secret); err != nil {
			return nil, err
		}
	}
	c.limits = newLimits(c)
	c.wg.Add(2)
	go c.beatLoop()
	go c.limits.flushLoop(c.stop, &c.wg)
	return c, nil
}

// quiet drops the Redis client's own log lines, which name the server's address; the cluster
// logs what failed once per outage instead.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

var quietClient sync.Once

// redactURLError says what is wrong with a Redis URL without repeating it: it may hold a password.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return "not a valid URL: " + ue.Op
	}
	return "not a valid Redis URL (redis://[:password@]host:port[/db] or rediss://…)"
}

// Sealed says whether the shared state is encrypted, as sharing models requires.
func (c *Cluster) Sealed() bool { return c.seal != nil }

// Limits is the node's shared limiter backend (a policy.Shared).
func (c *Cluster) Limits() *Limits { return c.limits }

// NodeID is this node's name in the cluster.
func (c *Cluster) NodeID() string { return c.opts.NodeID }

// Close stops the heartbeat, removes this node from the list and closes the connection.
func (c *Cluster) Close() {
	close(c.stop)
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	c.rdb.HDel(ctx, nodesKey, c.opts.NodeID)
	cancel()
	_ = c.rdb.Close()
}

// Node is one gateway in the list of nodes.
type Node struct {
	ID         string    `json:"id"`
	Version    string    `json:"version"`
	ConfigHash string    `json:"configHash"`
	StartedAt  time.Time `json:"startedAt"`
	LastSeen   time.Time `json:"lastSeen"`
	Up         bool      `json:"up"`
	Self       bool      `json:"self,omitempty"`
}

func (c *Cluster) beatLoop() {
	defer c.wg.Done()
	t := time.NewTicker(beatEvery)
	defer t.Stop()
	c.beat()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.beat()
		}
	}
}

func (c *Cluster) beat() {
	n := Node{ID: c.opts.NodeID, Version: c.opts.Version, ConfigHash: c.opts.ConfigHash(), StartedAt: c.started,
		LastSeen: time.Now().UTC()}
	b, _ := json.Marshal(n)
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.opts.Timeout)
	err := c.rdb.HSet(ctx, nodesKey, n.ID, b).Err()
	cancel()
	c.mu.Lock()
	was := c.lastErr
	c.lastErr = err
	c.mu.Unlock()
	switch {
	case err != nil && was == nil:
		c.log.Warn("cluster: Redis does not answer; serving on this node's own state", "err", redisError(err))
	case err == nil && was != nil:
		c.log.Info("cluster: Redis answers again")
	}
}

// Status is what GET /api/cluster shows.
type Status struct {
	NodeID string `json:"nodeId"`
	Redis  string `json:"redis"` // "up", or what failed
	Nodes  []Node `json:"nodes"`
	// PendingSpendUSD is spend this node recorded while Redis was down, not yet added to it.
	PendingSpendUSD float64 `json:"pendingSpendUsd"`
}

// maxNodes bounds the list read back from Redis.
const maxNodes = 1000

// Status lists the nodes, newest heartbeat first, dropping those silent for an hour.
func (c *Cluster) Status(ctx context.Context) Status {
	s := Status{NodeID: c.opts.NodeID, Redis: "up", Nodes: []Node{}, PendingSpendUSD: c.limits.pendingUSD()}
	ctx, cancel := context.WithTimeout(ctx, 4*c.opts.Timeout)
	defer cancel()
	all, err := c.rdb.HGetAll(ctx, nodesKey).Result()
	if err != nil {
		s.Redis = redisError(err)
		return s
	}
	now := time.Now()
	var stale []string
	for id, v := range all {
		var n Node
		if json.Unmarshal([]byte(v), &n) != nil || now.Sub(n.LastSeen) > forgetAfter {
			stale = append(stale, id)
			continue
		}
		n.Up = now.Sub(n.LastSeen) <= downAfter
		n.Self = n.ID == c.opts.NodeID
		s.Nodes = append(s.Nodes, n)
	}
	if len(stale) > 0 {
		c.rdb.HDel(ctx, nodesKey, stale...)
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].ID < s.Nodes[j].ID })
	if len(s.Nodes) > maxNodes {
		s.Nodes = s.Nodes[:maxNodes]
	}
	return s
}

// redisError says what failed without the address or the password of the server.
func redisError(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, redis.ErrClosed):
		return "closed"
	}
	var re redis.Error
	if errors.As(err, &re) {
		return "error: " + re.Error()
	}
	return "unreachable"
}
