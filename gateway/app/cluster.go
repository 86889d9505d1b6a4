package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/cluster"
	"github.com/iomhq/iom/gateway/config"
)

// joinCluster connects to the config's Redis, when it names one, and counts limits and budgets
// there. Cluster settings are read at start only: a reload that changes them says so.
func (g *Gateway) joinCluster(cfg *config.File) error {
	c := cfg.Cluster
	if c == nil {
		return nil
	}
	var (
		mu   sync.Mutex
		last *config.File
		hash string
	)
	var sentinel *cluster.Sentinel
	if sn := c.Redis.Sentinel; sn != nil {
		sentinel = &cluster.Sentinel{MasterName: sn.MasterName, Addrs: sn.Addrs, Password: sn.Password.Reveal()}
	}
	cl, err := cluster.Open(cluster.Options{URL: c.Redis.URL.Reveal(), Sentinel: sentinel, NodeID: c.NodeID, Version: g.opts.Version,
		Log: g.log, Timeout: time.Duration(c.TimeoutMs) * time.Millisecond, Secret: []byte(c.Secret.Reveal()),
		ConfigHash: func() string {
			mu.Lock()
			defer mu.Unlock()
			if cur := g.cfg.Load(); cur != last {
				last, hash = cur, configHash(cur)
			}
			return hash
		}})
	if err != nil {
		return err
	}
	g.Cluster = cl
	g.Limits.SetShared(cl.Limits(), c.Refuse(), g.log)
	g.log.Info("cluster: joined", "node", c.NodeID, "onRedisDown", c.OnRedisDown)
	return nil
}

// shareState shares the keys, pipelines and (with a cluster secret) models made through the
// admin API with the other nodes, once all are open (Start follows their changes); models
// whose cache is shared keep their answers in the cluster's cache, and live statistics merge
// every node's.
func (g *Gateway) shareState(live *analytics.Live) {
	if g.Cluster == nil {
		return
	}
	g.Cache.SetShared(g.Cluster.Cache())
	g.Keys.SetShare(g.Cluster.Share("keys", g.Keys))
	g.Pipes.SetShare(g.Cluster.Share("pipelines", g.Pipes))
	if g.Cluster.Sealed() {
		g.Registry.SetShare(g.Cluster.Share("models", g.Registry))
	} else {
		g.log.Info("cluster: models registered through the admin API stay this node's own: set cluster.secret to share them")
	}
	g.Cluster.ShareLive(live)
	// Pipeline runs, for every node's executions listing; kept in Redis as long as records here.
	g.Recorder.SetPublish(g.Cluster.ShareExecutions(g.Recorder.Retention(), func(n int) { g.Metrics.ExecutionsUnshared.Add(n) }).Publish)
}

// newPusher makes the pusher of the metrics to VictoriaMetrics, when the config names one; Start
// starts it. Like cluster settings, it is read at start only.
func (g *Gateway) newPusher(cfg *config.File) {
	vm := cfg.Metrics.VictoriaMetrics
	if vm == nil {
		return
	}
	g.Push = g.Metrics.NewPusher(vm.URL.Reveal(), time.Duration(vm.PushIntervalMs)*time.Millisecond, cfg.NodeID(), g.log)
}

// configHash tells nodes running the same config apart from those that are not: it leaves out
// what differs per node (listeners, data dir, node id), and secrets print masked in the config's
// JSON, so it does not depend on them.
func configHash(cfg *config.File) string {
	if cfg == nil {
		return ""
	}
	c := *cfg
	c.Server = config.Server{}
	if c.Cluster != nil {
		cl := *c.Cluster
		cl.NodeID = ""
		c.Cluster = &cl
	}
	b, _ := json.Marshal(&c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// clusterChanged says whether a reload changes the cluster settings, which apply at start only.
func clusterChanged(old, cur *config.File) bool {
	if old == nil || (old.Cluster == nil) != (cur.Cluster == nil) {
		return old != nil
	}
	if old.Cluster == nil {
		return false
	}
	a, b := *old.Cluster, *cur.Cluster
	return a.NodeID != b.NodeID || a.OnRedisDown != b.OnRedisDown || a.TimeoutMs != b.TimeoutMs ||
		a.Redis.URL.Reveal() != b.Redis.URL.Reveal() || a.Secret.Reveal() != b.Secret.Reveal()
}
