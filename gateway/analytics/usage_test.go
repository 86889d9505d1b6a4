package analytics

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"
)

func exposition(m *Metrics) string {
	var buf bytes.Buffer
	m.WritePrometheus(&buf)
	return buf.String()
}

// The usage series exist only for a gateway that pushes them, mirror what the rollups count,
// and stay bounded: values beyond the cap count under OtherValue, and idle ones leave.
func TestUsageSeries(t *testing.T) {
	m := NewMetrics()
	if strings.Contains(exposition(m), "iom_usage_") {
		t.Fatal("usage series without EnableUsage")
	}
	m.EnableUsage()
	u := m.usageSet()
	u.observe(&observation{dims: [4]string{"gpt", "", "app", "acme"}, err: true, latencyMs: 20, in: 3, out: 4, cost: 0.5})
	out := exposition(m)
	for _, want := range []string{`iom_usage_requests_total{group="model",name="gpt"} 1`, `iom_usage_errors_total{group="key",name="app"} 1`,
		`iom_usage_tokens_total{group="org",name="acme",direction="output"} 4`, `iom_usage_cost_usd_total{group="model",name="gpt"} 0.5`,
		`iom_usage_duration_seconds_bucket{group="model",name="gpt",le="0.025"} 1`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `group="pipeline"`) {
		t.Fatal("an empty dimension has series")
	}

	for i := range maxUsageValues + 9 {
		u.observe(&observation{dims: [4]string{"", "", "key-" + strconv.Itoa(i), ""}})
	}
	if n := len(u.byDim[2]); n != maxUsageValues {
		t.Fatalf("%d key values kept, want %d", n, maxUsageValues)
	}
	if !strings.Contains(exposition(m), `iom_usage_requests_total{group="key",name="(other)"} 11`) {
		t.Fatal("keys beyond the cap are not counted under (other)")
	}

	u.sweep(time.Now().Add(usageIdle + time.Minute))
	if out := exposition(m); strings.Contains(out, "iom_usage_") || len(u.byDim[0]) != 0 {
		t.Fatalf("idle values stay:\n%s", out)
	}
}
