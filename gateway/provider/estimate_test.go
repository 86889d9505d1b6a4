package provider

import (
	"encoding/json"
	"testing"

	"github.com/iomhq/iom/gateway/wire/openai"
)

// The estimate counts text at four characters a token, framing per message, tools and tool
// calls as their JSON, and a fixed cost per image.
func TestEstimateInputTokens(t *testing.T) {
	var req openai.ChatRequest
	if err := json.Unmarshal([]byte(`{"model":"m","messages":[
		{"role":"system","content":"12345678"},
		{"role":"user","content":[{"type":"text","text":"abcd"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]},
		{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}],
		"tools":[{"type":"function","function":{"name":"f"}}]}`), &req); err != nil {
		t.Fatal(err)
	}
	tools, _ := json.Marshal(req.Tools[0])
	chars := 8 + 4 + 3 + len(tools)
	want := int64(3*tokensPerMessage + tokensPerImage + (chars+3)/4)
	if got := EstimateInputTokens(&req); got != want {
		t.Fatalf("estimate %d, want %d", got, want)
	}
}
