// Command prompt-template is a request transform that wraps the user's input in a system prompt
// and a template from its config, so every app calling the model gets the same framing:
//
//	{"system": "You are a terse assistant.", "template": "Answer in one line: {{input}}"}
//
// The template is applied to the last user message ({{input}} stands for its text); the system
// prompt is put first, replacing any system message the app sent. Either may be left out.
package main

import (
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

type config struct {
	System   string `json:"system"`
	Template string `json:"template"`
}

var cfg iomwasm.ConfigCache[config]

//go:wasmexport iom_transform
func transform(ptr, size uint32) uint64 { return iomwasm.Transform(ptr, size, apply) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "prompt-template", Language: "go", Roles: []string{"transform"}, Version: "1.0.0"})
}

func apply(env *iomwasm.Envelope) (iomwasm.Result, error) {
	if env.Stage != "request" || env.Metadata.Op != "chat" {
		return iomwasm.Result{}, nil
	}
	c, err := cfg.Get(env.Config)
	if err != nil {
		return iomwasm.Result{}, err
	}
	if c.System == "" && c.Template == "" {
		return iomwasm.Result{}, nil
	}
	messages := env.Body.Get("messages")
	if messages.Kind() != iomwasm.Array {
		return iomwasm.Result{}, iomwasm.Errorf("bad_request", "prompt-template: the request has no messages array")
	}
	lastUser := -1
	messages.Each(func(i int, m iomwasm.Value) bool {
		if m.Get("role").Str() == "user" {
			lastUser = i
		}
		return true
	})

	// Rebuild the messages array: the system prompt first, the others as they came (raw), the
	// last user message with its text put through the template.
	out := make([]byte, 0, len(messages)+len(c.System)+len(c.Template)+64)
	out = append(out, '[')
	n := 0
	add := func(msg []byte) {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, msg...)
		n++
	}
	if c.System != "" {
		add(iomwasm.AppendString([]byte(`{"role":"system","content":`), c.System))
		out = append(out, '}')
	}
	messages.Each(func(i int, m iomwasm.Value) bool {
		switch {
		case c.System != "" && m.Get("role").Str() == "system":
			// replaced by the configured system prompt
		case i == lastUser && c.Template != "":
			text := strings.ReplaceAll(c.Template, "{{input}}", iomwasm.MessageText(m))
			add(iomwasm.AppendString([]byte(`{"role":"user","content":`), text))
			out = append(out, '}')
		default:
			add(m)
		}
		return true
	})
	out = append(out, ']')
	return iomwasm.Result{Body: iomwasm.Splice(env.Body, messages, out)}, nil
}
