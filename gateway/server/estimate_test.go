package server

import (
	"encoding/json"
	"testing"

	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/openai"
)

func price(in, out float64) *spec.Model {
	return &spec.Model{InputCostPerToken: &in, OutputCostPerToken: &out}
}

// A call's estimate is its input (as count_tokens estimates it) at the input price plus the
// most output it may produce at the output price.
func TestEstimateCost(t *testing.T) {
	f := func(m *spec.Model, op provider.Op, body string, want float64) {
		t.Helper()
		var p parsed
		if fe := parseRequest(op, []byte(body), &p); fe != nil {
			t.Fatal(fe)
		}
		if got := estimateCost(m, op, []byte(body), p.fields); got < want-1e-9 || got > want+1e-9 {
			t.Fatalf("%s: estimate $%v, want $%v", body, got, want)
		}
	}
	m := price(0.02, 0.04)
	// "hi": 4 tokens of framing and 1 of text.
	f(m, provider.Chat, `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`, 5*0.02+2*0.04)
	f(m, provider.Chat, `{"model":"m","max_completion_tokens":3,"max_tokens":9,"messages":[{"role":"user","content":"hi"}]}`, 5*0.02+3*0.04)
	f(m, provider.Chat, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 5*0.02+4096*0.04)
	f(m, provider.Chat, `{"model":"m","max_tokens":-1,"messages":[{"role":"user","content":"hi"}]}`, 5*0.02+4096*0.04)
	// Other operations: the body at four characters a token; embeddings produce no output.
	f(m, provider.Embedding, `{"model":"m","input":"abcd"}`, 7*0.02)
	f(m, provider.Completion, `{"model":"m","prompt":"abcd","max_tokens":1}`, 11*0.02+0.04)
	f(&spec.Model{}, provider.Chat, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, 0)
}

// A chat call holds the estimate count_tokens gives: the one read from the request as it came
// is the one read from the request as count_tokens writes it again, escapes and spacing aside.
func TestChatInputTokensAsCountTokens(t *testing.T) {
	f := func(body string) {
		t.Helper()
		var p parsed
		if fe := parseRequest(provider.Chat, []byte(body), &p); fe != nil {
			t.Fatal(fe)
		}
		var req openai.ChatRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		canonical, _ := json.Marshal(&req)
		fields, err := rawjson.ScanObject(canonical, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := provider.EstimateInputTokens(p.fields), provider.EstimateInputTokens(fields); got != want {
			t.Fatalf("%s: %d tokens, count_tokens estimates %d", body, got, want)
		}
	}
	f(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	f(`{"model":"m","messages":[{"role":"system","content":"Be brief.\n\u00e9t\u00e9"},{"role":"user","content":"Où est la gare ? 🚉"}]}`)
	f(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`)
	f(`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"c1","content":"sunny"}]}`)
	f(`{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}]}`)
}

func BenchmarkEstimateCost(b *testing.B) {
	body := []byte(`{"model":"m","max_tokens":256,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is the capital of France?"}]}`)
	var p parsed
	if fe := parseRequest(provider.Chat, body, &p); fe != nil {
		b.Fatal(fe)
	}
	m := price(2.5e-6, 1e-5)
	b.ReportAllocs()
	for b.Loop() {
		estimateCost(m, provider.Chat, body, p.fields)
	}
}
