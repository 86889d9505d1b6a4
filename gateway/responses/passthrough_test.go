package responses

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/wire/openai"
)

func pass(t *testing.T, body string, prev *Record) *Passed {
	t.Helper()
	var req openai.ResponsesRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	p, err := Pass(&req, []byte(body), prev, "0123456789abcdef01234567", "gpt")
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return p
}

func members(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// The upstream gets the client's request with the whole conversation as input, store false and
// no previous_response_id; everything else, hosted tools included, as it came.
func TestPassBody(t *testing.T) {
	p := pass(t, `{"model":"gpt","input":"hi","store":true,"previous_response_id":"resp_0123456789abcdef01234560",
		"tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"]}`, nil)
	m := members(t, p.Body)
	if string(m["store"]) != "false" || m["previous_response_id"] != nil || string(m["input"]) != `[{"content":"hi","role":"user"}]` ||
		string(m["tools"]) != `[{"type":"web_search"}]` || m["include"] == nil || string(m["model"]) != `"gpt"` || !p.Store {
		t.Fatalf("body %s", p.Body)
	}
	if len(p.Input) != 1 || p.Input[0].Role != "user" || p.Input[0].ID == "" {
		t.Fatalf("listed %+v", p.Input)
	}
	// Items the gateway does not read are sent, not listed.
	p = pass(t, `{"model":"gpt","store":false,"input":[{"type":"reasoning","id":"rs_1","summary":[]},{"role":"user","content":[{"type":"input_file","file_id":"f"}]},{"role":"user","content":"x"}]}`, nil)
	if len(p.Input) != 1 || p.Store || !strings.Contains(string(p.Body), `"rs_1"`) || !strings.Contains(string(p.Body), `"input_file"`) {
		t.Fatalf("listed %+v, body %s", p.Input, p.Body)
	}
	for _, bad := range []string{`{"model":"gpt"}`, `{"model":"gpt","input":[]}`, `{"model":"gpt","input":"x","background":true}`,
		`{"model":"gpt","input":"x","conversation":"conv_1"}`, `{"input":"x"}`} {
		var req openai.ResponsesRequest
		json.Unmarshal([]byte(bad), &req)
		if _, err := Pass(&req, []byte(bad), nil, "0123456789abcdef01234567", "gpt"); err == nil {
			t.Fatalf("%s was passed", bad)
		}
	}
}

// A passed-through response continues with its items and output; a translated one with its
// conversation's messages as items; and a passed-through one can be continued translated.
func TestPassContinues(t *testing.T) {
	first := pass(t, `{"model":"gpt","input":"hi"}`, nil)
	answer := `{"id":"resp_up","status":"completed","output":[{"type":"reasoning","id":"rs_1","summary":[]},
		{"type":"message","id":"msg_up","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hello","annotations":[]}]}]}`
	rec := first.NewRecord("acme", []byte(answer))
	next := pass(t, `{"model":"gpt","input":"more","previous_response_id":"resp_0123456789abcdef01234560"}`, rec)
	var items []map[string]any
	json.Unmarshal(members(t, next.Body)["input"], &items)
	if len(items) != 4 || items[1]["id"] != "rs_1" || items[2]["id"] != "msg_up" || items[3]["content"] != "more" {
		t.Fatalf("continued input %s", next.Body)
	}
	msgs, err := rec.Conversation()
	if err != nil || len(msgs) != 2 || msgs[0].Role != "user" || string(msgs[1].Content) != `"hello"` {
		t.Fatalf("as chat: %+v %v", msgs, err)
	}

	// A translated response with a function call and its output.
	tp, err := Prepare(&openai.ResponsesRequest{Model: "echo", Input: json.RawMessage(`[{"role":"user","content":"weather?"},
		{"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"sunny"}]`)},
		nil, "0123456789abcdef01234568", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := tp.Complete([]byte(`{"choices":[{"message":{"role":"assistant","content":"it is sunny"},"finish_reason":"stop"}]}`), provider.Usage{}, time.Now())
	trec, err := tp.NewRecord("acme", resp)
	if err != nil {
		t.Fatal(err)
	}
	next = pass(t, `{"model":"gpt","input":"thanks"}`, trec)
	items = nil
	json.Unmarshal(members(t, next.Body)["input"], &items)
	types := []string{}
	for _, it := range items {
		typ, _ := it["type"].(string)
		if typ == "" {
			typ = it["role"].(string)
		}
		types = append(types, typ)
	}
	if got := strings.Join(types, " "); got != "user function_call function_call_output assistant user" {
		t.Fatalf("items %s: %s", got, next.Body)
	}
}

// The upstream's response takes the gateway's id, store and previous_response_id, in place; an
// event carrying it is rewritten, others are relayed as they are.
func TestPassRewrite(t *testing.T) {
	p := pass(t, `{"model":"gpt","input":"hi","previous_response_id":"resp_0123456789abcdef01234560"}`, nil)
	got, err := p.Rewrite([]byte(`{"id":"resp_up","object":"response","model":"gpt-up-2025","store":false,"output":[]}`))
	want := `{"id":"resp_0123456789abcdef01234567","object":"response","model":"gpt","store":true,"output":[],"previous_response_id":"resp_0123456789abcdef01234560"}`
	if err != nil || string(got) != want {
		t.Fatalf("rewrite\n got %s\nwant %s", got, want)
	}
	data, typ, r := p.Event([]byte(`{"type":"response.created","sequence_number":0,"response":{"id":"resp_up","store":false}}`))
	if string(typ) != "response.created" || !strings.Contains(string(data), `"id":"resp_0123456789abcdef01234567"`) || !strings.Contains(string(r), `"store":true`) {
		t.Fatalf("event %s %s", typ, data)
	}
	delta := `{"type":"response.output_text.delta","sequence_number":3,"delta":"x"}`
	if data, typ, r := p.Event([]byte(delta)); string(typ) != "response.output_text.delta" || string(data) != delta || r != nil {
		t.Fatalf("delta %s %s", typ, data)
	}
	failed := p.Failed(got, "server_error", "broke off")
	if m := members(t, failed); string(m["status"]) != `"failed"` || !strings.Contains(string(m["error"]), "broke off") {
		t.Fatalf("failed %s", failed)
	}
	if _, err := p.Rewrite([]byte(`[1]`)); err == nil {
		t.Fatal("an answer that is not an object")
	}
}

// Relaying a passed-through stream reads each event's type, and rewrites the few that carry the
// response.
func BenchmarkPassEvent(b *testing.B) {
	req := &openai.ResponsesRequest{Model: "gpt", Input: json.RawMessage(`"hi"`)}
	p, err := Pass(req, []byte(`{"model":"gpt","input":"hi","stream":true}`), nil, "0123456789abcdef01234567", "gpt")
	if err != nil {
		b.Fatal(err)
	}
	delta := []byte(`{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_1","output_index":0,"content_index":0,"delta":"some words","logprobs":[]}`)
	created := []byte(`{"type":"response.created","sequence_number":0,"response":{"id":"resp_up","object":"response","created_at":1,"status":"in_progress","model":"gpt","output":[],"store":false,"usage":null}}`)
	b.Run("delta", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Event(delta)
		}
	})
	b.Run("response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.Event(created)
		}
	})
}
