package server_test

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// Cached prompt tokens and reasoning tokens are recorded and priced at their own rates, from
// OpenAI's usage details and Anthropic's cache counts; a model without those rates prices them
// as plain input and output, as before.
func TestCachedAndReasoningTokenCosts(t *testing.T) {
	f, _ := fakeupstream.StartOpenAI()
	t.Cleanup(f.Close)
	v, _ := fakeupstream.StartVendors()
	t.Cleanup(v.Close)
	g := gt.Start(t, "", `models:
  - {id: o, name: O, endpoint: `+f.URL+`, provider: openai, inputCostPerToken: 0.000001, outputCostPerToken: 0.000002,
     cachedInputCostPerToken: 0.0000001, reasoningCostPerToken: 0.000004}
  - {id: plain, name: Plain, endpoint: `+f.URL+`, provider: openai, inputCostPerToken: 0.000001, outputCostPerToken: 0.000002}
  - {id: claude, name: Claude, endpoint: `+v.URL+`/anthropic, provider: anthropic, inputCostPerToken: 0.000003,
     outputCostPerToken: 0.000015, cachedInputCostPerToken: 0.0000003, cacheWriteCostPerToken: 0.00000375}
`)
	costOf := func(r gt.Response) float64 {
		t.Helper()
		c, err := strconv.ParseFloat(r.Header.Get("X-Iom-Cost-Usd"), 64)
		if r.Status != 200 || err != nil {
			t.Fatalf("%d %s (cost %q)", r.Status, r.Body, r.Header.Get("X-Iom-Cost-Usd"))
		}
		return c
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("%s: cost %v, want %v", name, got, want)
		}
	}
	// Eight words of prompt, four of them cached; "echo: ..." answers with nine words, plus eight
	// reasoning tokens.
	body := `{"model":"%s","prompt_cache_key":"k","reasoning_effort":"low","messages":[{"role":"user","content":"one two three four five six seven eight"}]}`
	r := g.Data("POST", "/v1/chat/completions", gt.Key, strings.Replace(body, "%s", "o", 1))
	near("openai", costOf(r), 4*0.000001+4*0.0000001+9*0.000002+8*0.000004)
	near("openai without the rates", costOf(g.Data("POST", "/v1/chat/completions", gt.Key, strings.Replace(body, "%s", "plain", 1))),
		8*0.000001+17*0.000002)

	// Through Anthropic's Messages API to an Anthropic upstream, the system prompt's cache_control
	// goes upstream, and the upstream's 6 cached and 2 cache-written tokens come back priced.
	r = g.Data("POST", "/v1/messages", gt.Key, `{"model":"claude","max_tokens":50,
		"system":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}],
		"messages":[{"role":"user","content":"hello there"}]}`)
	if !strings.Contains(string(v.Last().Body), `"cache_control":{"type":"ephemeral"}`) {
		t.Fatalf("the cache marker did not reach the upstream: %s", v.Last().Body)
	}
	var msg struct {
		Usage map[string]int64 `json:"usage"`
	}
	json.Unmarshal(r.Body, &msg)
	if msg.Usage["cache_read_input_tokens"] != 6 || msg.Usage["input_tokens"] != 7 {
		t.Fatalf("the answer's usage: %s", r.Body)
	}
	// input: 5 (2 words + 3) plain, 6 read, 2 written; output: "echo: hello there" (3 words).
	near("anthropic", costOf(r), 5*0.000003+6*0.0000003+2*0.00000375+3*0.000015)

	g.Flush()
	list := g.Admin("GET", "/api/executions?model=o", nil).JSON(t)["data"].([]any)
	rec := list[0].(map[string]any)
	if rec["cachedInputTokens"] != 4.0 || rec["reasoningTokens"] != 8.0 || rec["inputTokens"] != 8.0 || rec["outputTokens"] != 17.0 {
		t.Fatalf("the record: %v", rec)
	}
}
