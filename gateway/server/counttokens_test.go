package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// POST /v1/messages/count_tokens estimates a Messages request's input tokens for any model the
// key may use, without calling it, and answers errors in Anthropic's shape.
func TestMessagesCountTokens(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", models(f, ""))
	text := strings.Repeat("count these words please ", 40) // 1,000 characters
	r := g.Data("POST", "/v1/messages/count_tokens", gt.Key, `{"model":"echo","system":"be brief",
		"messages":[{"role":"user","content":"`+text+`"}]}`)
	n, _ := r.JSON(t)["input_tokens"].(float64)
	if r.Status != 200 || n < 250 || n > 300 {
		t.Fatalf("estimate: %d %s", r.Status, r.Body)
	}
	if f.Count() != 0 {
		t.Fatal("counting tokens must not call the model")
	}
	for _, c := range []struct {
		key, body string
		status    int
		typ       string
	}{
		{gt.Key, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "not_found_error"},
		{"wrong-key-0000000000000000", `{"model":"echo","messages":[{"role":"user","content":"x"}]}`, 401, "authentication_error"},
		{gt.Key, `{"model":"echo","messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error"},
	} {
		r := g.Data("POST", "/v1/messages/count_tokens", c.key, c.body)
		if r.Status != c.status || r.JSON(t)["type"] != "error" || !strings.Contains(string(r.Body), `"type":"`+c.typ+`"`) {
			t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
		}
	}
}

// For an anthropic model, count_tokens is the upstream's own count: the request passed through
// with the upstream's model name, key and version header. When that upstream fails, the local
// estimate answers.
func TestMessagesCountTokensForwarded(t *testing.T) {
	f := startFake(t)
	v := startVendors(t)
	v.AnthropicKey = "sk-ant-test-000000"
	g := gt.Start(t, "", models(f, `  - id: claude
    name: Claude
    endpoint: `+v.URL+`/anthropic/v1/messages
    provider: anthropic
    upstreamModel: claude-up
    apiKey: sk-ant-test-000000
  - id: claude-wrong-key
    name: Claude with a wrong key
    endpoint: `+v.URL+`/anthropic
    provider: anthropic
    apiKey: sk-ant-wrong-000000
    retry: {attempts: 0}
`))
	body := `{"model":"claude","system":"be brief","messages":[{"role":"user","content":"count these five words please"}],
		"tools":[{"name":"get_weather","description":"weather by city","input_schema":{"type":"object"}}]}`
	r := g.Data("POST", "/v1/messages/count_tokens", gt.Key, body)
	// 7 for the framing, 2 of system, 5 of the message, 4 of the tool.
	if n := r.JSON(t)["input_tokens"]; r.Status != 200 || n != 18.0 {
		t.Fatalf("forwarded count: %d %s", r.Status, r.Body)
	}
	last := v.Last()
	var sent map[string]any
	json.Unmarshal(last.Body, &sent)
	if last.Path != "/anthropic/v1/messages/count_tokens" || sent["model"] != "claude-up" || sent["tools"] == nil ||
		last.Header["x-api-key"] != "sk-ant-test-000000" || last.Header["anthropic-version"] == "" {
		t.Fatalf("upstream got %s %v %s", last.Path, last.Header, last.Body)
	}
	estimate := g.Data("POST", "/v1/messages/count_tokens", gt.Key, strings.Replace(body, `"claude"`, `"echo"`, 1))
	r = g.Data("POST", "/v1/messages/count_tokens", gt.Key, strings.Replace(body, `"claude"`, `"claude-wrong-key"`, 1))
	if r.Status != 200 || string(r.Body) != string(estimate.Body) || v.Last().Header["x-api-key"] != "sk-ant-wrong-000000" {
		t.Fatalf("a failing upstream gives the estimate: %d %s (estimate %s)", r.Status, r.Body, estimate.Body)
	}
	if f.Count() != 0 {
		t.Fatal("counting for an OpenAI-style model must not call it")
	}
}
