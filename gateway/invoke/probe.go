package invoke

import (
	"sync"
	"time"
)

// Probes run the periodic health checks of models that ask for them (healthCheck), feeding the
// results to each upstream's circuit breaker, so a model's status is known before traffic finds
// out. It stops with Close.
func (e *Engine) startProbes() {
	e.probeStop = make(chan struct{})
	e.probeDone = make(chan struct{})
	go func() {
		defer close(e.probeDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := map[string]time.Time{}
		for {
			select {
			case <-e.probeStop:
				return
			case now := <-t.C:
				e.probeDue(now, last)
			}
		}
	}()
}

func (e *Engine) probeDue(now time.Time, last map[string]time.Time) {
	var wg sync.WaitGroup
	for id, r := range e.table.Load().routes {
		hc := r.HealthCheck
		if hc == nil || now.Sub(last[id]) < time.Duration(hc.IntervalSeconds)*time.Second {
			continue
		}
		last[id] = now
		for _, rep := range r.replicas {
			if rep.up == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				if err := rep.up.Probe(5 * time.Second); err != nil {
					rep.health.failure(time.Now())
					e.log.Debug("health probe failed", "model", id, "upstream", rep.name, "err", err)
				} else {
					rep.health.success(time.Since(t0))
				}
			}()
		}
	}
	wg.Wait()
}

// Close stops the engine's background work.
func (e *Engine) Close() {
	if e.probeStop != nil {
		close(e.probeStop)
		<-e.probeDone
	}
}
