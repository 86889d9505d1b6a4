package responses

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/wire/openai"
)

const reqID = "0123456789abcdef00000001"

func prepare(t *testing.T, body string, prev *Record) *Prepared {
	t.Helper()
	var req openai.ResponsesRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(&req, prev, reqID, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatalf("prepare %s: %v", body, err)
	}
	return p
}

// chatOf decodes a prepared chat request into a generic map.
func chatOf(t *testing.T, p *Prepared) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p.Chat, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestPrepareStringInputAndSettings(t *testing.T) {
	p := prepare(t, `{"model":"m","input":"hello","instructions":"be brief","max_output_tokens":50,"temperature":0.2,
		"top_p":0.9,"user":"u1","metadata":{"k":"v"},"reasoning":{"effort":"low"},"prompt_cache_key":"c1","stream":true}`, nil)
	chat := chatOf(t, p)
	want := `[{"content":"be brief","role":"system"},{"content":"hello","role":"user"}]`
	if got := jsonOf(chat["messages"]); got != want {
		t.Fatalf("messages %s", got)
	}
	if chat["max_completion_tokens"] != 50.0 || chat["temperature"] != 0.2 || chat["top_p"] != 0.9 || chat["user"] != "u1" ||
		chat["reasoning_effort"] != "low" || chat["prompt_cache_key"] != "c1" || chat["stream"] != true ||
		jsonOf(chat["stream_options"]) != `{"include_usage":true}` {
		t.Fatalf("chat %s", p.Chat)
	}
	if _, ok := chat["metadata"]; ok {
		t.Fatalf("metadata is the response's, not the upstream's: %s", p.Chat)
	}
	if !p.Store || len(p.History) != 0 {
		t.Fatalf("store %v history %+v", p.Store, p.History)
	}
	tpl := p.Template
	if tpl.ID != "resp_"+reqID || tpl.Object != "response" || tpl.CreatedAt != 1700000000 || tpl.Status != "in_progress" ||
		*tpl.Instructions != "be brief" || *tpl.MaxOutputTokens != 50 || tpl.Temperature != 0.2 || tpl.TopP != 0.9 ||
		*tpl.User != "u1" || tpl.Metadata["k"] != "v" || !tpl.ParallelToolCalls || string(tpl.ToolChoice) != `"auto"` ||
		tpl.Text.Format.Type != "text" || tpl.Reasoning.Effort != "low" {
		t.Fatalf("template %+v", tpl)
	}
	if got := jsonOf(p.Input); got != `[{"id":"msg_`+reqID+`_in0","type":"message","status":"completed","role":"user","content":[{"type":"input_text","text":"hello"}]}]` {
		t.Fatalf("input items %s", got)
	}
}

func TestPrepareItemsToolsAndFormat(t *testing.T) {
	p := prepare(t, `{"model":"m","store":false,"parallel_tool_calls":false,"input":[
		{"role":"developer","content":"rules"},
		{"type":"message","role":"user","content":[{"type":"input_text","text":"what is in"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]},
		{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me look."}]},
		{"type":"function_call","call_id":"call_1","name":"look","arguments":"{\"x\":1}"},
		{"type":"function_call","call_id":"call_2","name":"look","arguments":""},
		{"type":"reasoning","id":"rs_1","summary":[]},
		{"type":"function_call_output","call_id":"call_1","output":"a cat"},
		{"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"a"},{"type":"input_text","text":"dog"}]}],
		"tools":[{"type":"function","name":"look","description":"looks","parameters":{"type":"object"},"strict":true}],
		"tool_choice":{"type":"function","name":"look"},
		"text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}}}`, nil)
	chat := chatOf(t, p)
	want := `[{"content":"rules","role":"system"},` +
		`{"content":[{"text":"what is in","type":"text"},{"image_url":{"detail":"low","url":"data:image/png;base64,AAAA"},"type":"image_url"}],"role":"user"},` +
		`{"content":"Let me look.","role":"assistant","tool_calls":[{"function":{"arguments":"{\"x\":1}","name":"look"},"id":"call_1","type":"function"},` +
		`{"function":{"arguments":"{}","name":"look"},"id":"call_2","type":"function"}]},` +
		`{"content":"a cat","role":"tool","tool_call_id":"call_1"},{"content":"a\ndog","role":"tool","tool_call_id":"call_2"}]`
	if got := jsonOf(chat["messages"]); got != want {
		t.Fatalf("messages\n got %s\nwant %s", got, want)
	}
	if got := jsonOf(chat["tools"]); got != `[{"function":{"description":"looks","name":"look","parameters":{"type":"object"}},"type":"function"}]` {
		t.Fatalf("tools %s", got)
	}
	if got := jsonOf(chat["tool_choice"]); got != `{"function":{"name":"look"},"type":"function"}` {
		t.Fatalf("tool_choice %s", got)
	}
	if chat["parallel_tool_calls"] != false {
		t.Fatalf("parallel_tool_calls %v", chat["parallel_tool_calls"])
	}
	if got := jsonOf(chat["response_format"]); got != `{"json_schema":{"name":"out","schema":{"type":"object"},"strict":true},"type":"json_schema"}` {
		t.Fatalf("response_format %s", got)
	}
	if p.Store || p.Template.Store || p.Template.ParallelToolCalls || p.Template.Text.Format.Name != "out" || len(p.Template.Tools) != 1 {
		t.Fatalf("template %+v", p.Template)
	}
	var types []string
	for _, it := range p.Input {
		types = append(types, it.Type+":"+it.ID)
	}
	if got := strings.Join(types, " "); got != "message:msg_"+reqID+"_in0 message:msg_"+reqID+"_in1 message:msg_"+reqID+"_in2 "+
		"function_call:fc_"+reqID+"_in3 function_call:fc_"+reqID+"_in4 function_call_output:fco_"+reqID+"_in5 function_call_output:fco_"+reqID+"_in6" {
		t.Fatalf("input items %s", got)
	}
}

// A continuation starts with the earlier conversation, then the new input; its own
// instructions come first, the earlier ones do not carry over.
func TestPrepareContinues(t *testing.T) {
	prev := &Record{History: []openai.Message{{Role: "user", Content: json.RawMessage(`"weather?"`)}},
		Input:    []openai.ResponsesItem{{ID: "msg_1", Type: "message", Role: "user", Content: []openai.ResponsesPart{{Type: "input_text", Text: openai.Str("where?")}}}},
		Response: json.RawMessage(`{"status":"completed","output":[{"id":"fc_1","type":"function_call","call_id":"call_9","name":"w","arguments":"{}"}]}`)}
	p := prepare(t, `{"model":"m","previous_response_id":"resp_`+reqID+`","instructions":"new rules",
		"input":[{"type":"function_call_output","call_id":"call_9","output":"sunny"}]}`, prev)
	want := `[{"content":"new rules","role":"system"},{"content":"weather?","role":"user"},{"content":"where?","role":"user"},` +
		`{"role":"assistant","tool_calls":[{"function":{"arguments":"{}","name":"w"},"id":"call_9","type":"function"}]},` +
		`{"content":"sunny","role":"tool","tool_call_id":"call_9"}]`
	if got := jsonOf(chatOf(t, p)["messages"]); got != want {
		t.Fatalf("messages\n got %s\nwant %s", got, want)
	}
	if len(p.History) != 3 || *p.Template.PreviousResponseID != "resp_"+reqID {
		t.Fatalf("history %d, template %+v", len(p.History), p.Template)
	}
	if len(p.Input) != 1 || p.Input[0].Type != "function_call_output" {
		t.Fatalf("only the request's own input is listed: %+v", p.Input)
	}
}

func TestPrepareRefuses(t *testing.T) {
	for _, c := range []struct{ body, param, says string }{
		{`{"input":"x"}`, "model", "model: field required"},
		{`{"model":"m"}`, "input", "input: field required"},
		{`{"model":"m","input":[]}`, "input", "must not be empty"},
		{`{"model":"m","input":42}`, "input", "a string or a list"},
		{`{"model":"m","input":"x","tools":[{"type":"web_search"}]}`, "tools[0].type", "only function tools"},
		{`{"model":"m","input":"x","tools":[{"type":"function"}]}`, "tools[0].name", "field required"},
		{`{"model":"m","input":"x","tool_choice":{"type":"web_search_preview"}}`, "tool_choice", "not supported"},
		{`{"model":"m","input":"x","tool_choice":"required"}`, "tool_choice", "needs tools"},
		{`{"model":"m","input":"x","text":{"format":{"type":"json_schema"}}}`, "text.format", "needs name and schema"},
		{`{"model":"m","input":"x","text":{"format":{"type":"yaml"}}}`, "text.format.type", "must be text"},
		{`{"model":"m","input":"x","background":true}`, "background", "not supported"},
		{`{"model":"m","input":"x","conversation":"conv_1"}`, "conversation", "not supported"},
		{`{"model":"m","input":"x","prompt":{"id":"pmpt_1"}}`, "prompt", "not supported"},
		{`{"model":"m","input":"x","max_output_tokens":0}`, "max_output_tokens", "positive"},
		{`{"model":"m","input":[{"type":"file_search_call","id":"fs_1"}]}`, "input[0].type", "not supported"},
		{`{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type", "not supported"},
		{`{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", "must be user"},
		{`{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}`, "input[0].content[0].type", "input_file"},
		{`{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}`, "input[0].content[0].image_url", "file ids"},
		{`{"model":"m","input":[{"role":"assistant","content":[{"type":"input_image","image_url":"http://x/y.png"}]}]}`, "input[0].content[0]", "only user"},
		{`{"model":"m","input":[{"type":"function_call","name":"f"}]}`, "input[0]", "call_id and name"},
		{`{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", "needs call_id"},
		{`{"model":"m","input":[{"type":"reasoning","id":"rs_1"}]}`, "input", "no message"},
	} {
		var req openai.ResponsesRequest
		if err := json.Unmarshal([]byte(c.body), &req); err != nil {
			t.Fatal(err)
		}
		_, err := Prepare(&req, nil, reqID, time.Now())
		fe, ok := err.(*fault.Error)
		if !ok || fe.Status != 400 || fe.Param != c.param || !strings.Contains(fe.Message, c.says) {
			t.Errorf("%s: %v (param %q)", c.body, err, paramOf(err))
		}
	}
}

func paramOf(err error) string {
	if fe, ok := err.(*fault.Error); ok {
		return fe.Param
	}
	return ""
}

func TestPrepareMetadataBounds(t *testing.T) {
	meta := map[string]string{}
	for i := range 17 {
		meta[strings.Repeat("k", i+1)] = "v"
	}
	req := openai.ResponsesRequest{Model: "m", Input: json.RawMessage(`"x"`), Metadata: meta}
	if _, err := Prepare(&req, nil, reqID, time.Now()); paramOf(err) != "metadata" {
		t.Fatalf("17 pairs: %v", err)
	}
	req.Metadata = map[string]string{"k": strings.Repeat("v", 513)}
	if _, err := Prepare(&req, nil, reqID, time.Now()); paramOf(err) != "metadata" {
		t.Fatalf("a long value: %v", err)
	}
}

// FuzzPrepare: any request either is refused with a 400 or translates to a valid chat request,
// whose stored record reads back as a conversation; nothing panics.
func FuzzPrepare(f *testing.F) {
	for _, seed := range []string{
		`{"model":"m","input":"hi"}`,
		`{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"data:x"}]},{"type":"function_call","call_id":"c","name":"f"},{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"o"}]}]}`,
		`{"model":"m","input":"x","tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"f"},"text":{"format":{"type":"json_schema","name":"n","schema":{}}}}`,
		`{"model":"m","input":[{"role":"developer","content":"d"},{"type":"reasoning"}],"metadata":{"k":"v"},"max_output_tokens":3}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req openai.ResponsesRequest
		if json.Unmarshal(body, &req) != nil {
			return
		}
		p, err := Prepare(&req, nil, reqID, time.Unix(0, 0))
		if err != nil {
			if fe, ok := err.(*fault.Error); !ok || fe.Status != 400 {
				t.Fatalf("a refusal must be a 400: %v", err)
			}
			return
		}
		if !json.Valid(p.Chat) {
			t.Fatalf("invalid chat request %s", p.Chat)
		}
		r, err := p.Complete([]byte(`{"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}`), provider.Usage{}, time.Unix(1, 0))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := p.NewRecord("o", r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rec.Conversation(); err != nil {
			t.Fatalf("the stored input does not read back: %v", err)
		}
	})
}
