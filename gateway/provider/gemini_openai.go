package provider

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/wire/gemini"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// This file translates the Gemini API's answers back into canonical form: a generateContent
// answer into a chat completion, the SSE chunks of streamGenerateContent into chat chunks,
// embeddings into OpenAI's list, and its errors into the gateway's faults. The requests go the
// other way in openai_gemini.go.

// geminiFinishes maps Gemini's finish reasons to OpenAI's; what is not here stops normally.
var geminiFinishes = map[string]string{"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter",
	"RECITATION": "content_filter", "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter",
	"SPII": "content_filter", "IMAGE_SAFETY": "content_filter"}

// geminiFinish is the OpenAI finish_reason of a Gemini one; an answer that called functions
// and stopped normally finished for tool_calls.
func geminiFinish(reason string, calls bool) string {
	r, ok := geminiFinishes[reason]
	if !ok {
		r = "stop"
	}
	if calls && r == "stop" {
		return "tool_calls"
	}
	return r
}

// usageOfGemini reads usageMetadata: the prompt (with the tokens of tool-use prompts, and the
// cached ones within it), and the answer with the thinking that went into it, which Gemini
// counts apart and bills as output.
func usageOfGemini(m *gemini.UsageMetadata) Usage {
	if m == nil {
		return Usage{}
	}
	in := m.PromptTokenCount + m.ToolUsePromptTokenCount
	out := m.CandidatesTokenCount + m.ThoughtsTokenCount
	return Usage{Input: in, Output: out, CachedInput: min(m.CachedContentTokenCount, in), Reasoning: m.ThoughtsTokenCount}
}

// fromGemini translates a generateContent answer to a chat completion.
func fromGemini(gr *gemini.Response, model string) (*openai.ChatResponse, Usage) {
	prefix := newCallPrefix()
	id := "chatcmpl-" + strings.TrimPrefix(strings.TrimSuffix(prefix, "_"), "call_")
	if gr.ResponseID != "" {
		id = "chatcmpl-" + gr.ResponseID
	}
	if gr.ModelVersion != "" {
		model = gr.ModelVersion
	}
	msg := openai.ResponseMessage{Role: "assistant"}
	finish := "stop"
	if len(gr.Candidates) == 0 {
		if gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "" {
			finish = "content_filter" // the prompt was blocked: no candidate at all
		}
	} else {
		c := gr.Candidates[0]
		var text strings.Builder
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				switch {
				case p.Thought:
				case p.FunctionCall != nil:
					msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: toolCallID(prefix, len(msg.ToolCalls), p.ThoughtSignature),
						Type: "function", Function: openai.FunctionCall{Name: p.FunctionCall.Name, Arguments: argsText(p.FunctionCall.Args)}})
				default:
					text.WriteString(p.Text)
				}
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			msg.Content = openai.Str(text.String())
		}
		finish = geminiFinish(c.FinishReason, len(msg.ToolCalls) > 0)
	}
	if msg.Content == nil && len(msg.ToolCalls) == 0 {
		msg.Content = openai.Str("")
	}
	u := usageOfGemini(gr.UsageMetadata)
	return &openai.ChatResponse{ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: model,
		Choices: []openai.Choice{{Message: msg, FinishReason: finish}}, Usage: openaiUsage(u)}, u
}

// argsText is a function call's arguments as OpenAI's JSON text.
func argsText(args json.RawMessage) string {
	if len(args) == 0 || string(args) == "null" {
		return "{}"
	}
	return string(args)
}

// geminiStream translates the chunks of streamGenerateContent?alt=sse, each a whole
// GenerateContentResponse carrying the next piece of the answer, to chat completion chunks.
// The stream has no end marker: it ends with the body, after a chunk with a finishReason.
type geminiStream struct {
	r        *eventReader
	k        chunker
	calls    string // the prefix of the stream's tool call ids
	tools    int
	started  bool
	finished bool
	done     bool
}

// geminiChunk is a chunk, or the error the API sends in its place when a stream fails midway.
type geminiChunk struct {
	gemini.Response
	Error *gemini.Error `json:"error"`
}

func (s *geminiStream) Next() ([]byte, error) {
	for {
		if c, ok := s.k.pop(); ok {
			return c, nil
		}
		if s.done {
			return nil, io.EOF
		}
		_, data, err := s.r.next()
		if errors.Is(err, io.EOF) {
			if !s.finished {
				return nil, streamFault("upstream closed the stream before its last chunk")
			}
			s.k.pushUsage()
			s.done = true
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := s.translate(data); err != nil {
			return nil, err
		}
	}
}

func (s *geminiStream) translate(data []byte) error {
	var ev geminiChunk
	if err := json.Unmarshal(data, &ev); err != nil {
		return streamFault("upstream sent an event that is not JSON: %v", err)
	}
	if ev.Error != nil {
		return streamFault("upstream gemini: %s: %s", ev.Error.Status, ev.Error.Message)
	}
	if !s.started {
		s.started = true
		if ev.ResponseID != "" {
			s.k.id = "chatcmpl-" + ev.ResponseID
		}
		if ev.ModelVersion != "" {
			s.k.model = ev.ModelVersion
		}
		s.k.push(openai.Delta{Role: "assistant", Content: openai.Str("")}, "")
	}
	if ev.UsageMetadata != nil {
		s.k.usage = usageOfGemini(ev.UsageMetadata)
	}
	if len(ev.Candidates) == 0 {
		if ev.PromptFeedback != nil && ev.PromptFeedback.BlockReason != "" && !s.finished {
			s.k.push(openai.Delta{}, "content_filter")
			s.finished = true
		}
		return nil
	}
	c := ev.Candidates[0]
	if c.Content != nil {
		for _, p := range c.Content.Parts {
			switch {
			case p.Thought:
			case p.FunctionCall != nil:
				i := s.tools
				s.tools++
				s.k.push(openai.Delta{ToolCalls: []openai.ToolCall{{Index: &i, ID: toolCallID(s.calls, i, p.ThoughtSignature), Type: "function",
					Function: openai.FunctionCall{Name: p.FunctionCall.Name, Arguments: argsText(p.FunctionCall.Args)}}}}, "")
			case p.Text != "":
				s.k.push(openai.Delta{Content: openai.Str(p.Text)}, "")
			}
		}
	}
	if c.FinishReason != "" && !s.finished {
		s.k.push(openai.Delta{}, geminiFinish(c.FinishReason, s.tools > 0))
		s.finished = true
	}
	return nil
}

func (s *geminiStream) Buffered() bool { return len(s.k.queue) > 0 || s.r.buffered() }
func (s *geminiStream) Usage() Usage   { return s.k.usage }
func (s *geminiStream) Close()         { s.r.close(s.done) }

// embed calls embedContent for one input and batchEmbedContents for several. Gemini reports no
// token counts for embeddings: usage is counted as whitespace-separated words.
func (geminiAdapter) embed(u *Upstream, c *Call) (*Result, error) {
	var er openai.EmbeddingRequest
	if err := json.Unmarshal(c.Body, &er); err != nil {
		return nil, fault.Invalid("", "cannot read the embeddings request: %v", err)
	}
	inputs, err := openai.Strings(er.Input)
	if err != nil || len(inputs) == 0 {
		return nil, fault.Invalid("input", "gemini embeds text: input must be a string or a non-empty list of strings")
	}
	st := u.state.(*geminiState)
	one := func(text string, model string) gemini.EmbedRequest {
		return gemini.EmbedRequest{Model: model, Content: gemini.Content{Parts: []gemini.Part{{Text: text}}}, OutputDimensionality: er.Dimensions}
	}
	var vectors [][]float64
	if len(inputs) == 1 {
		var resp gemini.EmbedResponse
		if err := geminiPost(u, c, u.urls[Embedding], one(inputs[0], ""), &resp); err != nil {
			return nil, err
		}
		vectors = [][]float64{resp.Embedding.Values}
	} else {
		batch := gemini.BatchEmbedRequest{Requests: make([]gemini.EmbedRequest, len(inputs))}
		for i, in := range inputs {
			batch.Requests[i] = one(in, st.resource)
		}
		var resp gemini.BatchEmbedResponse
		if err := geminiPost(u, c, st.batchEmbed, batch, &resp); err != nil {
			return nil, err
		}
		for _, e := range resp.Embeddings {
			vectors = append(vectors, e.Values)
		}
	}
	if len(vectors) != len(inputs) {
		return nil, fault.Upstream(http.StatusOK, "upstream %s answered %d vectors for %d inputs", u.Provider, len(vectors), len(inputs))
	}
	n := 0
	for _, in := range inputs {
		n += words(in)
	}
	return embeddingResult(u.Model, vectors, Usage{Input: int64(n)})
}

// geminiPost sends req as JSON and decodes the answer into out.
func geminiPost(u *Upstream, c *Call, url string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fault.Invalid("", "cannot encode the request for gemini: %v", err)
	}
	resp, err := geminiSend(u, c, url, body)
	if err != nil {
		return err
	}
	defer fasthttp.ReleaseResponse(resp)
	return decodeAnswer(u, resp, out)
}

// geminiError maps a Gemini error answer to a fault, as upstreamError does for every vendor,
// with two things of Gemini's own: its canonical status (INVALID_ARGUMENT, NOT_FOUND…) becomes
// the code, and a key it does not accept, which it answers with a 400 (reason API_KEY_INVALID),
// is the gateway's credential's fault, not the caller's: a 502, as a 401 or 403 is.
func geminiError(u *Upstream, status int, body, retryAfter []byte) *fault.Error {
	fe := upstreamError(u, status, body, retryAfter, false)
	var er gemini.ErrorResponse
	if json.Unmarshal(body, &er) != nil {
		return fe
	}
	if status != http.StatusTooManyRequests && er.Error.Status != "" {
		fe.Code = strings.ToLower(er.Error.Status)
	}
	for _, d := range er.Error.Details {
		if d.Reason == "API_KEY_INVALID" {
			fe.Status, fe.Code = http.StatusBadGateway, "api_key_invalid"
		}
	}
	return fe
}
