package responses

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/provider"
)

// run feeds chunks to a new event stream of p and ends it; it returns every event.
func run(t *testing.T, p *Prepared, chunks ...string) ([]provider.Event, *Events) {
	t.Helper()
	ev := p.Events()
	var all []provider.Event
	for _, c := range chunks {
		out, fe := ev.Chunk([]byte(c))
		if fe != nil {
			t.Fatal(fe)
		}
		all = append(all, clone(out)...)
	}
	all = append(all, clone(ev.End(provider.Usage{Input: 7, Output: 5}, now))...)
	return all, ev
}

// clone copies events: the slice an Events call returns is reused by the next.
func clone(evs []provider.Event) []provider.Event { return append([]provider.Event(nil), evs...) }

func chunk(delta string, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + `}]}`
}

// decoded checks what every event must be (its name is its type; sequence numbers count from
// 0) and returns the data of each.
func decoded(t *testing.T, evs []provider.Event) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, e := range evs {
		var m map[string]any
		if err := json.Unmarshal(e.Data, &m); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if m["type"] != e.Name || m["sequence_number"] != float64(i) {
			t.Fatalf("event %d (%s): %s", i, e.Name, e.Data)
		}
		if _, ok := m["error"]; ok && e.Name != "error" {
			t.Fatalf("only an error event may have an error member (SDKs raise it): %s", e.Data)
		}
		out = append(out, m)
	}
	return out
}

func names(evs []provider.Event) string {
	var n []string
	for _, e := range evs {
		n = append(n, strings.TrimPrefix(e.Name, "response."))
	}
	return strings.Join(n, " ")
}

func TestEventsText(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"hi","stream":true}`, nil)
	evs, ev := run(t, p, chunk(`{"role":"assistant","content":""}`, ""), chunk(`{"content":"hel"}`, ""),
		chunk(`{"content":"lo"}`, ""), chunk(`{}`, "stop"), `{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}`)
	want := "created in_progress output_item.added content_part.added output_text.delta output_text.delta " +
		"output_text.done content_part.done output_item.done completed"
	if got := names(evs); got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	data := decoded(t, evs)
	if r := data[0]["response"].(map[string]any); r["status"] != "in_progress" || len(r["output"].([]any)) != 0 {
		t.Fatalf("created: %v", r)
	}
	if d := data[4]; d["delta"] != "hel" || d["output_index"] != 0.0 || d["content_index"] != 0.0 || d["item_id"] != "msg_"+reqID {
		t.Fatalf("delta: %v", d)
	}
	if d := data[6]; d["text"] != "hello" {
		t.Fatalf("text done: %v", d)
	}
	item := data[8]["item"].(map[string]any)
	if item["status"] != "completed" || jsonOf(item["content"]) != `[{"annotations":[],"logprobs":[],"text":"hello","type":"output_text"}]` {
		t.Fatalf("item done: %v", item)
	}
	final := data[9]["response"].(map[string]any)
	if final["status"] != "completed" || jsonOf(final["output"]) != jsonOf([]any{item}) ||
		final["usage"].(map[string]any)["total_tokens"] != 12.0 {
		t.Fatalf("completed: %v", final)
	}
	if ev.Response().Status != "completed" || *ev.Response().Output[0].Content[0].Text != "hello" {
		t.Fatalf("final response %+v", ev.Response())
	}
}

func TestEventsToolCalls(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"weather?","stream":true,"tools":[{"type":"function","name":"w"}]}`, nil)
	evs, ev := run(t, p, chunk(`{"role":"assistant","content":"Let me check."}`, ""),
		chunk(`{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"w","arguments":""}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"w","arguments":"{}"}}]}`, ""),
		chunk(`{}`, "tool_calls"))
	want := "created in_progress output_item.added content_part.added output_text.delta " +
		"output_text.done content_part.done output_item.done " +
		"output_item.added function_call_arguments.delta function_call_arguments.delta " +
		"output_item.added function_call_arguments.delta " +
		"function_call_arguments.done output_item.done function_call_arguments.done output_item.done completed"
	if got := names(evs); got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	data := decoded(t, evs)
	added := data[8]["item"].(map[string]any)
	if added["type"] != "function_call" || added["call_id"] != "call_a" || added["arguments"] != "" || added["status"] != "in_progress" || data[8]["output_index"] != 1.0 {
		t.Fatalf("function call added: %v", data[8])
	}
	if d := data[13]; d["arguments"] != `{"city":"Paris"}` || d["name"] != "w" || d["output_index"] != 1.0 {
		t.Fatalf("arguments done: %v", d)
	}
	r := ev.Response()
	if len(r.Output) != 3 || r.Output[1].Arguments != `{"city":"Paris"}` || r.Output[2].CallID != "call_b" || r.Output[2].Status != "completed" {
		t.Fatalf("final output %s", jsonOf(r.Output))
	}
}

func TestEventsIncompleteAndEmpty(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"hi","stream":true}`, nil)
	evs, _ := run(t, p, chunk(`{"content":"cut"}`, "length"))
	data := decoded(t, evs)
	last := data[len(data)-1]
	if last["type"] != "response.incomplete" || last["response"].(map[string]any)["incomplete_details"].(map[string]any)["reason"] != "max_output_tokens" {
		t.Fatalf("a cut-off stream ends with %v", last)
	}
	evs, ev := run(t, p)
	if got := names(evs); got != "created in_progress output_item.added content_part.added output_text.done content_part.done output_item.done completed" {
		t.Fatalf("an empty answer: %s", got)
	}
	if *ev.Response().Output[0].Content[0].Text != "" {
		t.Fatalf("empty: %+v", ev.Response())
	}
}

// A failure after the stream began ends it with an error event that OpenAI's SDKs raise (it has
// an error member), and a failed response.
func TestEventsFail(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"hi","stream":true}`, nil)
	ev := p.Events()
	ev.Chunk([]byte(chunk(`{"content":"par"}`, "")))
	evs := clone(ev.Fail([]byte(`{"error":{"message":"model \"m\": the upstream went away","type":"upstream_error","code":"upstream_error","param":null}}`), "unused", provider.Usage{}))
	if len(evs) != 1 || evs[0].Name != "error" {
		t.Fatalf("events %v", names(evs))
	}
	var m map[string]any
	json.Unmarshal(evs[0].Data, &m)
	if m["code"] != "upstream_error" || m["message"] != `model "m": the upstream went away` || m["sequence_number"] != 5.0 ||
		m["error"].(map[string]any)["type"] != "upstream_error" {
		t.Fatalf("error event %s", evs[0].Data)
	}
	r := ev.Response()
	if r.Status != "failed" || r.Error == nil || r.Error.Code != "upstream_error" || len(r.Output) != 1 {
		t.Fatalf("failed response %s", jsonOf(r))
	}
	if evs := ev.Fail([]byte(`{"error":"not OpenAI's shape"}`), "the upstream failed", provider.Usage{}); !strings.Contains(string(evs[0].Data), `"message":"the upstream failed"`) {
		t.Fatalf("an error body without a message: %s", evs[0].Data)
	}
	rec, _ := p.NewRecord("acme", r)
	if conv, err := rec.Conversation(); err != nil || len(conv) != 1 {
		t.Fatalf("a failed answer does not join the conversation: %v %+v", err, conv)
	}
}

func TestEventsBounded(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"hi","stream":true}`, nil)
	ev := p.Events()
	big, _ := json.Marshal(strings.Repeat("x", 1<<20))
	for i := 0; ; i++ {
		_, fe := ev.Chunk([]byte(chunk(`{"content":`+string(big)+`}`, "")))
		if fe != nil {
			if i < 8 || !strings.Contains(fe.Message, "larger than") {
				t.Fatalf("after %d MiB: %v", i, fe)
			}
			return
		}
		if i > 10 {
			t.Fatal("the output is not bounded")
		}
	}
}
