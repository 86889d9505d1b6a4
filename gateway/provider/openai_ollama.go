package provider

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/ollama"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// ollamaAdapter translates canonical requests to Ollama's native API (local models are a first-class
// case): /api/chat, /api/generate and /api/embed, streams as newline-delimited JSON. Ollama's
// OpenAI-compatible /v1 endpoint needs no translation and goes through the openai adapter.
type ollamaAdapter struct{}

func (ollamaAdapter) Prepare(u *Upstream, m *spec.Model) error {
	e := strings.TrimRight(m.Endpoint, "/")
	for _, suffix := range []string{"/api/chat", "/api/generate", "/api/embed", "/api/embeddings", "/api"} {
		e = strings.TrimSuffix(e, suffix)
	}
	u.base = e
	u.urls[Chat] = e + "/api/chat"
	u.urls[Completion] = e + "/api/generate"
	u.urls[Embedding] = e + "/api/embed"
	return nil
}

func ollamaOptions(maxTokens *int, temp, topP *float64, stop json.RawMessage, seed *int64) (*ollama.Options, error) {
	stops, err := openai.Strings(stop)
	if err != nil {
		return nil, fault.Invalid("stop", "stop must be a string or a list of strings")
	}
	return &ollama.Options{Temperature: temp, TopP: topP, NumPredict: maxTokens, Stop: stops, Seed: seed}, nil
}

func toOllamaChat(req *openai.ChatRequest, model string) (*ollama.ChatRequest, error) {
	max := req.MaxCompletionTokens
	if max == nil {
		max = req.MaxTokens
	}
	opts, err := ollamaOptions(max, req.Temperature, req.TopP, req.Stop, req.Seed)
	if err != nil {
		return nil, err
	}
	out := &ollama.ChatRequest{Model: model, Options: opts}
	if len(req.Tools) > 0 {
		out.Tools, _ = json.Marshal(req.Tools)
	}
	for i, m := range req.Messages {
		om := ollama.Message{Role: m.Role}
		if m.Role == "developer" {
			om.Role = "system"
		}
		parts, err := openai.Parts(m.Content)
		if err != nil {
			return nil, fault.Invalid("messages", "messages[%d].content: %v", i, err)
		}
		var text []string
		for _, p := range parts {
			switch p.Type {
			case "text":
				text = append(text, p.Text)
			case "image_url":
				if p.ImageURL == nil {
					continue
				}
				_, data, ok := strings.Cut(p.ImageURL.URL, ";base64,")
				if !ok {
					return nil, fault.Invalid("messages", "messages[%d]: ollama takes images as base64 data URLs", i)
				}
				om.Images = append(om.Images, data)
			}
		}
		om.Content = strings.Join(text, "\n")
		for _, tc := range m.ToolCalls {
			var call ollama.ToolCall
			call.Function.Name = tc.Function.Name
			call.Function.Arguments = json.RawMessage(tc.Function.Arguments)
			if !json.Valid(call.Function.Arguments) {
				call.Function.Arguments = json.RawMessage(`{}`)
			}
			om.ToolCalls = append(om.ToolCalls, call)
		}
		out.Messages = append(out.Messages, om)
	}
	return out, nil
}

var ollamaReasons = map[string]string{"stop": "stop", "length": "length", "load": "stop", "unload": "stop"}

func ollamaFinish(reason string, tools bool) string {
	if tools {
		return "tool_calls"
	}
	if r, ok := ollamaReasons[reason]; ok {
		return r
	}
	return "stop"
}

func toolCallsOf(calls []ollama.ToolCall, start int) []openai.ToolCall {
	var out []openai.ToolCall
	for i, c := range calls {
		idx := start + i
		args := string(c.Function.Arguments)
		if args == "" {
			args = "{}"
		}
		out = append(out, openai.ToolCall{Index: &idx, ID: "call_" + itoa(idx), Type: "function",
			Function: openai.FunctionCall{Name: c.Function.Name, Arguments: args}})
	}
	return out
}

func (o ollamaAdapter) Do(u *Upstream, c *Call) (*Result, error) {
	switch c.Op {
	case Chat:
		var req openai.ChatRequest
		if err := json.Unmarshal(c.Body, &req); err != nil {
			return nil, fault.Invalid("", "cannot read the chat request: %v", err)
		}
		oreq, err := toOllamaChat(&req, u.Model)
		if err != nil {
			return nil, err
		}
		var or ollama.ChatResponse
		if err := o.post(u, c, u.urls[Chat], oreq, &or); err != nil {
			return nil, err
		}
		usage := Usage{Input: or.PromptEvalCount, Output: or.EvalCount}
		msg := openai.ResponseMessage{Role: "assistant", Content: openai.Str(or.Message.Content)}
		if calls := toolCallsOf(or.Message.ToolCalls, 0); len(calls) > 0 {
			for i := range calls {
				calls[i].Index = nil
			}
			msg.ToolCalls = calls
		}
		return jsonResult(&openai.ChatResponse{ID: "chatcmpl-" + u.Model, Object: "chat.completion", Created: time.Now().Unix(),
			Model: or.Model, Choices: []openai.Choice{{Message: msg, FinishReason: ollamaFinish(or.DoneReason, len(msg.ToolCalls) > 0)}},
			Usage: &openai.Usage{PromptTokens: usage.Input, CompletionTokens: usage.Output, TotalTokens: usage.Input + usage.Output}}, usage)
	case Completion:
		var cr openai.CompletionRequest
		if err := json.Unmarshal(c.Body, &cr); err != nil {
			return nil, fault.Invalid("", "cannot read the completion request: %v", err)
		}
		prompts, err := openai.Strings(cr.Prompt)
		if err != nil || len(prompts) != 1 {
			return nil, fault.Invalid("prompt", "ollama takes one prompt string per request")
		}
		opts, err := ollamaOptions(cr.MaxTokens, cr.Temperature, cr.TopP, cr.Stop, nil)
		if err != nil {
			return nil, err
		}
		var gr ollama.GenerateResponse
		if err := o.post(u, c, u.urls[Completion], &ollama.GenerateRequest{Model: u.Model, Prompt: prompts[0], Options: opts}, &gr); err != nil {
			return nil, err
		}
		usage := Usage{Input: gr.PromptEvalCount, Output: gr.EvalCount}
		return jsonResult(&openai.CompletionResponse{ID: "cmpl-" + u.Model, Object: "text_completion", Created: time.Now().Unix(), Model: gr.Model,
			Choices: []openai.CompletionChoice{{Text: gr.Response, FinishReason: ollamaFinish(gr.DoneReason, false)}},
			Usage:   &openai.Usage{PromptTokens: usage.Input, CompletionTokens: usage.Output, TotalTokens: usage.Input + usage.Output}}, usage)
	case Embedding:
		var er openai.EmbeddingRequest
		if err := json.Unmarshal(c.Body, &er); err != nil {
			return nil, fault.Invalid("", "cannot read the embeddings request: %v", err)
		}
		inputs, err := openai.Strings(er.Input)
		if err != nil {
			return nil, fault.Invalid("input", "ollama embeds strings: input must be a string or a list of strings")
		}
		var resp ollama.EmbedResponse
		if err := o.post(u, c, u.urls[Embedding], &ollama.EmbedRequest{Model: u.Model, Input: inputs}, &resp); err != nil {
			return nil, err
		}
		return embeddingResult(resp.Model, resp.Embeddings, Usage{Input: resp.PromptEvalCount})
	}
	return nil, unsupported(u, c.Op)
}

func (ollamaAdapter) post(u *Upstream, c *Call, url string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fault.Invalid("", "cannot encode the request for ollama: %v", err)
	}
	resp, err := u.send(c, url, body, u.bearer, false)
	if err != nil {
		return err
	}
	defer fasthttp.ReleaseResponse(resp)
	return decodeAnswer(u, resp, out)
}

func (o ollamaAdapter) Stream(u *Upstream, c *Call) (Stream, error) {
	if c.Op != Chat {
		return nil, fault.Invalid("stream", "provider %s streams chat completions only", u.Provider)
	}
	var req openai.ChatRequest
	if err := json.Unmarshal(c.Body, &req); err != nil {
		return nil, fault.Invalid("", "cannot read the chat request: %v", err)
	}
	oreq, err := toOllamaChat(&req, u.Model)
	if err != nil {
		return nil, err
	}
	oreq.Stream = true
	body, _ := json.Marshal(oreq)
	b, err := u.open(c, u.urls[Chat], body, u.bearer, false)
	if err != nil {
		return nil, err
	}
	s := &ollamaStream{r: newEventReader(b, true)}
	s.k.id, s.k.model, s.k.created = "chatcmpl-"+u.Model, u.Model, time.Now().Unix()
	s.k.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	s.k.push(openai.Delta{Role: "assistant", Content: openai.Str("")}, "")
	return s, nil
}

// ollamaStream translates Ollama's NDJSON lines to chat completion chunks.
type ollamaStream struct {
	r     *eventReader
	k     chunker
	tools int
	done  bool
}

func (s *ollamaStream) Next() ([]byte, error) {
	for {
		if c, ok := s.k.pop(); ok {
			return c, nil
		}
		if s.done {
			return nil, io.EOF
		}
		_, line, err := s.r.next()
		if errors.Is(err, io.EOF) {
			return nil, streamFault("upstream closed the stream before it was done")
		}
		if err != nil {
			return nil, err
		}
		var ev ollama.ChatResponse
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, streamFault("upstream sent a line that is not JSON: %v", err)
		}
		if ev.Error != "" {
			return nil, streamFault("upstream ollama: %s", ev.Error)
		}
		if ev.Message.Content != "" {
			s.k.push(openai.Delta{Content: openai.Str(ev.Message.Content)}, "")
		}
		if calls := toolCallsOf(ev.Message.ToolCalls, s.tools); len(calls) > 0 {
			s.tools += len(calls)
			s.k.push(openai.Delta{ToolCalls: calls}, "")
		}
		if ev.Done {
			s.k.usage = Usage{Input: ev.PromptEvalCount, Output: ev.EvalCount}
			s.k.push(openai.Delta{}, ollamaFinish(ev.DoneReason, s.tools > 0))
			s.k.pushUsage()
			s.done = true
		}
	}
}

func (s *ollamaStream) Buffered() bool { return len(s.k.queue) > 0 || s.r.buffered() }
func (s *ollamaStream) Usage() Usage   { return s.k.usage }
func (s *ollamaStream) Close()         { s.r.close(s.done) }

// embeddingResult builds OpenAI's embeddings list.
func embeddingResult(model string, vectors [][]float64, usage Usage) (*Result, error) {
	out := openai.EmbeddingResponse{Object: "list", Model: model,
		Usage: openai.EmbeddingUsage{PromptTokens: usage.Input, TotalTokens: usage.Input}}
	for i, v := range vectors {
		out.Data = append(out.Data, openai.Embedding{Object: "embedding", Index: i, Embedding: v})
	}
	return jsonResult(&out, usage)
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
