package fakeupstream

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// Vendors is one fake server speaking the other providers' wire formats, each under a prefix:
//
//	/anthropic/v1/messages                   Anthropic Messages API (plain and SSE events)
//	/anthropic/v1/messages/count_tokens      its token counting
//	/tgi/generate, /tgi/generate_stream      Text Generation Inference
//	/tgi/v1/chat/completions                 TGI's OpenAI-style Messages API (non-streaming)
//	/tei/embed                               Text Embeddings Inference
//	/hf-api/models/{gpt2|minilm|sst2}        the Inference API: generation, features, classification
//	/ollama/api/{chat,generate,embed}        Ollama's native API (NDJSON streams)
//	/custom/predict                          a custom JSON API
type Vendors struct {
	URL string // http://127.0.0.1:port
	// AnthropicKey, when set, is the x-api-key the Anthropic fake demands.
	AnthropicKey string

	ln       net.Listener
	srv      *fasthttp.Server
	mu       sync.Mutex
	received []Received
}

// StartVendors starts the fake on a free port of 127.0.0.1.
func StartVendors() (*Vendors, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v := &Vendors{ln: ln, URL: "http://" + ln.Addr().String()}
	v.srv = &fasthttp.Server{Handler: v.handle, Name: "fake-vendors", NoDefaultServerHeader: true}
	go v.srv.Serve(ln)
	return v, nil
}

// Close stops the fake.
func (v *Vendors) Close() { v.srv.Shutdown() }

// Last returns the last request received.
func (v *Vendors) Last() Received {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.received) == 0 {
		return Received{}
	}
	return v.received[len(v.received)-1]
}

func (v *Vendors) handle(ctx *fasthttp.RequestCtx) {
	r := Received{Path: string(ctx.Path()), Authorization: string(ctx.Request.Header.Peek("Authorization")),
		Body: append([]byte(nil), ctx.PostBody()...), Header: map[string]string{}}
	ctx.Request.Header.VisitAll(func(k, val []byte) { r.Header[strings.ToLower(string(k))] = string(val) })
	v.mu.Lock()
	v.received = append(v.received, r)
	v.mu.Unlock()
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil && ctx.IsPost() {
		ctx.SetStatusCode(400)
		ctx.SetBodyString(`{"error":"bad json"}`)
		return
	}
	switch p := r.Path; {
	case p == "/anthropic/v1/messages":
		v.anthropic(ctx, r, body)
	case p == "/anthropic/v1/messages/count_tokens":
		v.anthropicCount(ctx, r, body)
	case p == "/tgi/generate":
		in, _ := body["inputs"].(string)
		reply := "echo: " + lastLine(in)
		writeJSON(ctx, map[string]any{"generated_text": reply, "details": map[string]any{
			"finish_reason": "eos_token", "generated_tokens": words(reply), "prefill": tokens(in)}})
	case p == "/tgi/generate_stream":
		in, _ := body["inputs"].(string)
		reply := "echo: " + lastLine(in)
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			parts := strings.SplitAfter(reply, " ")
			for i, part := range parts {
				ev := map[string]any{"token": map[string]any{"id": i, "text": part, "special": false}, "generated_text": nil, "details": nil}
				if i == len(parts)-1 {
					ev["generated_text"] = reply
					ev["details"] = map[string]any{"finish_reason": "length", "generated_tokens": words(reply), "input_length": words(in)}
				}
				b, _ := json.Marshal(ev)
				fmt.Fprintf(w, "data:%s\n\n", b)
				w.Flush()
			}
		})
	case p == "/tgi/v1/chat/completions":
		writeJSON(ctx, map[string]any{"id": "tgi", "object": "chat.completion", "created": 1, "model": body["model"],
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "tgi chat"}}},
			"usage":   usage(2, 2)})
	case p == "/tei/embed" || p == "/hf-api/models/minilm":
		var inputs []string
		switch in := body["inputs"].(type) {
		case string:
			inputs = []string{in}
		case []any:
			for _, e := range in {
				inputs = append(inputs, fmt.Sprint(e))
			}
		}
		vecs := make([]any, len(inputs))
		for i, s := range inputs {
			vecs[i] = []float64{float64(len(s)), 1, 0}
		}
		writeJSON(ctx, vecs)
	case p == "/hf-api/models/gpt2":
		in, _ := body["inputs"].(string)
		writeJSON(ctx, []any{map[string]any{"generated_text": "echo: " + lastLine(in)}})
	case p == "/hf-api/models/sst2":
		writeJSON(ctx, []any{[]any{map[string]any{"label": "POSITIVE", "score": 0.98}, map[string]any{"label": "NEGATIVE", "score": 0.02}}})
	case p == "/ollama/api/chat":
		v.ollamaChat(ctx, body)
	case p == "/ollama/api/generate":
		prompt, _ := body["prompt"].(string)
		reply := "echo: " + prompt
		writeJSON(ctx, map[string]any{"model": body["model"], "response": reply, "done": true, "done_reason": "stop",
			"prompt_eval_count": words(prompt), "eval_count": words(reply)})
	case p == "/ollama/api/embed":
		in, _ := body["input"].([]any)
		vecs := make([]any, len(in))
		n := 0
		for i, s := range in {
			vecs[i] = []float64{0.5, float64(i)}
			n += words(fmt.Sprint(s))
		}
		writeJSON(ctx, map[string]any{"model": body["model"], "embeddings": vecs, "prompt_eval_count": n})
	case p == "/custom/predict":
		if ctx.Request.Header.Peek("X-Custom-Key") == nil {
			ctx.SetStatusCode(401)
			writeJSON(ctx, map[string]any{"error": map[string]any{"message": "no key"}})
			return
		}
		prompt, _ := body["prompt"].(string)
		if prompt == "fail" {
			writeJSON(ctx, map[string]any{"error": map[string]any{"message": "the model refused"}})
			return
		}
		reply := "custom: " + prompt
		writeJSON(ctx, map[string]any{"generated_text": reply, "tokens": map[string]any{"input": words(prompt) + 100, "output": words(reply)}})
	default:
		ctx.SetStatusCode(404)
		ctx.SetBodyString(`{"error":"no such path"}`)
	}
}

func lastLine(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), "Assistant:")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimPrefix(lines[len(lines)-1], "User: ")
}

func tokens(s string) []any {
	out := []any{}
	for i, w := range strings.Fields(s) {
		out = append(out, map[string]any{"id": i, "text": w})
	}
	return out
}

// anthropic answers a Messages API request: an echo of the last user text, a tool_use when tools
// are offered and the user asks about the weather, and a text about the tool result when there is one.
func (v *Vendors) anthropic(ctx *fasthttp.RequestCtx, r Received, body map[string]any) {
	fail := func(status int, typ, msg string) {
		ctx.SetStatusCode(status)
		writeJSON(ctx, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
	}
	if v.AnthropicKey != "" && r.Header["x-api-key"] != v.AnthropicKey {
		fail(401, "authentication_error", "invalid x-api-key")
		return
	}
	if r.Header["anthropic-version"] == "" {
		fail(400, "invalid_request_error", "anthropic-version header is required")
		return
	}
	if _, ok := body["max_tokens"].(float64); !ok {
		fail(400, "invalid_request_error", "max_tokens: Field required")
		return
	}
	msgs, _ := body["messages"].([]any)
	prev := ""
	for i, m := range msgs {
		role := m.(map[string]any)["role"].(string)
		if role == prev || (i == 0 && role != "user") {
			fail(400, "invalid_request_error", "messages: roles must alternate between user and assistant, starting with user")
			return
		}
		prev = role
	}
	last := msgs[len(msgs)-1].(map[string]any)
	var text, toolResult string
	images := 0
	switch c := last["content"].(type) {
	case string:
		text = c
	case []any:
		for _, b := range c {
			blk := b.(map[string]any)
			switch blk["type"] {
			case "text":
				text += blk["text"].(string)
			case "image":
				images++
			case "tool_result":
				toolResult = fmt.Sprint(blk["content"])
			}
		}
	}
	in := words(text) + 3
	var content []any
	stop := "end_turn"
	tools, _ := body["tools"].([]any)
	switch {
	case toolResult != "":
		content = []any{map[string]any{"type": "text", "text": "the tool said " + toolResult}}
	case len(tools) > 0 && strings.Contains(text, "weather"):
		name := tools[0].(map[string]any)["name"]
		content = []any{map[string]any{"type": "text", "text": "Let me check."},
			map[string]any{"type": "tool_use", "id": "toolu_01", "name": name, "input": map[string]any{"city": "Paris"}}}
		stop = "tool_use"
	default:
		reply := "echo: " + text
		if images > 0 {
			reply += fmt.Sprintf(" (%d image)", images)
		}
		if sys, ok := body["system"].(string); ok && sys != "" {
			reply += " [system: " + sys + "]"
		}
		content = []any{map[string]any{"type": "text", "text": reply}}
	}
	out := 0
	for _, c := range content {
		if t, ok := c.(map[string]any)["text"].(string); ok {
			out += words(t)
		}
	}
	use := map[string]any{"input_tokens": in, "output_tokens": out}
	if b, _ := json.Marshal(body); strings.Contains(string(b), `"cache_control"`) {
		// As Anthropic: cached prompt tokens are counted apart from input_tokens.
		use["cache_read_input_tokens"], use["cache_creation_input_tokens"] = 6, 2
	}
	msg := map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": body["model"], "content": content,
		"stop_reason": stop, "stop_sequence": nil, "usage": use}
	if stream, _ := body["stream"].(bool); !stream {
		writeJSON(ctx, msg)
		return
	}
	ctx.SetContentType("text/event-stream")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		send := func(name string, v any) {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
			w.Flush()
		}
		start := map[string]any{}
		for k, val := range msg {
			start[k] = val
		}
		start["content"], start["stop_reason"] = []any{}, nil
		start["usage"] = map[string]any{"input_tokens": in, "output_tokens": 1}
		send("message_start", map[string]any{"type": "message_start", "message": start})
		send("ping", map[string]any{"type": "ping"})
		for i, c := range content {
			blk := c.(map[string]any)
			if blk["type"] == "tool_use" {
				send("content_block_start", map[string]any{"type": "content_block_start", "index": i,
					"content_block": map[string]any{"type": "tool_use", "id": blk["id"], "name": blk["name"], "input": map[string]any{}}})
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "input_json_delta", "partial_json": `{"city": `}})
				send("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
					"delta": map[string]any{"type": "input_json_delta", "partial_json": `"Paris"}`}})
			} else {
				send("content_block_start", map[string]any{"type": "content_block_start", "index": i,
					"content_block": map[string]any{"type": "text", "text": ""}})
				for _, part := range strings.SplitAfter(blk["text"].(string), " ") {
					send("content_block_delta", map[string]any{"type": "content_block_delta", "index": i,
						"delta": map[string]any{"type": "text_delta", "text": part}})
				}
			}
			send("content_block_stop", map[string]any{"type": "content_block_stop", "index": i})
		}
		send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
			"usage": map[string]any{"output_tokens": out}})
		send("message_stop", map[string]any{"type": "message_stop"})
	})
}

func (v *Vendors) ollamaChat(ctx *fasthttp.RequestCtx, body map[string]any) {
	msgs, _ := body["messages"].([]any)
	text := ""
	all := ""
	images := 0
	for _, m := range msgs {
		mm := m.(map[string]any)
		c, _ := mm["content"].(string)
		all += c + " "
		if mm["role"] == "user" {
			text = c
			if imgs, ok := mm["images"].([]any); ok {
				images = len(imgs)
			}
		}
	}
	reply := "echo: " + text
	if images > 0 {
		reply += fmt.Sprintf(" (%d image)", images)
	}
	final := map[string]any{"model": body["model"], "created_at": "2026-01-01T00:00:00Z", "message": map[string]any{"role": "assistant", "content": ""},
		"done": true, "done_reason": "stop", "prompt_eval_count": words(all), "eval_count": words(reply)}
	if stream, ok := body["stream"].(bool); !ok || !stream {
		final["message"] = map[string]any{"role": "assistant", "content": reply}
		writeJSON(ctx, final)
		return
	}
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		for _, part := range strings.SplitAfter(reply, " ") {
			b, _ := json.Marshal(map[string]any{"model": body["model"], "message": map[string]any{"role": "assistant", "content": part}, "done": false})
			w.Write(append(b, '\n'))
			w.Flush()
		}
		b, _ := json.Marshal(final)
		w.Write(append(b, '\n'))
		w.Flush()
	})
}

// anthropicCount answers count_tokens as Anthropic does, {"input_tokens": n}, with the checks of
// messages (key, version header, a model and messages). It counts every word of the system
// prompt, the messages and the tools' names and descriptions, plus 7 for the framing, so its
// counts differ from the gateway's estimate.
func (v *Vendors) anthropicCount(ctx *fasthttp.RequestCtx, r Received, body map[string]any) {
	fail := func(status int, typ, msg string) {
		ctx.SetStatusCode(status)
		writeJSON(ctx, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
	}
	switch {
	case v.AnthropicKey != "" && r.Header["x-api-key"] != v.AnthropicKey:
		fail(401, "authentication_error", "invalid x-api-key")
		return
	case r.Header["anthropic-version"] == "":
		fail(400, "invalid_request_error", "anthropic-version header is required")
		return
	case body["model"] == nil:
		fail(400, "invalid_request_error", "model: Field required")
		return
	}
	msgs, ok := body["messages"].([]any)
	if !ok || len(msgs) == 0 {
		fail(400, "invalid_request_error", "messages: Field required")
		return
	}
	n := 7 + words(contentText(body["system"]))
	for _, m := range msgs {
		n += words(contentText(m.(map[string]any)["content"]))
	}
	if tools, ok := body["tools"].([]any); ok {
		for _, t := range tools {
			tm, _ := t.(map[string]any)
			name, _ := tm["name"].(string)
			desc, _ := tm["description"].(string)
			n += words(name + " " + desc)
		}
	}
	writeJSON(ctx, map[string]any{"input_tokens": n})
}
