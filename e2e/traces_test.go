package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// jaegerBinary is Jaeger v2, built from the tools module by make jaeger: IOM_JAEGER, else
// ../bin/jaeger. Without it the trace tests are skipped, unless IOM_REQUIRE_JAEGER=1, which
// make test-go sets.
func jaegerBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("IOM_JAEGER")
	if path == "" {
		path, _ = filepath.Abs("../bin/jaeger")
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("IOM_REQUIRE_JAEGER") == "1" {
			t.Fatalf("Jaeger is required (IOM_REQUIRE_JAEGER=1) but %s is missing: make jaeger", path)
		}
		t.Skipf("no Jaeger at %s (make jaeger builds it)", path)
	}
	return path
}

// jaeger is a running Jaeger v2: an OTLP receiver and its query API, spans kept in memory.
type jaeger struct {
	otlpGRPC, otlpHTTP, query string // host:port
}

// freePort returns a port of 127.0.0.1 free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startJaeger runs Jaeger with the all-in-one setup cut down to what the tests use (OTLP in,
// memory storage, the query API), each on a free port of 127.0.0.1, and waits for its query API.
func startJaeger(t *testing.T) *jaeger {
	t.Helper()
	bin := jaegerBinary(t)
	j := &jaeger{otlpGRPC: freePort(t), otlpHTTP: freePort(t), query: freePort(t)}
	dir := t.TempDir()
	config := fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics: {level: none}
    logs: {level: warn}
extensions:
  jaeger_storage:
    backends:
      memstore: {memory: {max_traces: 10000}}
  jaeger_query:
    storage: {traces: memstore}
    http: {endpoint: "%s"}
    grpc: {endpoint: "%s"}
receivers:
  otlp:
    protocols:
      grpc: {endpoint: "%s"}
      http: {endpoint: "%s"}
processors:
  batch: {timeout: 50ms}
exporters:
  jaeger_storage_exporter: {trace_storage: memstore}
`, j.query, freePort(t), j.otlpGRPC, j.otlpHTTP)
	path := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "--config", path)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + j.query + "/api/services")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return j
			}
		}
		select {
		case <-exited:
			t.Fatalf("jaeger exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jaeger's query API did not answer within 30s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// span is a span as Jaeger's query API answers it.
type span struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
	ProcessID string `json:"processID"`
}

func (s span) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

func (s span) tag(key string) any {
	for _, t := range s.Tags {
		if t.Key == key {
			return t.Value
		}
	}
	return nil
}

// trace waits until Jaeger holds at least n spans of trace id, and returns them.
func (j *jaeger) trace(t *testing.T, id string, n int) []span {
	t.Helper()
	var got []span
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + j.query + "/api/traces/" + id)
		if err == nil {
			var body struct {
				Data []struct {
					Spans []span `json:"spans"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			got = nil
			for _, d := range body.Data {
				got = append(got, d.Spans...)
			}
			if err == nil && len(got) >= n {
				return got
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s: %d spans after 20s, want %d: %+v", id, len(got), n, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// named returns the spans of trace whose operation is name.
func named(trace []span, name string) []span {
	var out []span
	for _, s := range trace {
		if s.OperationName == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the span of trace named name, failing unless there is exactly one.
func one(t *testing.T, trace []span, name string) span {
	t.Helper()
	s := named(trace, name)
	if len(s) != 1 {
		var names []string
		for _, x := range trace {
			names = append(names, x.OperationName)
		}
		t.Fatalf("%d spans named %q in %v", len(s), name, names)
	}
	return s[0]
}

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// A gateway exporting traces to a real Jaeger: a chat whose primary model fails (retried once)
// and falls back, carrying the client's traceparent; a stream; a pipeline with a WASM transform
// step; a pipeline with a process plugin's step. Jaeger gets each request's server span, a client
// span per upstream attempt, a span per pipeline step and plugin call, in one trace with the
// GenAI attributes; the client's trace is continued, and the upstream and the process plugin
// each saw a traceparent naming the span that called them.
func TestTracesInJaeger(t *testing.T) {
	j := startJaeger(t)
	plugins := examplePlugins(t)
	// The host tests' plugin answers a transform whose input says SHOW_TRACE with the trace
	// context its call carried.
	mcpServer := filepath.Join(t.TempDir(), "mcpserver")
	if out, err := exec.Command("go", "build", "-o", mcpServer, "../gateway/server/testdata/mcpserver").CombinedOutput(); err != nil {
		t.Fatalf("go build mcpserver: %v\n%s", err, out)
	}
	showTrace := filepath.Join(t.TempDir(), "testplugin")
	if out, err := exec.Command("go", "build", "-o", showTrace, "../plugins/testdata/testplugin").CombinedOutput(); err != nil {
		t.Fatalf("go build testplugin: %v\n%s", err, out)
	}
	f, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	f.Faults = func(_ int64, r *fakeupstream.Received) fakeupstream.Fault {
		if bytes.Contains(r.Body, []byte(`"broken-v1"`)) {
			return fakeupstream.Fault{Status: 503}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", fmt.Sprintf(`telemetry:
  enabled: true
  serviceName: iom-e2e
  sampling: 1
  content: true
  traceUrl: "http://%[1]s/trace/{traceId}"
  otlp: {endpoint: "http://%[2]s", protocol: grpc}
plugins:
  - {name: pii-redact-go, path: %[3]s/pii-redact-go.wasm}
  - {name: show-trace, process: %[5]s}
mcpServers:
  - {id: local, command: ["%[6]s"]}
models:
  - id: primary
    name: Primary that fails
    endpoint: %[4]s
    provider: openai
    upstreamModel: broken-v1
    retry: {attempts: 1, backoffMs: 1}
    fallbacks: [echo]
  - {id: echo, name: Echo, endpoint: %[4]s, provider: openai, upstreamModel: echo-v1, inputCostPerToken: 0.001, outputCostPerToken: 0.002}
pipelines:
  - id: redact-then-ask
    name: Redact then ask
    nodes:
      - {id: in, type: input}
      - {id: redact, type: transform, data: {plugin: pii-redact-go, input: '{"messages": [{"role": "user", "content": input.text}]}'}}
      - {id: ask, type: model, data: {model: echo, input: 'steps.redact.output.messages[0].content'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: redact}
      - {source: redact, target: ask}
      - {source: ask, target: out}
  - id: show-trace
    name: A process plugin's view of the trace
    nodes:
      - {id: in, type: input}
      - {id: show, type: transform, data: {plugin: show-trace, input: '"SHOW_TRACE"'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: show}
      - {source: show, target: out}
  - id: use-tool
    name: A tool step
    nodes:
      - {id: in, type: input}
      - {id: call, type: tool, data: {tool: local__echo, arguments: '{"text": input.text}'}}
      - {id: out, type: output}
    edges:
      - {source: in, target: call}
      - {source: call, target: out}
`, j.query, j.otlpGRPC, plugins, f.URL, showTrace, mcpServer))

	post := func(path, body, traceparent string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", g.DataURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+gt.Key)
		req.Header.Set("Content-Type", "application/json")
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		resp, err := gt.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.Write(sc.Bytes())
			b.WriteByte('\n')
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b.Bytes())
		}
		return resp, b.Bytes()
	}

	// The fallback chat, continuing the client's trace.
	const clientTrace, clientSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	resp, _ := post("/v1/chat/completions", `{"model":"primary","messages":[{"role":"user","content":"hello traces"}]}`,
		"00-"+clientTrace+"-"+clientSpan+"-01")
	if got := resp.Header.Get("X-Iom-Trace-Id"); got != clientTrace || resp.Header.Get("X-Iom-Fallback") != "echo" {
		t.Fatalf("x-iom-trace-id %q, fallback %q", got, resp.Header.Get("X-Iom-Fallback"))
	}
	var upstreamParents []string // the parent span ids the upstream saw, in order
	for _, r := range f.Received() {
		m := traceparentRE.FindStringSubmatch(r.Header["traceparent"])
		if m == nil || m[1] != clientTrace {
			t.Fatalf("the upstream got traceparent %q", r.Header["traceparent"])
		}
		upstreamParents = append(upstreamParents, m[2])
	}
	if len(upstreamParents) != 3 {
		t.Fatalf("%d upstream calls, want 2 to the primary and 1 to the fallback", len(upstreamParents))
	}

	// A stream, and the pipeline.
	resp, stream := post("/v1/chat/completions", `{"model":"echo","stream":true,"messages":[{"role":"user","content":"stream me please"}]}`, "")
	streamTrace := resp.Header.Get("X-Iom-Trace-Id")
	if !bytes.Contains(stream, []byte("data: [DONE]")) {
		t.Fatalf("stream %s", stream)
	}
	resp, _ = post("/v1/pipelines/redact-then-ask/run", `{"text":"mail me at someone@example.com"}`, "")
	pipelineTrace := resp.Header.Get("X-Iom-Trace-Id")
	execution := resp.Header.Get("X-Iom-Execution-Id")
	gt.Eventually(t, 10*time.Second, "the execution record's trace id", func() bool {
		x := g.Admin("GET", "/api/executions/"+execution, nil)
		return x.Status == 200 && x.JSON(t)["traceId"] == pipelineTrace
	})
	if st := g.Admin("GET", "/api/status", nil).JSON(t); st["traceUrl"] != "http://"+j.query+"/trace/{traceId}" {
		t.Fatalf("the status's traceUrl: %v", st["traceUrl"])
	}
	if f.Last().Header["traceparent"] == "" || !strings.Contains(f.Last().Header["traceparent"], pipelineTrace) {
		t.Fatalf("the pipeline's upstream call got traceparent %q, want one of trace %s", f.Last().Header["traceparent"], pipelineTrace)
	}
	resp, shown := post("/v1/pipelines/show-trace/run", `{}`, "")
	processTrace := resp.Header.Get("X-Iom-Trace-Id")
	var run struct {
		Output struct {
			Traceparent []string `json:"traceparent"`
		} `json:"output"`
	}
	if err := json.Unmarshal(shown, &run); err != nil || len(run.Output.Traceparent) != 1 {
		t.Fatalf("the process plugin's answer: %v %s", err, shown)
	}
	processParent := traceparentRE.FindStringSubmatch(run.Output.Traceparent[0])
	if processParent == nil || processParent[1] != processTrace {
		t.Fatalf("the process plugin got traceparent %q, want one of trace %s", run.Output.Traceparent[0], processTrace)
	}
	var toolTrace string // once the MCP server is connected, a tool step's run
	gt.Eventually(t, 15*time.Second, "a tool step's run", func() bool {
		r := g.Data("POST", "/v1/pipelines/use-tool/run", gt.Key, `{"text":"traced"}`)
		toolTrace = r.Header.Get("X-Iom-Trace-Id")
		return r.Status == 200
	})
	g.Stop() // exports what is queued

	// The fallback chat: the server span, child of the client's; three client spans under it.
	trace := j.trace(t, clientTrace, 4)
	server := one(t, trace, "POST /v1/chat/completions")
	if server.parent() != clientSpan {
		t.Errorf("the server span's parent is %q, want the client's %s", server.parent(), clientSpan)
	}
	for k, want := range map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "primary",
		"gen_ai.response.model": "echo", "gen_ai.provider.name": "openai", "iom.key.id": "config:app", "iom.org": "acme",
		"iom.fallback": "echo", "http.response.status_code": float64(200)} {
		if got := server.tag(k); got != want {
			t.Errorf("server span %s = %v, want %v", k, got, want)
		}
	}
	if in, _ := server.tag("gen_ai.usage.input_tokens").(float64); in <= 0 {
		t.Errorf("server span input tokens %v", server.tag("gen_ai.usage.input_tokens"))
	}
	if in, _ := server.tag("gen_ai.input.messages").(string); !strings.Contains(in, "hello traces") {
		t.Errorf("with content: true the server span has the request: %q", in)
	}
	if c, _ := server.tag("iom.cost_usd").(float64); c <= 0 {
		t.Errorf("server span cost %v", server.tag("iom.cost_usd"))
	}
	failed := named(trace, "chat broken-v1")
	ok := one(t, trace, "chat echo-v1")
	if len(failed) != 2 {
		t.Fatalf("%d attempts on the primary, want 2 (one retry)", len(failed))
	}
	attempts := []span{failed[0], failed[1], ok}
	for _, a := range attempts {
		if a.parent() != server.SpanID || a.tag("span.kind") != "client" {
			t.Errorf("attempt %s: parent %s, kind %v; want the server span %s, client", a.OperationName, a.parent(), a.tag("span.kind"), server.SpanID)
		}
	}
	for _, a := range failed {
		if a.tag("error") != true || a.tag("http.response.status_code") != float64(503) || a.tag("gen_ai.request.model") != "broken-v1" {
			t.Errorf("failed attempt tags %+v", a.Tags)
		}
	}
	if ok.tag("error") == true || ok.tag("gen_ai.request.model") != "echo-v1" || ok.tag("gen_ai.usage.output_tokens") == nil {
		t.Errorf("answering attempt tags %+v", ok.Tags)
	}
	// Each upstream request's traceparent names its own attempt's span.
	var attemptIDs []string
	for _, a := range attempts {
		attemptIDs = append(attemptIDs, a.SpanID)
	}
	slices.Sort(attemptIDs)
	slices.Sort(upstreamParents)
	if !slices.Equal(attemptIDs, upstreamParents) {
		t.Errorf("the upstream saw parents %v, the attempts are %v", upstreamParents, attemptIDs)
	}

	// The stream: its client span ends with the stream, so it has the usage of the whole stream.
	trace = j.trace(t, streamTrace, 2)
	server = one(t, trace, "POST /v1/chat/completions")
	if server.parent() != "" {
		t.Errorf("a request without traceparent starts a trace: parent %q", server.parent())
	}
	ok = one(t, trace, "chat echo-v1")
	if ok.parent() != server.SpanID || ok.tag("gen_ai.usage.output_tokens") == nil || server.tag("gen_ai.usage.output_tokens") == nil {
		t.Errorf("stream spans: server %+v, attempt %+v", server.Tags, ok.Tags)
	}

	// The pipeline: a span per step, the WASM transform under its step, the model call under its.
	trace = j.trace(t, pipelineTrace, 5)
	server = one(t, trace, "POST /v1/pipelines/{id}/run")
	redact := one(t, trace, "pipeline step redact")
	ask := one(t, trace, "pipeline step ask")
	transform := one(t, trace, "transform pii-redact-go")
	call := one(t, trace, "chat echo-v1")
	if redact.parent() != server.SpanID || ask.parent() != server.SpanID || transform.parent() != redact.SpanID || call.parent() != ask.SpanID {
		t.Errorf("pipeline structure: server %s, redact %s→%s, ask %s→%s, transform →%s, call →%s",
			server.SpanID, redact.SpanID, redact.parent(), ask.SpanID, ask.parent(), transform.parent(), call.parent())
	}
	if transform.tag("iom.plugin.kind") != "wasm" || redact.tag("iom.pipeline") != "redact-then-ask" ||
		ask.tag("gen_ai.request.model") != "echo" {
		t.Errorf("pipeline tags: transform %+v, redact %+v, ask %+v", transform.Tags, redact.Tags, ask.Tags)
	}

	// The process plugin's call: its traceparent names the transform's span.
	trace = j.trace(t, processTrace, 3)
	if shown := one(t, trace, "transform show-trace"); shown.SpanID != processParent[2] || shown.tag("iom.plugin.kind") != "process" {
		t.Errorf("the process plugin saw parent %s; the transform span is %s (%+v)", processParent[2], shown.SpanID, shown.Tags)
	}

	// The tool step: the MCP call's client span under the step's.
	trace = j.trace(t, toolTrace, 3)
	step, tool := one(t, trace, "pipeline step call"), one(t, trace, "tools/call local__echo")
	if tool.parent() != step.SpanID || tool.tag("gen_ai.tool.name") != "local__echo" || tool.tag("iom.mcp.server") != "local" {
		t.Errorf("tool spans: step %s, tool →%s %+v", step.SpanID, tool.parent(), tool.Tags)
	}

	// Every span is the gateway's service's.
	resp2, err := http.Get("http://" + j.query + "/api/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var services struct{ Data []string }
	_ = json.NewDecoder(resp2.Body).Decode(&services)
	if !slices.Contains(services.Data, "iom-e2e") {
		t.Errorf("services %v", services.Data)
	}
}
