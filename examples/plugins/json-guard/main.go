// Command json-guard is a response transform that checks a chat answer is JSON matching a JSON
// Schema, so an app asking for structured output gets it or a clear error. The schema is the
// config's, for example
//
//	{"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}
//
// or, when the config has none, the outputSchema of the model that answered.
//
// It reads choices[0].message.content (a ```json fenced block is unwrapped first) and answers
// unchanged, or with the error {"message": "answer is not JSON matching the schema: …",
// "code": "json_guard"}. The schema subset it implements is in schema.go.
package main

import (
	"encoding/json"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

type config struct {
	Schema json.RawMessage `json:"schema"`
}

// guard is the decoded schema, rebuilt only when the config changes.
type guard struct {
	raw    string
	schema any
}

var (
	cfg iomwasm.ConfigCache[config]
	g   guard
)

//go:wasmexport iom_transform
func transform(ptr, size uint32) uint64 { return iomwasm.Transform(ptr, size, apply) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "json-guard", Language: "go", Roles: []string{"transform"}, Version: "1.0.0"})
}

func apply(env *iomwasm.Envelope) (iomwasm.Result, error) {
	if env.Stage != "response" || env.Metadata.Op != "chat" {
		return iomwasm.Result{}, nil
	}
	c, err := cfg.Get(env.Config)
	if err != nil {
		return iomwasm.Result{}, err
	}
	schema := []byte(c.Schema)
	if len(schema) == 0 {
		schema = env.Metadata.OutputSchema
	}
	if len(schema) == 0 {
		return iomwasm.Result{}, iomwasm.Errorf("json_guard_config",
			"json-guard: neither the config nor model %q has a schema", env.Metadata.Model)
	}
	if g.raw != string(schema) {
		var s any
		if err := json.Unmarshal(schema, &s); err != nil {
			return iomwasm.Result{}, iomwasm.Errorf("json_guard_config", "json-guard: invalid schema: %v", err)
		}
		g = guard{raw: string(schema), schema: s}
	}
	var choice iomwasm.Value
	env.Body.Get("choices").Each(func(_ int, v iomwasm.Value) bool { choice = v; return false })
	answer := unfence(choice.Path("message", "content").Str())
	if err := check(g.schema, answer); err != nil {
		return iomwasm.Result{}, iomwasm.Errorf("json_guard", "answer is not JSON matching the schema: %v", err)
	}
	return iomwasm.Result{}, nil
}

// check parses answer and validates it against schema.
func check(schema any, answer string) error {
	dec := json.NewDecoder(strings.NewReader(answer))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return errorf("$", "not JSON (%v)", err)
	}
	if dec.More() {
		return errorf("$", "not JSON (extra data after the value)")
	}
	return validate(schema, v, "$")
}

// unfence returns the inside of a Markdown code fence around s, or s trimmed.
func unfence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	s = strings.TrimSuffix(s[3:], "```")
	if i := strings.IndexByte(s, '\n'); i >= 0 && !strings.ContainsAny(s[:i], "{[\"") {
		s = s[i+1:] // the fence's language tag, e.g. json
	}
	return strings.TrimSpace(s)
}
