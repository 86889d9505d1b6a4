package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

func startVendors(t *testing.T) *fakeupstream.Vendors {
	t.Helper()
	v, err := fakeupstream.StartVendors()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func vendorModels(v *fakeupstream.Vendors) string {
	return `models:
  - id: claude
    name: Claude
    endpoint: ` + v.URL + `/anthropic/v1/messages
    provider: anthropic
    upstreamModel: claude-sonnet-4-5
    apiKey: sk-ant-test-000000
    inputCostPerToken: 0.000003
    outputCostPerToken: 0.000015
  - id: tgi
    name: TGI generate
    endpoint: ` + v.URL + `/tgi/generate
    provider: huggingface
  - id: tgi-server
    name: TGI server
    endpoint: ` + v.URL + `/tgi
    provider: huggingface
  - id: tei
    name: TEI
    endpoint: ` + v.URL + `/tei/embed
    modelType: embedding
  - id: gpt2
    name: HF API generation
    endpoint: ` + v.URL + `/hf-api/models/gpt2
    provider: huggingface
  - id: minilm
    name: HF API features
    endpoint: ` + v.URL + `/hf-api/models/minilm
    provider: huggingface
    modelType: embedding
  - id: sst2
    name: HF API classifier
    endpoint: ` + v.URL + `/hf-api/models/sst2
    provider: huggingface
    modelType: classification
  - id: llama
    name: Ollama llama
    endpoint: ` + v.URL + `/ollama
    provider: ollama
    upstreamModel: llama3.2
  - id: custom
    name: Custom JSON API
    endpoint: ` + v.URL + `/custom/predict
    provider: http
    apiKey: custom-secret-0000
    http:
      headers: {X-Custom-Key: "{{apiKey}}"}
      body: '{"prompt": prompt, "max_new_tokens": request.max_tokens ?? 64}'
      text: response.generated_text
      inputTokens: response.tokens.input
      outputTokens: response.tokens.output
      error: response.error?.message
`
}

func chatText(t *testing.T, r gt.Response) string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var c struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			} `json:"message"`
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens, CompletionTokens int
		} `json:"usage"`
	}
	if err := json.Unmarshal(r.Body, &c); err != nil || len(c.Choices) == 0 {
		t.Fatalf("not a completion: %s", r.Body)
	}
	if m := c.Choices[0].Message; m.Content != nil {
		return *m.Content
	}
	if calls := c.Choices[0].Message.ToolCalls; len(calls) > 0 {
		return "tool:" + calls[0].Function.Name + calls[0].Function.Arguments
	}
	return c.Choices[0].Text
}

func streamText(t *testing.T, r gt.Response) (text string, usage map[string]any, finish string) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	sse(t, strings.NewReader(string(r.Body)), func(d string) {
		if d == "[DONE]" {
			return
		}
		var c map[string]any
		if err := json.Unmarshal([]byte(d), &c); err != nil {
			t.Fatalf("chunk %q: %v", d, err)
		}
		if u, ok := c["usage"].(map[string]any); ok {
			usage = u
		}
		if e, ok := c["error"]; ok {
			t.Fatalf("error event %v", e)
		}
		for _, ch := range c["choices"].([]any) {
			m := ch.(map[string]any)
			if f, ok := m["finish_reason"].(string); ok {
				finish = f
			}
			if d, ok := m["delta"].(map[string]any); ok {
				if s, ok := d["content"].(string); ok {
					text += s
				}
				if calls, ok := d["tool_calls"].([]any); ok {
					for _, tc := range calls {
						fn := tc.(map[string]any)["function"].(map[string]any)
						if n, ok := fn["name"].(string); ok && n != "" {
							text += "tool:" + n
						}
						text += fn["arguments"].(string)
					}
				}
			} else if s, ok := m["text"].(string); ok {
				text += s
			}
		}
	})
	if !strings.HasSuffix(string(r.Body), "data: [DONE]\n\n") {
		t.Fatalf("stream did not end with [DONE]: %s", r.Body)
	}
	return
}

func TestAnthropicAdapter(t *testing.T) {
	v := startVendors(t)
	v.AnthropicKey = "sk-ant-test-000000"
	g := gt.Start(t, "", vendorModels(v))
	chat := func(body string) gt.Response {
		return g.Data("POST", "/v1/chat/completions", gt.Key, body)
	}
	r := chat(`{"model":"claude","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`)
	if got := chatText(t, r); got != "echo: hello there [system: be brief]" {
		t.Fatalf("chat: %q", got)
	}
	up := v.Last()
	var sent map[string]any
	json.Unmarshal(up.Body, &sent)
	if up.Header["x-api-key"] != "sk-ant-test-000000" || up.Header["anthropic-version"] == "" || sent["model"] != "claude-sonnet-4-5" || sent["max_tokens"] != 4096.0 {
		t.Fatalf("upstream request: %v %s", up.Header, up.Body)
	}
	// 5 input (2 words + 3), 6 output: 5*3e-6 + 6*15e-6
	if got := r.Header.Get("x-iom-cost-usd"); got != "0.000105" {
		t.Fatalf("cost %q: %s", got, r.Body)
	}

	// Multi-turn with a tool call and its result, and an image.
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","description":"weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
	r = chat(`{"model":"claude",` + tools + `,"messages":[{"role":"user","content":"what is the weather?"}]}`)
	if got := chatText(t, r); got != `Let me check.` {
		t.Fatalf("tool call text: %q", got)
	}
	var tc struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					ID       string
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			}
			FinishReason string `json:"finish_reason"`
		}
	}
	json.Unmarshal(r.Body, &tc)
	call := tc.Choices[0].Message.ToolCalls[0]
	if call.ID != "toolu_01" || call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` || tc.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool call: %s", r.Body)
	}
	r = chat(`{"model":"claude",` + tools + `,"messages":[{"role":"user","content":"what is the weather?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"toolu_01","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
		{"role":"tool","tool_call_id":"toolu_01","content":"sunny, 21C"}]}`)
	if got := chatText(t, r); got != "the tool said sunny, 21C" {
		t.Fatalf("tool result turn: %q", got)
	}
	r = chat(`{"model":"claude","messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`)
	if got := chatText(t, r); got != "echo: describe (1 image)" {
		t.Fatalf("image: %q", got)
	}

	// Streams: text, and a tool call assembled from deltas, with exact usage recorded.
	r = chat(`{"model":"claude","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream this please"}]}`)
	text, usage, finish := streamText(t, r)
	if text != "echo: stream this please" || finish != "stop" || usage["prompt_tokens"] != 6.0 || usage["completion_tokens"] != 4.0 {
		t.Fatalf("stream: %q %v %q", text, usage, finish)
	}
	r = chat(`{"model":"claude","stream":true,` + tools + `,"messages":[{"role":"user","content":"weather now?"}]}`)
	if text, _, finish := streamText(t, r); text != `Let me check.tool:get_weather{"city": "Paris"}` || finish != "tool_calls" {
		t.Fatalf("tool stream: %q %q", text, finish)
	}

	// Legacy completions become a chat; Anthropic's own errors become ours.
	if got := chatText(t, g.Data("POST", "/v1/completions", gt.Key, `{"model":"claude","prompt":"old style"}`)); got != "echo: old style" {
		t.Fatalf("completion: %q", got)
	}
	r = chat(`{"model":"claude","messages":[{"role":"assistant","content":"I start"}]}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), "roles must alternate") || strings.Contains(string(r.Body), `"type":"error"`) {
		t.Fatalf("anthropic error: %d %s", r.Status, r.Body)
	}
	if r := g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"claude","input":"x"}`); r.Status != 400 {
		t.Fatalf("embeddings on anthropic: %d", r.Status)
	}
}

func TestHuggingFaceAdapters(t *testing.T) {
	v := startVendors(t)
	g := gt.Start(t, "", vendorModels(v))
	chat := func(model, extra string) gt.Response {
		return g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"`+model+`"`+extra+`,"messages":[{"role":"user","content":"tell me more"}]}`)
	}
	r := chat("tgi", "")
	if got := chatText(t, r); got != "echo: tell me more" {
		t.Fatalf("tgi: %q", got)
	}
	if !strings.Contains(v.Last().Path, "/tgi/generate") {
		t.Fatalf("tgi went to %s", v.Last().Path)
	}
	if got := chatText(t, chat("tgi-server", "")); got != "tgi chat" || v.Last().Path != "/tgi/v1/chat/completions" {
		t.Fatalf("tgi server chat: %q via %s", got, v.Last().Path)
	}
	text, usage, finish := streamText(t, chat("tgi", `,"stream":true,"stream_options":{"include_usage":true}`))
	if text != "echo: tell me more" || finish != "length" || usage["completion_tokens"] != 4.0 {
		t.Fatalf("tgi stream: %q %v %q", text, usage, finish)
	}
	if got := chatText(t, chat("gpt2", "")); got != "echo: tell me more" {
		t.Fatalf("inference api: %q", got)
	}
	if got := chatText(t, chat("sst2", "")); !strings.Contains(got, `"label":"POSITIVE"`) {
		t.Fatalf("classification: %q", got)
	}
	for _, m := range []string{"tei", "minilm"} {
		r := g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"`+m+`","input":["one two","three"]}`)
		var e struct {
			Data  []struct{ Embedding []float64 }
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			} `json:"usage"`
		}
		if json.Unmarshal(r.Body, &e); r.Status != 200 || len(e.Data) != 2 || e.Data[0].Embedding[0] != 7 || e.Usage.PromptTokens != 3 {
			t.Fatalf("%s embeddings: %d %s", m, r.Status, r.Body)
		}
	}
}

func TestOllamaAdapter(t *testing.T) {
	v := startVendors(t)
	g := gt.Start(t, "", vendorModels(v))
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"llama","max_tokens":20,"messages":[{"role":"user","content":[{"type":"text","text":"hi llama"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`)
	if got := chatText(t, r); got != "echo: hi llama (1 image)" {
		t.Fatalf("chat: %q", got)
	}
	var sent map[string]any
	json.Unmarshal(v.Last().Body, &sent)
	if sent["model"] != "llama3.2" || sent["options"].(map[string]any)["num_predict"] != 20.0 || v.Last().Path != "/ollama/api/chat" {
		t.Fatalf("upstream request %s %s", v.Last().Path, v.Last().Body)
	}
	text, usage, _ := streamText(t, g.Data("POST", "/v1/chat/completions", gt.Key,
		`{"model":"llama","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream it"}]}`))
	if text != "echo: stream it" || usage["prompt_tokens"] != 2.0 || usage["completion_tokens"] != 3.0 {
		t.Fatalf("stream: %q %v", text, usage)
	}
	if got := chatText(t, g.Data("POST", "/v1/completions", gt.Key, `{"model":"llama","prompt":"complete me"}`)); got != "echo: complete me" {
		t.Fatalf("generate: %q", got)
	}
	r = g.Data("POST", "/v1/embeddings", gt.Key, `{"model":"llama","input":["a b","c"]}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"prompt_tokens":3`) {
		t.Fatalf("embed: %d %s", r.Status, r.Body)
	}
}

func TestHTTPAdapter(t *testing.T) {
	v := startVendors(t)
	g := gt.Start(t, "", vendorModels(v))
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"custom","max_tokens":9,"messages":[{"role":"user","content":"any api"}]}`)
	if got := chatText(t, r); got != "custom: any api" {
		t.Fatalf("chat: %q", got)
	}
	if up := v.Last(); up.Header["x-custom-key"] != "custom-secret-0000" || string(up.Body) != `{"max_new_tokens":9,"prompt":"any api"}` {
		t.Fatalf("upstream request %v %s", up.Header, up.Body)
	}
	if !strings.Contains(string(r.Body), `"prompt_tokens":102`) {
		t.Fatalf("usage from the answer: %s", r.Body)
	}
	r = g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"custom","messages":[{"role":"user","content":"fail"}]}`)
	if r.Status != 502 || !strings.Contains(string(r.Body), "the model refused") {
		t.Fatalf("extracted error: %d %s", r.Status, r.Body)
	}
	if text, _, _ := streamText(t, g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"custom","stream":true,"messages":[{"role":"user","content":"as stream"}]}`)); text != "custom: as stream" {
		t.Fatalf("stream: %q", text)
	}
}

func TestHTTPSpecValidatedAtLoad(t *testing.T) {
	g := gt.Start(t, "", "")
	r := g.Admin("POST", "/api/models", `{"name":"Bad","endpoint":"http://x.example/p","provider":"http","http":{"body":"{\"p\": promt}","text":"response.x"}}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `http.body`) || !strings.Contains(string(r.Body), `unknown name \"promt\"`) {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
}
