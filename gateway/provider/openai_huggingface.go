package provider

import (
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/openai"
	"github.com/iomhq/iom/gateway/wire/tgi"
)

// huggingFace talks to the Hugging Face stack its endpoint names: the Inference API (its hosts,
// or a path with /models/<id>: generation, feature extraction, classification), TEI (a path
// ending in /embed), or TGI (a base URL: /v1/chat/completions and /generate; a path ending in
// /generate or /generate_stream: that for both, chat rendered as a prompt). Where the upstream
// reports no token counts, usage counts whitespace-separated words.
type huggingFace struct{}

type hfMode uint8

const (
	hfTGI      hfMode = iota // a TGI server's base URL
	hfGenerate               // TGI's /generate for everything
	hfAPI                    // the Inference API
	hfTEI                    // Text Embeddings Inference
)

type hfState struct {
	mode           hfMode
	classification bool
}

func (huggingFace) Prepare(u *Upstream, m *spec.Model) error {
	pu, err := url.Parse(m.Endpoint)
	if err != nil {
		return err
	}
	e := strings.TrimRight(m.Endpoint, "/")
	st := &hfState{classification: m.ModelType == "classification"}
	host := strings.ToLower(pu.Hostname())
	switch {
	case host == "api-inference.huggingface.co" || host == "router.huggingface.co" || strings.Contains(pu.Path, "/models/"):
		st.mode = hfAPI
		u.urls = [numOps]string{e, e, e}
	case strings.HasSuffix(e, "/embed"):
		st.mode = hfTEI
		u.urls[Embedding] = e
	case strings.HasSuffix(e, "/generate") || strings.HasSuffix(e, "/generate_stream"):
		st.mode = hfGenerate
		base := strings.TrimSuffix(strings.TrimSuffix(e, "_stream"), "/generate")
		u.base = base
		u.urls[Chat], u.urls[Completion], u.urls[Embedding] = base+"/generate", base+"/generate", base+"/embed"
	default:
		st.mode = hfTGI
		base := strings.TrimSuffix(BaseURL(e), "/v1")
		u.base = base
		u.urls[Chat], u.urls[Completion], u.urls[Embedding] = base+"/v1/chat/completions", base+"/generate", base+"/embed"
	}
	if u.base == "" {
		u.base = e
	}
	u.state = st
	return u.compileHeads() // TGI's chat calls go through the OpenAI adapter
}

func (h huggingFace) Do(u *Upstream, c *Call) (*Result, error) {
	st := u.state.(*hfState)
	switch {
	case c.Op == Embedding:
		return h.embed(u, c, st)
	case st.mode == hfTGI && c.Op == Chat:
		return openAI{}.Do(u, c) // TGI's Messages API is OpenAI's
	case st.mode == hfAPI && st.classification:
		return h.classify(u, c)
	}
	prompt, params, isChat, err := h.prompt(c)
	if err != nil {
		return nil, err
	}
	params.Details, params.DecoderInputDetails = true, true
	if st.mode == hfAPI {
		params.ReturnFullText = new(bool)
	}
	body, _ := json.Marshal(&tgi.GenerateRequest{Inputs: prompt, Parameters: params})
	resp, err := u.send(c, u.urls[c.Op], body, u.bearer, false)
	if err != nil {
		return nil, err
	}
	defer fasthttp.ReleaseResponse(resp)
	var gr tgi.GenerateResponse
	if st.mode == hfAPI {
		var list []tgi.GenerateResponse
		if err := decodeAnswer(u, resp, &list); err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return nil, fault.Upstream(200, "upstream %s answered no generation", u.Provider)
		}
		gr = list[0]
	} else if err := decodeAnswer(u, resp, &gr); err != nil {
		return nil, err
	}
	usage := Usage{Input: int64(words(prompt)), Output: int64(words(gr.GeneratedText))}
	finish := "stop"
	if d := gr.Details; d != nil {
		usage.Output = d.GeneratedTokens
		if n := max(d.InputLength, int64(len(d.Prefill))); n > 0 {
			usage.Input = n
		}
		if d.FinishReason == "length" {
			finish = "length"
		}
	}
	return generationResult(u.Model, gr.GeneratedText, finish, usage, isChat)
}

// prompt renders the request as one prompt with TGI parameters.
func (huggingFace) prompt(c *Call) (string, *tgi.Parameters, bool, error) {
	if c.Op == Completion {
		var cr openai.CompletionRequest
		if err := json.Unmarshal(c.Body, &cr); err != nil {
			return "", nil, false, fault.Invalid("", "cannot read the completion request: %v", err)
		}
		prompts, err := openai.Strings(cr.Prompt)
		if err != nil || len(prompts) != 1 {
			return "", nil, false, fault.Invalid("prompt", "this provider takes one prompt string per request")
		}
		stops, _ := openai.Strings(cr.Stop)
		return prompts[0], &tgi.Parameters{MaxNewTokens: cr.MaxTokens, Temperature: cr.Temperature, TopP: cr.TopP, Stop: stops}, false, nil
	}
	var req openai.ChatRequest
	if err := json.Unmarshal(c.Body, &req); err != nil {
		return "", nil, true, fault.Invalid("", "cannot read the chat request: %v", err)
	}
	stops, _ := openai.Strings(req.Stop)
	max := req.MaxCompletionTokens
	if max == nil {
		max = req.MaxTokens
	}
	return renderChat(req.Messages), &tgi.Parameters{MaxNewTokens: max, Temperature: req.Temperature, TopP: req.TopP, Stop: stops, Seed: req.Seed}, true, nil
}

// renderChat renders messages as a plain transcript ending with the assistant's turn, for
// upstreams that take one prompt.
func renderChat(msgs []openai.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		text := openai.Text(m.Content)
		switch m.Role {
		case "system", "developer":
			b.WriteString(text + "\n\n")
		case "assistant":
			b.WriteString("Assistant: " + text + "\n")
		default:
			b.WriteString("User: " + text + "\n")
		}
	}
	b.WriteString("Assistant:")
	return b.String()
}

func generationResult(model, text, finish string, usage Usage, chat bool) (*Result, error) {
	ou := &openai.Usage{PromptTokens: usage.Input, CompletionTokens: usage.Output, TotalTokens: usage.Input + usage.Output}
	now := time.Now().Unix()
	if chat {
		return jsonResult(&openai.ChatResponse{ID: "chatcmpl-" + model, Object: "chat.completion", Created: now, Model: model,
			Choices: []openai.Choice{{Message: openai.ResponseMessage{Role: "assistant", Content: openai.Str(text)}, FinishReason: finish}},
			Usage:   ou}, usage)
	}
	return jsonResult(&openai.CompletionResponse{ID: "cmpl-" + model, Object: "text_completion", Created: now, Model: model,
		Choices: []openai.CompletionChoice{{Text: text, FinishReason: finish}}, Usage: ou}, usage)
}

func (huggingFace) embed(u *Upstream, c *Call, st *hfState) (*Result, error) {
	if st.mode == hfTGI && u.urls[Embedding] == "" {
		return nil, unsupported(u, Embedding)
	}
	var er openai.EmbeddingRequest
	if err := json.Unmarshal(c.Body, &er); err != nil {
		return nil, fault.Invalid("", "cannot read the embeddings request: %v", err)
	}
	inputs, err := openai.Strings(er.Input)
	if err != nil {
		return nil, fault.Invalid("input", "input must be a string or a list of strings")
	}
	body, _ := json.Marshal(&tgi.InputsRequest{Inputs: inputs})
	resp, err := u.send(c, u.urls[Embedding], body, u.bearer, false)
	if err != nil {
		return nil, err
	}
	defer fasthttp.ReleaseResponse(resp)
	var raw json.RawMessage
	if err := decodeAnswer(u, resp, &raw); err != nil {
		return nil, err
	}
	vectors, err := poolVectors(raw)
	if err != nil || len(vectors) != len(inputs) {
		return nil, fault.Upstream(200, "upstream %s answered %d vectors for %d inputs (%v)", u.Provider, len(vectors), len(inputs), err)
	}
	n := 0
	for _, in := range inputs {
		n += words(in)
	}
	return embeddingResult(u.Model, vectors, Usage{Input: int64(n)})
}

// poolVectors reads sentence vectors ([][]float) or token vectors ([][][]float, mean-pooled).
func poolVectors(raw json.RawMessage) ([][]float64, error) {
	var sentences [][]float64
	if json.Unmarshal(raw, &sentences) == nil {
		return sentences, nil
	}
	var tokens [][][]float64
	if err := json.Unmarshal(raw, &tokens); err != nil {
		return nil, err
	}
	for _, toks := range tokens {
		if len(toks) == 0 {
			sentences = append(sentences, nil)
			continue
		}
		mean := make([]float64, len(toks[0]))
		for _, t := range toks {
			for i := range mean {
				if i < len(t) {
					mean[i] += t[i] / float64(len(toks))
				}
			}
		}
		sentences = append(sentences, mean)
	}
	return sentences, nil
}

// classify calls a classification model; the answer's content is the labels as JSON.
func (huggingFace) classify(u *Upstream, c *Call) (*Result, error) {
	var text string
	isChat := c.Op == Chat
	if isChat {
		var req openai.ChatRequest
		if err := json.Unmarshal(c.Body, &req); err != nil || len(req.Messages) == 0 {
			return nil, fault.Invalid("messages", "cannot read the chat request")
		}
		text = openai.Text(req.Messages[len(req.Messages)-1].Content)
	} else {
		cr, err := completionAsChat(c.Body)
		if err != nil {
			return nil, err
		}
		text = openai.Text(cr.Messages[0].Content)
	}
	body, _ := json.Marshal(&tgi.InputsRequest{Inputs: text})
	resp, err := u.send(c, u.urls[Chat], body, u.bearer, false)
	if err != nil {
		return nil, err
	}
	defer fasthttp.ReleaseResponse(resp)
	var nested [][]tgi.Label
	var labels []tgi.Label
	if json.Unmarshal(resp.Body(), &nested) == nil && len(nested) > 0 {
		labels = nested[0]
	} else if err := decodeAnswer(u, resp, &labels); err != nil {
		return nil, err
	}
	out, _ := json.Marshal(labels)
	return generationResult(u.Model, string(out), "stop", Usage{Input: int64(words(text))}, isChat)
}

func (h huggingFace) Stream(u *Upstream, c *Call) (Stream, error) {
	st := u.state.(*hfState)
	if c.Op == Chat && st.mode == hfTGI {
		return openAI{}.Stream(u, c)
	}
	if st.mode == hfAPI || st.mode == hfTEI || c.Op == Embedding {
		return nil, fault.Invalid("stream", "this %s endpoint does not stream", u.Provider)
	}
	prompt, params, isChat, err := h.prompt(c)
	if err != nil {
		return nil, err
	}
	params.Details = true
	body, _ := json.Marshal(&tgi.GenerateRequest{Inputs: prompt, Parameters: params, Stream: true})
	b, err := u.open(c, u.base+"/generate_stream", body, u.bearer, false)
	if err != nil {
		return nil, err
	}
	var includeUsage bool
	var opts struct {
		StreamOptions *openai.StreamOptions `json:"stream_options"`
	}
	if json.Unmarshal(c.Body, &opts) == nil && opts.StreamOptions != nil {
		includeUsage = opts.StreamOptions.IncludeUsage
	}
	s := &tgiStream{r: newEventReader(b, false), chat: isChat, promptWords: int64(words(prompt))}
	s.k.id, s.k.model, s.k.created, s.k.includeUsage = "chatcmpl-"+u.Model, u.Model, time.Now().Unix(), includeUsage
	if isChat {
		s.k.push(openai.Delta{Role: "assistant", Content: openai.Str("")}, "")
	}
	return s, nil
}

// tgiStream translates /generate_stream events to chat (or legacy completion) chunks.
type tgiStream struct {
	r           *eventReader
	k           chunker
	chat        bool
	promptWords int64
	done        bool
}

func (s *tgiStream) Next() ([]byte, error) {
	for {
		if c, ok := s.k.pop(); ok {
			return c, nil
		}
		if s.done {
			return nil, io.EOF
		}
		_, data, err := s.r.next()
		if errors.Is(err, io.EOF) {
			return nil, streamFault("upstream closed the stream before its last token")
		}
		if err != nil {
			return nil, err
		}
		var ev tgi.StreamEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return nil, streamFault("upstream sent an event that is not JSON: %v", err)
		}
		if ev.Error != "" {
			return nil, streamFault("upstream huggingface: %s", ev.Error)
		}
		if !ev.Token.Special {
			s.emit(ev.Token.Text, "")
		}
		if ev.Details != nil || ev.GeneratedText != nil {
			s.k.usage = Usage{Input: s.promptWords}
			finish := "stop"
			if d := ev.Details; d != nil {
				s.k.usage.Output = d.GeneratedTokens
				if d.InputLength > 0 {
					s.k.usage.Input = d.InputLength
				}
				if d.FinishReason == "length" {
					finish = "length"
				}
			}
			s.emit("", finish)
			s.k.pushUsage()
			s.done = true
		}
	}
}

func (s *tgiStream) emit(text, finish string) {
	if s.chat {
		d := openai.Delta{}
		if text != "" {
			d.Content = openai.Str(text)
		}
		if text == "" && finish == "" {
			return
		}
		s.k.push(d, finish)
		return
	}
	c := map[string]any{"id": s.k.id, "object": "text_completion", "created": s.k.created, "model": s.k.model,
		"choices": []any{map[string]any{"index": 0, "text": text, "finish_reason": nilIfEmpty(finish)}}}
	b, _ := json.Marshal(c)
	s.k.queue = append(s.k.queue, b)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *tgiStream) Buffered() bool { return len(s.k.queue) > 0 || s.r.buffered() }
func (s *tgiStream) Usage() Usage   { return s.k.usage }
func (s *tgiStream) Close()         { s.r.close(s.done) }

func words(s string) int { return len(strings.Fields(s)) }
