package provider

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/wire/bedrock"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// This file translates canonical chat requests into Bedrock's Converse requests; the answers
// come back in bedrock_openai.go.

// bedrockImageFormats are the image formats Converse takes, by media type.
var bedrockImageFormats = map[string]string{"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg",
	"image/gif": "gif", "image/webp": "webp"}

// cachePoint ends a prompt prefix to cache: where a text part carries Anthropic's cache_control
// marker, as clients of Claude models send it.
var cachePoint = &bedrock.CachePoint{Type: "default"}

// toBedrock translates a canonical chat request. System messages become the system prompt (a
// part marked with cache_control followed by a cache point, as in user messages);
// assistant tool calls toolUse blocks; tool results toolResult blocks of a user turn;
// consecutive turns of one role merge, as Converse wants roles to alternate (the results of
// parallel calls answer them in one turn).
func toBedrock(req *openai.ChatRequest) (*bedrock.Request, error) {
	if req.N != nil && *req.N > 1 {
		return nil, fault.Invalid("n", "bedrock models answer one choice per request; n must be 1")
	}
	out := &bedrock.Request{}
	tools := false // the conversation has tool blocks, which Converse takes only with a toolConfig
	for i, m := range req.Messages {
		var blocks []bedrock.ContentBlock
		role := m.Role
		switch m.Role {
		case "system", "developer":
			parts, err := openai.Parts(m.Content)
			if err != nil {
				return nil, fault.Invalid("messages", "messages[%d].content: %v", i, err)
			}
			for _, p := range parts {
				if p.Type == "text" && p.Text != "" {
					out.System = append(out.System, bedrock.SystemBlock{Text: p.Text})
					if len(p.CacheControl) > 0 {
						out.System = append(out.System, bedrock.SystemBlock{CachePoint: cachePoint})
					}
				}
			}
			continue
		case "user":
			parts, err := openai.Parts(m.Content)
			if err != nil {
				return nil, fault.Invalid("messages", "messages[%d].content: %v", i, err)
			}
			for _, p := range parts {
				b, err := bedrockBlock(p)
				if err != nil {
					return nil, fault.Invalid("messages", "messages[%d].content: %v", i, err)
				}
				if b != nil {
					blocks = append(blocks, *b)
					if len(p.CacheControl) > 0 {
						blocks = append(blocks, bedrock.ContentBlock{CachePoint: cachePoint})
					}
				}
			}
		case "assistant":
			if t := openai.Text(m.Content); t != "" {
				blocks = append(blocks, bedrock.ContentBlock{Text: &t})
			}
			for j, tc := range m.ToolCalls {
				if tc.ID == "" || tc.Function.Name == "" {
					return nil, fault.Invalid("messages", "messages[%d].tool_calls[%d] needs an id and a function name", i, j)
				}
				blocks = append(blocks, bedrock.ContentBlock{ToolUse: &bedrock.ToolUse{ToolUseID: tc.ID, Name: tc.Function.Name,
					Input: argsObject(tc.Function.Arguments)}})
				tools = true
			}
		case "tool":
			if m.ToolCallID == "" {
				return nil, fault.Invalid("messages", "messages[%d]: a tool message needs its tool_call_id", i)
			}
			role = "user"
			blocks = append(blocks, bedrock.ContentBlock{ToolResult: toolResult(m.ToolCallID, m.Content)})
			tools = true
		default:
			return nil, fault.Invalid("messages", "messages[%d].role %q is not supported", i, m.Role)
		}
		if len(blocks) == 0 {
			continue // Converse refuses a turn without content
		}
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
			continue
		}
		out.Messages = append(out.Messages, bedrock.Message{Role: role, Content: blocks})
	}
	if len(out.Messages) == 0 || out.Messages[0].Role != "user" {
		return nil, fault.Invalid("messages", "bedrock needs a conversation that starts with a user message")
	}
	if err := bedrockTools(req, out, tools); err != nil {
		return nil, err
	}
	ic := &bedrock.InferenceConfig{MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP}
	if req.MaxCompletionTokens != nil {
		ic.MaxTokens = req.MaxCompletionTokens
	}
	stops, err := openai.Strings(req.Stop)
	if err != nil {
		return nil, fault.Invalid("stop", "stop must be a string or a list of strings")
	}
	ic.StopSequences = stops
	if ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(stops) > 0 {
		out.InferenceConfig = ic
	}
	return out, nil
}

// bedrockBlock translates a user content part; an empty text part is left out (nil).
func bedrockBlock(p openai.ContentPart) (*bedrock.ContentBlock, error) {
	switch p.Type {
	case "text":
		if p.Text == "" {
			return nil, nil
		}
		t := p.Text
		return &bedrock.ContentBlock{Text: &t}, nil
	case "image_url":
		if p.ImageURL == nil {
			return nil, errors.New("image_url part without a url")
		}
		rest, ok := strings.CutPrefix(p.ImageURL.URL, "data:")
		media, data, b64 := strings.Cut(rest, ";base64,")
		if !ok || !b64 {
			return nil, errors.New("bedrock takes images as base64 data URLs (data:image/png;base64,…)")
		}
		format, known := bedrockImageFormats[strings.ToLower(media)]
		if !known {
			return nil, errors.New("bedrock takes png, jpeg, gif and webp images, not " + strconv.Quote(media))
		}
		if _, err := base64.StdEncoding.DecodeString(data); err != nil {
			return nil, errors.New("the image's data is not base64")
		}
		return &bedrock.ContentBlock{Image: &bedrock.Image{Format: format, Source: bedrock.ImageSource{Bytes: data}}}, nil
	}
	return nil, errors.New("content part type " + strconv.Quote(p.Type) + " is not supported")
}

// toolResult makes a tool message a toolResult block: a JSON object result as json, anything
// else as text.
func toolResult(id string, content json.RawMessage) *bedrock.ToolResult {
	text := openai.Text(content)
	trimmed := bytes.TrimSpace([]byte(text))
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return &bedrock.ToolResult{ToolUseID: id, Content: []bedrock.ToolResultContent{{JSON: trimmed}}}
	}
	return &bedrock.ToolResult{ToolUseID: id, Content: []bedrock.ToolResultContent{{Text: &text}}}
}

// bedrockTools translates tools and tool_choice. Converse has no "none": a request that says
// none is sent without its tools, unless the conversation holds tool blocks, which Converse
// takes only with a toolConfig; then the tools go, and the model chooses.
func bedrockTools(req *openai.ChatRequest, out *bedrock.Request, conversationTools bool) error {
	var specs []bedrock.Tool
	for i, t := range req.Tools {
		if t.Type != "" && t.Type != "function" {
			return fault.Invalid("tools", "tools[%d].type %q is not supported: bedrock takes function tools", i, t.Type)
		}
		if t.Function.Name == "" {
			return fault.Invalid("tools", "tools[%d].function.name is required", i)
		}
		schema := bytes.TrimSpace(t.Function.Parameters)
		if len(schema) == 0 || string(schema) == "null" {
			schema = []byte(`{"type":"object","properties":{}}`)
		} else if schema[0] != '{' || !json.Valid(schema) {
			return fault.Invalid("tools", "tools[%d].function.parameters must be a JSON Schema object", i)
		}
		specs = append(specs, bedrock.Tool{ToolSpec: bedrock.ToolSpec{Name: t.Function.Name, Description: t.Function.Description,
			InputSchema: bedrock.InputSchema{JSON: schema}}})
	}
	var choice *bedrock.ToolChoice
	if len(req.ToolChoice) > 0 && string(req.ToolChoice) != "null" {
		tc, err := toolChoice(req.ToolChoice)
		if err != nil {
			return err
		}
		switch tc.Type {
		case "auto":
			choice = &bedrock.ToolChoice{Auto: &struct{}{}}
		case "any":
			choice = &bedrock.ToolChoice{Any: &struct{}{}}
		case "tool":
			choice = &bedrock.ToolChoice{Tool: &bedrock.SpecificTool{Name: tc.Name}}
		case "none":
			if !conversationTools {
				specs = nil
			}
		}
	}
	if len(specs) == 0 {
		if conversationTools {
			return fault.Invalid("tools", "bedrock needs the tools of a conversation that holds tool calls: send tools with it")
		}
		return nil
	}
	out.ToolConfig = &bedrock.ToolConfig{Tools: specs, ToolChoice: choice}
	return nil
}
