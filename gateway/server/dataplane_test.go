package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

func startFake(t *testing.T) *fakeupstream.OpenAI {
	t.Helper()
	f, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// models returns a models section with an OpenAI-compatible model "echo" on the fake, configured
// with a full operation URL as endpoint, as the seed's sample is. The provider-wide key goes to
// the fake, which keyHosts lists.
func models(f *fakeupstream.OpenAI, extra string) string {
	return `providers:
  openai:
    apiKey: sk-provider-default-000
    keyHosts: ["` + strings.TrimSuffix(strings.TrimPrefix(f.URL, "http://"), "/v1") + `"]
models:
  - id: echo
    name: Echo
    endpoint: ` + f.URL + `/chat/completions
    provider: openai
    upstreamModel: echo-upstream-v1
    modelType: llm
    owner: Fake
    inputCostPerToken: 0.001
    outputCostPerToken: 0.002
    apiKey: sk-model-key-000
  - id: embed
    name: Embedder
    endpoint: ` + f.URL + `
    provider: openai
    modelType: embedding
    costPerToken: 0.0001
` + extra
}

func TestChatCompletionRelaysAndRecords(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"hello big world"}],"temperature":0.5}`)
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	body := r.JSON(t)
	msg := body["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if msg["content"] != "echo: hello big world" {
		t.Fatalf("content %v", msg["content"])
	}
	up := f.Last()
	if up.Path != "/v1/chat/completions" || up.Authorization != "Bearer sk-model-key-000" || up.Header["accept"] != "" {
		t.Fatalf("upstream got path %q auth %q headers %v", up.Path, up.Authorization, up.Header)
	}
	var sent map[string]any
	json.Unmarshal(up.Body, &sent)
	if sent["model"] != "echo-upstream-v1" || sent["temperature"] != 0.5 {
		t.Fatalf("upstream body %s", up.Body)
	}
	if _, ok := sent["stream_options"]; ok {
		t.Fatalf("non-streaming request must not get stream_options: %s", up.Body)
	}
	// 3 input words, 4 output words ("echo: hello big world"): 3*0.001 + 4*0.002
	h := r.Header
	if h.Get("x-iom-model") != "echo" || h.Get("x-iom-cache") != "miss" || h.Get("x-iom-request-id") == "" ||
		h.Get("x-iom-cost-usd") != "0.011" || h.Get("x-iom-latency-ms") == "" {
		t.Fatalf("headers %v", h)
	}
	id := h.Get("x-iom-request-id")
	g.Flush()
	rec := g.Admin("GET", "/api/executions/"+id, nil).JSON(t)
	if rec["model"] != "echo" || rec["provider"] != "openai" || rec["key"] != "app" || rec["org"] != "acme" ||
		rec["status"] != "ok" || rec["inputTokens"] != 3.0 || rec["outputTokens"] != 4.0 || rec["costUsd"] != 0.011 {
		t.Fatalf("record %v", rec)
	}
}

// The upstream gets the client's body byte for byte when it names the upstream's model already,
// and a rebuilt one otherwise, which keeps every member, escaped keys included.
func TestUpstreamBody(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, `  - id: same
    name: Same name upstream
    endpoint: `+f.URL+`
    provider: openai
`))
	sent := `{ "model": "same",  "messages": [{"role":"user","content":"hi"}], "a\"b\u00e9": 1 }`
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, sent); r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if got := string(f.Last().Body); got != sent {
		t.Fatalf("upstream body %s, want the client's %s", got, sent)
	}
	if r := g.Data("POST", "/v1/chat/completions", gt.Key, strings.Replace(sent, `"same"`, `"echo"`, 1)); r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var up map[string]any
	if err := json.Unmarshal(f.Last().Body, &up); err != nil || up["model"] != "echo-upstream-v1" || up["a\"bé"] != 1.0 {
		t.Fatalf("rebuilt upstream body %s: %v", f.Last().Body, err)
	}
}

func TestProviderDefaultKeyAndOperations(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	r := g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"embed","input":["a b","c"]}`)
	if r.Status != 200 {
		t.Fatalf("embeddings: %d %s", r.Status, r.Body)
	}
	if up := f.Last(); up.Path != "/v1/embeddings" || up.Authorization != "Bearer sk-provider-default-000" {
		t.Fatalf("embeddings went to %q with %q", up.Path, up.Authorization)
	}
	if got := r.Header.Get("x-iom-cost-usd"); got != "0.0003" {
		t.Fatalf("embedding cost %q", got)
	}
	r = g.Data("POST", "/v1/completions", gt.Key, `{"model":"echo","prompt":"say this"}`)
	if r.Status != 200 || f.Last().Path != "/v1/completions" {
		t.Fatalf("completions: %d %s via %s", r.Status, r.Body, f.Last().Path)
	}
}

// sse reads a stream's events; it fails the test on an event not ended by a blank line.
func sse(t *testing.T, body io.Reader, each func(data string)) {
	t.Helper()
	br := bufio.NewReader(body)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			if line != "" {
				t.Fatalf("stream ended mid-line: %q", line)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(line, "data: ") {
			t.Fatalf("unexpected line %q", line)
		}
		blank, err := br.ReadString('\n')
		if err != nil || blank != "\n" {
			t.Fatalf("event %q not ended by a blank line (next %q, %v)", line, blank, err)
		}
		each(strings.TrimSuffix(strings.TrimPrefix(line, "data: "), "\n"))
	}
}

func TestStreamRelaysChunkByChunk(t *testing.T) {
	f := startFake(t)
	f.Chunks.Store(4)
	f.Hold = make(chan struct{})
	g := gt.Start(t, "", models(f, ""))
	req, _ := http.NewRequest("POST", g.DataURL+"/v1/chat/completions",
		strings.NewReader(`{"model":"echo","stream":true,"messages":[{"role":"user","content":"one two three four"}]}`))
	req.Header.Set("Authorization", "Bearer "+gt.Key)
	resp, err := gt.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q", ct)
	}
	// The upstream holds everything after its first chunk: the client must have that chunk now.
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || !strings.Contains(first, `"role":"assistant"`) {
		t.Fatalf("first event %q %v", first, err)
	}
	close(f.Hold)
	var content strings.Builder
	var events []string
	sse(t, io.MultiReader(strings.NewReader("data: x\n"), br), func(d string) {
		events = append(events, d)
		var c struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
			Usage any `json:"usage"`
		}
		if d == "[DONE]" || d == "x" {
			return
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk %q: %v", d, err)
		}
		if len(c.Choices) == 0 {
			t.Fatalf("the usage chunk the gateway asked for must not reach a client that did not: %s", d)
		}
		content.WriteString(c.Choices[0].Delta.Content)
	})
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream did not end with [DONE]: %v", events)
	}
	if content.String() != "echo: one two three four" {
		t.Fatalf("content %q", content.String())
	}
	var sent map[string]any
	json.Unmarshal(f.Last().Body, &sent)
	if so, _ := sent["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Fatalf("the gateway must ask for usage: %s", f.Last().Body)
	}
	if h := f.Last().Header; h["accept"] != "text/event-stream" || h["content-type"] != "application/json" {
		t.Fatalf("the upstream got headers %v", h)
	}
	id := resp.Header.Get("x-iom-request-id")
	g.Flush()
	rec := g.Admin("GET", "/api/executions/"+id, nil).JSON(t)
	if rec["inputTokens"] != 4.0 || rec["outputTokens"] != 5.0 || rec["stream"] != true || rec["status"] != "ok" {
		t.Fatalf("stream record %v", rec)
	}
}

// An upstream that goes quiet in the middle of a stream is cut off after the model's timeout,
// even on a keep-alive connection whose earlier calls left a later deadline armed (deadlines are
// armed lazily): the client gets the first chunk, then an error event, never [DONE].
func TestStreamUpstreamGoesQuiet(t *testing.T) {
	f := startFake(t)
	f.Chunks.Store(4)
	g := gt.Start(t, "", models(f, `  - id: quiet
    name: Quiet
    endpoint: `+f.URL+`
    provider: openai
    timeoutMs: 300
    retry: {attempts: 0}
`))
	for range 3 { // warm the pooled connection with calls that arm its deadlines
		if r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"quiet","messages":[{"role":"user","content":"x"}]}`); r.Status != 200 {
			t.Fatalf("warm-up: %d %s", r.Status, r.Body)
		}
	}
	hold := make(chan struct{})
	f.Hold = hold
	var release sync.Once
	defer release.Do(func() { close(hold) })
	// A missing cut-off then fails the test rather than hang it.
	time.AfterFunc(5*time.Second, func() { release.Do(func() { close(hold) }) })
	start := time.Now()
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"quiet","stream":true,"messages":[{"role":"user","content":"a b c"}]}`)
	took := time.Since(start)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"role":"assistant"`) {
		t.Fatalf("first chunk: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(string(r.Body), `"error"`) || strings.Contains(string(r.Body), "[DONE]") {
		t.Fatalf("a stream cut off must end with an error event: %s", r.Body)
	}
	if took < 250*time.Millisecond || took > 5*time.Second {
		t.Fatalf("the quiet upstream was cut off after %v, want about the 300 ms timeout", took)
	}
}

func TestStreamKeepsUsageChunkWhenAsked(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	r := g.Data("POST", "/v1/chat/completions", gt.Key,
		`{"model":"echo","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a b"}]}`)
	sawUsage := false
	sse(t, strings.NewReader(string(r.Body)), func(d string) {
		if strings.Contains(d, `"choices":[]`) && strings.Contains(d, `"prompt_tokens":2`) {
			sawUsage = true
		}
	})
	if !sawUsage {
		t.Fatalf("client asked for usage and did not get it:\n%s", r.Body)
	}
}

func TestStreamCutAfterFirstByteEndsInErrorEvent(t *testing.T) {
	f := startFake(t)
	f.Faults = func(n int64, r *fakeupstream.Received) fakeupstream.Fault { return fakeupstream.Fault{CutAfter: 2} }
	g := gt.Start(t, "", models(f, ""))
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	var events []string
	sse(t, strings.NewReader(string(r.Body)), func(d string) { events = append(events, d) })
	if len(events) != 3 {
		t.Fatalf("want 2 chunks and an error event, got %q", events)
	}
	last := events[len(events)-1]
	if !strings.HasPrefix(last, `{"error":`) || strings.Contains(string(r.Body), "[DONE]") {
		t.Fatalf("a cut stream must end with an error event and no [DONE]: %q", events)
	}
	g.Flush()
	list := g.Admin("GET", "/api/executions?status=error", nil).JSON(t)["data"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["errorKind"] != "provider" {
		t.Fatalf("the cut stream should be recorded as a provider error: %v", list)
	}
}

func TestBadRequestsGetOpenAIErrors(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	type tc struct {
		name, path, key, body string
		status                int
		param, contains       string
	}
	big := `{"model":"echo","messages":[{"role":"user","content":"` + strings.Repeat("x", 5<<20) + `"}]}`
	cases := []tc{
		{"malformed JSON", "/v1/chat/completions", gt.Key, `{"model":"echo",`, 400, "", "not valid JSON"},
		{"not an object", "/v1/chat/completions", gt.Key, `[1,2]`, 400, "", "JSON object"},
		{"messages not an array", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":"hi"}`, 400, "messages", "must be an array"},
		{"message not an object", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":["hi"]}`, 400, "messages[0]", "must be an object"},
		{"empty messages", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[]}`, 400, "messages", "must not be empty"},
		{"missing model", "/v1/chat/completions", gt.Key, `{"messages":[{"role":"user","content":"x"}]}`, 400, "model", "model"},
		{"model not a string", "/v1/chat/completions", gt.Key, `{"model":7,"messages":[{"role":"user","content":"x"}]}`, 400, "model", "string"},
		{"unknown model", "/v1/chat/completions", gt.Key, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "", "does not exist"},
		{"duplicate model", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"x"}],"model":"embed"}`, 400, "model", "duplicate"},
		{"duplicate model, other case", "/v1/chat/completions", gt.Key, `{"model":"echo","MODEL":"embed","messages":[{"role":"user","content":"x"}]}`, 400, "MODEL", "duplicate"},
		{"duplicate model, escaped", "/v1/chat/completions", gt.Key, `{"model":"echo","mod\u0065l":"embed","messages":[{"role":"user","content":"x"}]}`, 400, "model", "duplicate"},
		{"duplicate stream", "/v1/chat/completions", gt.Key, `{"model":"echo","stream":false,"stream":true,"messages":[{"role":"user","content":"x"}]}`, 400, "stream", "duplicate"},
		{"stream not a boolean", "/v1/chat/completions", gt.Key, `{"model":"echo","stream":"yes","messages":[{"role":"user","content":"x"}]}`, 400, "stream", "boolean"},
		{"embeddings without input", "/v1/embeddings", gt.Key, `{"model":"embed"}`, 400, "input", "input"},
		{"no key", "/v1/chat/completions", "", `{"model":"echo","messages":[{"role":"user","content":"x"}]}`, 401, "", "missing API key"},
		{"bad key", "/v1/chat/completions", "wrong-key-0000000000", `{"model":"echo","messages":[{"role":"user","content":"x"}]}`, 401, "", "invalid API key"},
		{"too large", "/v1/chat/completions", gt.Key, big, 413, "", "larger than"},
		{"unknown path", "/v1/nothing", gt.Key, `{}`, 404, "", "no endpoint"},
	}
	before := f.Count()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := g.Data("POST", c.path, c.key, c.body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			e, ok := r.JSON(t)["error"].(map[string]any)
			if !ok {
				t.Fatalf("no OpenAI error object: %s", r.Body)
			}
			if msg, _ := e["message"].(string); !strings.Contains(msg, c.contains) {
				t.Fatalf("message %q does not say %q", msg, c.contains)
			}
			if _, ok := e["type"].(string); !ok {
				t.Fatalf("no type: %s", r.Body)
			}
			if c.param != "" && e["param"] != c.param {
				t.Fatalf("param %v, want %q", e["param"], c.param)
			}
		})
	}
	if r := g.Data("GET", "/v1/chat/completions", gt.Key, nil); r.Status != 405 {
		t.Fatalf("GET on a POST endpoint: %d", r.Status)
	}
	if f.Count() != before {
		t.Fatalf("rejected requests reached the upstream")
	}
	g.Flush()
	// Each refused request is recorded as the error it was, and nothing else is.
	list := g.Admin("GET", "/api/executions", nil).JSON(t)["data"].([]any)
	for _, raw := range list {
		if rec := raw.(map[string]any); rec["status"] != "error" || rec["httpStatus"].(float64) < 400 {
			t.Fatalf("a refused request's record: %v", rec)
		}
	}
	if len(list) < len(cases)-1 { // the unknown path is the router's, before any endpoint
		t.Fatalf("%d records for %d refused requests", len(list), len(cases))
	}
}

func TestUpstreamFailuresMapToGatewayErrors(t *testing.T) {
	f := startFake(t)
	var current atomic.Pointer[fakeupstream.Fault]
	current.Store(&fakeupstream.Fault{})
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault { return *current.Load() }
	set := func(f fakeupstream.Fault) fakeupstream.Fault { current.Store(&f); return f }
	g := gt.Start(t, "", models(f, `  - id: quick
    name: Quick timeout
    endpoint: `+f.URL+`
    provider: openai
    timeoutMs: 200
    retry: {attempts: 0}
  - id: dead
    name: Nothing listens here
    endpoint: http://127.0.0.1:1/v1
    provider: openai
    retry: {attempts: 0}
`))
	chat := func(model string) gt.Response {
		return g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"`+model+`","messages":[{"role":"user","content":"x"}]}`)
	}
	fault := set(fakeupstream.Fault{Status: 500})
	r := chat("echo")
	if r.Status != 502 || !strings.Contains(string(r.Body), "returned HTTP 500") || !strings.Contains(string(r.Body), "injected failure 500") {
		t.Fatalf("upstream 500: %d %s", r.Status, r.Body)
	}
	fault = set(fakeupstream.Fault{Status: 400, Body: `{"error":{"message":"temperature too high","type":"invalid_request_error","param":"temperature","code":null}}`})
	r = chat("echo")
	if r.Status != 400 || string(r.Body) != fault.Body {
		t.Fatalf("an upstream's OpenAI error must pass through: %d %s", r.Status, r.Body)
	}
	fault = set(fakeupstream.Fault{Status: 429, RetryAfter: "7"})
	r = chat("quick")
	if r.Status != 429 || r.Header.Get("Retry-After") != "7" {
		t.Fatalf("upstream 429: %d %v %s", r.Status, r.Header, r.Body)
	}
	fault = set(fakeupstream.Fault{Delay: time.Second})
	r = chat("quick")
	if r.Status != 504 {
		t.Fatalf("slow upstream: %d %s", r.Status, r.Body)
	}
	fault = set(fakeupstream.Fault{})
	r = chat("dead")
	if r.Status != 502 || !strings.Contains(string(r.Body), "cannot reach upstream") {
		t.Fatalf("refused connection: %d %s", r.Status, r.Body)
	}
}

func TestRetriesAndFallback(t *testing.T) {
	f := startFake(t)
	f.Faults = func(n int64, r *fakeupstream.Received) fakeupstream.Fault {
		if strings.Contains(string(r.Body), `"flaky-upstream"`) && n == 1 {
			return fakeupstream.Fault{Status: 503}
		}
		if strings.Contains(string(r.Body), `"broken-upstream"`) {
			return fakeupstream.Fault{Status: 500}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", models(f, `  - id: flaky
    name: Flaky
    endpoint: `+f.URL+`
    provider: openai
    upstreamModel: flaky-upstream
    retry: {attempts: 2, backoffMs: 1}
  - id: broken
    name: Broken
    endpoint: `+f.URL+`
    provider: openai
    upstreamModel: broken-upstream
    retry: {attempts: 1, backoffMs: 1}
    fallbacks: [echo]
`))
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"flaky","messages":[{"role":"user","content":"x"}]}`)
	if r.Status != 200 || r.Header.Get("x-iom-fallback") != "" {
		t.Fatalf("a retried call: %d %s", r.Status, r.Body)
	}
	r = g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"broken","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	if r.Status != 200 || r.Header.Get("x-iom-fallback") != "echo" || r.Header.Get("x-iom-model") != "echo" {
		t.Fatalf("fallback: %d %v %s", r.Status, r.Header, r.Body)
	}
	g.Flush()
	rec := g.Admin("GET", "/api/executions/"+r.Header.Get("x-iom-request-id"), nil).JSON(t)
	attempts := rec["attempts"].([]any)
	if rec["fallback"] != "echo" || rec["servedBy"] != "echo" || rec["model"] != "broken" || len(attempts) != 3 || rec["retries"] != 1.0 {
		t.Fatalf("fallback record: %v", rec)
	}
}

func TestSecurityPolicies(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, `  - id: acme-only
    name: Acme's model
    endpoint: `+f.URL+`
    provider: openai
    securityPolicy: organization
    org: acme
  - id: private-one
    name: Private
    endpoint: `+f.URL+`
    provider: openai
    securityPolicy: private
    allowedKeys: [other]
`))
	visible := func(key string) string {
		var ids []string
		for _, m := range g.Data("GET", "/v1/models", key, nil).JSON(t)["data"].([]any) {
			ids = append(ids, m.(map[string]any)["id"].(string))
		}
		return strings.Join(ids, ",")
	}
	if got := visible(gt.Key); got != "acme-only,echo,embed" {
		t.Fatalf("acme key sees %s", got)
	}
	if got := visible(gt.OtherKey); got != "echo,embed,private-one" {
		t.Fatalf("globex key sees %s", got)
	}
	for _, c := range []struct {
		key, model string
		status     int
	}{{gt.Key, "acme-only", 200}, {gt.OtherKey, "acme-only", 404}, {gt.Key, "private-one", 404}, {gt.OtherKey, "private-one", 200}} {
		r := g.Data("POST", "/v1/chat/completions", c.key, `{"model":"`+c.model+`","messages":[{"role":"user","content":"x"}]}`)
		if r.Status != c.status {
			t.Errorf("chat %s with %s: %d, want %d", c.model, c.key, r.Status, c.status)
		}
		r = g.Data("POST", "/v1/models/"+c.model+"/invoke", c.key, `{"prompt":"x"}`)
		if r.Status != c.status {
			t.Errorf("invoke %s with %s: %d, want %d", c.model, c.key, r.Status, c.status)
		}
		r = g.Data("GET", "/v1/models/"+c.model, c.key, nil)
		if r.Status != c.status {
			t.Errorf("retrieve %s with %s: %d, want %d", c.model, c.key, r.Status, c.status)
		}
	}
	// A key with an allowlist sees only those models.
	k := g.Admin("POST", "/api/keys", `{"name":"narrow","org":"acme","models":["echo"]}`).JSON(t)
	if got := visible(k["key"].(string)); got != "echo" {
		t.Fatalf("allowlisted key sees %s", got)
	}
}

func TestInvokeValidatesInputSchema(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, `  - id: strict
    name: Strict
    endpoint: `+f.URL+`
    provider: openai
    inputSchema:
      type: object
      properties:
        prompt: {type: string, maxLength: 20}
      required: [prompt]
`))
	r := g.Data("POST", "/v1/models/strict/invoke", gt.Key, `{"prompt":"hello there"}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), "echo: hello there") {
		t.Fatalf("invoke: %d %s", r.Status, r.Body)
	}
	for _, bad := range []string{`{"prompt":5}`, `{"other":"x"}`, `{"prompt":"` + strings.Repeat("y", 30) + `"}`, `not json`} {
		r := g.Data("POST", "/v1/models/strict/invoke", gt.Key, bad)
		if r.Status != 400 {
			t.Errorf("invoke %s: %d %s", bad, r.Status, r.Body)
		}
	}
	r = g.Data("POST", "/v1/models/embed/invoke", gt.Key, `{"input":"one two"}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"embedding"`) {
		t.Fatalf("invoke embedding: %d %s", r.Status, r.Body)
	}
}

func TestMetricsExposition(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"a b c"}]}`)
	g.Data("POST", "/v1/chat/completions", "bad-key-000000000000", `{}`)
	r := gt.Do(t, "GET", g.AdminURL+"/metrics", "", nil)
	text := string(r.Body)
	for _, want := range []string{
		`iom_requests_total{model="echo",provider="openai"} 1`,
		`iom_tokens_total{model="echo",provider="openai",direction="input"} 3`,
		`iom_tokens_total{model="echo",provider="openai",direction="output"} 4`,
		`iom_cost_usd_total{model="echo",provider="openai"} 0.011`,
		`iom_request_duration_seconds_bucket{model="echo",provider="openai",le="+Inf"} 1`,
		`iom_upstream_duration_seconds_count{model="echo",provider="openai"} 1`,
		`iom_request_errors_total{model="none",provider="none",kind="auth"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	g.Admin("POST", "/api/models", `{"name":"Leaky","endpoint":"`+f.URL+`","provider":"openai","apiKey":"sk-leak-check-999"}`)
	g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"leaky","messages":[{"role":"user","content":"x"}]}`)
	g.Admin("POST", "/api/models/leaky/test", nil)
	g.Flush()
	var all strings.Builder
	for _, p := range []string{"/api/models", "/api/models/leaky", "/api/models/echo", "/api/executions", "/api/keys", "/api/status"} {
		all.Write(g.Admin("GET", p, nil).Body)
	}
	all.Write(gt.Do(t, "GET", g.AdminURL+"/metrics", "", nil).Body)
	all.Write(g.Data("GET", "/v1/models", gt.Key, nil).Body)
	all.WriteString(g.Logs())
	for _, s := range []string{"sk-leak-check-999", "sk-model-key-000", "sk-provider-default-000", gt.Key, gt.AdminToken} {
		if strings.Contains(all.String(), s) {
			t.Errorf("secret %q leaked", s)
		}
	}
	if f.Last().Authorization != "Bearer sk-leak-check-999" {
		t.Fatalf("the registered key should have been used upstream: %q", f.Last().Authorization)
	}
}

func TestUpstreamConnectionsAreReused(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	for i := range 10 {
		body := `{"model":"echo","messages":[{"role":"user","content":"x"}]}`
		if i%2 == 1 {
			body = `{"model":"echo","stream":true,"messages":[{"role":"user","content":"x"}]}`
		}
		if r := g.Data("POST", "/v1/chat/completions", gt.Key, body); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	if n := f.Conns(); n != 1 {
		t.Fatalf("10 sequential calls, plain and streamed, opened %d upstream connections; want 1", n)
	}
}
