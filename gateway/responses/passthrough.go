package responses

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// A model whose config.responses is passthrough gets the request as the client sent it, so hosted
// tools and every other member reach its upstream unread. The gateway still keeps the
// conversation: the upstream gets store: false and the whole conversation as input, and the
// answer takes the gateway's response id, so a conversation may go on with a model of either kind.

// Passed is a Responses request made ready to pass through.
type Passed struct {
	// Body is the upstream request: the client's, with the whole conversation as input,
	// store false and no previous_response_id (the upstream's adapter sets its model).
	Body []byte
	// Input is the request's input items as they are listed (the messages, function calls and
	// their outputs among them, each with an id).
	Input []openai.ResponsesItem
	// Items is the conversation sent as input, kept for the requests that continue it.
	Items json.RawMessage
	// Store says whether the response is kept.
	Store bool

	// The answer's id, model, store and previous_response_id, as JSON.
	id, model, store, previous []byte
}

// Pass readies req, whose body is body, for an upstream's own Responses API. prev is the stored
// response it continues, or nil; reqID is the gateway's id of the request, and model the id of
// the model it goes to, which the answer names (as a translated answer does, rather than the
// upstream's name for it).
func Pass(req *openai.ResponsesRequest, body []byte, prev *Record, reqID, model string) (*Passed, error) {
	switch {
	case req.Model == "":
		return nil, fault.Invalid("model", "model: field required")
	case req.Background != nil && *req.Background:
		return nil, fault.Invalid("background", "background responses are not supported by this gateway; leave background unset")
	case len(req.Conversation) > 0 && string(req.Conversation) != "null":
		return nil, fault.Invalid("conversation", "conversations are not supported by this gateway; continue with previous_response_id")
	}
	input, err := rawItems(req.Input)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if prev != nil {
		if items, err = prev.items(); err != nil {
			return nil, err
		}
	}
	items = append(items, input...)
	all, err := json.Marshal(items)
	if err != nil {
		return nil, fault.Invalid("input", "cannot read the input: %v", err)
	}
	p := &Passed{Items: all, Store: req.Store == nil || *req.Store}
	p.Input = listed(input, reqID)
	p.id, _ = json.Marshal(ResponseID(reqID))
	p.model, _ = json.Marshal(model)
	p.previous = []byte("null")
	if req.PreviousResponseID != "" {
		p.previous, _ = json.Marshal(req.PreviousResponseID)
	}
	p.store = []byte(strconv.FormatBool(p.Store))
	fields, err := rawjson.ScanObject(body, nil)
	if err != nil {
		return nil, fault.Invalid("", "cannot read the request: %v", err)
	}
	out := make([]byte, 0, len(body)+len(all))
	out = append(out, '{')
	for _, f := range fields {
		switch string(f.Key) {
		case "input", "store", "previous_response_id":
			continue
		}
		out = rawjson.AppendString(out, string(f.Key))
		out = append(out, ':')
		out = append(append(out, f.Value...), ',')
	}
	out = append(out, `"store":false,"input":`...)
	p.Body = append(append(out, all...), '}')
	return p, nil
}

// rawItems reads input: a string is one user message.
func rawItems(raw json.RawMessage) ([]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fault.Invalid("input", "input: field required (a string or a list of input items)")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		msg, _ := json.Marshal(map[string]string{"role": "user", "content": s})
		return []json.RawMessage{msg}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 {
		return nil, fault.Invalid("input", "input must be a string or a non-empty list of input items")
	}
	return items, nil
}

// listed is the input items as input_items lists them: those the gateway reads (messages,
// function calls and their outputs); others are the upstream's own and are left out.
func listed(items []json.RawMessage, reqID string) []openai.ResponsesItem {
	c := converter{prefix: reqID}
	for _, raw := range items {
		c.lenient(raw)
	}
	return c.out
}

// lenient converts one input item, skipping it when it is not one the gateway reads.
func (c *converter) lenient(raw json.RawMessage) {
	var it openai.ResponsesInputItem
	if json.Unmarshal(raw, &it) != nil {
		return
	}
	typ := it.Type
	if typ == "" && it.Role != "" {
		typ = "message"
	}
	msgs, out := len(c.msgs), len(c.out)
	var err error
	switch typ {
	case "message":
		err = c.message(it, "input")
	case "function_call":
		err = c.functionCall(it, "input")
	case "function_call_output":
		err = c.functionOutput(it, "input")
	}
	if err != nil {
		c.msgs, c.out = c.msgs[:msgs], c.out[:out]
	}
}

// Rewrite makes an upstream's response object the gateway's: its id, model, store and
// previous_response_id.
func (p *Passed) Rewrite(response []byte) ([]byte, error) {
	return setMembers(response, member{"id", p.id}, member{"model", p.model}, member{"store", p.store},
		member{"previous_response_id", p.previous})
}

// Event rewrites an upstream event's data: an event carrying the response (response.created,
// response.completed…) gets the gateway's (Rewrite), which it also returns. typ is the event's
// type, pointing into data.
func (p *Passed) Event(data []byte) (out, typ, response []byte) {
	var buf [8]rawjson.Field
	fields, err := rawjson.Members(data, buf[:0])
	if err != nil {
		return data, nil, nil
	}
	typ, _ = rawjson.StringBytes(rawjson.Get(fields, "type"))
	r := rawjson.Get(fields, "response")
	if rawjson.KindOf(r) != rawjson.Object {
		return data, typ, nil
	}
	if response, err = p.Rewrite(r); err != nil {
		return data, typ, nil
	}
	out, _ = setMembers(data, member{"response", response})
	return out, typ, response
}

// Failed is the response of a stream that broke off, from the last response it carried
// (nil when none): failed, with the error.
func (p *Passed) Failed(last []byte, code, message string) []byte {
	if last == nil {
		return nil
	}
	e, _ := json.Marshal(openai.ResponsesError{Code: code, Message: message})
	out, err := setMembers(last, member{"status", []byte(`"failed"`)}, member{"error", e})
	if err != nil {
		return nil
	}
	return out
}

// ErrorEvent is the Responses API's error event number seq, for a stream that broke off: the
// members of the error (code, message, param), and the OpenAI error object, errObj, under error,
// as Events.Fail writes it.
func ErrorEvent(seq int, errObj []byte, message string) []byte {
	var obj struct {
		Error struct {
			Message string          `json:"message"`
			Code    json.RawMessage `json:"code"`
			Param   json.RawMessage `json:"param"`
		} `json:"error"`
	}
	_ = json.Unmarshal(errObj, &obj)
	if obj.Error.Message == "" {
		obj.Error.Message = message
	}
	null := json.RawMessage("null")
	if len(obj.Error.Code) == 0 {
		obj.Error.Code = null
	}
	if len(obj.Error.Param) == 0 {
		obj.Error.Param = null
	}
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(errObj, &wrapped) != nil || len(wrapped.Error) == 0 {
		wrapped.Error = null
	}
	b, _ := json.Marshal(map[string]any{"type": "error", "sequence_number": seq, "code": obj.Error.Code,
		"message": obj.Error.Message, "param": obj.Error.Param, "error": wrapped.Error})
	return b
}

// member is a member of a JSON object: its key and value.
type member struct {
	key   string
	value []byte
}

// setMembers returns the JSON object obj with members set: in their place when obj has them,
// after its members otherwise.
func setMembers(obj []byte, set ...member) ([]byte, error) {
	var buf [32]rawjson.Field
	fields, err := rawjson.Members(obj, buf[:0])
	if err != nil {
		return nil, fault.Upstream(0, "the upstream's answer is not a JSON object: %v", err)
	}
	out := make([]byte, 0, len(obj)+64)
	out = append(out, '{')
	add := func(key string, v []byte) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = rawjson.AppendString(out, key)
		out = append(append(out, ':'), v...)
	}
	var seen uint32 // a bit per member of set
	for _, f := range fields {
		v := f.Value
		for i, m := range set {
			if string(f.Key) == m.key {
				v, seen = m.value, seen|1<<i
			}
		}
		add(string(f.Key), v)
	}
	for i, m := range set {
		if seen&(1<<i) == 0 {
			add(m.key, m.value)
		}
	}
	return append(out, '}'), nil
}

// NewRecord is what is stored of a passed-through response, made by a key of org.
func (p *Passed) NewRecord(org string, response []byte) *Record {
	return &Record{Org: org, Response: bytes.Clone(response), Input: p.Input, Items: p.Items}
}

// items is the conversation a request passed through continues rec with, as input items: the
// items it was sent and its output, or, for a translated response, its conversation's messages
// as items. A failed response's output is left out.
func (rec *Record) items() ([]json.RawMessage, error) {
	var r struct {
		Status string            `json:"status"`
		Output []json.RawMessage `json:"output"`
	}
	if err := json.Unmarshal(rec.Response, &r); err != nil {
		return nil, fault.Internal("the stored response is unreadable: %v", err)
	}
	if rec.Items == nil {
		msgs, err := rec.Conversation()
		if err != nil {
			return nil, err
		}
		return messageItems(msgs), nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(rec.Items, &items); err != nil {
		return nil, fault.Internal("the stored response is unreadable: %v", err)
	}
	if r.Status != "failed" {
		items = append(items, r.Output...)
	}
	return items, nil
}

// messageItems is chat messages as Responses input items.
func messageItems(msgs []openai.Message) []json.RawMessage {
	var out []json.RawMessage
	add := func(v any) {
		b, _ := json.Marshal(v)
		out = append(out, b)
	}
	for _, m := range msgs {
		if m.Role == "tool" {
			text, _ := chatText(m.Content)
			add(map[string]string{"type": "function_call_output", "call_id": m.ToolCallID, "output": text})
			continue
		}
		if content := itemContent(m.Role, m.Content); content != nil {
			add(map[string]any{"role": m.Role, "content": content})
		}
		for _, tc := range m.ToolCalls {
			add(map[string]string{"type": "function_call", "call_id": tc.ID, "name": tc.Function.Name, "arguments": tc.Function.Arguments})
		}
	}
	return out
}

// itemContent is a chat message's content as a Responses message's: a string as it is, parts
// as input_text (output_text for the assistant) and input_image; nil when it has none.
func itemContent(role string, raw json.RawMessage) any {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil
		}
		return s
	}
	var parts []openai.ContentPart
	if json.Unmarshal(raw, &parts) != nil || len(parts) == 0 {
		return nil
	}
	textType := "input_text"
	if role == "assistant" {
		textType = "output_text"
	}
	var out []map[string]string
	for _, p := range parts {
		switch {
		case p.Type == "text":
			out = append(out, map[string]string{"type": textType, "text": p.Text})
		case p.Type == "image_url" && p.ImageURL != nil:
			img := map[string]string{"type": "input_image", "image_url": p.ImageURL.URL, "detail": "auto"}
			if p.ImageURL.Detail != "" {
				img["detail"] = p.ImageURL.Detail
			}
			out = append(out, img)
		}
	}
	return out
}

// chatText is a chat message's text: its string, or its text parts joined.
func chatText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	var parts []openai.ContentPart
	if json.Unmarshal(raw, &parts) != nil {
		return "", false
	}
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), true
}
