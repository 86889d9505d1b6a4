package analytics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const dashboardPath = "../../examples/observability/grafana-dashboard.json"

// exportedFamilies are the metric families the gateway exports, with their types, read from the
// # TYPE lines of a metric set whose every kind of series exists (a model, a pipeline, a
// listener, an MCP tool).
func exportedFamilies(t *testing.T) map[string]string {
	t.Helper()
	m := NewMetrics()
	m.Model("m", "p").Requests.Inc()
	m.Pipeline("p").OK.Inc()
	m.Listener("data").AuthFailures.Inc()
	m.Tool("s__t", "s").Calls.Inc()
	m.EnableUsage()
	m.usageSet().observe(&observation{dims: [4]string{"m", "", "k", "o"}, latencyMs: 5, in: 1, out: 1, cost: 0.1})
	var buf bytes.Buffer
	m.WritePrometheus(&buf)
	families := map[string]string{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" && strings.HasPrefix(f[2], "iom_") {
			families[f[2]] = f[3]
		}
	}
	if len(families) < len(help) {
		t.Fatalf("only %d families of the %d in help are exported: %v", len(families), len(help), families)
	}
	return families
}

// dashboardQueries returns every PromQL expression of the dashboard: its panels' targets and its
// variables' queries.
func dashboardQueries(t *testing.T) (map[string]any, []string) {
	t.Helper()
	b, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s is not JSON: %v", dashboardPath, err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && (k == "expr" || k == "query" && strings.Contains(s, "iom_")) {
					exprs = append(exprs, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(dash)
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return dash, exprs
}

var metricName = regexp.MustCompile(`iom_[a-z_]+`)

// Every metric the dashboard queries is one the gateway exports (a histogram's _bucket, _sum and
// _count series counted as their family), and the dashboard shows the families that matter.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	families := exportedFamilies(t)
	_, exprs := dashboardQueries(t)
	used := map[string]bool{}
	for _, expr := range exprs {
		for _, name := range metricName.FindAllString(expr, -1) {
			family := name
			if families[family] == "" {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, suffix); ok && families[base] == "histogram" {
						family = base
					}
				}
			}
			if families[family] == "" {
				t.Errorf("the dashboard queries %s, which the gateway does not export: %s", name, expr)
				continue
			}
			if strings.Contains(expr, "histogram_quantile") && families[family] == "histogram" && !strings.HasSuffix(name, "_bucket") &&
				!strings.Contains(expr, name+"_bucket") {
				t.Errorf("histogram_quantile over %s needs its _bucket series: %s", name, expr)
			}
			used[family] = true
		}
	}
	for _, f := range []string{"iom_requests_total", "iom_request_errors_total", "iom_request_duration_seconds",
		"iom_upstream_duration_seconds", "iom_tokens_total", "iom_cost_usd_total", "iom_pipeline_runs_total",
		"iom_records_dropped_total", "iom_auth_failures_total", "iom_connections_refused_total"} {
		if !used[f] {
			t.Errorf("the dashboard does not show %s", f)
		}
	}
	var unused []string
	for f := range families {
		if !used[f] {
			unused = append(unused, f)
		}
	}
	slices.Sort(unused)
	t.Logf("families the dashboard does not show: %v", unused)
}

// The dashboard is one Grafana can import: a schema version, unique panel ids, and every panel
// and query on the ${DS_PROMETHEUS} data source variable.
func TestDashboardShape(t *testing.T) {
	dash, _ := dashboardQueries(t)
	if v, _ := dash["schemaVersion"].(float64); v < 36 {
		t.Fatalf("schemaVersion %v", dash["schemaVersion"])
	}
	if dash["uid"] == "" || dash["title"] == "" {
		t.Fatal("the dashboard needs a uid and a title")
	}
	hasDS := false
	for _, v := range dash["templating"].(map[string]any)["list"].([]any) {
		v := v.(map[string]any)
		if v["name"] == "DS_PROMETHEUS" && v["type"] == "datasource" && v["query"] == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Fatal("no DS_PROMETHEUS data source variable of type prometheus")
	}
	ids := map[float64]bool{}
	for _, p := range dash["panels"].([]any) {
		p := p.(map[string]any)
		id, _ := p["id"].(float64)
		if ids[id] {
			t.Errorf("panel id %v twice", id)
		}
		ids[id] = true
		if p["type"] == "row" {
			continue
		}
		if ds, _ := p["datasource"].(map[string]any); ds["uid"] != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: data source %v", p["title"], p["datasource"])
		}
		targets, _ := p["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("panel %q has no query", p["title"])
		}
		for _, tg := range targets {
			if ds, _ := tg.(map[string]any)["datasource"].(map[string]any); ds["uid"] != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: a query's data source %v", p["title"], ds)
			}
		}
	}
}

// The dashboard's expressions are PromQL that promtool accepts, with Grafana's variables set.
// Without promtool the check is skipped, unless IOM_REQUIRE_PROMTOOL=1, which make test sets.
func TestDashboardPromQL(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("IOM_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("promtool is not installed (apt-get install prometheus)")
		}
		t.Skip("promtool is not installed: skipping its check (apt-get install prometheus)")
	}
	_, exprs := dashboardQueries(t)
	vars := strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "6h", "$instance", ".*", "$model", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, e := range exprs {
		if strings.HasPrefix(e, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		n++
		q, _ := json.Marshal(vars.Replace(e)) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "      - record: dashboard:expr_%d\n        expr: %s\n", n, q)
	}
	file := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(path, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, rules.String())
	}
}
