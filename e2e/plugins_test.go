package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

var (
	pluginsOnce sync.Once
	pluginsDir  string
	pluginsErr  error
)

// examplePlugins returns a directory with the example plugins built: IOM_PLUGINS_DIR (make
// test builds them there), or a temp dir built once per test binary.
func examplePlugins(t *testing.T) string {
	t.Helper()
	pluginsOnce.Do(func() {
		if dir := os.Getenv("IOM_PLUGINS_DIR"); dir != "" {
			pluginsDir = dir
			return
		}
		dir, err := os.MkdirTemp("", "iom-example-plugins-")
		if err != nil {
			pluginsErr = err
			return
		}
		pluginsDir = dir
		out, err := exec.Command("../examples/plugins/build.sh", dir).CombinedOutput()
		if err != nil {
			pluginsErr = fmt.Errorf("build.sh: %v\n%s", err, out)
			return
		}
		for _, p := range []string{"process-provider", "process-transformer"} {
			if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, p), "../examples/plugins/"+p).CombinedOutput(); err != nil {
				pluginsErr = fmt.Errorf("go build %s: %v\n%s", p, err, out)
				return
			}
		}
	})
	if pluginsErr != nil {
		t.Fatal(pluginsErr)
	}
	return pluginsDir
}

func chat(t *testing.T, g *gt.Gateway, model, content, extra string) gt.Response {
	t.Helper()
	b, _ := json.Marshal(content)
	return g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"`+model+`"`+extra+`,"messages":[{"role":"user","content":`+string(b)+`}]}`)
}

func answer(t *testing.T, r gt.Response) string {
	t.Helper()
	var c struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &c) != nil || len(c.Choices) == 0 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	return c.Choices[0].Message.Content
}

func TestWASMPlugins(t *testing.T) {
	dir := examplePlugins(t)
	f, _ := fakeupstream.StartOpenAI()
	t.Cleanup(f.Close)
	v, _ := fakeupstream.StartVendors()
	t.Cleanup(v.Close)
	g := gt.Start(t, "", fmt.Sprintf(`plugins:
  - {name: summarizer, path: %[1]s/summarizer.wasm}
  - {name: sentiment, path: %[1]s/sentiment.wasm}
  - {name: embeddings, path: %[1]s/embeddings.wasm, config: {dimensions: 64}}
  - {name: pii-redact, path: %[1]s/pii-redact-go.wasm}
  - name: guard
    path: %[1]s/json-guard.wasm
    config: {schema: {type: object, required: [label], properties: {label: {type: string}}}}
  - {name: textgen, path: %[1]s/textgen-adapter.wasm, config: {path: /custom/predict}}
  - {name: model-guard, path: %[1]s/json-guard.wasm}
models:
  - {id: local-summarizer, name: Summarizer, provider: "wasm:summarizer", modelType: llm}
  - {id: local-sentiment, name: Sentiment, provider: "wasm:sentiment", transforms: {response: [guard]}}
  - {id: local-embeddings, name: Embeddings, provider: "wasm:embeddings", modelType: embedding}
  - id: redacted-echo
    name: Echo behind PII redaction
    endpoint: %[2]s
    provider: openai
    transforms: {request: [pii-redact]}
  - id: guarded-echo
    name: Echo that must answer JSON
    endpoint: %[2]s
    provider: openai
    transforms: {response: [guard]}
  - id: schema-echo
    name: Echo checked against its own outputSchema
    endpoint: %[2]s
    provider: openai
    outputSchema: {type: object, required: [score]}
    transforms: {response: [model-guard]}
  - id: schemaless-echo
    name: Echo with a guard but no schema
    endpoint: %[2]s
    provider: openai
    transforms: {response: [model-guard]}
  - id: custom-api
    name: A non-OpenAI API through a WASM adapter
    endpoint: %[3]s
    provider: "wasm:textgen"
    apiKey: custom-secret-0000
    headers: {X-Custom-Key: custom-secret-0000}
`, dir, f.URL, v.URL))
	text := "The city council met on Monday. The council approved a new park near the river. " +
		"Residents said the park will bring families together. The weather was cold. The park opens in spring."
	sum := answer(t, chat(t, g, "local-summarizer", text, ""))
	if sum == "" || len(sum) >= len(text) || !strings.Contains(sum, "park") {
		t.Fatalf("summary %q", sum)
	}
	r := chat(t, g, "local-summarizer", text, `,"stream":true`)
	if r.Status != 200 || !strings.Contains(string(r.Body), "data: [DONE]") {
		t.Fatalf("a local model streams its answer: %d %s", r.Status, r.Body)
	}
	if got := answer(t, chat(t, g, "local-sentiment", "I love this wonderful product", "")); !strings.Contains(got, `"label":"positive"`) {
		t.Fatalf("sentiment through json-guard: %q", got)
	}
	emb := g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"local-embeddings","input":["hello world","goodbye"]}`)
	var e struct {
		Data []struct{ Embedding []float64 } `json:"data"`
	}
	if json.Unmarshal(emb.Body, &e); emb.Status != 200 || len(e.Data) != 2 || len(e.Data[0].Embedding) != 64 {
		t.Fatalf("embeddings: %d %.300s", emb.Status, emb.Body)
	}

	// Transforms around an HTTP upstream.
	answer(t, chat(t, g, "redacted-echo", "mail me at jane.doe@example.com or call +1 415 555 0100", ""))
	if body := string(f.Last().Body); strings.Contains(body, "jane.doe@example.com") || !strings.Contains(body, "[REDACTED]") {
		t.Fatalf("the upstream saw: %s", body)
	}
	r = chat(t, g, "guarded-echo", "not json", "")
	if r.Status != 502 || !strings.Contains(string(r.Body), "json_guard") {
		t.Fatalf("json-guard should refuse a non-JSON answer: %d %s", r.Status, r.Body)
	}
	// Without a schema of its own, the guard checks the model's outputSchema.
	r = chat(t, g, "schema-echo", `{"score": 1}`, "")
	if r.Status != 502 || !strings.Contains(string(r.Body), "answer is not JSON matching the schema") {
		t.Fatalf("json-guard with the model's schema: %d %s", r.Status, r.Body)
	}
	r = chat(t, g, "schemaless-echo", "hi", "")
	if r.Status != 502 || !strings.Contains(string(r.Body), `neither the config nor model \"schemaless-echo\" has a schema`) {
		t.Fatalf("json-guard without any schema: %d %s", r.Status, r.Body)
	}

	// A WASM adapter: the gateway makes the HTTP call the plugin describes.
	if got := answer(t, chat(t, g, "custom-api", "adapted", "")); !strings.HasPrefix(got, "custom: ") || !strings.Contains(got, "adapted") {
		t.Fatalf("adapter: %q", got)
	}

	plugins := g.Admin("GET", "/api/plugins", nil).JSON(t)["data"].([]any)
	byName := map[string]map[string]any{}
	for _, p := range plugins {
		m := p.(map[string]any)
		byName[m["name"].(string)] = m
	}
	if s := byName["summarizer"]; s["kind"] != "wasm" || s["calls"].(float64) < 2 || !strings.Contains(fmt.Sprint(s["roles"]), "infer") {
		t.Fatalf("plugin stats: %v", s)
	}
	// What iom_describe says of a plugin is shown: its own name, version and roles.
	if d, ok := byName["summarizer"]["describe"].(map[string]any); !ok || d["name"] == "" || d["version"] == "" ||
		!strings.Contains(fmt.Sprint(d["roles"]), "infer") {
		t.Fatalf("the plugin's description: %v", byName["summarizer"])
	}
}

// A reload that changes a WASM plugin gives the models it serves the new plugin: they answer
// through it at once, not through the one the reload closed.
func TestWASMModelAfterPluginReload(t *testing.T) {
	dir := examplePlugins(t)
	g := gt.Start(t, "", fmt.Sprintf(`plugins:
  - {name: embeddings, path: %s/embeddings.wasm, config: {dimensions: 64}}
models:
  - {id: local-embeddings, name: Embeddings, provider: "wasm:embeddings", modelType: embedding}
`, dir))
	dimensions := func() int {
		t.Helper()
		r := g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"local-embeddings","input":"a reload"}`)
		var e struct {
			Data []struct{ Embedding []float64 } `json:"data"`
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &e) != nil || len(e.Data) != 1 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		return len(e.Data[0].Embedding)
	}
	if n := dimensions(); n != 64 {
		t.Fatalf("%d dimensions before the reload", n)
	}
	cfg, err := os.ReadFile(g.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.Config, []byte(strings.Replace(string(cfg), "dimensions: 64", "dimensions: 32", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := dimensions(); n != 32 {
		t.Fatalf("%d dimensions after the reload", n)
	}
}

// An error object's status from a transform refuses the request with that status: the plugin's
// verdict, not an upstream failure, so no fallback is tried and the upstream is never called
// (ABI.md §5). The transform is the ABI's own hand-written example.
func TestTransformRefusal(t *testing.T) {
	f, _ := fakeupstream.StartOpenAI()
	t.Cleanup(f.Close)
	g := gt.Start(t, "", fmt.Sprintf(`plugins:
  - {name: guard, path: ../wasm/testdata/sizeguard.wasm}
models:
  - {id: guarded, name: Guarded, endpoint: %[1]s, provider: openai, transforms: {request: [guard]}, fallbacks: [direct]}
  - {id: direct, name: Direct, endpoint: %[1]s, provider: openai}
`, f.URL))
	if got := answer(t, chat(t, g, "guarded", "small enough", "")); got != "echo: small enough" {
		t.Fatalf("a small request: %q", got)
	}
	calls := f.Count()
	r := chat(t, g, "guarded", strings.Repeat("too long ", 600), "")
	if r.Status != 413 || !strings.Contains(string(r.Body), `"code":"too_large"`) ||
		!strings.Contains(string(r.Body), "request too large for this model") || f.Count() != calls {
		t.Fatalf("a refused request: %d %s (upstream calls %d → %d)", r.Status, r.Body, calls, f.Count())
	}
}

// A guest's crash message (what a Go guest's panic writes to stderr) is for the operator: the
// client is told which plugin failed and how, and the call's record has the guest's words.
func TestGuestStderrStaysPrivate(t *testing.T) {
	wasmPath := filepath.Join(t.TempDir(), "faults.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", wasmPath, "./wasm/testdata/faults")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the guest: %v\n%s", err, out)
	}
	f, _ := fakeupstream.StartOpenAI()
	t.Cleanup(f.Close)
	g := gt.Start(t, "", fmt.Sprintf(`plugins:
  - {name: crashy, path: %s}
models:
  - {id: m, name: M, endpoint: %s, provider: openai, transforms: {request: [crashy]}}
`, wasmPath, f.URL))
	r := chat(t, g, "m", "hello", `,"fault":"panic"`)
	if r.Status != 502 || !strings.Contains(string(r.Body), `plugin \"crashy\" failed (trap)`) ||
		strings.Contains(string(r.Body), "nil map") || strings.Contains(string(r.Body), "panic") {
		t.Fatalf("a guest's panic: %d %s", r.Status, r.Body)
	}
	g.Flush()
	recs := g.Admin("GET", "/api/executions?model=m&limit=10", nil)
	if !strings.Contains(string(recs.Body), "nil map") {
		t.Fatalf("the call's record should keep the guest's words: %s", recs.Body)
	}
}

func TestProcessPlugins(t *testing.T) {
	dir := examplePlugins(t)
	f, _ := fakeupstream.StartOpenAI()
	t.Cleanup(f.Close)
	f.Chunks.Store(4)
	g := gt.Start(t, "", fmt.Sprintf(`plugins:
  - {name: prov, process: %[1]s/process-provider}
  - {name: filter, process: %[1]s/process-transformer, config: {words: [darn], replacement: "****"}}
  - {name: blocker, process: %[1]s/process-transformer, config: {words: [darn], block: true}}
models:
  - id: via-plugin
    name: Through a process provider
    provider: "plugin:prov"
    endpoint: %[2]s
    upstreamModel: echo-through-plugin
    retry: {attempts: 0}
    fallbacks: [direct]
  - id: direct
    name: Direct
    endpoint: %[2]s
    provider: openai
  - id: filtered
    name: Filtered
    endpoint: %[2]s
    provider: openai
    transforms: {request: [filter]}
  - id: strict
    name: Strict
    endpoint: %[2]s
    provider: openai
    transforms: {request: [blocker]}
`, dir, f.URL))
	if got := answer(t, chat(t, g, "via-plugin", "through the plugin", "")); got != "echo: through the plugin" {
		t.Fatalf("process provider: %q", got)
	}
	if !strings.Contains(string(f.Last().Body), "echo-through-plugin") {
		t.Fatalf("the plugin should call the upstream with the upstream model: %s", f.Last().Body)
	}
	r := chat(t, g, "via-plugin", "stream through the plugin", `,"stream":true,"stream_options":{"include_usage":true}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"prompt_tokens":4`) || !strings.HasSuffix(string(r.Body), "data: [DONE]\n\n") {
		t.Fatalf("streamed through the plugin: %d %s", r.Status, r.Body)
	}
	answer(t, chat(t, g, "filtered", "well darn it", ""))
	if body := string(f.Last().Body); strings.Contains(body, "darn") || !strings.Contains(body, "****") {
		t.Fatalf("the filter should mask the word upstream: %s", body)
	}
	// A transformer's error result reaches the client with its code and its 4xx status; a
	// request it leaves alone ({}) goes upstream unchanged.
	calls := f.Count()
	if r := chat(t, g, "strict", "well darn it", ""); r.Status != 400 || !strings.Contains(string(r.Body), `"code":"content_blocked"`) ||
		!strings.Contains(string(r.Body), "blocked word") || f.Count() != calls {
		t.Fatalf("a blocked request: %d %s (upstream calls %d → %d)", r.Status, r.Body, calls, f.Count())
	}
	if got := answer(t, chat(t, g, "strict", "all fine here", "")); got != "echo: all fine here" {
		t.Fatalf("a request the blocker leaves alone: %q", got)
	}

	// kill -9 the provider during a bounded loop of requests: every request still succeeds (the
	// ones in flight fall back), and the plugin is back within a second.
	pid := func() int {
		for _, p := range g.Admin("GET", "/api/plugins", nil).JSON(t)["data"].([]any) {
			m := p.(map[string]any)
			if m["name"] == "prov" && m["state"] == "running" {
				n, _ := m["pid"].(float64)
				return int(n)
			}
		}
		return 0
	}
	old := pid()
	if old == 0 {
		t.Fatal("the provider plugin is not running")
	}
	var wg sync.WaitGroup
	failures := make(chan string, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				r := chat(t, g, "via-plugin", fmt.Sprintf("worker %d request %d", w, i), "")
				if r.Status != 200 {
					failures <- fmt.Sprintf("%d %s", r.Status, r.Body)
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	syscall.Kill(old, syscall.SIGKILL)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("a request failed although it has a fallback: %s", f)
	}
	gt.Eventually(t, 3*time.Second, "the plugin to come back", func() bool { p := pid(); return p != 0 && p != old })
	if got := answer(t, chat(t, g, "via-plugin", "after the restart", "")); got != "echo: after the restart" {
		t.Fatalf("after the restart: %q", got)
	}
	g.Flush()
	fellBack := 0
	for _, rec := range g.Admin("GET", "/api/executions?model=via-plugin&limit=500", nil).JSON(t)["data"].([]any) {
		if rec.(map[string]any)["fallback"] == "direct" {
			fellBack++
		}
	}
	t.Logf("%d requests fell back while the plugin restarted", fellBack)
	p := pid()
	g.Stop()
	if err := syscall.Kill(p, 0); err == nil {
		t.Fatalf("plugin process %d outlived the gateway", p)
	}
}
