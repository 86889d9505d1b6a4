package provider

import (
	"encoding/json"
	"strings"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/wire/anthropic"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// This file translates the other way round from openai_anthropic.go: a request that came in on
// Anthropic's Messages API (POST /v1/messages) into a canonical chat request, and the canonical
// answer or chunks back into Anthropic's shapes, whatever upstream served them.

// MessagesToChat translates an inbound Messages request to a canonical chat request.
func MessagesToChat(ar *anthropic.Request) (*openai.ChatRequest, error) {
	if ar.Model == "" {
		return nil, fault.Invalid("model", "model: field required")
	}
	if ar.MaxTokens <= 0 {
		return nil, fault.Invalid("max_tokens", "max_tokens: field required, a positive integer")
	}
	if len(ar.Messages) == 0 {
		return nil, fault.Invalid("messages", "messages: at least one message is required")
	}
	max := ar.MaxTokens
	req := &openai.ChatRequest{Model: ar.Model, MaxTokens: &max, Temperature: ar.Temperature, TopP: ar.TopP, Stream: ar.Stream}
	if ar.Stream {
		req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	if len(ar.StopSequences) > 0 {
		req.Stop, _ = json.Marshal(ar.StopSequences)
	}
	if len(ar.System) > 0 && string(ar.System) != "null" {
		text, err := blocksText(ar.System)
		if err != nil {
			return nil, fault.Invalid("system", "system: %v", err)
		}
		content, _ := json.Marshal(text)
		if parts := cachedParts(ar.System); parts != nil {
			content, _ = json.Marshal(parts) // text parts keep their cache_control for Anthropic upstreams
		}
		req.Messages = append(req.Messages, openai.Message{Role: "system", Content: content})
	}
	for i, m := range ar.Messages {
		msgs, err := messageToChat(m)
		if err != nil {
			return nil, fault.Invalid("messages", "messages.%d: %v", i, err)
		}
		req.Messages = append(req.Messages, msgs...)
	}
	for _, t := range ar.Tools {
		req.Tools = append(req.Tools, openai.Tool{Type: "function", Function: openai.Function{Name: t.Name, Description: t.Description, Parameters: t.InputSchema}})
	}
	if tc := ar.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto":
			req.ToolChoice = json.RawMessage(`"auto"`)
		case "any":
			req.ToolChoice = json.RawMessage(`"required"`)
		case "none":
			req.ToolChoice = json.RawMessage(`"none"`)
		case "tool":
			req.ToolChoice, _ = json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
		default:
			return nil, fault.Invalid("tool_choice", "tool_choice.type %q is not one of auto, any, tool, none", tc.Type)
		}
	}
	return req, nil
}

// blocksText returns the text of a string or of a list of text blocks.
func blocksText(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var blocks []anthropic.Block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", err
	}
	var parts []string
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, b.Text)
		}
	}
	return strings.Join(parts, "\n"), nil
}

func messageToChat(m anthropic.Message) ([]openai.Message, error) {
	if m.Role != "user" && m.Role != "assistant" {
		return nil, fault.Invalid("messages", "role %q is not user or assistant", m.Role)
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		content, _ := json.Marshal(s)
		return []openai.Message{{Role: m.Role, Content: content}}, nil
	}
	var blocks []anthropic.Block
	if err := json.Unmarshal(m.Content, &blocks); err != nil {
		return nil, err
	}
	var out []openai.Message
	var parts []openai.ContentPart
	var calls []openai.ToolCall
	for _, b := range blocks {
		switch b.Type {
		case "text":
			parts = append(parts, openai.ContentPart{Type: "text", Text: b.Text, CacheControl: b.CacheControl})
		case "image":
			if b.Source == nil {
				continue
			}
			url := b.Source.URL
			if b.Source.Type == "base64" {
				url = "data:" + b.Source.MediaType + ";base64," + b.Source.Data
			}
			parts = append(parts, openai.ContentPart{Type: "image_url", ImageURL: &openai.ImageURL{URL: url}})
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			calls = append(calls, openai.ToolCall{ID: b.ID, Type: "function", Function: openai.FunctionCall{Name: b.Name, Arguments: args}})
		case "tool_result":
			text, _ := blocksText(b.Content)
			if b.IsError {
				text = "error: " + text
			}
			content, _ := json.Marshal(text)
			out = append(out, openai.Message{Role: "tool", ToolCallID: b.ToolUseID, Content: content})
		}
	}
	if len(parts) > 0 || len(calls) > 0 {
		msg := openai.Message{Role: m.Role, ToolCalls: calls}
		if len(parts) == 1 && parts[0].Type == "text" {
			msg.Content, _ = json.Marshal(parts[0].Text)
		} else if len(parts) > 0 {
			msg.Content, _ = json.Marshal(parts)
		}
		out = append(out, msg)
	}
	return out, nil
}

var anthropicStops = map[string]string{"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
	"function_call": "tool_use", "content_filter": "refusal"}

func stopReason(finish string) string {
	if r, ok := anthropicStops[finish]; ok {
		return r
	}
	return "end_turn"
}

// ChatToMessages translates a canonical chat completion to a Messages answer.
func ChatToMessages(body []byte, model, id string) ([]byte, error) {
	var c openai.ChatResponse
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fault.Upstream(0, "the answer is not a chat completion: %v", err)
	}
	out := anthropic.Response{ID: "msg_" + id, Type: "message", Role: "assistant", Model: model, Content: []anthropic.Block{}}
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		if ch.Message.Content != nil && *ch.Message.Content != "" {
			out.Content = append(out.Content, anthropic.Block{Type: "text", Text: *ch.Message.Content})
		}
		for _, tc := range ch.Message.ToolCalls {
			input := json.RawMessage(tc.Function.Arguments)
			if !json.Valid(input) {
				input = json.RawMessage(`{}`)
			}
			out.Content = append(out.Content, anthropic.Block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
		}
		out.StopReason = stopReason(ch.FinishReason)
	}
	if c.Usage != nil {
		out.Usage = anthropicUsage(c.Usage)
	}
	return json.Marshal(out)
}

// MessagesEvents turns canonical chunks into Messages API events. Feed it every chunk, then call
// End; each call returns the events to send, as (name, data) pairs.
type MessagesEvents struct {
	id, model string
	started   bool
	open      int // index of the open content block, -1 when none
	kind      string
	next      int
	tools     map[int]int // OpenAI tool call index → block index
	stop      string
	usage     anthropic.Usage
	out       []Event
}

// Event is one server-sent event.
type Event struct {
	Name string
	Data []byte
}

// NewMessagesEvents starts a translation for model.
func NewMessagesEvents(model, id string) *MessagesEvents {
	return &MessagesEvents{id: "msg_" + id, model: model, open: -1, tools: map[int]int{}}
}

func (m *MessagesEvents) emit(name string, v any) {
	b, _ := json.Marshal(v)
	m.out = append(m.out, Event{Name: name, Data: b})
}

func (m *MessagesEvents) start() {
	if m.started {
		return
	}
	m.started = true
	m.emit("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": m.id, "type": "message", "role": "assistant", "model": m.model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]int{"input_tokens": 0, "output_tokens": 0}}})
}

func (m *MessagesEvents) closeBlock() {
	if m.open >= 0 {
		m.emit("content_block_stop", map[string]any{"type": "content_block_stop", "index": m.open})
		m.open = -1
	}
}

func (m *MessagesEvents) openBlock(kind string, block map[string]any) int {
	m.closeBlock()
	m.open, m.kind = m.next, kind
	m.next++
	m.emit("content_block_start", map[string]any{"type": "content_block_start", "index": m.open, "content_block": block})
	return m.open
}

// Chunk translates one canonical chunk.
func (m *MessagesEvents) Chunk(chunk []byte) []Event {
	m.out = m.out[:0]
	m.start()
	var c openai.Chunk
	if json.Unmarshal(chunk, &c) != nil {
		return m.out
	}
	if c.Usage != nil {
		m.usage = anthropicUsage(c.Usage)
	}
	for _, ch := range c.Choices {
		d := ch.Delta
		if d.Content != nil && *d.Content != "" {
			if m.open < 0 || m.kind != "text" {
				m.openBlock("text", map[string]any{"type": "text", "text": ""})
			}
			m.emit("content_block_delta", map[string]any{"type": "content_block_delta", "index": m.open,
				"delta": map[string]string{"type": "text_delta", "text": *d.Content}})
		}
		for _, tc := range d.ToolCalls {
			idx := 0
			if tc.Index != nil {
				idx = *tc.Index
			}
			block, ok := m.tools[idx]
			if !ok {
				block = m.openBlock("tool_use", map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Function.Name, "input": map[string]any{}})
				m.tools[idx] = block
			}
			if tc.Function.Arguments != "" && block == m.open {
				m.emit("content_block_delta", map[string]any{"type": "content_block_delta", "index": block,
					"delta": map[string]string{"type": "input_json_delta", "partial_json": tc.Function.Arguments}})
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			m.stop = stopReason(*ch.FinishReason)
		}
	}
	return m.out
}

// End closes the message: the last block, the stop reason with the usage, and message_stop.
func (m *MessagesEvents) End() []Event {
	m.out = m.out[:0]
	m.start()
	m.closeBlock()
	if m.stop == "" {
		m.stop = "end_turn"
	}
	usage := map[string]int64{"input_tokens": m.usage.InputTokens, "output_tokens": m.usage.OutputTokens}
	if m.usage.CacheReadInputTokens > 0 {
		usage["cache_read_input_tokens"] = m.usage.CacheReadInputTokens
	}
	m.emit("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": m.stop, "stop_sequence": nil},
		"usage": usage})
	m.emit("message_stop", map[string]any{"type": "message_stop"})
	return m.out
}

// MessagesError renders a fault as Anthropic's error body.
func MessagesError(fe *fault.Error) []byte {
	typ := "api_error"
	switch fe.Status {
	case 400, 413, 422:
		typ = "invalid_request_error"
	case 401:
		typ = "authentication_error"
	case 402:
		typ = "billing_error"
	case 403:
		typ = "permission_error"
	case 404:
		typ = "not_found_error"
	case 429:
		typ = "rate_limit_error"
	case 503, 529:
		typ = "overloaded_error"
	}
	msg, _, _ := errorMessage(fe.Body)
	if msg == "" {
		msg = fe.Message
	}
	b, _ := json.Marshal(anthropic.ErrorResponse{Type: "error", Error: anthropic.Error{Type: typ, Message: msg}})
	return b
}

// anthropicUsage is an OpenAI usage as Anthropic reports it: cached prompt tokens are counted
// apart from input_tokens, as cache_read_input_tokens.
func anthropicUsage(u *openai.Usage) anthropic.Usage {
	out := anthropic.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil && d.CachedTokens > 0 && d.CachedTokens <= u.PromptTokens {
		out.InputTokens -= d.CachedTokens
		out.CacheReadInputTokens = d.CachedTokens
	}
	return out
}

// cachedParts is a system prompt given as blocks as text parts, when one of them carries
// cache_control; nil otherwise (the prompt is then passed as one string, as before).
func cachedParts(system json.RawMessage) []openai.ContentPart {
	var blocks []anthropic.Block
	if json.Unmarshal(system, &blocks) != nil {
		return nil
	}
	var parts []openai.ContentPart
	cached := false
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, openai.ContentPart{Type: "text", Text: b.Text, CacheControl: b.CacheControl})
			cached = cached || len(b.CacheControl) > 0
		}
	}
	if !cached {
		return nil
	}
	return parts
}
