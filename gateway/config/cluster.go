package config

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/secret"
)

// Cluster joins this gateway to others that share limits and budgets through Redis. Without
// it the gateway stands alone on its Badger store.
type Cluster struct {
	// NodeID names this node in GET /api/cluster; default: the host name and the data plane's port.
	NodeID string       `json:"nodeId,omitempty"`
	Redis  ClusterRedis `json:"redis"`
	// OnRedisDown is serve (admit on this node's own counters while Redis is unreachable: limits
	// then hold per node) or refuse (answer 503 until it is back). Default serve.
	OnRedisDown string `json:"onRedisDown,omitempty"`
	// TimeoutMs bounds each Redis call on the request path (default 250).
	TimeoutMs int `json:"timeoutMs,omitempty"`
	// Secret, the same on every node (at least 16 characters; ${ENV} keeps it out of the file),
	// encrypts the state the nodes share in Redis. Models registered through the admin API, with
	// their upstream keys, are shared only when it is set.
	Secret secret.Secret `json:"secret,omitzero"`
}

// ClusterRedis is the Redis server every node uses: one URL, or the primary that Redis Sentinel
// names.
type ClusterRedis struct {
	// URL is redis://[:password@]host:port[/db] or rediss://… (TLS). It may hold a password, so
	// it never prints.
	URL secret.Secret `json:"url,omitzero"`
	// Sentinel, instead of URL, finds the primary through Redis Sentinel and follows it when a
	// replica is promoted.
	Sentinel *ClusterSentinel `json:"sentinel,omitempty"`
}

// ClusterSentinel is a set of Redis Sentinels watching one primary.
type ClusterSentinel struct {
	// MasterName is the name the sentinels know the primary by (sentinel monitor <name> …).
	MasterName string `json:"masterName"`
	// Addrs are the sentinels, host:port each; any one that answers will do.
	Addrs []string `json:"addrs"`
	// Password is the Redis servers' password (requirepass), not the sentinels'; never printed.
	Password secret.Secret `json:"password,omitzero"`
}

// MaxSentinels bounds cluster.redis.sentinel.addrs.
const MaxSentinels = 16

// Cluster's defaults and bounds.
const (
	DefaultClusterTimeoutMs = 250
	MaxClusterTimeoutMs     = 10_000
)

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$`)

// Refuse says whether requests are refused while Redis is unreachable.
func (c *Cluster) Refuse() bool { return c.OnRedisDown == "refuse" }

func (c *Cluster) fillDefaults(listen string) {
	if c.TimeoutMs == 0 {
		c.TimeoutMs = DefaultClusterTimeoutMs
	}
	if c.OnRedisDown == "" {
		c.OnRedisDown = "serve"
	}
	if c.NodeID == "" {
		c.NodeID = defaultNodeID(listen)
	}
}

func (c *Cluster) validate(es *decode.Errors) {
	u, err := url.Parse(c.Redis.URL.Reveal())
	switch {
	case c.Redis.Sentinel != nil:
		if c.Redis.URL.IsSet() {
			es.Add("cluster.redis", "names both url and sentinel: give one")
		}
		c.Redis.Sentinel.validate(es)
	case !c.Redis.URL.IsSet():
		es.Add("cluster.redis.url", "is required: the Redis server the nodes share, e.g. redis://127.0.0.1:6379/0 (or cluster.redis.sentinel)")
	case err != nil || u.Host == "" || (u.Scheme != "redis" && u.Scheme != "rediss"):
		// The URL is not repeated: it may hold a password.
		es.Add("cluster.redis.url", "is not a Redis URL: redis://[:password@]host:port[/db] or rediss://…")
	case u.Path != "" && u.Path != "/":
		if _, err := strconv.Atoi(u.Path[1:]); err != nil {
			es.Add("cluster.redis.url", "names database %q: it must be a number", u.Path[1:])
		}
	}
	if c.OnRedisDown != "serve" && c.OnRedisDown != "refuse" {
		es.Add("cluster.onRedisDown", "%q is not serve or refuse", c.OnRedisDown)
	}
	if !nodeIDPattern.MatchString(c.NodeID) {
		es.Add("cluster.nodeId", "%q is not a node name: 1 to 63 letters, digits and . _ : -, starting with a letter or digit", c.NodeID)
	}
	if v := c.Secret.Reveal(); v != "" && len(v) < 16 {
		es.Add("cluster.secret", "is too short: use at least 16 characters, the same on every node")
	}
	if c.TimeoutMs < 1 || c.TimeoutMs > MaxClusterTimeoutMs {
		es.Add("cluster.timeoutMs", "must be from 1 to %d, got %d", MaxClusterTimeoutMs, c.TimeoutMs)
	}
}

func (s *ClusterSentinel) validate(es *decode.Errors) {
	const base = "cluster.redis.sentinel"
	if s.MasterName == "" {
		es.Add(base+".masterName", "is required: the name the sentinels monitor the primary by")
	}
	switch n := len(s.Addrs); {
	case n == 0:
		es.Add(base+".addrs", "is required: the sentinels, host:port each, e.g. [\"10.0.0.1:26379\"]")
	case n > MaxSentinels:
		es.Add(base+".addrs", "lists %d sentinels, more than %d", n, MaxSentinels)
	}
	for i, a := range s.Addrs {
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			es.Add(base+".addrs["+strconv.Itoa(i)+"]", "%q is not host:port", a)
		}
	}
}

// Metrics configures where the gateway's metrics go besides /metrics.
type Metrics struct {
	// VictoriaMetrics, when set, receives every node's metrics, labelled node="<nodeId>".
	VictoriaMetrics *VictoriaMetrics `json:"victoriaMetrics,omitempty"`
}

// VictoriaMetrics is a VictoriaMetrics server the gateway pushes its metrics to.
type VictoriaMetrics struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8428; it may hold credentials, so it
	// never prints.
	URL secret.Secret `json:"url"`
	// PushIntervalMs is how often the metrics are pushed (default 10000, at least 1000).
	PushIntervalMs int `json:"pushIntervalMs,omitempty"`
}

// Bounds of metrics.victoriaMetrics.pushIntervalMs.
const (
	DefaultPushIntervalMs = 10_000
	MinPushIntervalMs     = 1000
	MaxPushIntervalMs     = 3_600_000
)

// NodeID names this gateway in the cluster and in pushed metrics: cluster.nodeId, or the host
// name and the data plane's port.
func (f *File) NodeID() string {
	if f.Cluster != nil {
		return f.Cluster.NodeID
	}
	return defaultNodeID(f.Server.Listen)
}

func defaultNodeID(listen string) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "iom"
	}
	_, port, _ := net.SplitHostPort(listen)
	return host + ":" + port
}

func (v *VictoriaMetrics) fillDefaults() {
	if v.PushIntervalMs == 0 {
		v.PushIntervalMs = DefaultPushIntervalMs
	}
}

func (v *VictoriaMetrics) validate(es *decode.Errors) {
	u, err := url.Parse(v.URL.Reveal())
	switch {
	case !v.URL.IsSet():
		es.Add("metrics.victoriaMetrics.url", "is required: the VictoriaMetrics server, e.g. http://127.0.0.1:8428")
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "":
		es.Add("metrics.victoriaMetrics.url", "is not an http(s) base URL without a query, e.g. http://127.0.0.1:8428")
	}
	if n := v.PushIntervalMs; n < MinPushIntervalMs || n > MaxPushIntervalMs {
		es.Add("metrics.victoriaMetrics.pushIntervalMs", "must be from %d to %d, got %d", MinPushIntervalMs, MaxPushIntervalMs, n)
	}
}
