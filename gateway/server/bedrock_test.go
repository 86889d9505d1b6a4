package server_test

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// The bedrock provider, end to end: a real gateway in front of a fake Bedrock Runtime that
// checks each request's Signature V4 and what Converse refuses, and answers in its wire format
// (event-stream framing for streams).

func startBedrock(t *testing.T) *fakeupstream.Bedrock {
	t.Helper()
	f, err := fakeupstream.StartBedrock("AKIDTEST0000", "bedrock-test-secret")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func bedrockModels(f *fakeupstream.Bedrock) string {
	return `models:
  - id: claude
    name: Claude on Bedrock
    provider: bedrock
    endpoint: ` + f.URL + `
    upstreamModel: "anthropic.claude-3-5-sonnet-20240620-v1:0"
    apiKey: "AKIDTEST0000:bedrock-test-secret"
    config: {region: us-east-1}
    inputCostPerToken: 0.000003
    outputCostPerToken: 0.000015
    cachedInputCostPerToken: 0.0000003
  - {id: titan, name: Titan, provider: bedrock, endpoint: ` + f.URL + `, upstreamModel: "amazon.titan-embed-text-v2:0",
     apiKey: "AKIDTEST0000:bedrock-test-secret", config: {region: us-east-1}, modelType: embedding}
  - {id: bedrock-missing, name: Missing, provider: bedrock, endpoint: ` + f.URL + `, upstreamModel: missing-model,
     apiKey: "AKIDTEST0000:bedrock-test-secret", config: {region: us-east-1}}
  - {id: bedrock-badkey, name: Bad key, provider: bedrock, endpoint: ` + f.URL + `, upstreamModel: amazon.nova-lite-v1:0,
     apiKey: "AKIDTEST0000:a-wrong-secret", config: {region: us-east-1}}
`
}

func TestBedrockProvider(t *testing.T) {
	f := startBedrock(t)
	g := gt.Start(t, "", bedrockModels(f))
	chat := func(body string) gt.Response { return g.Data("POST", "/v1/chat/completions", gt.Key, body) }

	// Plain chat: signed, the model id escaped in the path, the system message as the system
	// prompt, usage with the cache's tokens in the prompt, priced at their rate, and recorded.
	r := chat(`{"model":"claude","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`)
	if got := chatText(t, r); got != "echo: hello there [system: be brief]" {
		t.Fatalf("chat: %q", got)
	}
	up := f.Last()
	if up.Path != "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse" || !strings.HasPrefix(up.Authorization, "AWS4-HMAC-SHA256 Credential=AKIDTEST0000/") ||
		!strings.Contains(string(up.Body), `"system":[{"text":"be brief"}]`) {
		t.Fatalf("upstream request %s %q %s", up.Path, up.Authorization, up.Body)
	}
	// 5 prompt tokens plus 2 of the system's read from the cache, 6 out.
	u := usageOf(t, r)
	if u["prompt_tokens"] != 7.0 || u["completion_tokens"] != 6.0 || u["prompt_tokens_details"].(map[string]any)["cached_tokens"] != 2.0 {
		t.Fatalf("usage %v", u)
	}
	cost := 5*0.000003 + 2*0.0000003 + 6*0.000015
	if c, _ := strconv.ParseFloat(r.Header.Get("X-Iom-Cost-Usd"), 64); math.Abs(c-cost) > 1e-12 {
		t.Fatalf("cost %q", r.Header.Get("X-Iom-Cost-Usd"))
	}
	id := r.Header.Get("X-Iom-Request-Id")
	g.Flush()
	if rec := g.Admin("GET", "/api/executions/"+id, nil).JSON(t); rec["provider"] != "bedrock" || rec["inputTokens"] != 7.0 || rec["outputTokens"] != 6.0 ||
		math.Abs(rec["costUsd"].(float64)-cost) > 1e-12 {
		t.Fatalf("record %v", rec)
	}

	// Streamed through ConverseStream's event-stream framing, with the usage chunk asked for.
	text, usage, finish := streamText(t, chat(`{"model":"claude","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream this please"}]}`))
	if text != "echo: stream this please" || finish != "stop" || usage["prompt_tokens"] != 6.0 || usage["completion_tokens"] != 4.0 {
		t.Fatalf("stream: %q %v %q", text, usage, finish)
	}
	if up := f.Last(); up.Path != "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream" || up.Header["accept"] != "application/vnd.amazon.eventstream" {
		t.Fatalf("stream went to %s (%s)", up.Path, up.Header["accept"])
	}

	// A tool call and its result, plain and streamed (its arguments in pieces), the stream's
	// usage recorded with its cost.
	callID, name, args, finish := toolCall(t, chat(`{"model":"claude",`+weatherTools+`,"messages":[{"role":"user","content":"what is the weather?"}]}`))
	if callID != "tooluse_fake01" || name != "get_weather" || args != `{"city":"Paris"}` || finish != "tool_calls" {
		t.Fatalf("tool call %q %q %q %q", callID, name, args, finish)
	}
	if !strings.Contains(string(f.Last().Body), `"toolSpec":{"name":"get_weather","description":"weather by city","inputSchema":{"json":`) {
		t.Fatalf("tools sent %s", f.Last().Body)
	}
	if got := roundTrip(t, g, "claude", callID, args); got != "the tool said sunny, 21C" {
		t.Fatalf("tool result: %q", got)
	}
	r = chat(`{"model":"claude","stream":true,"stream_options":{"include_usage":true},` + weatherTools + `,"messages":[{"role":"user","content":"weather now?"}]}`)
	text, usage, finish = streamText(t, r)
	if text != `tool:get_weather{"city": "Paris"}` || finish != "tool_calls" || usage["completion_tokens"] != 5.0 {
		t.Fatalf("tool stream: %q %q %v", text, finish, usage)
	}
	id = r.Header.Get("X-Iom-Request-Id")
	g.Flush()
	if rec := g.Admin("GET", "/api/executions/"+id, nil).JSON(t); rec["outputTokens"] != 5.0 || rec["inputTokens"] != 5.0 ||
		math.Abs(rec["costUsd"].(float64)-(5*0.000003+5*0.000015)) > 1e-12 {
		t.Fatalf("stream record %v", rec)
	}

	// A prompt marked for caching gets cache points; the tokens written to the cache count in
	// the prompt, priced at the input rate (the model sets no cache write price).
	r = chat(`{"model":"claude","messages":[{"role":"system","content":[{"type":"text","text":"long rules","cache_control":{"type":"ephemeral"}}]},
		{"role":"user","content":"hello"}]}`)
	if u := usageOf(t, r); !strings.Contains(string(f.Last().Body), `{"cachePoint":{"type":"default"}}`) || u["prompt_tokens"] != 8.0 ||
		u["prompt_tokens_details"].(map[string]any)["cached_tokens"] != 2.0 {
		t.Fatalf("cache points: %v %s", u, f.Last().Body)
	}
	if c, _ := strconv.ParseFloat(r.Header.Get("X-Iom-Cost-Usd"), 64); math.Abs(c-(6*0.000003+2*0.0000003+bedrockCompletionTokens(t, r)*0.000015)) > 1e-12 {
		t.Fatalf("cost with cache writes %q", r.Header.Get("X-Iom-Cost-Usd"))
	}

	// An image, a cut answer, a legacy completion.
	r = chat(`{"model":"claude","messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`)
	if got := chatText(t, r); got != "echo: describe (1 image)" {
		t.Fatalf("image: %q", got)
	}
	r = chat(`{"model":"claude","max_tokens":2,"messages":[{"role":"user","content":"a long story"}]}`)
	if got := chatText(t, r); got != "echo: a" || !strings.Contains(string(r.Body), `"finish_reason":"length"`) {
		t.Fatalf("max_tokens: %q %s", got, r.Body)
	}
	if got := chatText(t, g.Data("POST", "/v1/completions", gt.Key, `{"model":"claude","prompt":"old style"}`)); got != "echo: old style" {
		t.Fatalf("completion: %q", got)
	}

	// Embeddings through Titan, one call per input.
	r = g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"titan","input":["one two","three"],"dimensions":256}`)
	var e struct {
		Data []struct {
			Index     int
			Embedding []float64
		}
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(r.Body, &e); r.Status != 200 || len(e.Data) != 2 || e.Data[0].Embedding[0] != 7 || e.Data[1].Index != 1 || e.Usage.PromptTokens != 3 ||
		f.Last().Path != "/model/amazon.titan-embed-text-v2%3A0/invoke" {
		t.Fatalf("embeddings: %d %s via %s", r.Status, r.Body, f.Last().Path)
	}

	// Errors: a model Bedrock does not have stays a 404; a signature AWS refuses (the fake
	// recomputes it with its secret) is the gateway's problem (502), and says neither the
	// secret nor where the upstream is; a
	// conversation Bedrock refuses is refused before the call.
	r = chat(chatBody("bedrock-missing"))
	if r.Status != 404 || !strings.Contains(string(r.Body), "Model not found") || strings.Contains(string(r.Body), f.URL) {
		t.Fatalf("missing model: %d %s", r.Status, r.Body)
	}
	r = chat(chatBody("bedrock-badkey"))
	if r.Status != 502 || !strings.Contains(string(r.Body), "refused the gateway's credentials (HTTP 403)") || errorCode(t, string(r.Body)) != "invalid_signature" ||
		strings.Contains(string(r.Body), "wrong-secret") ||
		strings.Contains(string(r.Body), hostPort(t, f.URL)) {
		t.Fatalf("bad key: %d %s", r.Status, r.Body)
	}
	n := f.Count()
	r = chat(`{"model":"claude","messages":[{"role":"assistant","content":"I start"}]}`)
	if r.Status != 400 || f.Count() != n {
		t.Fatalf("a conversation that starts with the assistant: %d %s", r.Status, r.Body)
	}
}

// Bedrock's throttling is the client's 429 with its Retry-After, plain and streamed; an
// exception in the middle of a stream ends it with an error event.
func TestBedrockThrottlingKept(t *testing.T) {
	f := startBedrock(t)
	inStream := false
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.BedrockFault {
		return fakeupstream.BedrockFault{Status: 429, RetryAfter: "7", InStream: inStream}
	}
	g := gt.Start(t, "", `models:
  - {id: claude, name: C, provider: bedrock, endpoint: `+f.URL+`, upstreamModel: m, apiKey: "AKIDTEST0000:bedrock-test-secret",
     config: {region: us-east-1}, retry: {attempts: 0}}
`)
	for _, body := range []string{chatBody("claude"), `{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}`} {
		r := g.Data("POST", "/v1/chat/completions", gt.Key, body)
		if r.Status != 429 || r.Header.Get("Retry-After") != "7" || errorCode(t, string(r.Body)) != "upstream_rate_limited" {
			t.Fatalf("429: %d %v %s", r.Status, r.Header, r.Body)
		}
	}
	inStream = true
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"error"`) || !strings.Contains(string(r.Body), "upstream bedrock sent a throttlingException") {
		t.Fatalf("an exception in the stream: %d %s", r.Status, r.Body)
	}
}

// The config accepts bedrock models with AWS credentials and a region, and refuses a key of
// another shape or a region that is not one, with their paths and without quoting the key.
func TestBedrockConfig(t *testing.T) {
	ok := gt.Header(t.TempDir()) + `providers:
  bedrock: {apiKey: "AKIDPROVIDER:provider-secret"}
models:
  - {id: a, name: A, provider: bedrock, endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com", upstreamModel: "amazon.nova-lite-v1:0"}
  - {id: b, name: B, endpoint: "https://bedrock-runtime.eu-west-3.amazonaws.com", upstreamModel: m, apiKey: "AKID:secret:token"}
  - {id: c, name: C, provider: bedrock, endpoint: "https://bedrock-proxy.corp.example", upstreamModel: m, config: {region: eu-west-3}}
`
	if _, err := config.Parse([]byte(ok), app.LoadOptions()); err != nil {
		t.Fatalf("refused: %v", err)
	}
	bad := gt.Header(t.TempDir()) + `models:
  - {id: a, name: A, provider: bedrock, endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com", upstreamModel: m, apiKey: "sk-not-aws-0000"}
  - {id: b, name: B, provider: bedrock, endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com", upstreamModel: m, config: {region: "the moon"}}
`
	_, err := config.Parse([]byte(bad), app.LoadOptions())
	if err == nil || !strings.Contains(err.Error(), "models[0].apiKey") || !strings.Contains(err.Error(), "models[1].config.region") ||
		strings.Contains(err.Error(), "sk-not-aws-0000") {
		t.Fatalf("bad bedrock fields: %v", err)
	}
}

// bedrockCompletionTokens is the number of completion tokens of a chat completion.
func bedrockCompletionTokens(t *testing.T, r gt.Response) float64 {
	t.Helper()
	return usageOf(t, r)["completion_tokens"].(float64)
}
