package analytics

import "github.com/VictoriaMetrics/metrics"

// ListenerMetrics count what one of the gateway's listeners turns away.
type ListenerMetrics struct {
	// AuthFailures counts requests with a wrong key (or admin token); AuthLockouts the client
	// addresses locked out for sending too many, and AuthLocked the requests refused meanwhile.
	AuthFailures *metrics.Counter
	AuthLockouts *metrics.Counter
	AuthLocked   *metrics.Counter
	// ConnsOverIP and ConnsOverTotal count connections refused for a client address's cap or the
	// listener's; AcceptErrors the failed accepts (out of descriptors, say), which are retried.
	ConnsOverIP    *metrics.Counter
	ConnsOverTotal *metrics.Counter
	AcceptErrors   *metrics.Counter
}

// Listener returns the metrics of the listener named name ("data" or "admin").
func (m *Metrics) Listener(name string) *ListenerMetrics {
	l := `{listener=` + quote(name)
	return &ListenerMetrics{
		AuthFailures:   m.set.GetOrCreateCounter("iom_auth_failures_total" + l + "}"),
		AuthLockouts:   m.set.GetOrCreateCounter("iom_auth_lockouts_total" + l + "}"),
		AuthLocked:     m.set.GetOrCreateCounter("iom_auth_locked_requests_total" + l + "}"),
		ConnsOverIP:    m.set.GetOrCreateCounter("iom_connections_refused_total" + l + `,reason="per_ip"}`),
		ConnsOverTotal: m.set.GetOrCreateCounter("iom_connections_refused_total" + l + `,reason="total"}`),
		AcceptErrors:   m.set.GetOrCreateCounter("iom_accept_errors_total" + l + "}"),
	}
}
