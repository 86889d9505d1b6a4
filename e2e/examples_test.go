package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// defaultGateway serves configs/iom.yaml, as `make run` does, offline, with the plugins built
// for the tests and its own listeners and data dir.
func defaultGateway(t *testing.T) *gt.Gateway {
	t.Helper()
	plugins := examplePlugins(t)
	src, err := os.ReadFile("../configs/iom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(src), "bin/plugins/", plugins+"/")
	dir := t.TempDir()
	start, end := strings.Index(cfg, "server:\n"), strings.Index(cfg, "keys:\n")
	cfg = cfg[:start] + gt.Header(filepath.Join(dir, "data")) + cfg[end+len("keys:\n"):]
	cfg = strings.Replace(cfg, "keys:\n", "keys:\n", 1)
	path := filepath.Join(dir, "iom.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return gt.StartFile(t, dir, path)
}

func runPipeline(t *testing.T, g *gt.Gateway, id string, input any) map[string]any {
	t.Helper()
	r := g.Data("POST", "/v1/pipelines/"+id+"/run", gt.Key, input)
	var res map[string]any
	if err := json.Unmarshal(r.Body, &res); err != nil || r.Status != 200 || res["status"] != "ok" {
		t.Fatalf("%s: %d %.2000s", id, r.Status, r.Body)
	}
	return res
}

// TestSeedExamplePipelines runs the seed's three examples end to end on the default config,
// offline, through the data plane.
func TestSeedExamplePipelines(t *testing.T) {
	g := defaultGateway(t)

	t.Run("content generation", func(t *testing.T) {
		res := runPipeline(t, g, "content-generation", map[string]any{"topic": "city parks and rivers",
			"audience": "mail questions to jane@example.com"})
		out := res["output"].(map[string]any)
		article := out["article"].(string)
		quality := out["quality"].(map[string]any)
		if !strings.Contains(strings.ToLower(article), "city parks and rivers") || strings.Count(article, "\n\n") < 2 {
			t.Fatalf("article: %q", article)
		}
		if quality["words"].(float64) < 80 || quality["passed"] != true {
			t.Fatalf("quality: %v", quality)
		}
		steps := res["execution"].(map[string]any)["steps"].([]any)
		if len(steps) != 5 {
			t.Fatalf("steps: %v", steps)
		}
		if r := g.Data("POST", "/v1/pipelines/content-generation/run", gt.Key, `{"topic":"x"}`); r.Status != 400 {
			t.Fatalf("the input is validated: %d %s", r.Status, r.Body)
		}
	})

	t.Run("multi-modal analysis", func(t *testing.T) {
		png, err := os.ReadFile("../examples/pipelines/sample.png")
		if err != nil {
			t.Fatal(err)
		}
		res := runPipeline(t, g, "multimodal-analysis", map[string]any{
			"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), "language": "es"})
		out := res["output"].(map[string]any)
		features := out["features"].(map[string]any)
		if features["width"] != 40.0 || features["height"] != 20.0 || features["orientation"] != "landscape" {
			t.Fatalf("features: %v", features)
		}
		dominant := features["dominantColors"].([]any)[0].(map[string]any)
		if dominant["name"] != "navy" {
			t.Fatalf("dominant colour: %v", dominant)
		}
		if d := out["description"].(string); !strings.Contains(d, "navy") || !strings.Contains(d, "orange") {
			t.Fatalf("description: %q", d)
		}
		if tr := out["translation"].(string); !strings.Contains(tr, "azul marino") {
			t.Fatalf("translation: %q", tr)
		}
		if out["summary"].(string) == "" {
			t.Fatal("no summary")
		}
	})

	t.Run("data processing chain", func(t *testing.T) {
		res := runPipeline(t, g, "data-processing", map[string]any{"label": "Weekly signups", "horizon": 3,
			"series": []any{10, 12, "13", nil, 15, 16, 400, 18, 20}})
		report := res["text"].(string)
		for _, want := range []string{"# Weekly signups", "| Count | 7 |", "rising", "## Forecast", "| 3 |"} {
			if !strings.Contains(report, want) {
				t.Fatalf("report lacks %q:\n%s", want, report)
			}
		}
		steps := res["execution"].(map[string]any)["steps"].([]any)
		clean := steps[1].(map[string]any)
		if clean["id"] != "clean" || !strings.Contains(string(mustJSON(clean["output"])), `"removed":2`) {
			t.Fatalf("the clean step: %v", clean)
		}
	})

	t.Run("a transform node's own config", func(t *testing.T) {
		// The same plugin as the clean step, configured by the node: a lenient outlier threshold
		// keeps the 400 the default one drops.
		if r := g.Admin("POST", "/api/pipelines", `{"id":"lenient-clean","name":"Lenient clean","nodes":[
			{"id":"in","type":"input"},
			{"id":"clean","type":"transform","data":{"plugin":"data-clean","config":{"madThreshold":1000}}},
			{"id":"out","type":"output"}],
			"edges":[{"source":"in","target":"clean"},{"source":"clean","target":"out"}]}`); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		res := runPipeline(t, g, "lenient-clean", map[string]any{"series": []any{10, 12, "13", nil, 15, 16, 400, 18, 20}})
		if out := string(mustJSON(res["output"])); !strings.Contains(out, `"removed":1`) || !strings.Contains(out, "400") {
			t.Fatalf("lenient clean: %s", out)
		}
	})

	t.Run("as a chat model", func(t *testing.T) {
		r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"pipeline:content-generation","messages":[{"role":"user","content":"x"}]}`)
		if r.Status != 400 {
			t.Fatalf("a chat input without a topic fails its inputSchema: %d %s", r.Status, r.Body)
		}
		r = g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"local-summarizer","messages":[{"role":"user","content":"The river flooded the town. Volunteers built walls of sand. The water fell by morning."}]}`)
		if r.Status != 200 || !strings.Contains(string(r.Body), "river") {
			t.Fatalf("a local model: %d %s", r.Status, r.Body)
		}
		// The default config lets local-models read the real clock: its answers carry the time
		// they were made, not the sandbox's fixed date.
		var answer struct{ Created int64 }
		if err := json.Unmarshal(r.Body, &answer); err != nil {
			t.Fatal(err)
		}
		if age := time.Since(time.Unix(answer.Created, 0)); age < -time.Minute || age > time.Minute {
			t.Errorf("a local model's answer was created %s ago: %s", age, r.Body)
		}
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
