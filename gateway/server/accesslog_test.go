package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// accessModels are echo and embed on the fake (see models), a model whose upstream fails and
// falls back to echo, and a pipeline of two echo steps.
func accessModels(f *fakeupstream.OpenAI, accessLog string) string {
	f.Faults = func(_ int64, r *fakeupstream.Received) fakeupstream.Fault {
		if strings.Contains(string(r.Body), "broken-upstream") {
			return fakeupstream.Fault{Status: 500}
		}
		return fakeupstream.Fault{}
	}
	return accessLog + models(f, `  - id: broken
    name: Broken
    endpoint: `+f.URL+`
    provider: openai
    upstreamModel: broken-upstream
    retry: {attempts: 0}
    fallbacks: [echo]
pipelines:
  - id: twice
    name: Twice
    nodes:
      - {id: in, type: input}
      - {id: a, type: model, data: {model: echo}}
      - {id: b, type: model, data: {model: echo, input: '"again: " + steps.a.output.text'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: a}
      - {source: a, target: b}
      - {source: b, target: out}
`)
}

// accessLines reads the access log's JSON lines.
func accessLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a line that is not JSON: %v: %s", err, sc.Bytes())
		}
		lines = append(lines, m)
	}
	return lines
}

// waitLines waits until the log holds n lines, and returns them.
func waitLines(t *testing.T, path string, n int) []map[string]any {
	t.Helper()
	var lines []map[string]any
	gt.Eventually(t, 5*time.Second, "access-log lines", func() bool {
		lines = accessLines(t, path)
		return len(lines) >= n
	})
	return lines
}

// Every data-plane request gets one line with the facts of its record: a chat, a stream, a
// refusal (a wrong key, an unknown model), a fallback, a pipeline run. No line holds a key, the
// admin token, an upstream key or address, or the prompt and its answer; the model listing is
// excluded by default.
func TestAccessLogLines(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "logs", "access.log")
	g := gt.Start(t, dir, accessModels(f, "accessLog: {enabled: true, file: "+logPath+"}\n"))
	const prompt = "the plum-colored zeppelin whispers"
	chat := func(model string, stream bool) gt.Response {
		t.Helper()
		body := map[string]any{"model": model, "stream": stream, "messages": []any{map[string]any{"role": "user", "content": prompt}}}
		if stream {
			body["stream_options"] = map[string]any{"include_usage": true}
		}
		return g.Data("POST", "/v1/chat/completions", gt.Key, body)
	}
	type want struct {
		id, model, servedBy, fallback, op, errorKind string
		status                                       int
		stream                                       bool
	}
	var wants []want
	r := chat("echo", false)
	if r.Status != 200 || !strings.Contains(string(r.Body), prompt) {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	wants = append(wants, want{id: r.Header.Get("x-iom-request-id"), model: "echo", servedBy: "echo", op: "chat", status: 200})
	r = chat("echo", true)
	if r.Status != 200 {
		t.Fatalf("stream: %d %s", r.Status, r.Body)
	}
	wants = append(wants, want{id: r.Header.Get("x-iom-request-id"), model: "echo", servedBy: "echo", op: "chat", status: 200, stream: true})
	r = g.Data("POST", "/v1/chat/completions", "wrong-key-0123456789", map[string]any{"model": "echo", "messages": []any{map[string]any{"role": "user", "content": prompt}}})
	if r.Status != 401 {
		t.Fatalf("wrong key: %d %s", r.Status, r.Body)
	}
	wants = append(wants, want{id: r.Header.Get("x-iom-request-id"), model: "unknown", op: "chat", status: 401, errorKind: "auth"})
	r = chat("no-such-model", false)
	if r.Status != 404 {
		t.Fatalf("unknown model: %d %s", r.Status, r.Body)
	}
	wants = append(wants, want{id: r.Header.Get("x-iom-request-id"), model: "unknown", op: "chat", status: 404, errorKind: "caller"})
	r = chat("broken", false)
	if r.Status != 200 || r.Header.Get("x-iom-fallback") != "echo" {
		t.Fatalf("fallback: %d %v %s", r.Status, r.Header, r.Body)
	}
	wants = append(wants, want{id: r.Header.Get("x-iom-request-id"), model: "broken", servedBy: "echo", fallback: "echo", op: "chat", status: 200})
	if r := g.Data("GET", "/v1/models", gt.Key, nil); r.Status != 200 {
		t.Fatalf("models: %d", r.Status)
	}
	r = g.Data("POST", "/v1/pipelines/twice/run", gt.Key, `"`+prompt+`"`)
	if r.Status != 200 {
		t.Fatalf("pipeline: %d %s", r.Status, r.Body)
	}
	run := r.JSON(t)
	wants = append(wants, want{id: r.Header.Get("x-iom-execution-id"), model: "pipeline:twice", op: "pipeline", status: 200})
	r = chat("pipeline:twice", true)
	if r.Status != 200 || !strings.Contains(string(r.Body), "data: [DONE]") {
		t.Fatalf("pipeline stream: %d %s", r.Status, r.Body)
	}
	wants = append(wants, want{id: r.Header.Get("x-iom-request-id"), model: "pipeline:twice", op: "chat", status: 200, stream: true})

	lines := waitLines(t, logPath, len(wants))
	time.Sleep(50 * time.Millisecond) // a line too many would come now
	if lines = accessLines(t, logPath); len(lines) != len(wants) {
		t.Fatalf("%d lines for %d requests:\n%v", len(lines), len(wants), lines)
	}
	g.Flush()
	for i, w := range wants {
		l := lines[i]
		if l["requestId"] != w.id || l["model"] != w.model || l["servedBy"] != w.servedBy || l["fallback"] != w.fallback ||
			l["op"] != w.op || l["status"] != float64(w.status) || l["errorKind"] != w.errorKind || l["stream"] != w.stream ||
			l["clientIp"] != "127.0.0.1" || l["msg"] != "access" || l["time"] == nil || l["path"] == nil {
			t.Errorf("line %d: got %v, want %+v", i, l, w)
		}
		if w.status >= 400 {
			continue
		}
		if l["keyId"] != "config:app" || l["org"] != "acme" || l["latencyMs"].(float64) <= 0 ||
			l["inputTokens"].(float64) <= 0 || l["outputTokens"].(float64) <= 0 || l["costUsd"].(float64) <= 0 {
			t.Errorf("line %d: key, latency, tokens or cost: %v", i, l)
		}
		if w.model == "pipeline:twice" {
			if w.stream {
				continue
			}
			u := run["usage"].(map[string]any)
			if l["inputTokens"] != u["prompt_tokens"] || l["outputTokens"] != u["completion_tokens"] || l["costUsd"] != run["costUsd"] {
				t.Errorf("pipeline line %v, run %v", l, run)
			}
			continue
		}
		if l["provider"] != "openai" || l["cache"] != "miss" {
			t.Errorf("line %d: provider or cache: %v", i, l)
		}
		rec := g.Admin("GET", "/api/executions/"+w.id, nil).JSON(t)
		for _, k := range [][2]string{{"inputTokens", "inputTokens"}, {"outputTokens", "outputTokens"}, {"costUsd", "costUsd"},
			{"latencyMs", "latencyMs"}, {"keyId", "keyId"}, {"status", "httpStatus"}} {
			if l[k[0]] != rec[k[1]] {
				t.Errorf("line %d: %s is %v, its record's %s %v", i, k[0], l[k[0]], k[1], rec[k[1]])
			}
		}
		if w.stream && l["firstByteMs"].(float64) <= 0 {
			t.Errorf("a stream's first byte: %v", l)
		}
	}
	raw, _ := os.ReadFile(logPath)
	fakeHost := strings.TrimPrefix(strings.TrimSuffix(f.URL, "/v1"), "http://")
	for _, secret := range []string{gt.Key, gt.OtherKey, gt.AdminToken, "wrong-key-0123456789", "sk-model-key-000",
		"sk-provider-default-000", "zeppelin", fakeHost, "echo-upstream-v1"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the access log holds %q:\n%s", secret, raw)
		}
	}
}

// With sample 0 only failures are logged; exclude leaves out the paths it lists (a prefix with
// *), and [] excludes nothing; fields keeps only the fields listed.
func TestAccessLogSampleExcludeFields(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	g := gt.Start(t, dir, accessModels(f, "accessLog: {enabled: true, file: "+logPath+", sample: 0, exclude: [/v1/pipelines/*]}\n"))
	chat := `{"model":"echo","messages":[{"role":"user","content":"hi"}]}`
	for range 3 {
		if r := g.Data("POST", "/v1/chat/completions", gt.Key, chat); r.Status != 200 {
			t.Fatalf("chat: %d %s", r.Status, r.Body)
		}
	}
	if r := g.Data("POST", "/v1/chat/completions", "", chat); r.Status != 401 {
		t.Fatalf("no key: %d", r.Status)
	}
	if r := g.Data("POST", "/v1/pipelines/nothing/run", "", "{}"); r.Status != 401 {
		t.Fatalf("an excluded path: %d", r.Status)
	}
	if r := g.Data("GET", "/v1/models", gt.Key, nil); r.Status != 200 { // sampled out, no longer excluded
		t.Fatalf("models: %d", r.Status)
	}
	if r := g.Data("GET", "/v1/nowhere", gt.Key, nil); r.Status != 404 {
		t.Fatalf("nowhere: %d", r.Status)
	}
	lines := waitLines(t, logPath, 2)
	time.Sleep(50 * time.Millisecond)
	if lines = accessLines(t, logPath); len(lines) != 2 || lines[0]["status"] != 401.0 || lines[0]["errorKind"] != "auth" ||
		lines[1]["status"] != 404.0 || lines[1]["path"] != "/v1/nowhere" || lines[1]["op"] != "other" {
		t.Fatalf("with sample 0, only the failures: %v", lines)
	}

	// A reload applies the new settings: every path, every request, two fields.
	cfg, _ := os.ReadFile(g.Config)
	cfg = bytes.Replace(cfg, []byte("sample: 0, exclude: [/v1/pipelines/*]"), []byte("exclude: [], fields: [requestId, status]"), 1)
	if err := os.WriteFile(g.Config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	r := g.Data("GET", "/v1/models", gt.Key, nil)
	if r.Status != 200 {
		t.Fatalf("models: %d", r.Status)
	}
	lines = waitLines(t, logPath, 3)
	if l := lines[2]; len(lines) != 3 || len(l) != 4 || l["status"] != 200.0 || l["requestId"] != "" ||
		l["level"] != "INFO" || l["msg"] != "access" {
		t.Fatalf("the listing with two fields: %v", lines)
	}

	// Off again: nothing more is written.
	cfg = bytes.Replace(cfg, []byte("enabled: true"), []byte("enabled: false"), 1)
	if err := os.WriteFile(g.Config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	g.Data("POST", "/v1/chat/completions", "", chat)
	time.Sleep(50 * time.Millisecond)
	if lines := accessLines(t, logPath); len(lines) != 3 {
		t.Fatalf("lines after the log was turned off: %v", lines)
	}
}

// A file the gateway cannot create stops the start, and a reload to one keeps the running config.
func TestAccessLogUnwritableFile(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	g := gt.Start(t, dir, accessModels(f, ""))
	cfg, _ := os.ReadFile(g.Config)
	bad := append([]byte("accessLog: {enabled: true, file: "+filepath.Join(blocker, "access.log")+"}\n"), cfg...)
	if err := os.WriteFile(g.Config, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Reload(); err == nil || !strings.Contains(err.Error(), "accessLog.file") {
		t.Fatalf("a reload to a file that cannot be created: %v", err)
	}
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"hi"}]}`); r.Status != 200 {
		t.Fatalf("the gateway still serves: %d %s", r.Status, r.Body)
	}
}

// BenchmarkAccessLog is BenchmarkChatCompletion's gateway with the access log off, on (a JSON
// line to a file per request), and on with sample 0 (the hooks run, no line is written).
func BenchmarkAccessLog(b *testing.B) {
	upstream := serve(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(benchAnswer)
	})
	for _, c := range []struct{ name, accessLog string }{{"off", ""}, {"on", "{enabled: true, file: FILE}"},
		{"sample0", "{enabled: true, file: FILE, sample: 0}"}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			cfg := "log:\n  level: error\n"
			if c.accessLog != "" {
				cfg += "accessLog: " + strings.Replace(c.accessLog, "FILE", filepath.Join(dir, "access.log"), 1) + "\n"
			}
			g := gt.Start(b, dir, cfg+`models:
  - id: bench
    name: Bench
    endpoint: http://`+upstream+`/v1/chat/completions
    provider: openai
    costPerToken: 0.000001
`)
			hc := &fasthttp.HostClient{Addr: g.DataAddr()}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + g.DataAddr() + "/v1/chat/completions")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("Authorization", "Bearer "+gt.Key)
			req.SetBody(benchChat)
			b.ReportAllocs()
			for b.Loop() {
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body())
				}
			}
		})
	}
}
