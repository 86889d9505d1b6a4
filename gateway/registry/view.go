package registry

import (
	"time"

	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
)

// Stats are a model's live statistics, measured from real traffic.
type Stats struct {
	Requests      int64     `json:"requests"`
	Errors        int64     `json:"errors"`
	SuccessRate   float64   `json:"successRate"`
	LatencyMs     float64   `json:"latencyMs"` // EWMA
	P50Ms         float64   `json:"p50Ms"`
	P95Ms         float64   `json:"p95Ms"`
	LastError     string    `json:"lastError,omitempty"`
	LastErrorAt   time.Time `json:"lastErrorAt,omitzero"`
	LastRequestAt time.Time `json:"lastRequestAt,omitzero"`
}

// View is a model as the API shows it: no secret, plus its live status and stats.
type View struct {
	spec.Model
	HasAPIKey bool   `json:"hasApiKey"`
	Status    string `json:"status"`
	Stats     *Stats `json:"stats,omitempty"`
}

// NewView returns the public view of m.
func NewView(m *spec.Model, status string, stats *Stats) View {
	v := View{Model: *m, HasAPIKey: m.APIKey.IsSet(), Status: status, Stats: stats}
	v.APIKey = secret.Secret{}
	if len(m.Replicas) > 0 {
		v.Replicas = make([]spec.Replica, len(m.Replicas))
		for i, r := range m.Replicas {
			r.HasAPIKey, r.APIKey = r.APIKey.IsSet(), secret.Secret{}
			v.Replicas[i] = r
		}
	}
	return v
}
