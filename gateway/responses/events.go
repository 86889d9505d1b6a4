package responses

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// MaxStreamedOutput bounds the output a stream accumulates for its final events and the stored
// response; a larger answer ends the stream with an error.
const MaxStreamedOutput = 8 << 20

// Events turns canonical chunks into the Responses event stream. Feed it every chunk, then call
// End (or Fail); each call returns the events to send. The text of a message and the arguments
// of function calls are relayed as they come, each output item opened when its first delta
// arrives and closed (its done events) when the next one opens or the answer ends.
type Events struct {
	p       *Prepared
	seq     int
	started bool
	items   []openai.ResponsesItem
	bufs    []*strings.Builder // the text or arguments of each item so far
	open    []int              // indexes of the items not yet done, in order
	message int                // index of the open message item, -1 when none
	calls   map[int]int        // chat tool call index → output index
	size    int
	finish  string
	final   *openai.Response
	out     []provider.Event
}

// Events starts the event stream of p's answer.
func (p *Prepared) Events() *Events {
	return &Events{p: p, message: -1, calls: map[int]int{}}
}

func (e *Events) emit(typ string, fields map[string]any) {
	fields["type"] = typ
	fields["sequence_number"] = e.seq
	e.seq++
	b, _ := json.Marshal(fields)
	e.out = append(e.out, provider.Event{Name: typ, Data: b})
}

// start announces the response: created, then in progress.
func (e *Events) start() {
	if e.started {
		return
	}
	e.started = true
	r := e.p.Template
	e.emit("response.created", map[string]any{"response": r})
	e.emit("response.in_progress", map[string]any{"response": r})
}

// Chunk translates one canonical chunk. An answer past MaxStreamedOutput is an error, which the
// caller ends the stream with (Fail).
func (e *Events) Chunk(chunk []byte) ([]provider.Event, *fault.Error) {
	e.out = e.out[:0]
	e.start()
	var c openai.Chunk
	if json.Unmarshal(chunk, &c) != nil {
		return e.out, nil
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // one answer is asked for; n > 1 is not part of the Responses API
		}
		d := ch.Delta
		if d.Content != nil && *d.Content != "" {
			e.text(*d.Content)
		}
		for _, tc := range d.ToolCalls {
			e.toolCall(tc)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			e.finish = *ch.FinishReason
		}
	}
	if e.size > MaxStreamedOutput {
		return e.out, fault.Upstream(0, "the answer is larger than the %d MiB the gateway keeps of a streamed response", MaxStreamedOutput>>20)
	}
	return e.out, nil
}

// text relays a text delta, opening the message item when none is open.
func (e *Events) text(delta string) {
	if e.message < 0 {
		e.closeAll()
		e.message = e.add(e.p.messageItem("", "in_progress"))
		e.emit("response.content_part.added", map[string]any{"item_id": e.items[e.message].ID, "output_index": e.message,
			"content_index": 0, "part": outputText("")})
	}
	e.bufs[e.message].WriteString(delta)
	e.size += len(delta)
	e.emit("response.output_text.delta", map[string]any{"item_id": e.items[e.message].ID, "output_index": e.message,
		"content_index": 0, "delta": delta, "logprobs": []any{}})
}

// toolCall relays a tool call delta: the first of a call opens its function_call item (closing
// the message before it), the others add to its arguments.
func (e *Events) toolCall(tc openai.ToolCall) {
	n := 0
	if tc.Index != nil {
		n = *tc.Index
	}
	idx, ok := e.calls[n]
	if !ok {
		if e.message >= 0 {
			e.close(e.message)
		}
		idx = e.add(e.p.callItem(n, tc.ID, tc.Function.Name, "", "in_progress"))
		e.calls[n] = idx
	}
	if tc.Function.Arguments == "" {
		return
	}
	e.bufs[idx].WriteString(tc.Function.Arguments)
	e.size += len(tc.Function.Arguments)
	e.emit("response.function_call_arguments.delta", map[string]any{"item_id": e.items[idx].ID, "output_index": idx,
		"delta": tc.Function.Arguments})
}

// add opens an output item and returns its index.
func (e *Events) add(it openai.ResponsesItem) int {
	idx := len(e.items)
	e.items = append(e.items, it)
	e.bufs = append(e.bufs, &strings.Builder{})
	e.open = append(e.open, idx)
	e.emit("response.output_item.added", map[string]any{"output_index": idx, "item": it})
	return idx
}

// close ends output item idx with its done events.
func (e *Events) close(idx int) {
	for i, o := range e.open {
		if o == idx {
			e.open = append(e.open[:i], e.open[i+1:]...)
			break
		}
	}
	it := &e.items[idx]
	text := e.bufs[idx].String()
	it.Status = "completed"
	switch it.Type {
	case "message":
		it.Content = []openai.ResponsesPart{{Type: "output_text", Text: &text}}
		e.emit("response.output_text.done", map[string]any{"item_id": it.ID, "output_index": idx, "content_index": 0,
			"text": text, "logprobs": []any{}})
		e.emit("response.content_part.done", map[string]any{"item_id": it.ID, "output_index": idx, "content_index": 0,
			"part": outputText(text)})
		e.message = -1
	case "function_call":
		it.Arguments = text
		e.emit("response.function_call_arguments.done", map[string]any{"item_id": it.ID, "output_index": idx,
			"name": it.Name, "arguments": text})
	}
	e.emit("response.output_item.done", map[string]any{"output_index": idx, "item": *it})
}

// closeAll ends every open item, in order.
func (e *Events) closeAll() {
	for len(e.open) > 0 {
		e.close(e.open[0])
	}
}

func outputText(text string) openai.ResponsesPart {
	return openai.ResponsesPart{Type: "output_text", Text: &text}
}

// End closes the open items and the response: completed, or incomplete when the model stopped
// at the token limit. usage is the call's (the engine's count). An answer with no output gets
// an empty message, as Complete gives it.
func (e *Events) End(usage provider.Usage, now time.Time) []provider.Event {
	e.out = e.out[:0]
	e.start()
	if len(e.items) == 0 {
		e.message = e.add(e.p.messageItem("", "in_progress"))
		e.emit("response.content_part.added", map[string]any{"item_id": e.items[e.message].ID, "output_index": e.message,
			"content_index": 0, "part": outputText("")})
	}
	e.closeAll()
	e.final = e.p.finish(e.items, e.finish, usage, now)
	typ := "response.completed"
	if e.final.Status == "incomplete" {
		typ = "response.incomplete"
	}
	e.emit(typ, map[string]any{"response": e.final})
	return e.out
}

// Fail ends the stream with an error event, after the answer began. The event has the members
// of the Responses API's error event (code, message, param) and the OpenAI error object too,
// under error, which OpenAI's SDKs raise as the error of the stream. errObj is that object's
// JSON ({"error":{…}}); message is said when errObj (an upstream's own error body) says none.
func (e *Events) Fail(errObj []byte, message string, usage provider.Usage) []provider.Event {
	e.out = e.out[:0]
	e.start()
	var obj struct {
		Error struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
			Param   json.RawMessage `json:"param"`
		} `json:"error"`
	}
	_ = json.Unmarshal(errObj, &obj)
	if obj.Error.Message == "" {
		obj.Error.Message = message
	}
	code, param := obj.Error.Code, obj.Error.Param
	if len(code) == 0 {
		code = json.RawMessage("null")
	}
	if len(param) == 0 {
		param = json.RawMessage("null")
	}
	whole := json.RawMessage(errObj)
	if !json.Valid(whole) {
		whole = json.RawMessage("null")
	}
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(whole, &wrapped) == nil && len(wrapped.Error) > 0 {
		whole = wrapped.Error
	}
	e.emit("error", map[string]any{"code": code, "message": obj.Error.Message, "param": param, "error": whole})
	r := e.p.finish(e.items, e.finish, usage, time.Time{})
	r.Status, r.CompletedAt, r.IncompleteDetails = "failed", nil, nil
	var c string
	_ = json.Unmarshal(code, &c)
	if c == "" {
		c = "server_error"
	}
	r.Error = &openai.ResponsesError{Code: c, Message: obj.Error.Message}
	e.final = r
	return e.out
}

// Response is the final response, once End or Fail was called.
func (e *Events) Response() *openai.Response { return e.final }
