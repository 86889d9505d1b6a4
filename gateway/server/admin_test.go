package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

func TestRegisterSeedSampleVerbatim(t *testing.T) {
	seed, err := os.ReadFile("testdata/seed-registration.json")
	if err != nil {
		t.Fatal(err)
	}
	g := gt.Start(t, "", "")
	r := g.Admin("POST", "/api/models", seed)
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["id"] != "gpt-4-turbo" || m["provider"] != "openai" || m["hasApiKey"] != true || m["managedBy"] != "api" {
		t.Fatalf("stored model %v", m)
	}
	if _, ok := m["apiKey"]; ok || strings.Contains(string(r.Body), "sk-your-api-key-here") {
		t.Fatalf("the API key must never come back: %s", r.Body)
	}
	if r.Header.Get("Location") != "/api/models/gpt-4-turbo" {
		t.Fatalf("location %q", r.Header.Get("Location"))
	}

	find := func(query string) []string {
		t.Helper()
		r := g.Admin("GET", "/api/models?"+query, nil)
		if r.Status != 200 {
			t.Fatalf("find %s: %d %s", query, r.Status, r.Body)
		}
		var ids []string
		for _, m := range r.JSON(t)["data"].([]any) {
			ids = append(ids, m.(map[string]any)["id"].(string))
		}
		return ids
	}
	if ids := find("q=gpt&type=llm&tag=openai&maxLatencyMs=3000"); len(ids) != 1 || ids[0] != "gpt-4-turbo" {
		t.Fatalf("discovery: %v", ids)
	}
	for _, miss := range []string{"q=claude", "type=embedding", "tag=anthropic", "maxLatencyMs=1000", "maxCostPerToken=0.00001", "policy=private", "status=unavailable"} {
		if ids := find(miss); len(ids) != 0 {
			t.Errorf("%s should match nothing, got %v", miss, ids)
		}
	}
	if ids := find("status=available&owner=openai"); len(ids) != 1 {
		t.Errorf("a model with a key is available until calls fail: %v", ids)
	}

	// The same registration again gets a fresh id.
	if r := g.Admin("POST", "/api/models", seed); r.Status != 201 || r.JSON(t)["id"] != "gpt-4-turbo-2" {
		t.Fatalf("second registration: %d %s", r.Status, r.Body)
	}

	// Update: what GET returned can be sent back; the key is kept when omitted.
	cur := g.Admin("GET", "/api/models/gpt-4-turbo", nil).JSON(t)
	cur["latency"] = 1500
	cur["description"] = "changed"
	r = g.Admin("PUT", "/api/models/gpt-4-turbo", cur)
	if r.Status != 200 || r.JSON(t)["description"] != "changed" || r.JSON(t)["hasApiKey"] != true {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}

	// Test: the upstream is unreachable offline, and the report says so without failing the call.
	rep := g.Admin("POST", "/api/models/gpt-4-turbo/test", nil).JSON(t)
	if rep["ok"] != false || rep["error"] == nil {
		t.Fatalf("test report %v", rep)
	}

	if r := g.Admin("DELETE", "/api/models/gpt-4-turbo-2", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := g.Admin("GET", "/api/models/gpt-4-turbo-2", nil); r.Status != 404 {
		t.Fatalf("deleted model still there: %d", r.Status)
	}
}

func TestModelTestReportsTokensAndCost(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	rep := g.Admin("POST", "/api/models/echo/test", nil).JSON(t)
	tokens := rep["tokens"].(map[string]any)
	if rep["ok"] != true || rep["status"] != 200.0 || !strings.HasPrefix(rep["output"].(string), "echo: Say hello") ||
		tokens["input"] != 5.0 || tokens["output"] != 6.0 || rep["costUsd"] != 0.017 || rep["latencyMs"].(float64) <= 0 {
		t.Fatalf("report %v", rep)
	}
	rep = g.Admin("POST", "/api/models/embed/test", nil).JSON(t)
	if rep["ok"] != true || rep["tokens"].(map[string]any)["input"] != 2.0 {
		t.Fatalf("embedding report %v", rep)
	}
	rep = g.Admin("POST", "/api/models/echo/test", `{"prompt":"custom words here"}`).JSON(t)
	if rep["output"] != "echo: custom words here" {
		t.Fatalf("custom test input: %v", rep)
	}
}

func TestInvalidRegistrationsNameTheField(t *testing.T) {
	g := gt.Start(t, "", "")
	base := func(field, value string) string {
		m := map[string]any{"name": "X", "endpoint": "https://api.example.com/v1", "provider": "openai"}
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatal(err)
		}
		m[field] = v
		b, _ := json.Marshal(m)
		return string(b)
	}
	f := func(body, param, says string) {
		t.Helper()
		r := g.Admin("POST", "/api/models", body)
		if r.Status != 400 {
			t.Errorf("%s: status %d %s", body, r.Status, r.Body)
			return
		}
		e := r.JSON(t)["error"].(map[string]any)
		if (param == "" && e["param"] != nil || param != "" && e["param"] != param) || !strings.Contains(e["message"].(string), says) {
			t.Errorf("%s:\n got param %v message %q\nwant param %q saying %q", body, e["param"], e["message"], param, says)
		}
	}
	f(base("securityPolicy", `"secret"`), "securityPolicy", "public, organization, private")
	f(base("latency", `-5`), "latency", "must not be negative")
	f(base("costPerToken", `-0.1`), "costPerToken", "must not be negative")
	f(base("endpoint", `"ftp://x"`), "endpoint", "http or https")
	f(base("endpoint", `"not a url"`), "endpoint", "")
	f(base("inputSchema", `{"type":"objekt"}`), "inputSchema", "not a valid JSON Schema")
	f(base("outputSchema", `{"properties":5}`), "outputSchema", "not a valid JSON Schema")
	f(base("modelType", `"robot"`), "modelType", "is not one of")
	f(base("latency", `"fast"`), "latency", "expected a number")
	f(base("fallbacks", `["ghost"]`), "fallbacks[0]", `unknown model "ghost"`)
	f(base("tagz", `["x"]`), "tagz", "unknown field")
	f(`{"endpoint":"https://x.example/v1","provider":"openai"}`, "name", "required")
	f(`{"name":"X","endpoint":"https://models.example.com/predict"}`, "provider", "cannot be inferred")
	f(`{"name":"X","name":"Y","endpoint":"https://x.example/v1"}`, "", "duplicate key")
	f(`[`, "", "invalid JSON")
	if list := g.Admin("GET", "/api/models", nil).JSON(t)["data"].([]any); len(list) != 0 {
		t.Fatalf("invalid registrations changed the registry: %v", list)
	}
}

func TestConfigModelsAreReadOnly(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	m := g.Admin("GET", "/api/models/echo", nil).JSON(t)
	if m["managedBy"] != "config" {
		t.Fatalf("config model: %v", m)
	}
	for _, r := range []gt.Response{
		g.Admin("PUT", "/api/models/echo", m),
		g.Admin("DELETE", "/api/models/echo", nil),
		g.Admin("POST", "/api/models", `{"id":"echo","name":"Shadow","endpoint":"`+f.URL+`"}`),
	} {
		if r.Status != 409 {
			t.Errorf("write to a config model: %d %s", r.Status, r.Body)
		}
	}
	if r := g.Admin("PUT", "/api/models/echo", m); !strings.Contains(string(r.Body), "managed by the config file") {
		t.Errorf("the 409 should say why: %s", r.Body)
	}
}

func TestRegistryAndKeysSurviveRestart(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	g := gt.Start(t, dir, models(f, ""))
	r := g.Admin("POST", "/api/models", `{"name":"Kept Model","endpoint":"`+f.URL+`","provider":"openai","apiKey":"sk-kept-0001","tags":["a"],"org":"acme"}`)
	if r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	k := g.Admin("POST", "/api/keys", `{"name":"ci","org":"acme"}`).JSON(t)
	value := k["key"].(string)
	g.Stop()

	g = gt.Start(t, dir, models(f, ""))
	m := g.Admin("GET", "/api/models/kept-model", nil)
	if m.Status != 200 || m.JSON(t)["hasApiKey"] != true || m.JSON(t)["managedBy"] != "api" {
		t.Fatalf("after restart: %d %s", m.Status, m.Body)
	}
	r = g.Data("POST", "/v1/chat/completions", value, `{"model":"kept-model","messages":[{"role":"user","content":"x"}]}`)
	if r.Status != 200 || f.Last().Authorization != "Bearer sk-kept-0001" {
		t.Fatalf("the kept key and model after restart: %d %s (%s)", r.Status, r.Body, f.Last().Authorization)
	}
}

func TestKeysAPI(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	r := g.Admin("POST", "/api/keys", `{"name":"mobile","org":"acme"}`)
	if r.Status != 201 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	k := r.JSON(t)
	value, id := k["key"].(string), k["id"].(string)
	if !strings.HasPrefix(value, "iom-") || k["prefix"] != value[:8] {
		t.Fatalf("new key %v", k)
	}
	chat := func(key string) int {
		return g.Data("POST", "/v1/chat/completions", key, `{"model":"echo","messages":[{"role":"user","content":"x"}]}`).Status
	}
	if s := chat(value); s != 200 {
		t.Fatalf("new key refused: %d", s)
	}
	list := g.Admin("GET", "/api/keys", nil)
	if strings.Contains(string(list.Body), value) || !strings.Contains(string(list.Body), `"mobile"`) {
		t.Fatalf("key listing: %s", list.Body)
	}
	if r := g.Admin("POST", "/api/keys", `{"name":""}`); r.Status != 400 {
		t.Fatalf("a nameless key: %d", r.Status)
	}
	if r := g.Admin("DELETE", "/api/keys/config:app", nil); r.Status != 409 {
		t.Fatalf("revoking a config key: %d", r.Status)
	}
	if r := g.Admin("DELETE", "/api/keys/"+id, nil); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if s := chat(value); s != 401 {
		t.Fatalf("revoked key accepted: %d", s)
	}
	if r := gt.Do(t, "GET", g.AdminURL+"/api/keys", "wrong-admin-token", nil); r.Status != 401 {
		t.Fatalf("admin API with a bad token: %d", r.Status)
	}
}

func TestExecutionsListing(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	for i := range 5 {
		g.Data("POST", "/v1/chat/completions", gt.Key, fmt.Sprintf(`{"model":"echo","messages":[{"role":"user","content":"n%d"}]}`, i))
	}
	g.Data("POST", "/v1/embeddings", gt.OtherKey, `{"model":"embed","input":"x"}`)
	g.Flush()
	page := func(q string) (ids []string, next string) {
		r := g.Admin("GET", "/api/executions?"+q, nil).JSON(t)
		for _, e := range r["data"].([]any) {
			ids = append(ids, e.(map[string]any)["model"].(string))
		}
		return ids, r["next"].(string)
	}
	all, _ := page("")
	if strings.Join(all, ",") != "embed,echo,echo,echo,echo,echo" {
		t.Fatalf("newest first: %v", all)
	}
	first, next := page("limit=4")
	second, end := page("limit=4&before=" + next)
	if len(first) != 4 || len(second) != 2 || end != "" {
		t.Fatalf("pages %v / %v (next %q, end %q)", first, second, next, end)
	}
	if ids, _ := page("key=other"); strings.Join(ids, ",") != "embed" {
		t.Fatalf("by key: %v", ids)
	}
	if ids, _ := page("model=echo&org=acme"); len(ids) != 5 {
		t.Fatalf("by model and org: %v", ids)
	}
	if r := g.Admin("GET", "/api/executions?limit=9999", nil); r.Status != 400 {
		t.Fatalf("bad limit: %d", r.Status)
	}
}

func TestReloadKeepsRunningConfigOnError(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	cfg, _ := os.ReadFile(g.Config)
	good := string(cfg) + `  - id: added
    name: Added
    endpoint: ` + f.URL + `
    provider: openai
`
	os.WriteFile(g.Config, []byte(good), 0o600)
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := g.Admin("GET", "/api/models/added", nil); r.Status != 200 {
		t.Fatalf("reloaded model missing: %d", r.Status)
	}
	os.WriteFile(g.Config, []byte(good+"    fallbacks: [gpt-5]\n"), 0o600)
	err := g.Reload()
	if err == nil || !strings.Contains(err.Error(), `models[2].fallbacks[0]: unknown model "gpt-5"`) {
		t.Fatalf("bad reload: %v", err)
	}
	if r := g.Admin("GET", "/api/models/added", nil); r.Status != 200 {
		t.Fatalf("a failed reload changed the running config: %d", r.Status)
	}
	if !strings.Contains(g.Logs(), "config reload failed") {
		t.Fatalf("a failed reload must be logged")
	}
	st := g.Admin("GET", "/api/status", nil).JSON(t)["lastReload"].(map[string]any)
	if st["ok"] != false {
		t.Fatalf("status should show the failed reload: %v", st)
	}
}

// A reload is one transaction: when a late step fails (here, saving a new key's generated value,
// the credentials file being a directory), nothing of the new config is served, not even the
// parts an earlier step could have taken on.
func TestReloadFailingLateChangesNothing(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	cfg, _ := os.ReadFile(g.Config)
	dataDir := regexp.MustCompile(`dataDir: "([^"]+)"`).FindSubmatch(cfg)[1]
	creds := filepath.Join(string(dataDir), "credentials")
	os.Remove(creds)
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(cfg), "keys:\n", "keys:\n  - name: new-app\n    org: acme\n", 1) + `  - id: added
    name: Added
    endpoint: ` + f.URL + `
    provider: openai
`
	os.WriteFile(g.Config, []byte(next), 0o600)
	err := g.Reload()
	if err == nil || !strings.Contains(err.Error(), "cannot save the generated") {
		t.Fatalf("reload: %v", err)
	}
	if r := g.Admin("GET", "/api/models/added", nil); r.Status != 404 {
		t.Fatalf("a failed reload registered its model: %d", r.Status)
	}
	os.Remove(creds)
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := g.Admin("GET", "/api/models/added", nil); r.Status != 200 {
		t.Fatalf("the reload that succeeds registers the model: %d", r.Status)
	}
}

// TestReloadFailingInPluginsChangesNothing: a reload whose process plugin cannot start fails
// whole: neither that plugin nor the reload's new model is served, and the next good reload
// goes through.
func TestReloadFailingInPluginsChangesNothing(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	cfg, _ := os.ReadFile(g.Config)
	added := "  - id: added\n    name: Added\n    endpoint: " + f.URL + "\n    provider: openai\n"
	os.WriteFile(g.Config, []byte(string(cfg)+added+"plugins:\n  - {name: dud, process: /bin/true}\n"), 0o600)
	if err := g.Reload(); err == nil || !strings.Contains(err.Error(), "dud") {
		t.Fatalf("reload: %v", err)
	}
	if r := g.Admin("GET", "/api/models/added", nil); r.Status != 404 {
		t.Fatalf("a failed reload registered its model: %d", r.Status)
	}
	if r := g.Admin("GET", "/api/plugins", nil); strings.Contains(string(r.Body), "dud") {
		t.Fatalf("a failed reload loaded its plugin: %s", r.Body)
	}
	os.WriteFile(g.Config, []byte(string(cfg)+added), 0o600)
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := g.Admin("GET", "/api/models/added", nil); r.Status != 200 {
		t.Fatalf("the reload that succeeds registers the model: %d", r.Status)
	}
}

// TestAnalyticsAgreeWithRecords: the rollups' totals are the sums of the raw records.
func TestAnalyticsAgreeWithRecords(t *testing.T) {
	f := startFake(t)
	f.Faults = func(n int64, r *fakeupstream.Received) fakeupstream.Fault {
		if strings.Contains(string(r.Body), "fail me") {
			return fakeupstream.Fault{Status: 500}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", pipelineModels(f, ""))
	for i := range 12 {
		content := fmt.Sprintf("question number %d", i)
		if i%4 == 0 {
			content = "fail me"
		}
		model := []string{"writer", "editor"}[i%2]
		key := []string{gt.Key, gt.OtherKey}[i%3%2]
		g.Data("POST", "/v1/chat/completions", key, fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, model, content))
	}
	run(t, g, "draft-edit", `"a b c"`)
	g.Flush()
	records := g.Admin("GET", "/api/executions?kind=invocation&limit=500", nil).JSON(t)["data"].([]any)
	want := map[string][3]float64{} // model → requests, errors, cost
	for _, rec := range records {
		m := rec.(map[string]any)
		w := want[m["servedBy"].(string)]
		w[0]++
		if m["status"] == "error" {
			w[1]++
		}
		w[2] += m["costUsd"].(float64)
		want[m["servedBy"].(string)] = w
	}
	rep := g.Admin("GET", "/api/analytics?range=1h&group=model", nil).JSON(t)
	got := map[string][3]float64{}
	for _, tot := range rep["totals"].([]any) {
		m := tot.(map[string]any)
		got[m["key"].(string)] = [3]float64{m["requests"].(float64), m["errors"].(float64), m["costUsd"].(float64)}
	}
	for model, w := range want {
		g := got[model]
		if g[0] != w[0] || g[1] != w[1] || math.Abs(g[2]-w[2]) > 1e-9 {
			t.Errorf("%s: analytics %v, records %v", model, g, w)
		}
	}
	if len(rep["series"].([]any)) != len(want) {
		t.Errorf("series: %v", rep["series"])
	}
	pipes := g.Admin("GET", "/api/analytics?range=24h&group=pipeline&step=1h", nil).JSON(t)
	if tot := pipes["totals"].([]any); len(tot) != 1 || tot[0].(map[string]any)["key"] != "draft-edit" || tot[0].(map[string]any)["requests"] != 1.0 {
		t.Fatalf("pipeline analytics: %v", pipes["totals"])
	}
	if r := g.Admin("GET", "/api/analytics?group=color", nil); r.Status != 400 {
		t.Fatalf("bad group: %d", r.Status)
	}
}

func TestOpenAPIServed(t *testing.T) {
	g := gt.Start(t, "", "")
	doc := g.Admin("GET", "/api/openapi.json", nil).JSON(t)
	paths := doc["paths"].(map[string]any)
	if doc["openapi"] != "3.0.3" || paths["/v1/chat/completions"] == nil || paths["/api/models/{id}/test"] == nil {
		t.Fatalf("document: %v", doc["openapi"])
	}
}
