package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/anthropic"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// anthropicAdapter translates canonical requests to Anthropic's Messages API and its answers and
// events back. Legacy completions become a one-message chat; there are no embeddings.
type anthropicAdapter struct{}

// defaultMaxTokens is sent when the client gives none: Anthropic requires max_tokens.
const defaultMaxTokens = 4096

func (anthropicAdapter) Prepare(u *Upstream, m *spec.Model) error {
	e := strings.TrimRight(m.Endpoint, "/")
	e = strings.TrimSuffix(e, "/messages")
	e = strings.TrimSuffix(e, "/v1")
	u.base = e
	u.urls[Chat] = e + "/v1/messages"
	u.urls[Completion] = u.urls[Chat]
	return nil
}

func (a anthropicAdapter) auth(u *Upstream) func(*fasthttp.RequestHeader) {
	return func(h *fasthttp.RequestHeader) {
		if u.Key.IsSet() {
			h.Set("x-api-key", u.Key.Reveal())
		}
		if len(h.Peek("anthropic-version")) == 0 {
			h.Set("anthropic-version", anthropic.Version)
		}
	}
}

func (a anthropicAdapter) request(u *Upstream, c *Call, stream bool) ([]byte, *openai.ChatRequest, error) {
	var req openai.ChatRequest
	switch c.Op {
	case Chat:
		if err := json.Unmarshal(c.Body, &req); err != nil {
			return nil, nil, fault.Invalid("", "cannot read the chat request: %v", err)
		}
	case Completion:
		cr, err := completionAsChat(c.Body)
		if err != nil {
			return nil, nil, err
		}
		req = *cr
	default:
		return nil, nil, unsupported(u, c.Op)
	}
	ar, err := toAnthropic(&req, u.Model)
	if err != nil {
		return nil, nil, err
	}
	ar.Stream = stream
	b, err := json.Marshal(ar)
	if err != nil {
		return nil, nil, fault.Invalid("", "cannot encode the request for anthropic: %v", err)
	}
	return b, &req, nil
}

func (a anthropicAdapter) Do(u *Upstream, c *Call) (*Result, error) {
	body, _, err := a.request(u, c, false)
	if err != nil {
		return nil, err
	}
	resp, err := u.send(c, u.urls[Chat], body, a.auth(u), false)
	if err != nil {
		return nil, err
	}
	return vendorAnswer(u, c, resp, fromAnthropic)
}

func (a anthropicAdapter) Stream(u *Upstream, c *Call) (Stream, error) {
	if c.Op != Chat {
		return nil, fault.Invalid("stream", "provider %s streams chat completions only", u.Provider)
	}
	body, req, err := a.request(u, c, true)
	if err != nil {
		return nil, err
	}
	b, err := u.open(c, u.urls[Chat], body, a.auth(u), false)
	if err != nil {
		return nil, err
	}
	s := &anthropicStream{r: newEventReader(b, false), tools: map[int]int{}}
	s.k.model, s.k.created = u.Model, time.Now().Unix()
	s.k.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return s, nil
}

// toAnthropic translates a canonical chat request. System messages become the system prompt;
// tool results become user turns of tool_result blocks; consecutive turns of one role merge, as
// the Messages API requires alternation.
func toAnthropic(req *openai.ChatRequest, model string) (*anthropic.Request, error) {
	if req.N != nil && *req.N > 1 {
		return nil, fault.Invalid("n", "anthropic models answer one choice per request; n must be 1")
	}
	ar := &anthropic.Request{Model: model, Temperature: req.Temperature, TopP: req.TopP, MaxTokens: defaultMaxTokens}
	switch {
	case req.MaxCompletionTokens != nil:
		ar.MaxTokens = *req.MaxCompletionTokens
	case req.MaxTokens != nil:
		ar.MaxTokens = *req.MaxTokens
	}
	stops, err := openai.Strings(req.Stop)
	if err != nil {
		return nil, fault.Invalid("stop", "stop must be a string or a list of strings")
	}
	ar.StopSequences = stops
	var system []string
	var systemBlocks []anthropic.Block // kept when a part asks for prompt caching
	cacheSystem := false
	for i, m := range req.Messages {
		var blocks []anthropic.Block
		role := m.Role
		switch m.Role {
		case "system", "developer":
			system = append(system, openai.Text(m.Content))
			if parts, err := openai.Parts(m.Content); err == nil {
				for _, p := range parts {
					if p.Type == "text" {
						systemBlocks = append(systemBlocks, anthropic.Block{Type: "text", Text: p.Text, CacheControl: p.CacheControl})
						cacheSystem = cacheSystem || len(p.CacheControl) > 0
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
				b, err := partToBlock(p)
				if err != nil {
					return nil, fault.Invalid("messages", "messages[%d].content: %v", i, err)
				}
				blocks = append(blocks, b)
			}
		case "assistant":
			if t := openai.Text(m.Content); t != "" {
				blocks = append(blocks, anthropic.Block{Type: "text", Text: t})
			}
			for _, tc := range m.ToolCalls {
				input := json.RawMessage(tc.Function.Arguments)
				if !json.Valid(input) || len(bytes.TrimSpace(input)) == 0 {
					input = json.RawMessage(`{}`)
				}
				blocks = append(blocks, anthropic.Block{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
			}
		case "tool":
			role = "user"
			content, _ := json.Marshal(openai.Text(m.Content))
			blocks = append(blocks, anthropic.Block{Type: "tool_result", ToolUseID: m.ToolCallID, Content: content})
		default:
			return nil, fault.Invalid("messages", "messages[%d].role %q is not supported", i, m.Role)
		}
		if len(blocks) == 0 {
			continue
		}
		if n := len(ar.Messages); n > 0 && ar.Messages[n-1].Role == role {
			var prev []anthropic.Block
			_ = json.Unmarshal(ar.Messages[n-1].Content, &prev)
			blocks = append(prev, blocks...)
			ar.Messages = ar.Messages[:n-1]
		}
		content, _ := json.Marshal(blocks)
		ar.Messages = append(ar.Messages, anthropic.Message{Role: role, Content: content})
	}
	switch {
	case cacheSystem:
		ar.System, _ = json.Marshal(systemBlocks)
	case len(system) > 0:
		ar.System, _ = json.Marshal(strings.Join(system, "\n\n"))
	}
	if len(ar.Messages) == 0 {
		return nil, fault.Invalid("messages", "anthropic needs at least one user or assistant message")
	}
	for _, t := range req.Tools {
		schema := t.Function.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		ar.Tools = append(ar.Tools, anthropic.Tool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	if len(req.ToolChoice) > 0 {
		tc, err := toolChoice(req.ToolChoice)
		if err != nil {
			return nil, err
		}
		ar.ToolChoice = tc
	}
	return ar, nil
}

func toolChoice(raw json.RawMessage) (*anthropic.ToolChoice, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto":
			return &anthropic.ToolChoice{Type: "auto"}, nil
		case "required":
			return &anthropic.ToolChoice{Type: "any"}, nil
		case "none":
			return &anthropic.ToolChoice{Type: "none"}, nil
		}
		return nil, fault.Invalid("tool_choice", "tool_choice %q is not one of auto, required, none", s)
	}
	var named struct {
		Function struct{ Name string } `json:"function"`
	}
	if json.Unmarshal(raw, &named) != nil || named.Function.Name == "" {
		return nil, fault.Invalid("tool_choice", "tool_choice must be a string or {\"type\":\"function\",\"function\":{\"name\":…}}")
	}
	return &anthropic.ToolChoice{Type: "tool", Name: named.Function.Name}, nil
}

func partToBlock(p openai.ContentPart) (anthropic.Block, error) {
	switch p.Type {
	case "text":
		return anthropic.Block{Type: "text", Text: p.Text, CacheControl: p.CacheControl}, nil
	case "image_url":
		if p.ImageURL == nil {
			return anthropic.Block{}, errors.New("image_url part without a url")
		}
		url := p.ImageURL.URL
		if rest, ok := strings.CutPrefix(url, "data:"); ok {
			media, data, ok := strings.Cut(rest, ";base64,")
			if !ok {
				return anthropic.Block{}, errors.New("image data URLs must be base64")
			}
			return anthropic.Block{Type: "image", Source: &anthropic.ImageSource{Type: "base64", MediaType: media, Data: data}}, nil
		}
		return anthropic.Block{Type: "image", Source: &anthropic.ImageSource{Type: "url", URL: url}}, nil
	}
	return anthropic.Block{}, errors.New("content part type " + p.Type + " is not supported")
}

var stopReasons = map[string]string{"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
	"tool_use": "tool_calls", "refusal": "content_filter", "pause_turn": "stop"}

func finishReason(stop string) string {
	if r, ok := stopReasons[stop]; ok {
		return r
	}
	return "stop"
}

func usageOfAnthropic(u anthropic.Usage) Usage {
	return Usage{Input: u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens, Output: u.OutputTokens,
		CachedInput: u.CacheReadInputTokens, CacheWrite: u.CacheCreationInputTokens}
}

// fromAnthropic translates a Messages answer to a chat completion.
func fromAnthropic(ar *anthropic.Response) (*openai.ChatResponse, Usage) {
	var text strings.Builder
	msg := openai.ResponseMessage{Role: "assistant"}
	for _, b := range ar.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: b.ID, Type: "function",
				Function: openai.FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		msg.Content = openai.Str(text.String())
	}
	u := usageOfAnthropic(ar.Usage)
	return &openai.ChatResponse{ID: ar.ID, Object: "chat.completion", Created: time.Now().Unix(), Model: ar.Model,
		Choices: []openai.Choice{{Message: msg, FinishReason: finishReason(ar.StopReason)}},
		Usage:   openaiUsage(u)}, u
}

// anthropicStream translates Messages API events to chat completion chunks.
type anthropicStream struct {
	r     *eventReader
	k     chunker
	tools map[int]int // Anthropic block index → OpenAI tool call index
	done  bool
}

func (s *anthropicStream) Next() ([]byte, error) {
	for {
		if c, ok := s.k.pop(); ok {
			return c, nil
		}
		if s.done {
			return nil, io.EOF
		}
		_, data, err := s.r.next()
		if errors.Is(err, io.EOF) {
			return nil, streamFault("upstream closed the stream before message_stop")
		}
		if err != nil {
			return nil, err
		}
		if err := s.translate(data); err != nil {
			return nil, err
		}
	}
}

func (s *anthropicStream) translate(data []byte) error {
	var ev anthropic.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return streamFault("upstream sent an event that is not JSON: %v", err)
	}
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			s.k.id = ev.Message.ID
			if ev.Message.Model != "" {
				s.k.model = ev.Message.Model
			}
			s.k.usage = usageOfAnthropic(ev.Message.Usage)
		}
		s.k.push(openai.Delta{Role: "assistant", Content: openai.Str("")}, "")
	case "content_block_start":
		if b := ev.ContentBlock; b != nil && b.Type == "tool_use" {
			i := len(s.tools)
			s.tools[ev.Index] = i
			s.k.push(openai.Delta{ToolCalls: []openai.ToolCall{{Index: &i, ID: b.ID, Type: "function",
				Function: openai.FunctionCall{Name: b.Name, Arguments: ""}}}}, "")
		}
	case "content_block_delta":
		var d anthropic.BlockDelta
		_ = json.Unmarshal(ev.Delta, &d)
		switch d.Type {
		case "text_delta":
			s.k.push(openai.Delta{Content: openai.Str(d.Text)}, "")
		case "input_json_delta":
			if i, ok := s.tools[ev.Index]; ok {
				s.k.push(openai.Delta{ToolCalls: []openai.ToolCall{{Index: &i, Function: openai.FunctionCall{Arguments: d.PartialJSON}}}}, "")
			}
		}
	case "message_delta":
		var d anthropic.MessageDelta
		_ = json.Unmarshal(ev.Delta, &d)
		if ev.Usage != nil {
			s.k.usage.Output = ev.Usage.OutputTokens
			if in := ev.Usage.InputTokens + ev.Usage.CacheCreationInputTokens + ev.Usage.CacheReadInputTokens; in > 0 {
				s.k.usage.Input = in
				s.k.usage.CachedInput, s.k.usage.CacheWrite = ev.Usage.CacheReadInputTokens, ev.Usage.CacheCreationInputTokens
			}
		}
		if d.StopReason != "" {
			s.k.push(openai.Delta{}, finishReason(d.StopReason))
		}
	case "message_stop":
		s.k.pushUsage()
		s.done = true
	case "error":
		msg := "upstream stream failed"
		if ev.Error != nil {
			msg = "upstream anthropic: " + ev.Error.Type + ": " + ev.Error.Message
		}
		return streamFault("%s", msg)
	}
	return nil
}

func (s *anthropicStream) Buffered() bool { return len(s.k.queue) > 0 || s.r.buffered() }
func (s *anthropicStream) Usage() Usage   { return s.k.usage }
func (s *anthropicStream) Close()         { s.r.close(s.done) }

// completionAsChat turns a legacy completion request into a one-message chat request.
func completionAsChat(body []byte) (*openai.ChatRequest, error) {
	var cr openai.CompletionRequest
	if err := json.Unmarshal(body, &cr); err != nil {
		return nil, fault.Invalid("", "cannot read the completion request: %v", err)
	}
	prompts, err := openai.Strings(cr.Prompt)
	if err != nil || len(prompts) != 1 {
		return nil, fault.Invalid("prompt", "this provider takes one prompt string per request")
	}
	content, _ := json.Marshal(prompts[0])
	return &openai.ChatRequest{Model: cr.Model, Messages: []openai.Message{{Role: "user", Content: content}},
		MaxTokens: cr.MaxTokens, Temperature: cr.Temperature, TopP: cr.TopP, Stop: cr.Stop}, nil
}

// chatAsCompletion turns a chat completion into a legacy completion.
func chatAsCompletion(c *openai.ChatResponse) *openai.CompletionResponse {
	out := &openai.CompletionResponse{ID: c.ID, Object: "text_completion", Created: c.Created, Model: c.Model, Usage: c.Usage}
	for _, ch := range c.Choices {
		text := ""
		if ch.Message.Content != nil {
			text = *ch.Message.Content
		}
		out.Choices = append(out.Choices, openai.CompletionChoice{Index: ch.Index, Text: text, FinishReason: ch.FinishReason})
	}
	return out
}
