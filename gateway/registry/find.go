package registry

import (
	"context"
	"math"
	"sort"
	"strings"

	"github.com/iomhq/iom/gateway/spec"
)

var bgContext = context.Background()

// Filter selects models, as the discovery API's query parameters do.
type Filter struct {
	Q               string   // substring of id, name, description, owner or a tag
	Type            string   // modelType
	Tags            []string // all must be present
	Owner           string
	Policy          string
	Status          string
	MaxLatencyMs    float64 // measured EWMA when there are measurements, else declared
	MaxCostPerToken float64
	// Sort is a field (name, id, latency, cost, owner, status), "-" first for descending.
	Sort string
}

// Live supplies a model's status and live stats, which the registry does not own.
type Live func(*spec.Entry) (status string, stats *Stats)

// LatencyMs is the latency discovery uses: measured if there are measurements, else declared.
func LatencyMs(e *spec.Entry, st *Stats) float64 {
	if st != nil && st.Requests > 0 && st.LatencyMs > 0 {
		return st.LatencyMs
	}
	return e.Latency
}

// Find returns the views of the models matching f, sorted.
func (s *Snapshot) Find(f Filter, live Live) []View {
	q := strings.ToLower(strings.TrimSpace(f.Q))
	out := make([]View, 0, len(s.list))
	for _, e := range s.list {
		status, stats := live(e)
		if f.Type != "" && e.ModelType != f.Type ||
			f.Owner != "" && !strings.EqualFold(e.Owner, f.Owner) ||
			f.Policy != "" && e.SecurityPolicy != f.Policy ||
			f.Status != "" && status != f.Status ||
			f.MaxLatencyMs > 0 && LatencyMs(e, stats) > f.MaxLatencyMs ||
			f.MaxCostPerToken > 0 && math.Max(e.InputCost(), e.OutputCost()) > f.MaxCostPerToken ||
			!hasTags(e.Model, f.Tags) || q != "" && !matches(e.Model, q) {
			continue
		}
		out = append(out, NewView(e.Model, status, stats))
	}
	sortViews(out, f.Sort)
	return out
}

func hasTags(m *spec.Model, tags []string) bool {
	for _, want := range tags {
		found := false
		for _, t := range m.Tags {
			if strings.EqualFold(t, want) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func matches(m *spec.Model, q string) bool {
	for _, s := range []string{m.ID, m.Name, m.Description, m.Owner, m.ModelType} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	for _, t := range m.Tags {
		if strings.Contains(strings.ToLower(t), q) {
			return true
		}
	}
	return false
}

// SortFields are the accepted values of Filter.Sort (each may start with "-").
var SortFields = []string{"name", "id", "latency", "cost", "owner", "status", "type"}

func sortViews(vs []View, by string) {
	desc := strings.HasPrefix(by, "-")
	by = strings.TrimPrefix(by, "-")
	less := func(a, b *View) int {
		switch by {
		case "id":
			return strings.Compare(a.ID, b.ID)
		case "latency":
			return cmpFloat(LatencyMs(&spec.Entry{Model: &a.Model}, a.Stats), LatencyMs(&spec.Entry{Model: &b.Model}, b.Stats))
		case "cost":
			return cmpFloat(math.Max(a.InputCost(), a.OutputCost()), math.Max(b.InputCost(), b.OutputCost()))
		case "owner":
			return strings.Compare(strings.ToLower(a.Owner), strings.ToLower(b.Owner))
		case "status":
			return strings.Compare(a.Status, b.Status)
		case "type":
			return strings.Compare(a.ModelType, b.ModelType)
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	}
	sort.SliceStable(vs, func(i, j int) bool {
		c := less(&vs[i], &vs[j])
		if c == 0 {
			c = strings.Compare(vs[i].ID, vs[j].ID)
		}
		if desc {
			return c > 0
		}
		return c < 0
	})
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Matches reports whether v (a listed entry that is not in the registry, as an MCP tool) passes
// f's filters, as Find applies them to models.
func (f Filter) Matches(v *View) bool {
	e := &spec.Entry{Model: &v.Model}
	q := strings.ToLower(strings.TrimSpace(f.Q))
	return !(f.Type != "" && v.ModelType != f.Type ||
		f.Owner != "" && !strings.EqualFold(v.Owner, f.Owner) ||
		f.Policy != "" && v.SecurityPolicy != f.Policy ||
		f.Status != "" && v.Status != f.Status ||
		f.MaxLatencyMs > 0 && LatencyMs(e, v.Stats) > f.MaxLatencyMs ||
		f.MaxCostPerToken > 0 && math.Max(v.InputCost(), v.OutputCost()) > f.MaxCostPerToken ||
		!hasTags(&v.Model, f.Tags) || q != "" && !matches(&v.Model, q))
}

// SortViews sorts views as Find does, by a Filter's Sort.
func SortViews(vs []View, by string) { sortViews(vs, by) }
