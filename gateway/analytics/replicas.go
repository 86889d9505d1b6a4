package analytics

// ReplicaLatency is one node's latency of one replica (upstream) of a model: the moving average
// of its successful calls, in milliseconds, and how many calls it has seen. A cluster shares
// them, so that least-latency balancing on each node sees the calls of all.
type ReplicaLatency struct {
	Ms    float64 `json:"ms"`
	Calls int64   `json:"calls"`
}

// MergeLatency merges several nodes' latencies of one replica, each weighted by its calls.
func MergeLatency(list []ReplicaLatency) ReplicaLatency {
	var m ReplicaLatency
	var sum float64
	for _, l := range list {
		if l.Calls > 0 && l.Ms > 0 {
			m.Calls += l.Calls
			sum += l.Ms * float64(l.Calls)
		}
	}
	if m.Calls > 0 {
		m.Ms = sum / float64(m.Calls)
	}
	return m
}

// ShareReplicas lets a cluster exchange per-replica latency: own reports this node's, by
// replica id; peers receives the other nodes', merged. Set once, before the exchange starts.
func (l *Live) ShareReplicas(own func() map[string]ReplicaLatency, peers func(map[string]ReplicaLatency)) {
	l.mu.Lock()
	l.ownReplicas, l.peerReplicas = own, peers
	l.mu.Unlock()
}

// Replicas returns the functions ShareReplicas set, nil when none.
func (l *Live) Replicas() (own func() map[string]ReplicaLatency, peers func(map[string]ReplicaLatency)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ownReplicas, l.peerReplicas
}
