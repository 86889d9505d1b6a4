package pipeline

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/spec"
)

// withSchema is chain(1) with an inputSchema and a chatInput.
func withSchema(schema, chatInput string) *spec.Pipeline {
	p := chain(1)
	if schema != "" {
		p.InputSchema = json.RawMessage(schema)
	}
	p.ChatInput = chatInput
	return p
}

func chatRequest(content any) map[string]any {
	return map[string]any{"messages": []any{
		map[string]any{"role": "user", "content": "an earlier question"},
		map[string]any{"role": "assistant", "content": "an answer"},
		map[string]any{"role": "user", "content": content},
	}}
}

// The chat property: chatInput, checked against the schema, or the one required string property.
func TestChatProperty(t *testing.T) {
	for _, tt := range []struct {
		name, schema, chatInput string
		want                    string // the property, or "problem: …" for a validation problem
	}{
		{"one required string", `{"type":"object","properties":{"topic":{"type":"string"},"audience":{"type":"string"}},"required":["topic"]}`, "", "topic"},
		{"a nullable string", `{"properties":{"q":{"type":["string","null"]}},"required":["q"]}`, "", "q"},
		{"two required strings", `{"properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a","b"]}`, "", ""},
		{"a required array", `{"properties":{"series":{"type":"array"}},"required":["series"]}`, "", ""},
		{"no schema", "", "", ""},
		{"chatInput picks one of two", `{"properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["a","b"]}`, "b", "b"},
		{"chatInput on an array of numbers", `{"properties":{"series":{"type":"array","items":{"type":"number"}}},"required":["series"]}`, "series", "series"},
		{"chatInput without a schema", "", "question", "question"},
		{"chatInput not declared", `{"properties":{"a":{"type":"string"}}}`, "b", `problem: chatInput: the inputSchema declares no property "b"`},
		{"chatInput on an integer", `{"properties":{"n":{"type":"integer"}}}`, "n", `problem: chatInput: property "n" is of type "integer"`},
		{"chatInput on an array of objects", `{"properties":{"xs":{"type":"array","items":{"type":"object"}}}}`, "xs", `problem: chatInput: property "xs" is of type "array"`},
		{"chatInput on messages", "", "messages", "problem: chatInput: messages is the chat's own"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plan, ps := Compile(withSchema(tt.schema, tt.chatInput), pluginsOnly{})
			if want, ok := strings.CutPrefix(tt.want, "problem: "); ok {
				if len(ps) != 1 || !strings.HasPrefix(ps[0].Error(), want) {
					t.Fatalf("problems %v, want %q", ps, want)
				}
				return
			}
			if ps != nil {
				t.Fatal(ps)
			}
			if got := plan.ChatProperty(); got != tt.want {
				t.Fatalf("chat property %q, want %q", got, tt.want)
			}
		})
	}
}

// The last user message fills the chat property, by its kind; a request that sets the property
// keeps its own; messages stay in the input.
func TestChatInput(t *testing.T) {
	compile := func(schema, chatInput string) *Plan {
		t.Helper()
		plan, ps := Compile(withSchema(schema, chatInput), pluginsOnly{})
		if ps != nil {
			t.Fatal(ps)
		}
		return plan
	}
	text := compile(`{"properties":{"topic":{"type":"string"}},"required":["topic"]}`, "")
	in := chatRequest("  city parks  ")
	if fe := text.ChatInput(in); fe != nil || in["topic"] != "city parks" || in["messages"] == nil {
		t.Fatalf("text: %v %v", fe, in)
	}
	in = chatRequest([]any{map[string]any{"type": "text", "text": "solar"}, map[string]any{"type": "text", "text": "power"}})
	if fe := text.ChatInput(in); fe != nil || in["topic"] != "solar\npower" {
		t.Fatalf("text parts: %v %v", fe, in)
	}
	in = chatRequest("ignored")
	in["topic"] = "given"
	if fe := text.ChatInput(in); fe != nil || in["topic"] != "given" {
		t.Fatalf("a topic the request sets: %v %v", fe, in)
	}
	in = chatRequest("   ")
	if fe := text.ChatInput(in); fe == nil || fe.Status != 400 || !strings.Contains(fe.Message, `set "topic" in the request`) {
		t.Fatalf("no text: %v", fe)
	}

	image := compile(`{"properties":{"image":{"type":"string","contentMediaType":"image/*"}},"required":["image"]}`, "image")
	in = chatRequest([]any{map[string]any{"type": "text", "text": "what is this?"},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64,AAAA"}}})
	if fe := image.ChatInput(in); fe != nil || in["image"] != "data:image/png;base64,AAAA" {
		t.Fatalf("image part: %v %v", fe, in)
	}
	in = chatRequest("data:image/gif;base64,R0lG")
	if fe := image.ChatInput(in); fe != nil || in["image"] != "data:image/gif;base64,R0lG" {
		t.Fatalf("a data URL as text: %v %v", fe, in)
	}
	in = chatRequest("describe a picture")
	if fe := image.ChatInput(in); fe == nil || !strings.Contains(fe.Message, "image_url content part") {
		t.Fatalf("no image: %v", fe)
	}

	numbers := compile(`{"properties":{"series":{"type":"array","minItems":3}},"required":["series"]}`, "series")
	in = chatRequest("Weekly signups: 10, 12, 13.5 then -2 and 1e2")
	if fe := numbers.ChatInput(in); fe != nil || !reflect.DeepEqual(in["series"], []any{10.0, 12.0, 13.5, -2.0, 100.0}) {
		t.Fatalf("numbers: %v %v", fe, in)
	}
	in = chatRequest("no numbers here")
	if fe := numbers.ChatInput(in); fe == nil || !strings.Contains(fe.Message, "list of numbers") {
		t.Fatalf("no numbers: %v", fe)
	}

	none := compile("", "")
	in = chatRequest("hello")
	if fe := none.ChatInput(in); fe != nil || len(in) != 1 {
		t.Fatalf("no chat property: %v %v", fe, in)
	}
}

func TestNumbers(t *testing.T) {
	for in, want := range map[string][]any{
		"10,12;13 14":           {10.0, 12.0, 13.0, 14.0},
		"10-12":                 {10.0, 12.0},
		"-3 +4 .5":              {-3.0, 4.0, 0.5},
		"Q3 sales 4th mp3 7 x2": {7.0},
		"[1.5, 2.25, 3]":        {1.5, 2.25, 3.0},
		"none":                  nil,
	} {
		if got := Numbers(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Numbers(%q) = %v, want %v", in, got, want)
		}
	}
}

// A chat request's property does not reach a model that gets the input as a chat request.
func TestCanonicalDropsTheChatProperty(t *testing.T) {
	plan, _ := Compile(withSchema(`{"properties":{"q":{"type":"string"}},"required":["q"]}`, ""), pluginsOnly{})
	in := chatRequest("why?")
	if fe := plan.ChatInput(in); fe != nil {
		t.Fatal(fe)
	}
	in["temperature"] = 0.5
	_, body := canonical(&invokeRoute, in, plan.ChatProperty())
	var req map[string]any
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatal(err)
	}
	if _, has := req["q"]; has || req["temperature"] != 0.5 || len(req["messages"].([]any)) != 3 {
		t.Fatalf("the chat request a step sends: %s", body)
	}
}

// A model step's text as the output is streamed, like its answer as it is.
func TestStreamsTheOutputText(t *testing.T) {
	cat := oneModel{}
	p := &spec.Pipeline{ID: "s", Name: "S", Nodes: []spec.Node{{ID: "in", Type: spec.NodeInput}, {ID: "m", Type: spec.NodeModel, Data: spec.NodeData{Model: "m"}},
		{ID: "out", Type: spec.NodeOutput}}, Edges: []spec.Edge{{Source: "in", Target: "m"}, {Source: "m", Target: "out"}}}
	for expr, want := range map[string]bool{"": true, "steps.m.output.text": true, " steps.m.output.text ": true,
		"steps.m.output.usage": false, `steps.m.output.text + "!"`: false} {
		p.Nodes[2].Data.Output = expr
		plan, ps := Compile(p, cat)
		if ps != nil {
			t.Fatal(ps)
		}
		if plan.Streams() != want {
			t.Errorf("output %q streams: %v, want %v", expr, plan.Streams(), want)
		}
	}
}

var invokeRoute = invoke.Route{Entry: &spec.Entry{Model: &spec.Model{ID: "m", ModelType: "llm"}}}

// oneModel is a catalog with one model, m.
type oneModel struct{}

func (oneModel) Model(id string) *spec.Entry {
	if id == "m" {
		return invokeRoute.Entry
	}
	return nil
}
func (oneModel) HasPlugin(string) bool    { return true }
func (oneModel) HasMCPServer(string) bool { return false }
