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
	cancel context.CancelFunc
	wg     sync.WaitGroup
	query  *VMQuery
	fleet  *Fleet
}

// Push starts pushing m to baseURL's /api/v1/import/prometheus every interval. Failed pushes are
// logged without the URL, which may hold credentials.
func (m *Metrics) Push(baseURL string, interval time.Duration, node string, log *slog.Logger) (*Pusher, error) {
	pushURL := strings.TrimSuffix(baseURL, "/") + "/api/v1/import/prometheus"
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pusher{cancel: cancel, query: NewVMQuery(baseURL, DefaultVMQueryTimeout, log)}
	p.fleet = NewFleet(p.query, interval)
	var once sync.Once
	opts := &metrics.PushOptions{
		ExtraLabels: `node=` + quoteLabel(node),
		Method:      "POST",
		WaitGroup:   &p.wg,
		LogErr: func(format string, args ...any) {
			msg := strings.ReplaceAll(fmt.Sprintf(format, args...), pushURL, "victoriaMetrics.url")
			once.Do(func() { log.Warn("metrics: cannot push to VictoriaMetrics (said once)", "err", msg) })
		},
	}
	if err := metrics.InitPushExtWithOptions(ctx, pushURL, interval, m.WritePrometheus, opts); err != nil {
		cancel()
		return nil, fmt.Errorf("metrics.victoriaMetrics.url: %s", strings.ReplaceAll(err.Error(), pushURL, "the URL"))
	}
	m.EnableUsage() // what the analytics queries of VictoriaMetrics read
	return p, nil
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
	p.cancel()
	p.wg.Wait()
	p.query.Close()
}

// quoteLabel quotes a label value in the exposition format.
func quoteLabel(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}
