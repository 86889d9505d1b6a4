package cluster

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/registry"
)

// Live statistics: every liveEvery a node writes its own of every model to iom:live:<node>, and
// its latency of every upstream to iom:replicas:<node> (both gone liveTTL after its last write),
// and reads the others', so that auto routing, least-latency balancing and the registry's live
// numbers see the whole cluster.
const (
	liveEvery = 2 * time.Second
	liveTTL   = 15 * time.Second
)

// ShareLive starts exchanging live statistics with the other nodes.
func (c *Cluster) ShareLive(live *analytics.Live) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(liveEvery)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				c.exchangeLive(live)
			}
		}
	}()
}

func liveKey(node string) string { return "iom:live:" + node }

func replicasKey(node string) string { return "iom:replicas:" + node }

// exchangeLive writes this node's statistics and merges the other nodes' into live. A failure
// leaves the last merged view in place until the next round.
func (c *Cluster) exchangeLive(live *analytics.Live) {
	own := map[string]any{}
	stats := map[string]*analytics.ModelStats{}
	live.Each(func(id string, s *analytics.ModelStats) {
		stats[id] = s
		if st := s.Own(); st != nil {
			b, _ := json.Marshal(st)
			own[id] = b
		}
	})
	ownReplicas, setPeerReplicas := live.Replicas()
	replicas := map[string]any{}
	if ownReplicas != nil {
		for id, l := range ownReplicas() {
			b, _ := json.Marshal(l)
			replicas[id] = b
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*c.opts.Timeout)
	defer cancel()
	self, selfReplicas := liveKey(c.opts.NodeID), replicasKey(c.opts.NodeID)
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, self, selfReplicas)
		if len(own) > 0 {
			p.HSet(ctx, self, own)
			p.Expire(ctx, self, liveTTL)
		}
		if len(replicas) > 0 {
			p.HSet(ctx, selfReplicas, replicas)
			p.Expire(ctx, selfReplicas, liveTTL)
		}
		return nil
	})
	if err != nil {
		return
	}
	nodes, err := c.rdb.HKeys(ctx, nodesKey).Result()
	if err != nil {
		return
	}
	if len(nodes) > maxNodes {
		nodes = nodes[:maxNodes]
	}
	reads := make([]*redis.MapStringStringCmd, 0, len(nodes))
	replicaReads := make([]*redis.MapStringStringCmd, 0, len(nodes))
	_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range nodes {
			if n != c.opts.NodeID {
				reads = append(reads, p.HGetAll(ctx, liveKey(n)))
				if setPeerReplicas != nil {
					replicaReads = append(replicaReads, p.HGetAll(ctx, replicasKey(n)))
				}
			}
		}
		return nil
	})
	if err != nil && err != redis.Nil {
		return
	}
	peers := map[string][]*registry.Stats{}
	for _, r := range reads {
		for id, v := range r.Val() {
			var st registry.Stats
			if json.Unmarshal([]byte(v), &st) == nil {
				peers[id] = append(peers[id], &st)
			}
		}
	}
	for id, s := range stats {
		s.SetPeers(analytics.MergeStats(peers[id]))
	}
	if setPeerReplicas != nil {
		setPeerReplicas(mergeReplicas(replicaReads))
	}
}

// mergeReplicas merges the other nodes' latencies of each upstream, weighted by their calls.
func mergeReplicas(reads []*redis.MapStringStringCmd) map[string]analytics.ReplicaLatency {
	seen := map[string][]analytics.ReplicaLatency{}
	for _, r := range reads {
		for id, v := range r.Val() {
			var l analytics.ReplicaLatency
			if json.Unmarshal([]byte(v), &l) == nil {
				seen[id] = append(seen[id], l)
			}
		}
	}
	merged := make(map[string]analytics.ReplicaLatency, len(seen))
	for id, list := range seen {
		if m := analytics.MergeLatency(list); m.Calls > 0 {
			merged[id] = m
		}
	}
	return merged
}
