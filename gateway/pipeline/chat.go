package pipeline

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
)

// A chat request to pipeline:<id> is the pipeline's input: its members but model, stream and
// stream_options, messages included, so steps can read input.messages and the client can set
// inputSchema properties as members of the request. The pipeline's chat property, when it has
// one, is then filled from the last user message unless the request sets it itself.

// chatKind is what the chat property takes from the last user message.
type chatKind uint8

const (
	chatText    chatKind = iota // the message's text
	chatImage                   // its first image_url part, else its text when that is a data: URL
	chatNumbers                 // every number in its text, in order
)

// chatProp is the inputSchema property the last user message of a chat request fills.
type chatProp struct {
	name string
	kind chatKind
}

// propSchema is the part of a property's JSON Schema that decides what a message can fill it
// with.
type propSchema struct {
	Type             json.RawMessage `json:"type"`
	ContentMediaType string          `json:"contentMediaType"`
	Items            *propSchema     `json:"items"`
}

// types lists the property's types: its type, or the list of them; none when it has no type.
func (s *propSchema) types() []string {
	if s == nil || len(s.Type) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		return []string{one}
	}
	var list []string
	_ = json.Unmarshal(s.Type, &list)
	return list
}

// kind is what a message fills the property with, or false when it cannot fill it: a string
// property takes the text (an image when its contentMediaType is image/…), an array of numbers
// (or of anything) the numbers in the text, a property of any type the text.
func (s *propSchema) kind() (chatKind, bool) {
	ts := s.types()
	switch {
	case len(ts) == 0:
		return chatText, true
	case slices.Contains(ts, "string"):
		if strings.HasPrefix(s.ContentMediaType, "image/") {
			return chatImage, true
		}
		return chatText, true
	case slices.Contains(ts, "array"):
		for _, t := range s.Items.types() {
			if t != "number" && t != "integer" {
				return 0, false
			}
		}
		return chatNumbers, true
	}
	return 0, false
}

// chatProperty works out p's chat property: p.ChatInput, checked against the inputSchema when
// there is one, else the inputSchema's only required string property. It returns nil when
// there is none, and a problem when chatInput names a property the schema does not declare or
// one a message cannot fill.
func chatProperty(p *spec.Pipeline) (*chatProp, *spec.Problem) {
	var schema struct {
		Properties map[string]*propSchema `json:"properties"`
		Required   []string               `json:"required"`
	}
	hasSchema := len(p.InputSchema) > 0
	if hasSchema {
		_ = json.Unmarshal(p.InputSchema, &schema) // a schema that is not an object declares nothing
	}
	if name := p.ChatInput; name != "" {
		bad := func(format string, args ...any) (*chatProp, *spec.Problem) {
			return nil, &spec.Problem{Field: "chatInput", Message: fmt.Sprintf(format, args...)}
		}
		if name == "messages" {
			return bad("messages is the chat's own; name the property its last user message fills")
		}
		if !hasSchema {
			return &chatProp{name: name, kind: chatText}, nil
		}
		s, ok := schema.Properties[name]
		if !ok {
			return bad("the inputSchema declares no property %q", name)
		}
		k, ok := s.kind()
		if !ok {
			return bad("property %q is of type %s; a chat message fills a string property, or an array of numbers", name, string(s.Type))
		}
		return &chatProp{name: name, kind: k}, nil
	}
	var found *chatProp
	for _, name := range schema.Required {
		s := schema.Properties[name]
		if name == "messages" || !slices.Contains(s.types(), "string") {
			continue
		}
		if found != nil {
			return nil, nil // more than one: which one the message is for is the pipeline's to say
		}
		k, _ := s.kind()
		found = &chatProp{name: name, kind: k}
	}
	return found, nil
}

// ChatProperty is the inputSchema property a chat request's last user message fills, or "".
func (p *Plan) ChatProperty() string {
	if p.chat == nil {
		return ""
	}
	return p.chat.name
}

// ChatInput fills the chat property of input (a chat request without model and stream), unless
// input sets it, from the last user message: its text; for an image property, its first image_url
// part, else its text if a data: URL; for an array property, the numbers in its text. A message
// with nothing to fill it is an error saying what to send instead. Without a chat property it
// does nothing.
func (p *Plan) ChatInput(input map[string]any) *fault.Error {
	c := p.chat
	if c == nil {
		return nil
	}
	if _, set := input[c.name]; set {
		return nil
	}
	id := p.Pipeline.ID
	text, images := lastUserMessage(input["messages"])
	switch c.kind {
	case chatImage:
		switch {
		case len(images) > 0:
			input[c.name] = images[0]
		case strings.HasPrefix(text, "data:"):
			input[c.name] = text
		default:
			return fault.Invalid("messages", "pipeline %q takes %q, an image, from the last user message: send the image as an image_url content part (a data: URL), or set %q in the request", id, c.name, c.name)
		}
	case chatNumbers:
		nums := Numbers(text)
		if len(nums) == 0 {
			return fault.Invalid("messages", "pipeline %q takes %q, a list of numbers, from the last user message, which has none: write them in it (\"10, 12, 13.5\"), or set %q in the request", id, c.name, c.name)
		}
		input[c.name] = nums
	default:
		if text == "" {
			return fault.Invalid("messages", "pipeline %q takes %q from the text of the last user message, which has none: send a user message, or set %q in the request", id, c.name, c.name)
		}
		input[c.name] = text
	}
	return nil
}

// lastUserMessage returns the text (trimmed) and the image URLs of the last message whose role
// is user: its content string, or its text parts joined by newlines and its image_url parts.
func lastUserMessage(messages any) (text string, images []string) {
	list, _ := messages.([]any)
	for i := len(list) - 1; i >= 0; i-- {
		m, _ := list[i].(map[string]any)
		if m == nil || m["role"] != "user" {
			continue
		}
		switch c := m["content"].(type) {
		case string:
			return strings.TrimSpace(c), nil
		case []any:
			var parts []string
			for _, part := range c {
				pm, _ := part.(map[string]any)
				switch pm["type"] {
				case "text":
					if s, ok := pm["text"].(string); ok {
						parts = append(parts, s)
					}
				case "image_url":
					switch u := pm["image_url"].(type) {
					case map[string]any:
						if s, ok := u["url"].(string); ok && s != "" {
							images = append(images, s)
						}
					case string:
						images = append(images, u)
					}
				}
			}
			return strings.TrimSpace(strings.Join(parts, "\n")), images
		}
		return "", nil
	}
	return "", nil
}

var numberPattern = regexp.MustCompile(`[-+]?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?`)

// Numbers returns the numbers written in a text, in order: decimal numbers with an optional
// sign, fraction and exponent ("-3", "12.5", "1e3"). Anything else separates them, so "10,
// 12;13 14" is four numbers and a comma is never a thousands separator. A number that is part
// of a word ("Q3", "4th", "mp3") is not one; a sign after a digit or a letter is a dash ("10-12"
// is 10 and 12).
func Numbers(text string) []any {
	var out []any
	for _, loc := range numberPattern.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if start > 0 && unicode.IsLetter(before) || end < len(text) && unicode.IsLetter(after) {
			continue
		}
		s := text[start:end]
		if (s[0] == '-' || s[0] == '+') && start > 0 && (unicode.IsDigit(before) || unicode.IsLetter(before)) {
			s = s[1:]
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			out = append(out, f)
		}
	}
	return out
}
