package analytics

import "github.com/VictoriaMetrics/metrics"

// overspendScopes are the budgets a call's overspend is counted for.
var overspendScopes = [...]string{"key", "org"}

// newOverspend creates the overspend series, so that they are exported at zero from the start.
func newOverspend(s *metrics.Set) {
	for _, scope := range overspendScopes {
		s.GetOrCreateFloatCounter(overspendSeries(scope))
	}
}

func overspendSeries(scope string) string {
	return `iom_budget_overspend_usd_total{scope="` + scope + `"}`
}

// Overspend is told what a call cost beyond what it held of a budget (its estimate was too low),
// per scope (key or org), as the counter iom_budget_overspend_usd_total.
func (m *Metrics) Overspend(scope string, usd float64) {
	m.set.GetOrCreateFloatCounter(overspendSeries(scope)).Add(usd)
}
