package wasm

import (
	"context"
	"encoding/json"
	"testing"
)

func TestSmoke(t *testing.T) {
	p := load(t, "prompt-template", Config{Config: []byte(`{"system":"Be brief.","template":"Q: {{input}}"}`)})
	t.Log(p.Roles(), p.Description())
	res, err := p.Transform(context.Background(), Envelope{Stage: StageRequest, Body: json.RawMessage(`{"model":"m","messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]}`), Metadata: Metadata{Op: OpChat}})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(string(res.Body))
}
