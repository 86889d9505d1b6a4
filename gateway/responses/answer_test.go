package responses

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/provider"
)

var now = time.Unix(1700000100, 0)

func TestCompleteText(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"hi","metadata":{"a":"b"}}`, nil)
	p.Template.Model = "echo"
	r, err := p.Complete([]byte(`{"id":"x","object":"chat.completion","choices":[{"index":0,"finish_reason":"stop",
		"message":{"role":"assistant","content":"hello there"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}`),
		provider.Usage{Input: 10, Output: 4, CachedInput: 5, Reasoning: 1}, now)
	if err != nil {
		t.Fatal(err)
	}
	got := jsonOf(r)
	for _, want := range []string{
		`"id":"resp_` + reqID + `","object":"response","created_at":1700000000,"completed_at":1700000100,"status":"completed","error":null,"incomplete_details":null`,
		`"model":"echo","output":[{"id":"msg_` + reqID + `","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"hello there","annotations":[],"logprobs":[]}]}]`,
		`"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":5},"output_tokens":4,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":14}`,
		`"metadata":{"a":"b"}`, `"tools":[]`, `"text":{"format":{"type":"text"}}`, `"tool_choice":"auto"`, `"previous_response_id":null`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
}

func TestCompleteToolCallsAndCutOff(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"weather?","tools":[{"type":"function","name":"w"}]}`, nil)
	r, err := p.Complete([]byte(`{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
		"tool_calls":[{"id":"call_a","type":"function","function":{"name":"w","arguments":"{\"city\":\"Paris\"}"}},
		{"type":"function","function":{"name":"w","arguments":"{}"}}]}}]}`), provider.Usage{}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"id":"fc_` + reqID + `_0","type":"function_call","status":"completed","call_id":"call_a","name":"w","arguments":"{\"city\":\"Paris\"}"},` +
		`{"id":"fc_` + reqID + `_1","type":"function_call","status":"completed","call_id":"call_` + reqID + `_1","name":"w","arguments":"{}"}]`
	if got := jsonOf(r.Output); got != want || r.Status != "completed" {
		t.Fatalf("output %s status %s", got, r.Status)
	}
	rec, _ := p.NewRecord("acme", r)
	conv, err := rec.Conversation()
	if err != nil || len(conv) != 2 {
		t.Fatalf("conversation %v %+v", err, conv)
	}
	last := conv[len(conv)-1]
	if last.Role != "assistant" || len(last.ToolCalls) != 2 || last.ToolCalls[1].ID != "call_"+reqID+"_1" || last.Content != nil {
		t.Fatalf("the answer in the conversation: %+v", last)
	}

	r, _ = p.Complete([]byte(`{"choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant","content":"cut"}}]}`), provider.Usage{}, now)
	if r.Status != "incomplete" || r.IncompleteDetails == nil || r.IncompleteDetails.Reason != "max_output_tokens" || r.CompletedAt != nil {
		t.Fatalf("a length cut-off: %s", jsonOf(r))
	}
	if _, err := p.Complete([]byte(`not json`), provider.Usage{}, now); err == nil {
		t.Fatal("a broken answer must fail")
	}
	r, _ = p.Complete([]byte(`{"choices":[]}`), provider.Usage{}, now)
	if len(r.Output) != 1 || r.Output[0].Type != "message" || *r.Output[0].Content[0].Text != "" {
		t.Fatalf("an empty answer is an empty message: %s", jsonOf(r.Output))
	}
}

// The wire form of items: a message always has content, a function call its arguments; stored
// input items read back as they were written.
func TestItemJSON(t *testing.T) {
	p := prepare(t, `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"http://i/x.png"}]},
		{"type":"function_call","call_id":"c","name":"f","arguments":""}]}`, nil)
	b, _ := json.Marshal(p.Input)
	want := `[{"id":"msg_` + reqID + `_in0","type":"message","status":"completed","role":"user","content":[{"type":"input_image","image_url":"http://i/x.png","detail":"auto"}]},` +
		`{"id":"fc_` + reqID + `_in1","type":"function_call","status":"completed","call_id":"c","name":"f","arguments":"{}"}]`
	if string(b) != want {
		t.Fatalf("items\n got %s\nwant %s", b, want)
	}
	rec := &Record{Input: p.Input}
	b2, _ := json.Marshal(rec)
	var back Record
	if err := json.Unmarshal(b2, &back); err != nil || jsonOf(back.Input) != want {
		t.Fatalf("round trip: %v %s", err, jsonOf(back.Input))
	}
}
