package provider

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rules"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// httpAPI calls any JSON HTTP API, as its model's http spec says: a request body built by an
// expression over the canonical request, and the answer's text (or vector), usage and error
// extracted by expressions over the upstream's JSON. It does not stream; a streamed request gets
// the whole answer as one chunk.
type httpAPI struct{}

type httpState struct {
	spec                                     *spec.HTTPSpec
	body, text, vector, inTok, outTok, error *rules.Program
	config                                   map[string]any
}

func (httpAPI) Prepare(u *Upstream, m *spec.Model) error {
	if m.HTTP == nil {
		return fault.Invalid("http", "model %q has provider http but no http spec", m.ID)
	}
	st := &httpState{spec: m.HTTP, config: m.Config}
	compile := func(src string, vars []string) (*rules.Program, error) {
		if src == "" {
			return nil, nil
		}
		return rules.Compile(src, vars...)
	}
	var err error
	for _, c := range []struct {
		dst  **rules.Program
		src  string
		vars []string
	}{{&st.body, m.HTTP.Body, spec.HTTPRequestVars}, {&st.text, m.HTTP.Text, spec.HTTPResponseVars},
		{&st.vector, m.HTTP.Embedding, spec.HTTPResponseVars}, {&st.inTok, m.HTTP.InputTokens, spec.HTTPResponseVars},
		{&st.outTok, m.HTTP.OutputTokens, spec.HTTPResponseVars}, {&st.error, m.HTTP.Error, spec.HTTPResponseVars}} {
		if *c.dst, err = compile(c.src, c.vars); err != nil {
			return err
		}
	}
	u.base = m.Endpoint
	u.urls = [numOps]string{m.Endpoint, m.Endpoint, m.Endpoint}
	u.state = st
	return nil
}

// env builds the variables of the request expressions from the canonical request.
func (st *httpState) env(u *Upstream, c *Call) (map[string]any, error) {
	var req map[string]any
	if err := json.Unmarshal(c.Body, &req); err != nil {
		return nil, fault.Invalid("", "cannot read the request: %v", err)
	}
	env := map[string]any{"request": req, "model": u.Model, "op": c.Op.String(), "config": st.config,
		"messages": req["messages"], "prompt": "", "input": []any{}}
	switch c.Op {
	case Chat:
		var cr openai.ChatRequest
		_ = json.Unmarshal(c.Body, &cr)
		for i := len(cr.Messages) - 1; i >= 0; i-- {
			if cr.Messages[i].Role == "user" {
				env["prompt"] = openai.Text(cr.Messages[i].Content)
				break
			}
		}
	case Completion:
		prompts, _ := openai.Strings(json.RawMessage(mustJSON(req["prompt"])))
		env["prompt"] = strings.Join(prompts, "\n")
	case Embedding:
		inputs, _ := openai.Strings(json.RawMessage(mustJSON(req["input"])))
		list := make([]any, len(inputs))
		for i, s := range inputs {
			list[i] = s
		}
		env["input"] = list
		env["prompt"] = strings.Join(inputs, "\n")
	}
	return env, nil
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (h httpAPI) Do(u *Upstream, c *Call) (*Result, error) {
	st := u.state.(*httpState)
	env, err := st.env(u, c)
	if err != nil {
		return nil, err
	}
	var body []byte
	if st.body != nil {
		v, err := st.body.Run(env)
		if err != nil {
			return nil, fault.Invalid("", "model's http.body: %v", err)
		}
		if s, ok := v.(string); ok {
			body = []byte(s)
		} else if body, err = json.Marshal(v); err != nil {
			return nil, fault.Invalid("", "model's http.body made no JSON: %v", err)
		}
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(u.urls[c.Op])
	method := st.spec.Method
	if method == "" {
		method = fasthttp.MethodPost
	}
	req.Header.SetMethod(method)
	req.Header.SetContentType("application/json")
	for _, hd := range u.headers {
		req.Header.Set(hd[0], hd[1])
	}
	for k, v := range st.spec.Headers {
		req.Header.Set(k, strings.ReplaceAll(v, "{{apiKey}}", u.Key.Reveal()))
	}
	if method != fasthttp.MethodGet {
		req.SetBodyRaw(body)
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if _, err := u.do(req, resp, c, false); err != nil {
		return nil, err
	}
	status := resp.StatusCode()
	var decoded any
	if json.Unmarshal(resp.Body(), &decoded) != nil {
		decoded = string(resp.Body())
	}
	renv := map[string]any{"response": decoded, "status": status, "request": env["request"], "prompt": env["prompt"],
		"model": u.Model, "op": c.Op.String(), "config": st.config}
	if st.error != nil {
		if msg, err := st.error.String(renv); err == nil && msg != "" {
			return nil, fault.Upstream(status, "upstream %s: %s", u.Provider, msg)
		}
	}
	if status < 200 || status > 299 {
		return nil, upstreamError(u, status, resp.Body(), resp.Header.Peek("Retry-After"), false)
	}
	usage := Usage{Input: int64(words(rules.Text(env["prompt"])))}
	count := func(p *rules.Program, dst *int64) {
		if p == nil {
			return
		}
		if v, err := p.Run(renv); err == nil {
			if n, ok := rules.Number(v); ok {
				*dst = int64(n)
			}
		}
	}
	count(st.inTok, &usage.Input)
	if c.Op == Embedding {
		if st.vector == nil {
			return nil, unsupported(u, c.Op)
		}
		v, err := st.vector.Run(renv)
		if err != nil {
			return nil, fault.Upstream(status, "model's http.embedding: %v", err)
		}
		vectors, err := vectorsOf(v)
		if err != nil {
			return nil, fault.Upstream(status, "model's http.embedding: %v", err)
		}
		return embeddingResult(u.Model, vectors, usage)
	}
	if st.text == nil {
		return nil, unsupported(u, c.Op)
	}
	text, err := st.text.String(renv)
	if err != nil {
		return nil, fault.Upstream(status, "model's http.text: %v", err)
	}
	usage.Output = int64(words(text))
	count(st.outTok, &usage.Output)
	return generationResult(u.Model, text, "stop", usage, c.Op == Chat)
}

// vectorsOf reads a vector or a list of vectors.
func vectorsOf(v any) ([][]float64, error) {
	b, _ := json.Marshal(v)
	var one []float64
	if json.Unmarshal(b, &one) == nil {
		return [][]float64{one}, nil
	}
	var many [][]float64
	if err := json.Unmarshal(b, &many); err != nil {
		return nil, fault.Invalid("", "expected a vector or a list of vectors")
	}
	return many, nil
}

// Stream answers with the whole answer as one chunk: the API has no streaming to translate.
func (h httpAPI) Stream(u *Upstream, c *Call) (Stream, error) {
	if c.Op != Chat {
		return nil, fault.Invalid("stream", "provider %s streams chat completions only", u.Provider)
	}
	res, err := h.Do(u, c)
	if err != nil {
		return nil, err
	}
	return ResultAsStream(res, u.Model, c.Body), nil
}

// ResultAsStream replays a chat completion as a stream of chunks: a role chunk, the content,
// the finish reason, and the usage chunk when the request asked for it.
func ResultAsStream(res *Result, model string, request []byte) Stream {
	var chat openai.ChatResponse
	_ = json.Unmarshal(res.Body, &chat)
	var opts struct {
		StreamOptions *openai.StreamOptions `json:"stream_options"`
	}
	_ = json.Unmarshal(request, &opts)
	s := &replayStream{usage: res.Usage}
	k := &s.k
	k.id, k.model, k.created, k.usage = chat.ID, chat.Model, time.Now().Unix(), res.Usage
	if k.model == "" {
		k.model = model
	}
	k.includeUsage = opts.StreamOptions != nil && opts.StreamOptions.IncludeUsage
	k.push(openai.Delta{Role: "assistant", Content: openai.Str("")}, "")
	finish := "stop"
	if len(chat.Choices) > 0 {
		ch := chat.Choices[0]
		if ch.Message.Content != nil && *ch.Message.Content != "" {
			k.push(openai.Delta{Content: ch.Message.Content}, "")
		}
		if len(ch.Message.ToolCalls) > 0 {
			calls := make([]openai.ToolCall, len(ch.Message.ToolCalls))
			for i, tc := range ch.Message.ToolCalls {
				idx := i
				tc.Index = &idx
				calls[i] = tc
			}
			k.push(openai.Delta{ToolCalls: calls}, "")
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
	}
	k.push(openai.Delta{}, finish)
	k.pushUsage()
	res.Release()
	return s
}

type replayStream struct {
	k     chunker
	usage Usage
}

func (s *replayStream) Next() ([]byte, error) {
	if c, ok := s.k.pop(); ok {
		return c, nil
	}
	return nil, errEOF
}
func (s *replayStream) Buffered() bool { return len(s.k.queue) > 0 }
func (s *replayStream) Usage() Usage   { return s.usage }
func (s *replayStream) Close()         {}
