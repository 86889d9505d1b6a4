package provider

import (
	"testing"

	"github.com/iomhq/iom/gateway/rawjson"
)

// The estimate counts text at four characters a token, framing per message, tools and tool
// calls as their JSON, and a fixed cost per image.
func TestEstimateInputTokens(t *testing.T) {
	const tool = `{"type":"function","function":{"name":"f"}}`
	fields, err := rawjson.ScanObject([]byte(`{"model":"m","messages":[
		{"role":"system","content":"12345678"},
		{"role":"user","content":[{"type":"text","text":"abcd"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]},
		{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}],
		"tools":[`+tool+`]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	chars := 8 + 4 + 3 + len(tool)
	want := int64(3*tokensPerMessage + tokensPerImage + (chars+3)/4)
	if got := EstimateInputTokens(fields); got != want {
		t.Fatalf("estimate %d, want %d", got, want)
	}
}
