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

// The gemini and azure providers, end to end: a real gateway in front of fakes that speak the
// vendors' wire formats and refuse what the vendors refuse.

func startGemini(t *testing.T, key string) *fakeupstream.Gemini {
	t.Helper()
	f, err := fakeupstream.StartGemini(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func startAzure(t *testing.T, key string) *fakeupstream.Azure {
	t.Helper()
	f, err := fakeupstream.StartAzure(key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

const weatherTools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"weather by city",
	"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}]`

// toolCall returns the first tool call of a chat completion and its finish reason.
func toolCall(t *testing.T, r gt.Response) (id, name, args, finish string) {
	t.Helper()
	var c struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					ID       string `json:"id"`
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(r.Body, &c); err != nil || r.Status != 200 || len(c.Choices) == 0 || len(c.Choices[0].Message.ToolCalls) == 0 {
		t.Fatalf("no tool call: %d %s", r.Status, r.Body)
	}
	tc := c.Choices[0].Message.ToolCalls[0]
	return tc.ID, tc.Function.Name, tc.Function.Arguments, c.Choices[0].FinishReason
}

// usageOf returns a chat completion's usage.
func usageOf(t *testing.T, r gt.Response) map[string]any {
	t.Helper()
	var c struct {
		Usage map[string]any `json:"usage"`
	}
	if err := json.Unmarshal(r.Body, &c); err != nil || c.Usage == nil {
		t.Fatalf("no usage: %d %s", r.Status, r.Body)
	}
	return c.Usage
}

// roundTrip sends the conversation of a tool call back with the tool's result, as a client
// does, and returns the answer's text.
func roundTrip(t *testing.T, g *gt.Gateway, model, id, args string) string {
	t.Helper()
	call, _ := json.Marshal(map[string]any{"id": id, "type": "function", "function": map[string]any{"name": "get_weather", "arguments": args}})
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"`+model+`",`+weatherTools+`,"messages":[
		{"role":"user","content":"what is the weather?"},
		{"role":"assistant","content":null,"tool_calls":[`+string(call)+`]},
		{"role":"tool","tool_call_id":"`+id+`","content":"sunny, 21C"}]}`)
	return chatText(t, r)
}

func geminiModels(f *fakeupstream.Gemini) string {
	return `models:
  - id: gemini
    name: Gemini Flash
    provider: gemini
    endpoint: ` + f.URL + `
    upstreamModel: gemini-2.5-flash
    apiKey: gm-test-key-0000
    inputCostPerToken: 0.000001
    outputCostPerToken: 0.000002
    cachedInputCostPerToken: 0.0000005
  - {id: gemini-thinking, name: Thinking, provider: gemini, endpoint: ` + f.URL + `, upstreamModel: gemini-2.5-thinking, apiKey: gm-test-key-0000}
  - {id: gemini-3, name: Gemini 3, provider: gemini, endpoint: ` + f.URL + `, upstreamModel: gemini-3-pro, apiKey: gm-test-key-0000}
  - {id: gemini-embed, name: Embed, provider: gemini, endpoint: ` + f.URL + `, upstreamModel: text-embedding-004, apiKey: gm-test-key-0000, modelType: embedding}
  - {id: gemini-missing, name: Missing, provider: gemini, endpoint: ` + f.URL + `, upstreamModel: missing, apiKey: gm-test-key-0000}
  - {id: gemini-badkey, name: Bad key, provider: gemini, endpoint: ` + f.URL + `, upstreamModel: gemini-2.5-flash, apiKey: gm-wrong-key}
`
}

func TestGeminiProvider(t *testing.T) {
	f := startGemini(t, "gm-test-key-0000")
	g := gt.Start(t, "", geminiModels(f))
	chat := func(body string) gt.Response { return g.Data("POST", "/v1/chat/completions", gt.Key, body) }

	// Plain chat: the system message as the system instruction, the key in its header, usage
	// with the cached tokens, priced at their rate.
	r := chat(`{"model":"gemini","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`)
	if got := chatText(t, r); got != "echo: hello there [system: be brief]" {
		t.Fatalf("chat: %q", got)
	}
	up := f.Last()
	if up.Path != "/v1beta/models/gemini-2.5-flash:generateContent" || up.Header["x-goog-api-key"] != "gm-test-key-0000" || up.Authorization != "" ||
		!strings.Contains(string(up.Body), `"systemInstruction":{"parts":[{"text":"be brief"}]}`) {
		t.Fatalf("upstream request %s %v %s", up.Path, up.Header, up.Body)
	}
	// 7 prompt tokens (2 of the system's cached), 6 out.
	u := usageOf(t, r)
	if u["prompt_tokens"] != 7.0 || u["completion_tokens"] != 6.0 || u["prompt_tokens_details"].(map[string]any)["cached_tokens"] != 2.0 {
		t.Fatalf("usage %v", u)
	}
	if c, _ := strconv.ParseFloat(r.Header.Get("X-Iom-Cost-Usd"), 64); math.Abs(c-(5*0.000001+2*0.0000005+6*0.000002)) > 1e-12 {
		t.Fatalf("cost %q", r.Header.Get("X-Iom-Cost-Usd"))
	}

	// Streamed, with the usage chunk asked for.
	text, usage, finish := streamText(t, chat(`{"model":"gemini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream this please"}]}`))
	if text != "echo: stream this please" || finish != "stop" || usage["prompt_tokens"] != 6.0 || usage["completion_tokens"] != 4.0 {
		t.Fatalf("stream: %q %v %q", text, usage, finish)
	}
	if p := f.Last().Path; p != "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" {
		t.Fatalf("stream went to %s", p)
	}

	// A tool call and its result, plain and streamed; the JSON Schema keyword Gemini does not
	// know (additionalProperties) does not reach it.
	id, name, args, finish := toolCall(t, chat(`{"model":"gemini",`+weatherTools+`,"messages":[{"role":"user","content":"what is the weather?"}]}`))
	if name != "get_weather" || args != `{"city":"Paris"}` || finish != "tool_calls" || id == "" {
		t.Fatalf("tool call %q %q %q %q", id, name, args, finish)
	}
	if strings.Contains(string(f.Last().Body), "additionalProperties") {
		t.Fatalf("unknown schema keyword sent: %s", f.Last().Body)
	}
	if got := roundTrip(t, g, "gemini", id, args); got != "the tool said sunny, 21C" {
		t.Fatalf("tool result: %q", got)
	}
	text, _, finish = streamText(t, chat(`{"model":"gemini","stream":true,`+weatherTools+`,"messages":[{"role":"user","content":"weather now?"}]}`))
	if text != `tool:get_weather{"city":"Paris"}` || finish != "tool_calls" {
		t.Fatalf("tool stream: %q %q", text, finish)
	}
	// A thinking model wants its thought signature back with the call: it travels in the id.
	id, _, args, _ = toolCall(t, chat(`{"model":"gemini-3",`+weatherTools+`,"messages":[{"role":"user","content":"what is the weather?"}]}`))
	if got := roundTrip(t, g, "gemini-3", id, args); got != "the tool said sunny, 21C" {
		t.Fatalf("gemini-3 tool result: %q", got)
	}
	r = chat(`{"model":"gemini-3",` + weatherTools + `,"messages":[{"role":"user","content":"what is the weather?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), "thought_signature") {
		t.Fatalf("a call without its signature: %d %s", r.Status, r.Body)
	}

	// An image, thinking tokens, a JSON answer, a cut answer, a legacy completion.
	r = chat(`{"model":"gemini","messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`)
	if got := chatText(t, r); got != "echo: describe (1 image)" {
		t.Fatalf("image: %q", got)
	}
	u = usageOf(t, chat(`{"model":"gemini-thinking","messages":[{"role":"user","content":"think"}]}`))
	if u["completion_tokens"] != 6.0 || u["completion_tokens_details"].(map[string]any)["reasoning_tokens"] != 4.0 {
		t.Fatalf("thinking usage %v", u)
	}
	r = chat(`{"model":"gemini","response_format":{"type":"json_schema","json_schema":{"name":"e","strict":true,"schema":{"type":"object",
		"properties":{"echo":{"type":"string"}},"required":["echo"],"additionalProperties":false}}},"messages":[{"role":"user","content":"as json"}]}`)
	if got := chatText(t, r); got != `{"echo":"as json"}` {
		t.Fatalf("json answer: %q", got)
	}
	r = chat(`{"model":"gemini","max_tokens":2,"messages":[{"role":"user","content":"a long story"}]}`)
	if got := chatText(t, r); got != "echo: a" || !strings.Contains(string(r.Body), `"finish_reason":"length"`) {
		t.Fatalf("max_tokens: %q %s", got, r.Body)
	}
	if got := chatText(t, g.Data("POST", "/v1/completions", gt.Key, `{"model":"gemini","prompt":"old style"}`)); got != "echo: old style" {
		t.Fatalf("completion: %q", got)
	}

	// Embeddings: one input through embedContent, several through batchEmbedContents.
	r = g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"gemini-embed","input":"one two"}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"embedding":[7,0.5,2]`) || f.Last().Path != "/v1beta/models/text-embedding-004:embedContent" {
		t.Fatalf("embed: %d %s via %s", r.Status, r.Body, f.Last().Path)
	}
	r = g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"gemini-embed","input":["one two","three"]}`)
	var e struct {
		Data []struct {
			Index     int
			Embedding []float64
		}
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(r.Body, &e); r.Status != 200 || len(e.Data) != 2 || e.Data[1].Index != 1 || e.Data[1].Embedding[0] != 5 || e.Usage.PromptTokens != 3 ||
		f.Last().Path != "/v1beta/models/text-embedding-004:batchEmbedContents" {
		t.Fatalf("batch embed: %d %s via %s", r.Status, r.Body, f.Last().Path)
	}

	// Errors: a model Gemini does not have stays a 404, a key it refuses is the gateway's
	// problem (502), not the caller's.
	r = chat(chatBody("gemini-missing"))
	if r.Status != 404 || !strings.Contains(string(r.Body), "models/missing is not found") || strings.Contains(string(r.Body), f.URL) {
		t.Fatalf("missing model: %d %s", r.Status, r.Body)
	}
	r = chat(chatBody("gemini-badkey"))
	if r.Status != 502 || !strings.Contains(string(r.Body), "API key not valid") || strings.Contains(string(r.Body), "gm-wrong-key") {
		t.Fatalf("bad key: %d %s", r.Status, r.Body)
	}
}

// A 429 from Gemini is the client's 429, with its Retry-After, for plain calls and streams
// (of a model that does not retry, so that the 429 comes back at once).
func TestGeminiRateLimitKept(t *testing.T) {
	f := startGemini(t, "gm-test-key-0000")
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault {
		return fakeupstream.Fault{Status: 429, RetryAfter: "7"}
	}
	g := gt.Start(t, "", `models:
  - {id: gemini, name: G, provider: gemini, endpoint: `+f.URL+`, upstreamModel: gemini-2.5-flash, apiKey: gm-test-key-0000, retry: {attempts: 0}}
`)
	for _, body := range []string{chatBody("gemini"), `{"model":"gemini","stream":true,"messages":[{"role":"user","content":"hi"}]}`} {
		r := g.Data("POST", "/v1/chat/completions", gt.Key, body)
		if r.Status != 429 || r.Header.Get("Retry-After") != "7" || errorCode(t, string(r.Body)) != "upstream_rate_limited" {
			t.Fatalf("429: %d %v %s", r.Status, r.Header, r.Body)
		}
	}
}

func azureModels(f *fakeupstream.Azure) string {
	return `models:
  - {id: azure, name: Azure GPT-4o, provider: azure, endpoint: ` + f.URL + `, upstreamModel: gpt-4o-deploy, apiKey: az-test-key-0000}
  - {id: azure-v1, name: Foundry, provider: azure, endpoint: ` + f.URL + `/openai/v1, upstreamModel: gpt-4o-deploy, apiKey: az-test-key-0000}
  - {id: azure-entra, name: Entra, provider: azure, endpoint: ` + f.URL + `, upstreamModel: gpt-4o-deploy, apiKey: "Bearer entra-token-0000"}
  - {id: azure-preview, name: Preview, provider: azure, endpoint: ` + f.URL + `, upstreamModel: gpt-4o-deploy, apiKey: az-test-key-0000,
     config: {apiVersion: "2025-04-01-preview"}}
  - {id: azure-embed, name: Embed, provider: azure, endpoint: ` + f.URL + `, upstreamModel: embed-deploy, apiKey: az-test-key-0000, modelType: embedding}
  - {id: azure-missing, name: Missing, provider: azure, endpoint: ` + f.URL + `, upstreamModel: missing, apiKey: az-test-key-0000}
`
}

func TestAzureProvider(t *testing.T) {
	f := startAzure(t, "az-test-key-0000")
	f.Token = "entra-token-0000"
	g := gt.Start(t, "", azureModels(f))
	chat := func(body string) gt.Response { return g.Data("POST", "/v1/chat/completions", gt.Key, body) }

	// A deployment's URL with the default api-version, the key in api-key, OpenAI's body.
	r := chat(chatBody("azure"))
	if got := chatText(t, r); got != "echo: hi" {
		t.Fatalf("chat: %q", got)
	}
	up := f.Last()
	var sent map[string]any
	json.Unmarshal(up.Body, &sent)
	if up.Path != "/openai/deployments/gpt-4o-deploy/chat/completions?api-version=2024-10-21" || up.Header["api-key"] != "az-test-key-0000" ||
		up.Authorization != "" || sent["model"] != "gpt-4o-deploy" {
		t.Fatalf("upstream request %s %v %s", up.Path, up.Header, up.Body)
	}
	if u := usageOf(t, r); u["prompt_tokens"] != 1.0 || u["completion_tokens"] != 2.0 {
		t.Fatalf("usage %v", u)
	}

	// Streamed: Azure's first chunk (no choices, the prompt's filter results) passes as OpenAI
	// clients take it.
	text, usage, finish := streamText(t, chat(`{"model":"azure","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream this"}]}`))
	if text != "echo: stream this" || finish != "stop" || usage["prompt_tokens"] != 2.0 || usage["completion_tokens"] != 3.0 {
		t.Fatalf("stream: %q %v %q", text, usage, finish)
	}

	// A tool call and its result, plain and streamed.
	id, name, args, finish := toolCall(t, chat(`{"model":"azure",`+weatherTools+`,"messages":[{"role":"user","content":"what is the weather?"}]}`))
	if id != "call_azure_1" || name != "get_weather" || args != `{"city":"Paris"}` || finish != "tool_calls" {
		t.Fatalf("tool call %q %q %q %q", id, name, args, finish)
	}
	if got := roundTrip(t, g, "azure", id, args); got != "the tool said sunny, 21C" {
		t.Fatalf("tool result: %q", got)
	}
	text, _, finish = streamText(t, chat(`{"model":"azure","stream":true,`+weatherTools+`,"messages":[{"role":"user","content":"weather now?"}]}`))
	if text != `tool:get_weather{"city":"Paris"}` || finish != "tool_calls" {
		t.Fatalf("tool stream: %q %q", text, finish)
	}

	// Foundry's /openai/v1: OpenAI's paths, no api-version, the body naming the deployment.
	if got := chatText(t, chat(chatBody("azure-v1"))); got != "echo: hi" {
		t.Fatalf("v1 chat: %q", got)
	}
	if up := f.Last(); up.Path != "/openai/v1/chat/completions" || !strings.Contains(string(up.Body), `"model":"gpt-4o-deploy"`) {
		t.Fatalf("v1 request %s %s", up.Path, up.Body)
	}
	// An Entra token goes as a bearer, not as api-key; a model's api-version is used.
	if got := chatText(t, chat(chatBody("azure-entra"))); got != "echo: hi" {
		t.Fatalf("entra chat: %q", got)
	}
	if up := f.Last(); up.Authorization != "Bearer entra-token-0000" || up.Header["api-key"] != "" {
		t.Fatalf("entra request %v", up.Header)
	}
	if got := chatText(t, chat(chatBody("azure-preview"))); got != "echo: hi" || !strings.HasSuffix(f.Last().Path, "?api-version=2025-04-01-preview") {
		t.Fatalf("preview: %q via %s", got, f.Last().Path)
	}

	// Embeddings and legacy completions at the deployment.
	r = g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"azure-embed","input":["one two","three"]}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"embedding":[7,0.25,2]`) || !strings.Contains(string(r.Body), `"prompt_tokens":3`) ||
		f.Last().Path != "/openai/deployments/embed-deploy/embeddings?api-version=2024-10-21" {
		t.Fatalf("embeddings: %d %s via %s", r.Status, r.Body, f.Last().Path)
	}
	if got := chatText(t, g.Data("POST", "/v1/completions", gt.Key, `{"model":"azure","prompt":"old style"}`)); got != "echo: old style" {
		t.Fatalf("completion: %q", got)
	}

	// A deployment Azure does not have stays a 404, with Azure's error.
	r = chat(chatBody("azure-missing"))
	if r.Status != 404 || !strings.Contains(string(r.Body), "DeploymentNotFound") {
		t.Fatalf("missing deployment: %d %s", r.Status, r.Body)
	}
}

// A 429 from Azure is the client's 429, with its Retry-After and Azure's error.
func TestAzureRateLimitKept(t *testing.T) {
	f := startAzure(t, "az-test-key-0000")
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault {
		return fakeupstream.Fault{Status: 429, RetryAfter: "7"}
	}
	g := gt.Start(t, "", `models:
  - {id: azure, name: A, provider: azure, endpoint: `+f.URL+`, upstreamModel: gpt-4o-deploy, apiKey: az-test-key-0000, retry: {attempts: 0}}
`)
	for _, body := range []string{chatBody("azure"), `{"model":"azure","stream":true,"messages":[{"role":"user","content":"hi"}]}`} {
		r := g.Data("POST", "/v1/chat/completions", gt.Key, body)
		if r.Status != 429 || r.Header.Get("Retry-After") != "7" || !strings.Contains(string(r.Body), "injected failure 429") {
			t.Fatalf("429: %d %v %s", r.Status, r.Header, r.Body)
		}
	}
}

// The provider-wide keys of gemini and azure go to the vendors' hosts and those keyHosts
// lists, never to another host a model points at.
func TestProviderWideKeysOfGeminiAndAzure(t *testing.T) {
	gm, az := startGemini(t, "gm-provider-wide-0000"), startAzure(t, "az-provider-wide-0000")
	body := func(gmHosts, azHosts string) string {
		return `providers:
  gemini:
    apiKey: gm-provider-wide-0000
` + gmHosts + `  azure:
    apiKey: az-provider-wide-0000
` + azHosts + `models:
  - {id: near-gemini, name: Near Gemini, provider: gemini, endpoint: ` + gm.URL + `, upstreamModel: gemini-2.5-flash}
  - {id: near-azure, name: Near Azure, provider: azure, endpoint: ` + az.URL + `, upstreamModel: gpt-4o-deploy}
  - {id: cloud-gemini, name: Cloud Gemini, provider: gemini, upstreamModel: gemini-2.5-flash}
  - {id: cloud-azure, name: Cloud Azure, provider: azure, endpoint: "https://my-resource.openai.azure.com", upstreamModel: gpt-4o-deploy}
`
	}
	g := gt.Start(t, "", body("", ""))
	r := g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("near-gemini"))
	if up := gm.Last(); r.Status != 502 || up.Header["x-goog-api-key"] != "" || up.Authorization != "" {
		t.Fatalf("gemini: a host not listed got the provider-wide key: %d %v", r.Status, up.Header)
	}
	r = g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("near-azure"))
	if up := az.Last(); r.Status != 502 || up.Header["api-key"] != "" || up.Authorization != "" {
		t.Fatalf("azure: a host not listed got the provider-wide key: %d %v", r.Status, up.Header)
	}
	// The vendors' own hosts get it (no call is made: their models show as available).
	for _, id := range []string{"cloud-gemini", "cloud-azure"} {
		m := g.Admin("GET", "/api/models/"+id, nil).JSON(t)
		if m["status"] != "available" {
			t.Fatalf("%s with the provider-wide key: %v", id, m)
		}
	}
	if m := g.Admin("GET", "/api/models/cloud-gemini", nil).JSON(t); m["endpoint"] != "https://generativelanguage.googleapis.com/v1beta" {
		t.Fatalf("a gemini model without an endpoint gets the API's: %v", m["endpoint"])
	}
	g.Stop()

	g = gt.Start(t, "", body(`    keyHosts: ["`+hostPort(t, gm.URL)+`"]
`, `    keyHosts: ["`+hostPort(t, az.URL)+`"]
`))
	if got := chatText(t, g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("near-gemini"))); got != "echo: hi" || gm.Last().Header["x-goog-api-key"] != "gm-provider-wide-0000" {
		t.Fatalf("gemini: a listed host must get the provider-wide key: %q %v", got, gm.Last().Header)
	}
	if got := chatText(t, g.Data("POST", "/v1/chat/completions", gt.Key, chatBody("near-azure"))); got != "echo: hi" || az.Last().Header["api-key"] != "az-provider-wide-0000" {
		t.Fatalf("azure: a listed host must get the provider-wide key: %q %v", got, az.Last().Header)
	}
}

// The config accepts the two providers with their fields, and refuses an api-version that is
// not one.
func TestGeminiAndAzureConfig(t *testing.T) {
	ok := gt.Header(t.TempDir()) + `providers:
  gemini: {apiKey: k1}
  azure: {apiKey: k2, keyHosts: ["*.corp-azure.example"]}
models:
  - {id: g, name: G, provider: gemini, upstreamModel: gemini-2.5-flash}
  - {id: a, name: A, provider: azure, endpoint: "https://r.openai.azure.com", upstreamModel: d, config: {apiVersion: "2024-10-21"}}
  - {id: f, name: F, provider: azure, endpoint: "https://p.services.ai.azure.com/openai/v1", upstreamModel: d, config: {apiVersion: preview}}
`
	if _, err := config.Parse([]byte(ok), app.LoadOptions()); err != nil {
		t.Fatalf("refused: %v", err)
	}
	bad := gt.Header(t.TempDir()) + `models:
  - {id: a, name: A, provider: azure, endpoint: "https://r.openai.azure.com", upstreamModel: d, config: {apiVersion: "last tuesday"}}
  - {id: b, name: B, provider: azure, endpoint: "https://r.openai.azure.com", upstreamModel: d, config: {apiVersion: 3}}
`
	_, err := config.Parse([]byte(bad), app.LoadOptions())
	if err == nil || !strings.Contains(err.Error(), "models[0].config.apiVersion") || !strings.Contains(err.Error(), "models[1].config.apiVersion") {
		t.Fatalf("a bad api-version: %v", err)
	}
}
