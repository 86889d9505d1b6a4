package invoke

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/spec"
)

// Constraints choose a model for registry-driven ("auto") routing.
type Constraints struct {
	// Capability is a modelType or a tag the model must have.
	Capability      string
	MaxLatencyMs    float64
	MaxCostPerToken float64
	// Prefer ranks the candidates: cost (default: cheapest first), latency (fastest first), or
	// quality (priciest first, as the registry knows no better proxy for capability).
	Prefer string
	Op     provider.Op
	// Among, when set, restricts the choice to these models (a pipeline router's targets).
	Among []string
}

// Preferences are the accepted values of Constraints.Prefer.
var Preferences = []string{"cost", "latency", "quality"}

func (c Constraints) String() string {
	var parts []string
	if c.Capability != "" {
		parts = append(parts, "capability "+strconv.Quote(c.Capability))
	}
	if c.MaxLatencyMs > 0 {
		parts = append(parts, "latency ≤ "+strconv.FormatFloat(c.MaxLatencyMs, 'f', -1, 64)+" ms")
	}
	if c.MaxCostPerToken > 0 {
		parts = append(parts, "cost ≤ $"+strconv.FormatFloat(c.MaxCostPerToken, 'f', -1, 64)+" per token")
	}
	parts = append(parts, "operation "+c.Op.String())
	return strings.Join(parts, ", ")
}

// opFits reports whether a model of modelType can serve op.
func opFits(modelType string, op provider.Op) bool {
	if op == provider.Embedding {
		return modelType == "embedding"
	}
	return modelType != "embedding"
}

// Select picks the best available model key may use under c, from the registry's live stats.
func (e *Engine) Select(key *policy.Key, c Constraints) (*Route, *fault.Error) {
	type cand struct {
		r       *Route
		latency float64
		cost    float64
		success float64
	}
	var cands []cand
	for _, r := range e.Visible(key) {
		if len(c.Among) > 0 && !slices.Contains(c.Among, r.ID) {
			continue
		}
		if !opFits(r.ModelType, c.Op) || r.Status() == spec.StatusUnavailable {
			continue
		}
		if c.Capability != "" && r.ModelType != c.Capability && !slices.ContainsFunc(r.Tags, func(t string) bool { return strings.EqualFold(t, c.Capability) }) {
			continue
		}
		st := r.Stats.Snapshot()
		lat := registry.LatencyMs(r.Entry, st)
		cost := math.Max(r.InputCost(), r.OutputCost())
		if c.MaxLatencyMs > 0 && lat > c.MaxLatencyMs || c.MaxCostPerToken > 0 && cost > c.MaxCostPerToken {
			continue
		}
		success := 1.0
		if st != nil {
			success = st.SuccessRate
		}
		if lat <= 0 {
			lat = math.Inf(1) // unknown latency ranks last when latency matters
		}
		cands = append(cands, cand{r, lat, cost, success})
	}
	if len(cands) == 0 {
		return nil, fault.NotFound("no_model_matches", "no available model you may use matches %s", c)
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch c.Prefer {
		case "latency":
			return cmp3(a.latency, b.latency, a.cost, b.cost)
		case "quality":
			return cmp3(b.cost, a.cost, b.success, a.success)
		}
		return cmp3(a.cost, b.cost, a.latency, b.latency)
	})
	return cands[0].r, nil
}

func cmp3(a1, b1, a2, b2 float64) int {
	switch {
	case a1 < b1:
		return -1
	case a1 > b1:
		return 1
	case a2 < b2:
		return -1
	case a2 > b2:
		return 1
	}
	return 0
}
