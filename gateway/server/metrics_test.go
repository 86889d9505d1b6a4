package server_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// /metrics carries # HELP and # TYPE for every family and passes promtool's checks; pipelines
// have series of their own; a deleted model's and pipeline's series go away.
func TestMetricsMetadata(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	if r := g.Admin("POST", "/api/models", `{"id":"temp","name":"Temp","endpoint":"`+f.URL+`","provider":"openai"}`); r.Status != 201 {
		t.Fatalf("create a model: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("POST", "/api/pipelines", `{"id":"relay","name":"Relay","nodes":[
		{"id":"in","type":"input"},{"id":"m","type":"model","data":{"model":"temp","input":"input.text"}},{"id":"out","type":"output"}],
		"edges":[{"source":"in","target":"m"},{"source":"m","target":"out"}]}`); r.Status != 201 {
		t.Fatalf("create a pipeline: %d %s", r.Status, r.Body)
	}
	g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"a b c"}]}`)
	if r := g.Admin("POST", "/api/pipelines/relay/run", `{"text":"hello"}`); r.Status != 200 {
		t.Fatalf("run the pipeline: %d %s", r.Status, r.Body)
	}
	text := string(gt.Do(t, "GET", g.AdminURL+"/metrics", "", nil).Body)
	for _, want := range []string{
		"# HELP iom_requests_total Requests per model",
		"# TYPE iom_requests_total counter",
		"# TYPE iom_request_duration_seconds histogram",
		`iom_requests_total{model="echo",provider="openai"} 1`,
		`iom_requests_total{model="temp",provider="openai"} 1`, // the pipeline's step
		`iom_pipeline_runs_total{pipeline="relay",status="ok"} 1`,
		`iom_pipeline_duration_seconds_count{pipeline="relay"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "# HELP ") && len(strings.Fields(line)) < 4 {
			t.Errorf("a family without help text: %q", line)
		}
	}
	promtool(t, text)

	if r := g.Admin("DELETE", "/api/pipelines/relay", nil); r.Status != 204 {
		t.Fatalf("delete the pipeline: %d", r.Status)
	}
	if r := g.Admin("DELETE", "/api/models/temp", nil); r.Status != 204 {
		t.Fatalf("delete the model: %d", r.Status)
	}
	text = string(gt.Do(t, "GET", g.AdminURL+"/metrics", "", nil).Body)
	if strings.Contains(text, `model="temp"`) || strings.Contains(text, `pipeline="relay"`) {
		t.Fatalf("a deleted model's or pipeline's series remain:\n%s", text)
	}
	if !strings.Contains(text, `iom_requests_total{model="echo",provider="openai"} 1`) {
		t.Fatal("deleting a model dropped another's series")
	}
}

// promtool runs `promtool check metrics` (Debian's prometheus package) on text. Without
// promtool the check is skipped, unless IOM_REQUIRE_PROMTOOL=1, which make test sets.
func promtool(t *testing.T, text string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("IOM_REQUIRE_PROMTOOL") == "1" {
			t.Fatal("promtool is not installed (apt-get install prometheus)")
		}
		t.Log("promtool is not installed: skipping its check (apt-get install prometheus)")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
