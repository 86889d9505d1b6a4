package analytics

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Pusher sends the gateway's metrics to VictoriaMetrics at an interval, each series labelled with
// the node, so that one VictoriaMetrics holds every node's.
type Pusher struct {
	m        *Metrics
	url      string
	interval time.Duration
	node     string
	log      *slog.Logger
	cancel   context.CancelFunc // nil until Start
	wg       sync.WaitGroup
	query    *VMQuery
	fleet    *Fleet
}

// NewPusher makes what pushes m to baseURL's /api/v1/import/prometheus every interval, once
// started, and queries it for the cluster's analytics.
func (m *Metrics) NewPusher(baseURL string, interval time.Duration, node string, log *slog.Logger) *Pusher {
	p := &Pusher{m: m, url: strings.TrimSuffix(baseURL, "/") + "/api/v1/import/prometheus",
		interval: interval, node: node, log: log, query: NewVMQuery(baseURL, DefaultVMQueryTimeout, log)}
	p.fleet = NewFleet(p.query, interval)
	m.EnableUsage() // what the analytics queries of VictoriaMetrics read
	return p
}

// Start begins pushing. Failed pushes are logged without the URL, which may hold credentials.
func (p *Pusher) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	opts := &metrics.PushOptions{
		ExtraLabels: `node=` + quoteLabel(p.node),
		Method:      "POST",
		WaitGroup:   &p.wg,
		LogErr: func(format string, args ...any) {
			msg := strings.ReplaceAll(fmt.Sprintf(format, args...), p.url, "victoriaMetrics.url")
			once.Do(func() { p.log.Warn("metrics: cannot push to VictoriaMetrics (said once)", "err", msg) })
		},
	}
	if err := metrics.InitPushExtWithOptions(ctx, p.url, p.interval, p.m.WritePrometheus, opts); err != nil {
		cancel()
		return fmt.Errorf("metrics.victoriaMetrics.url: %s", strings.ReplaceAll(err.Error(), p.url, "the URL"))
	}
	p.cancel = cancel
	return nil
}

// Query is the client of the VictoriaMetrics pushed to, for the analytics of the whole cluster;
// nil when nothing is pushed.
func (p *Pusher) Query() *VMQuery {
	if p == nil {
		return nil
	}
	return p.query
}

// Fleet is the models' numbers of the whole cluster, for the registry's listing; nil when
// nothing is pushed.
func (p *Pusher) Fleet() *Fleet {
	if p == nil {
		return nil
	}
	return p.fleet
}

// Close stops pushing and querying.
func (p *Pusher) Close() {
	if p == nil {
		return
	}
	if p.cancel != nil {
		p.cancel()
	}
	p.wg.Wait()
	p.query.Close()
}

// quoteLabel quotes a label value in the exposition format.
func quoteLabel(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
