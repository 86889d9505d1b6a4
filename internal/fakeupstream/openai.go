// Package fakeupstream runs fake model upstreams on 127.0.0.1 that speak the real wire formats,
// for tests and benchmarks. They answer deterministically (an echo of the last user message),
// count tokens as whitespace-separated words, record what they received, and can be told to
// misbehave: fail, delay, hang, or cut a stream.
package fakeupstream

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Received is one request the fake got.
type Received struct {
	Path          string
	Authorization string
	Header        map[string]string
	Body          []byte
}

// Fault is a misbehaviour for one request. The zero value answers normally.
type Fault struct {
	Status     int           // answer with this status and Body
	Body       string        // default: an OpenAI error object
	RetryAfter string        // Retry-After header with Status
	Delay      time.Duration // wait before answering
	Hang       bool          // never answer (until the server closes)
	CutAfter   int           // streams: close the connection after this many chunks (>0)
}

// OpenAI is a fake OpenAI-compatible upstream.
type OpenAI struct {
	// URL is the base URL, ending in /v1.
	URL string
	// Chunks is how many content chunks a stream sends (default 5).
	Chunks atomic.Int32
	// ChunkDelay is the pause between stream chunks.
	ChunkDelay atomic.Int64
	// Hold, when set, makes a stream wait after its first chunk until Hold is closed.
	Hold chan struct{}
	// Faults, when set, decides a fault per request (n counts requests from 1).
	Faults func(n int64, r *Received) Fault

	ln       net.Listener
	srv      *fasthttp.Server
	n        atomic.Int64
	conns    atomic.Int64
	mu       sync.Mutex
	received []Received
	closing  chan struct{}
}

// StartOpenAI starts a fake on a free port of 127.0.0.1.
func StartOpenAI() (*OpenAI, error) { return startOpenAI(nil) }

// StartOpenAITLS starts a fake that serves HTTPS with cert on a free port of 127.0.0.1.
func StartOpenAITLS(cert tls.Certificate) (*OpenAI, error) {
	return startOpenAI(&tls.Config{Certificates: []tls.Certificate{cert}})
}

func startOpenAI(tc *tls.Config) (*OpenAI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	scheme := "http://"
	if tc != nil {
		ln, scheme = tls.NewListener(ln, tc), "https://"
	}
	f := &OpenAI{ln: ln, URL: scheme + ln.Addr().String() + "/v1", closing: make(chan struct{})}
	f.Chunks.Store(5)
	f.srv = &fasthttp.Server{Handler: f.handle, Name: "fake-openai", NoDefaultServerHeader: true,
		ConnState: func(_ net.Conn, s fasthttp.ConnState) {
			if s == fasthttp.StateNew {
				f.conns.Add(1)
			}
		}}
	go f.srv.Serve(ln)
	return f, nil
}

// Close stops the fake and releases hung requests.
func (f *OpenAI) Close() {
	close(f.closing)
	f.srv.Shutdown()
}

// Received returns the requests received so far.
func (f *OpenAI) Received() []Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Received(nil), f.received...)
}

// Last returns the last request received.
func (f *OpenAI) Last() Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) == 0 {
		return Received{}
	}
	return f.received[len(f.received)-1]
}

// Count is the number of requests received.
func (f *OpenAI) Count() int64 { return f.n.Load() }

// Conns is the number of connections accepted.
func (f *OpenAI) Conns() int64 { return f.conns.Load() }

type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content any    `json:"content"`
	} `json:"messages"`
	Prompt        any    `json:"prompt"`
	Input         any    `json:"input"`
	Format        string `json:"encoding_format"`
	CacheKey      string `json:"prompt_cache_key"`
	Effort        string `json:"reasoning_effort"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (f *OpenAI) handle(ctx *fasthttp.RequestCtx) {
	r := Received{Path: string(ctx.Path()), Authorization: string(ctx.Request.Header.Peek("Authorization")),
		Body: append([]byte(nil), ctx.PostBody()...), Header: map[string]string{}}
	ctx.Request.Header.VisitAll(func(k, v []byte) { r.Header[strings.ToLower(string(k))] = string(v) })
	n := f.n.Add(1)
	f.mu.Lock()
	f.received = append(f.received, r)
	f.mu.Unlock()

	var fault Fault
	if f.Faults != nil {
		fault = f.Faults(n, &r)
	}
	if fault.Hang {
		select {
		case <-f.closing:
		case <-time.After(time.Minute):
		}
		ctx.SetConnectionClose()
		return
	}
	if fault.Delay > 0 {
		time.Sleep(fault.Delay)
	}
	if fault.Status != 0 {
		ctx.SetStatusCode(fault.Status)
		ctx.SetContentType("application/json")
		if fault.RetryAfter != "" {
			ctx.Response.Header.Set("Retry-After", fault.RetryAfter)
		}
		body := fault.Body
		if body == "" {
			body = fmt.Sprintf(`{"error":{"message":"injected failure %d","type":"server_error","code":"injected","param":null}}`, fault.Status)
		}
		ctx.SetBodyString(body)
		return
	}

	var req chatRequest
	if err := json.Unmarshal(r.Body, &req); err != nil {
		ctx.SetStatusCode(400)
		ctx.SetBodyString(`{"error":{"message":"bad json: ` + strings.ReplaceAll(err.Error(), `"`, `'`) + `","type":"invalid_request_error","code":null,"param":null}}`)
		return
	}
	if req.Model == "missing-upstream-model" {
		ctx.SetStatusCode(404)
		ctx.SetBodyString(`{"error":{"message":"The model 'missing-upstream-model' does not exist","type":"invalid_request_error","code":"model_not_found","param":null}}`)
		return
	}
	switch {
	case strings.HasSuffix(r.Path, "/responses"):
		f.responses(ctx, r.Body, fault.CutAfter)
	case strings.HasSuffix(r.Path, "/chat/completions"):
		prompt := lastUser(req)
		reply := "echo: " + prompt
		in := words(allContent(req))
		if req.Stream {
			f.stream(ctx, req, reply, in, fault.CutAfter)
			return
		}
		u := usage(in, words(reply))
		// As OpenAI: a prompt_cache_key request finds half its prompt cached, and a reasoning
		// model spends reasoning tokens, both counted within the totals and broken down.
		if req.CacheKey != "" {
			u["prompt_tokens_details"] = map[string]any{"cached_tokens": in / 2}
		}
		if req.Effort != "" {
			const reasoning = 8
			u["completion_tokens"] = words(reply) + reasoning
			u["total_tokens"] = in + words(reply) + reasoning
			u["completion_tokens_details"] = map[string]any{"reasoning_tokens": reasoning}
		}
		writeJSON(ctx, map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": reply}}},
			"usage": u,
		})
	case strings.HasSuffix(r.Path, "/completions"):
		prompt := fmt.Sprint(req.Prompt)
		reply := "echo: " + prompt
		writeJSON(ctx, map[string]any{
			"id": "cmpl-fake", "object": "text_completion", "created": time.Now().Unix(), "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "text": reply, "finish_reason": "stop"}},
			"usage":   usage(words(prompt), words(reply)),
		})
	case strings.HasSuffix(r.Path, "/embeddings"):
		inputs := []string{}
		switch v := req.Input.(type) {
		case string:
			inputs = append(inputs, v)
		case []any:
			for _, e := range v {
				inputs = append(inputs, fmt.Sprint(e))
			}
		}
		data := make([]any, len(inputs))
		total := 0
		for i, s := range inputs {
			total += words(s)
			var vec any = []float64{float64(len(s)), 0.5, -0.25, float64(words(s))}
			if req.Format == "base64" { // as OpenAI: little-endian float32s
				b := make([]byte, 0, 16)
				for _, f := range vec.([]float64) {
					b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(f)))
				}
				vec = base64.StdEncoding.EncodeToString(b)
			}
			data[i] = map[string]any{"object": "embedding", "index": i, "embedding": vec}
		}
		writeJSON(ctx, map[string]any{"object": "list", "model": req.Model, "data": data,
			"usage": map[string]any{"prompt_tokens": total, "total_tokens": total}})
	default:
		ctx.SetStatusCode(404)
		ctx.SetBodyString(`{"error":{"message":"no such path","type":"invalid_request_error","code":null,"param":null}}`)
	}
}

func (f *OpenAI) stream(ctx *fasthttp.RequestCtx, req chatRequest, reply string, in, cutAfter int) {
	if cutAfter > 0 {
		cut(ctx, req.Model, cutAfter)
		return
	}
	ctx.SetContentType("text/event-stream")
	chunks := int(f.Chunks.Load())
	delay := time.Duration(f.ChunkDelay.Load())
	hold := f.Hold
	parts := splitInto(reply, chunks)
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	model := req.Model
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		write := func(v any) bool {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "data: %s\n\n", b)
			return w.Flush() == nil
		}
		chunk := func(delta map[string]any, finish any) map[string]any {
			c := map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
			if includeUsage {
				c["usage"] = nil
			}
			return c
		}
		if !write(chunk(map[string]any{"role": "assistant", "content": ""}, nil)) {
			return
		}
		for i, p := range parts {
			if i == 1 && hold != nil {
				select {
				case <-hold:
				case <-f.closing: // a test that failed before releasing it
					return
				}
			}
			if delay > 0 {
				time.Sleep(delay)
			}
			if !write(chunk(map[string]any{"content": p}, nil)) {
				return
			}
		}
		write(chunk(map[string]any{}, "stop"))
		if includeUsage {
			write(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model,
				"choices": []any{}, "usage": usage(in, words(reply))})
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		w.Flush()
	})
}

func splitInto(s string, n int) []string {
	if n < 1 {
		n = 1
	}
	parts := make([]string, n)
	size := (len(s) + n - 1) / n
	for i := range parts {
		lo, hi := min(i*size, len(s)), min((i+1)*size, len(s))
		parts[i] = s[lo:hi]
	}
	return parts
}

func usage(in, out int) map[string]any {
	return map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, _ := json.Marshal(v)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func lastUser(req chatRequest) string {
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			return contentText(req.Messages[i].Content)
		}
	}
	return ""
}

func allContent(req chatRequest) string {
	var b strings.Builder
	for _, m := range req.Messages {
		b.WriteString(contentText(m.Content))
		b.WriteByte(' ')
	}
	return b.String()
}

func contentText(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case []any:
		var parts []string
		for _, p := range v {
			if m, ok := p.(map[string]any); ok {
				if t, ok := m["text"].(string); ok {
					parts = append(parts, t)
				}
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

func words(s string) int { return len(strings.Fields(s)) }

// cut answers a stream by hand on the raw connection and drops the connection after n chunks,
// without ending the chunked body: what a crashing upstream or a reset looks like.
func cut(ctx *fasthttp.RequestCtx, model string, n int) {
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		defer c.Close()
		fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		for i := 0; i < n; i++ {
			ev := fmt.Sprintf("data: {\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"part%d \"},\"finish_reason\":null}]}\n\n", model, i)
			fmt.Fprintf(c, "%x\r\n%s\r\n", len(ev), ev)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, not a clean close
		}
	})
}

// responsesRequest is what the fake reads of a Responses API request.
type responsesRequest struct {
	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       *string         `json:"instructions"`
	Stream             bool            `json:"stream"`
	Store              *bool           `json:"store"`
	PreviousResponseID string          `json:"previous_response_id"`
	Tools              []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tools"`
}

// responses answers OpenAI's Responses API (POST /v1/responses) as OpenAI does, plain or as
// named events with sequence numbers: an echo of the last user text; a call of the first
// function tool when the user asks about the weather; "the tool said …" to a function call's
// output. It keeps nothing, so previous_response_id names a response it does not have (404, as
// OpenAI answers for a response stored elsewhere). Tokens are words.
func (f *OpenAI) responses(ctx *fasthttp.RequestCtx, raw []byte, cutAfter int) {
	var req responsesRequest
	if err := json.Unmarshal(raw, &req); err != nil || len(req.Input) == 0 {
		ctx.SetStatusCode(400)
		writeJSON(ctx, map[string]any{"error": map[string]any{"message": "Missing required parameter: 'input'.", "type": "invalid_request_error", "param": "input", "code": "missing_required_parameter"}})
		return
	}
	if req.PreviousResponseID != "" {
		ctx.SetStatusCode(404)
		writeJSON(ctx, map[string]any{"error": map[string]any{"message": "Previous response with id '" + req.PreviousResponseID + "' not found.", "type": "invalid_request_error", "param": "previous_response_id", "code": "previous_response_not_found"}})
		return
	}
	items := []map[string]any{}
	var s string
	if json.Unmarshal(req.Input, &s) == nil {
		items = append(items, map[string]any{"role": "user", "content": s})
	} else if err := json.Unmarshal(req.Input, &items); err != nil {
		ctx.SetStatusCode(400)
		writeJSON(ctx, map[string]any{"error": map[string]any{"message": "Invalid type for 'input'.", "type": "invalid_request_error", "param": "input", "code": "invalid_type"}})
		return
	}
	all, lastText := "", ""
	if req.Instructions != nil {
		all = *req.Instructions + " "
	}
	for _, it := range items {
		text := ""
		switch {
		case it["type"] == "function_call_output":
			text = contentText(it["output"]) // a string, or a list of text parts
		case it["type"] == "function_call":
		default:
			text = contentText(it["content"])
		}
		all += text + " "
		lastText = text
	}
	last := items[len(items)-1]
	tool := ""
	for _, t := range req.Tools {
		if t.Type == "function" {
			tool = t.Name
			break
		}
	}
	var output map[string]any
	reply := ""
	switch {
	case last["type"] == "function_call_output":
		reply = "the tool said " + lastText
	case tool != "" && last["role"] == "user" && strings.Contains(lastText, "weather"):
		output = map[string]any{"type": "function_call", "id": "fc_fake_1", "call_id": "call_fake_1", "name": tool,
			"arguments": `{"city":"Paris"}`, "status": "completed"}
	default:
		reply = "echo: " + lastText
	}
	if output == nil {
		output = map[string]any{"type": "message", "id": "msg_fake_1", "status": "completed", "role": "assistant",
			"content": []any{map[string]any{"type": "output_text", "text": reply, "annotations": []any{}, "logprobs": []any{}}}}
	}
	in, out := words(all), words(reply)
	if reply == "" {
		out = 5 // the call's name and arguments
	}
	store := req.Store == nil || *req.Store
	resp := func(status string, output []any, usage any) map[string]any {
		return map[string]any{"id": "resp_fake0123456789abcdef0123456789abcdef0123456789", "object": "response", "created_at": 1,
			"status": status, "error": nil, "incomplete_details": nil, "instructions": req.Instructions, "max_output_tokens": nil,
			"model": req.Model, "output": output, "parallel_tool_calls": true, "previous_response_id": nil,
			"reasoning": map[string]any{"effort": nil, "summary": nil}, "store": store, "temperature": 1.0,
			"text": map[string]any{"format": map[string]any{"type": "text"}}, "tool_choice": "auto", "tools": []any{}, "top_p": 1.0,
			"truncation": "disabled", "usage": usage, "user": nil, "metadata": map[string]any{}}
	}
	usage := map[string]any{"input_tokens": in, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": out, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": in + out}
	if !req.Stream {
		writeJSON(ctx, resp("completed", []any{output}, usage))
		return
	}
	// The events, as OpenAI sends them.
	var events []map[string]any
	add := func(typ string, ev map[string]any) {
		ev["type"], ev["sequence_number"] = typ, len(events)
		events = append(events, ev)
	}
	add("response.created", map[string]any{"response": resp("in_progress", []any{}, nil)})
	add("response.in_progress", map[string]any{"response": resp("in_progress", []any{}, nil)})
	id := output["id"]
	if output["type"] == "function_call" {
		opened := map[string]any{}
		for k, v := range output {
			opened[k] = v
		}
		opened["arguments"], opened["status"] = "", "in_progress"
		add("response.output_item.added", map[string]any{"output_index": 0, "item": opened})
		for _, piece := range []string{`{"city":`, `"Paris"}`} {
			add("response.function_call_arguments.delta", map[string]any{"item_id": id, "output_index": 0, "delta": piece})
		}
		add("response.function_call_arguments.done", map[string]any{"item_id": id, "output_index": 0, "arguments": output["arguments"]})
	} else {
		add("response.output_item.added", map[string]any{"output_index": 0, "item": map[string]any{"type": "message", "id": id,
			"status": "in_progress", "role": "assistant", "content": []any{}}})
		part := func(text string) map[string]any {
			return map[string]any{"type": "output_text", "text": text, "annotations": []any{}, "logprobs": []any{}}
		}
		add("response.content_part.added", map[string]any{"item_id": id, "output_index": 0, "content_index": 0, "part": part("")})
		for _, p := range splitInto(reply, int(f.Chunks.Load())) {
			add("response.output_text.delta", map[string]any{"item_id": id, "output_index": 0, "content_index": 0, "delta": p, "logprobs": []any{}})
		}
		add("response.output_text.done", map[string]any{"item_id": id, "output_index": 0, "content_index": 0, "text": reply, "logprobs": []any{}})
		add("response.content_part.done", map[string]any{"item_id": id, "output_index": 0, "content_index": 0, "part": part(reply)})
	}
	add("response.output_item.done", map[string]any{"output_index": 0, "item": output})
	add("response.completed", map[string]any{"response": resp("completed", []any{output}, usage)})
	frames := make([]string, len(events))
	for i, ev := range events {
		b, _ := json.Marshal(ev)
		frames[i] = fmt.Sprintf("event: %s\ndata: %s\n\n", ev["type"], b)
	}
	if cutAfter > 0 {
		ctx.HijackSetNoResponse(true)
		ctx.Hijack(func(c net.Conn) {
			defer c.Close()
			fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
			for _, fr := range frames[:min(cutAfter, len(frames))] {
				fmt.Fprintf(c, "%x\r\n%s\r\n", len(fr), fr)
			}
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		})
		return
	}
	delay := time.Duration(f.ChunkDelay.Load())
	hold := f.Hold
	ctx.SetContentType("text/event-stream")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		for i, fr := range frames {
			if i == 1 && hold != nil {
				select {
				case <-hold:
				case <-f.closing:
					return
				}
			}
			if delay > 0 && i > 0 {
				time.Sleep(delay)
			}
			w.WriteString(fr)
			if w.Flush() != nil {
				return
			}
		}
	})
}
