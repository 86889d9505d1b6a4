package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// responsesGateway starts a gateway with "echo" on the fake OpenAI upstream and "claude" on the
// fake Anthropic one (which calls a tool when offered tools and asked about the weather).
func responsesGateway(t *testing.T, extra string) (*gt.Gateway, *fakeupstream.OpenAI) {
	t.Helper()
	f := startFake(t)
	v := startVendors(t)
	g := gt.Start(t, "", models(f, `  - id: claude
    name: Claude
    endpoint: `+v.URL+`/anthropic/v1/messages
    provider: anthropic
    apiKey: sk-ant-test-000000
`+extra))
	return g, f
}

func create(t *testing.T, g *gt.Gateway, key, body string) (gt.Response, map[string]any) {
	t.Helper()
	r := g.Data("POST", "/v1/responses", key, body)
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	return r, m
}

// outputText is what the SDKs' output_text gives: the text of every output message.
func outputText(resp map[string]any) string {
	var b strings.Builder
	for _, raw := range resp["output"].([]any) {
		item := raw.(map[string]any)
		if item["type"] != "message" {
			continue
		}
		for _, c := range item["content"].([]any) {
			if p := c.(map[string]any); p["type"] == "output_text" {
				b.WriteString(p["text"].(string))
			}
		}
	}
	return b.String()
}

func upstreamMessages(t *testing.T, f *fakeupstream.OpenAI) string {
	t.Helper()
	var sent struct {
		Messages json.RawMessage `json:"messages"`
	}
	json.Unmarshal(f.Last().Body, &sent)
	return string(sent.Messages)
}

func TestResponsesPlain(t *testing.T) {
	g, f := responsesGateway(t, "")
	r, resp := create(t, g, gt.Key, `{"model":"echo","input":"hello big world","instructions":"be brief","max_output_tokens":64,"metadata":{"ticket":"42"}}`)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	id, _ := resp["id"].(string)
	if !strings.HasPrefix(id, "resp_") || resp["object"] != "response" || resp["status"] != "completed" || resp["model"] != "echo" ||
		outputText(resp) != "echo: hello big world" || resp["metadata"].(map[string]any)["ticket"] != "42" || resp["store"] != true {
		t.Fatalf("response %s", r.Body)
	}
	usage := resp["usage"].(map[string]any)
	if usage["input_tokens"] != 5.0 || usage["output_tokens"] != 4.0 || usage["total_tokens"] != 9.0 {
		t.Fatalf("usage %v", usage)
	}
	if r.Header.Get("X-Iom-Model") != "echo" || r.Header.Get("X-Iom-Cost-Usd") == "" || r.Header.Get("X-Iom-Request-Id") == "" {
		t.Fatalf("headers %v", r.Header)
	}
	if got := upstreamMessages(t, f); got != `[{"role":"system","content":"be brief"},{"role":"user","content":"hello big world"}]` {
		t.Fatalf("upstream messages %s", got)
	}
	var sent map[string]any
	json.Unmarshal(f.Last().Body, &sent)
	if sent["max_completion_tokens"] != 64.0 || sent["model"] != "echo-upstream-v1" || f.Last().Path != "/v1/chat/completions" {
		t.Fatalf("upstream body %s", f.Last().Body)
	}
	g.Flush()
	list := g.Admin("GET", "/api/executions?model=echo", nil).JSON(t)["data"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["op"] != "responses" || list[0].(map[string]any)["status"] != "ok" {
		t.Fatalf("record %v", list)
	}
	got := g.Data("GET", "/v1/responses/"+id, gt.Key, nil)
	if got.Status != 200 || got.JSON(t)["id"] != id || outputText(got.JSON(t)) != "echo: hello big world" {
		t.Fatalf("get %d %s", got.Status, got.Body)
	}
}

// event is one server-sent event of a Responses stream.
type event struct {
	name string
	data map[string]any
}

// readEvents parses a Responses event stream: each event has a name and JSON data.
func readEvents(t *testing.T, body []byte) []event {
	t.Helper()
	var out []event
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(nil, 1<<20)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var m map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil {
				t.Fatalf("event data %q: %v", line, err)
			}
			if m["type"] != name || m["sequence_number"] != float64(len(out)) {
				t.Fatalf("event %d named %q: %s", len(out), name, line)
			}
			out = append(out, event{name, m})
			name = ""
		case line == "":
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	return out
}

func eventNames(evs []event) string {
	var n []string
	for _, e := range evs {
		n = append(n, strings.TrimPrefix(e.name, "response."))
	}
	return strings.Join(n, " ")
}

func TestResponsesStream(t *testing.T) {
	g, f := responsesGateway(t, "")
	f.Chunks.Store(4)
	r := g.Data("POST", "/v1/responses", gt.Key, `{"model":"echo","input":"stream this please","stream":true}`)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	evs := readEvents(t, r.Body)
	want := "created in_progress output_item.added content_part.added " + strings.Repeat("output_text.delta ", 4) +
		"output_text.done content_part.done output_item.done completed"
	if got := eventNames(evs); got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	text := ""
	for _, e := range evs {
		if e.name == "response.output_text.delta" {
			text += e.data["delta"].(string)
		}
	}
	final := evs[len(evs)-1].data["response"].(map[string]any)
	if text != "echo: stream this please" || outputText(final) != text || final["status"] != "completed" ||
		final["usage"].(map[string]any)["output_tokens"] != 4.0 {
		t.Fatalf("text %q, final %v", text, final)
	}
	if strings.Contains(string(r.Body), "[DONE]") {
		t.Fatal("the Responses stream has no [DONE]")
	}
	got := g.Data("GET", "/v1/responses/"+final["id"].(string), gt.Key, nil)
	if got.Status != 200 || outputText(got.JSON(t)) != text {
		t.Fatalf("the streamed response is kept: %d %s", got.Status, got.Body)
	}
	var sent map[string]any
	json.Unmarshal(f.Last().Body, &sent)
	if sent["stream"] != true || sent["stream_options"] == nil {
		t.Fatalf("upstream body %s", f.Last().Body)
	}
}

// A function call, then its output: continued by previous_response_id (plain, then streamed),
// and by sending the whole transcript back.
func TestResponsesToolRoundTrip(t *testing.T) {
	g, _ := responsesGateway(t, "")
	tools := `"tools":[{"type":"function","name":"get_weather","description":"weather by city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]`
	r, resp := create(t, g, gt.Key, `{"model":"claude","input":"what is the weather?",`+tools+`}`)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	out := resp["output"].([]any)
	if len(out) != 2 || outputText(resp) != "Let me check." {
		t.Fatalf("output %s", r.Body)
	}
	call := out[1].(map[string]any)
	if call["type"] != "function_call" || call["name"] != "get_weather" || call["call_id"] != "toolu_01" || call["arguments"] != `{"city":"Paris"}` {
		t.Fatalf("call %v", call)
	}
	next := `{"model":"claude","previous_response_id":"` + resp["id"].(string) + `",` + tools +
		`,"input":[{"type":"function_call_output","call_id":"toolu_01","output":"sunny"}]}`
	r2, resp2 := create(t, g, gt.Key, next)
	if r2.Status != 200 || outputText(resp2) != "the tool said sunny" || resp2["previous_response_id"] != resp["id"] {
		t.Fatalf("continued: %d %s", r2.Status, r2.Body)
	}

	// The transcript sent back whole, without previous_response_id.
	callJSON, _ := json.Marshal(call)
	whole := `{"model":"claude",` + tools + `,"store":false,"input":[{"role":"user","content":"what is the weather?"},` + string(callJSON) +
		`,{"type":"function_call_output","call_id":"toolu_01","output":"rainy"}]}`
	r3, resp3 := create(t, g, gt.Key, whole)
	if r3.Status != 200 || outputText(resp3) != "the tool said rainy" {
		t.Fatalf("whole transcript: %d %s", r3.Status, r3.Body)
	}

	// Streamed: the call's arguments come as deltas.
	r4 := g.Data("POST", "/v1/responses", gt.Key, `{"model":"claude","stream":true,"input":"what is the weather?",`+tools+`}`)
	evs := readEvents(t, r4.Body)
	args := ""
	var done map[string]any
	for _, e := range evs {
		switch e.name {
		case "response.function_call_arguments.delta":
			args += e.data["delta"].(string)
		case "response.function_call_arguments.done":
			done = e.data
		}
	}
	final := evs[len(evs)-1].data["response"].(map[string]any)
	if args != `{"city": "Paris"}` || done["arguments"] != args || final["status"] != "completed" || len(final["output"].([]any)) != 2 {
		t.Fatalf("streamed call: args %q done %v\n%s", args, done, r4.Body)
	}
	r5, resp5 := create(t, g, gt.Key, `{"model":"claude","previous_response_id":"`+final["id"].(string)+`",`+tools+
		`,"stream":false,"input":[{"type":"function_call_output","call_id":"toolu_01","output":"windy"}]}`)
	if r5.Status != 200 || outputText(resp5) != "the tool said windy" {
		t.Fatalf("continuing a streamed call: %d %s", r5.Status, r5.Body)
	}
}

// previous_response_id carries the conversation across models: a turn on one model continues
// on another; the earlier instructions do not carry over.
func TestResponsesPreviousResponse(t *testing.T) {
	g, f := responsesGateway(t, "")
	_, first := create(t, g, gt.Key, `{"model":"echo","instructions":"first rules","input":"one"}`)
	_, second := create(t, g, gt.Key, `{"model":"claude","previous_response_id":"`+first["id"].(string)+`","input":"two"}`)
	if outputText(second) != "echo: two" {
		t.Fatalf("second %v", second)
	}
	r, third := create(t, g, gt.Key, `{"model":"echo","previous_response_id":"`+second["id"].(string)+`","instructions":"new rules",
		"input":[{"role":"user","content":[{"type":"input_text","text":"three"}]}]}`)
	if r.Status != 200 || outputText(third) != "echo: three" {
		t.Fatalf("third %d %s", r.Status, r.Body)
	}
	want := `[{"role":"system","content":"new rules"},{"role":"user","content":"one"},{"role":"assistant","content":"echo: one"},` +
		`{"role":"user","content":"two"},{"role":"assistant","content":"echo: two"},{"role":"user","content":"three"}]`
	if got := upstreamMessages(t, f); got != want {
		t.Fatalf("upstream messages\n got %s\nwant %s", got, want)
	}
	items := g.Data("GET", "/v1/responses/"+third["id"].(string)+"/input_items", gt.Key, nil).JSON(t)
	if data := items["data"].([]any); len(data) != 1 || data[0].(map[string]any)["content"].([]any)[0].(map[string]any)["text"] != "three" {
		t.Fatalf("input items are the response's own: %v", items)
	}
	r, _ = create(t, g, gt.Key, `{"model":"echo","previous_response_id":"resp_00000000000000000000beef","input":"x"}`)
	if r.Status != 404 || !strings.Contains(string(r.Body), `"param":"previous_response_id"`) {
		t.Fatalf("an unknown previous response: %d %s", r.Status, r.Body)
	}
}

func TestResponsesTextFormat(t *testing.T) {
	g, f := responsesGateway(t, "")
	r, resp := create(t, g, gt.Key, `{"model":"echo","input":"give json","text":{"format":{"type":"json_schema","name":"answer",
		"schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false},"strict":true}}}`)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var sent struct {
		ResponseFormat map[string]any `json:"response_format"`
	}
	json.Unmarshal(f.Last().Body, &sent)
	js, _ := sent.ResponseFormat["json_schema"].(map[string]any)
	if sent.ResponseFormat["type"] != "json_schema" || js["name"] != "answer" || js["strict"] != true || js["schema"] == nil {
		t.Fatalf("upstream response_format %s", f.Last().Body)
	}
	format := resp["text"].(map[string]any)["format"].(map[string]any)
	if format["type"] != "json_schema" || format["name"] != "answer" {
		t.Fatalf("the response's text.format %v", format)
	}
}

// A response made with store: false is not kept; GET, DELETE and input_items see only the
// key's org's responses, and a response of another org is 404 like one that does not exist.
func TestResponsesStoreAndOrgs(t *testing.T) {
	g, _ := responsesGateway(t, "")
	_, unstored := create(t, g, gt.Key, `{"model":"echo","input":"forget me","store":false}`)
	if unstored["store"] != false {
		t.Fatalf("store %v", unstored["store"])
	}
	if r := g.Data("GET", "/v1/responses/"+unstored["id"].(string), gt.Key, nil); r.Status != 404 {
		t.Fatalf("an unstored response: %d %s", r.Status, r.Body)
	}
	r, _ := create(t, g, gt.Key, `{"model":"echo","input":"x","previous_response_id":"`+unstored["id"].(string)+`"}`)
	if r.Status != 404 {
		t.Fatalf("continuing an unstored response: %d", r.Status)
	}

	_, resp := create(t, g, gt.Key, `{"model":"echo","input":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}`)
	id := resp["id"].(string)
	for _, path := range []string{"/v1/responses/" + id, "/v1/responses/" + id + "/input_items"} {
		if r := g.Data("GET", path, gt.OtherKey, nil); r.Status != 404 || !strings.Contains(string(r.Body), `"code":"response_not_found"`) {
			t.Fatalf("another org's key gets %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := g.Data("DELETE", "/v1/responses/"+id, gt.OtherKey, nil); r.Status != 404 {
		t.Fatalf("another org's key deletes: %d", r.Status)
	}
	if r, _ := create(t, g, gt.OtherKey, `{"model":"echo","input":"x","previous_response_id":"`+id+`"}`); r.Status != 404 {
		t.Fatalf("another org's key continues: %d", r.Status)
	}

	page := g.Data("GET", "/v1/responses/"+id+"/input_items?limit=2", gt.Key, nil).JSON(t)
	data := page["data"].([]any)
	if page["object"] != "list" || len(data) != 2 || page["has_more"] != true || data[0].(map[string]any)["role"] != "user" ||
		data[1].(map[string]any)["role"] != "assistant" || page["first_id"] != data[0].(map[string]any)["id"] {
		t.Fatalf("first page (newest first) %v", page)
	}
	rest := g.Data("GET", "/v1/responses/"+id+"/input_items?limit=2&after="+page["last_id"].(string), gt.Key, nil).JSON(t)
	if d := rest["data"].([]any); len(d) != 1 || rest["has_more"] != false || d[0].(map[string]any)["content"].([]any)[0].(map[string]any)["text"] != "a" {
		t.Fatalf("second page %v", rest)
	}
	asc := g.Data("GET", "/v1/responses/"+id+"/input_items?order=asc", gt.Key, nil).JSON(t)
	if d := asc["data"].([]any); len(d) != 3 || d[2].(map[string]any)["content"].([]any)[0].(map[string]any)["text"] != "c" {
		t.Fatalf("ascending %v", asc)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "order=up", "after=nope"} {
		if r := g.Data("GET", "/v1/responses/"+id+"/input_items?"+q, gt.Key, nil); r.Status != 400 {
			t.Fatalf("%s: %d %s", q, r.Status, r.Body)
		}
	}

	del := g.Data("DELETE", "/v1/responses/"+id, gt.Key, nil)
	if del.Status != 200 || string(del.Body) != `{"id":"`+id+`","object":"response","deleted":true}` {
		t.Fatalf("delete %d %s", del.Status, del.Body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := g.Data(m, "/v1/responses/"+id, gt.Key, nil); r.Status != 404 {
			t.Fatalf("%s after delete: %d", m, r.Status)
		}
	}
	if r := g.Data("GET", "/v1/responses/not-an-id", gt.Key, nil); r.Status != 404 {
		t.Fatalf("a malformed id: %d", r.Status)
	}
	if r := g.Data("GET", "/v1/responses/"+id, "", nil); r.Status != 401 {
		t.Fatalf("no key: %d", r.Status)
	}
}

// Refused requests get OpenAI errors and are counted, as on /v1/chat/completions.
func TestResponsesRefusalsAreRecorded(t *testing.T) {
	g, f := responsesGateway(t, "")
	k := g.Admin("POST", "/api/keys", `{"name":"slow","org":"acme","limits":{"rps":0.001,"burst":1}}`).JSON(t)
	slow := k["key"].(string)
	cases := []struct {
		key, body string
		status    int
		says      string
	}{
		{"wrong-key-0000000000000000", `{"model":"echo","input":"x"}`, 401, "invalid API key"},
		{gt.Key, `{"model":"no-such-model","input":"x"}`, 404, "does not exist"},
		{gt.Key, `{"model":"echo","input":"x","tools":[{"type":"web_search"}]}`, 400, "only function tools"},
		{gt.Key, `{"model":"echo","input":"x","model":"echo"}`, 400, "duplicate key"},
		{gt.Key, `{"model":"echo"}`, 400, "input: field required"},
		{gt.Key, `{"model":"pipeline:p","input":"x"}`, 404, "does not exist"},
		{slow, `{"model":"echo","input":"x"}`, 200, ""},
		{slow, `{"model":"echo","input":"x"}`, 429, ""},
	}
	for _, c := range cases {
		r := g.Data("POST", "/v1/responses", c.key, c.body)
		if r.Status != c.status || !strings.Contains(string(r.Body), c.says) {
			t.Fatalf("%s: %d %s", c.body, r.Status, r.Body)
		}
		if c.status != 200 {
			var e struct {
				Error struct{ Message, Type string } `json:"error"`
			}
			if json.Unmarshal(r.Body, &e) != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("not an OpenAI error: %s", r.Body)
			}
		}
	}
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault { return fakeupstream.Fault{Status: 400} }
	if r := g.Data("POST", "/v1/responses", gt.Key, `{"model":"echo","input":"x"}`); r.Status != 502 && r.Status != 400 {
		t.Fatalf("an upstream's refusal: %d %s", r.Status, r.Body)
	}
	g.Flush()
	list := g.Admin("GET", "/api/executions?status=error&limit=100", nil).JSON(t)["data"].([]any)
	statuses := map[float64]int{}
	for _, raw := range list {
		rec := raw.(map[string]any)
		if rec["op"] != "responses" {
			t.Fatalf("a refusal recorded as op %v: %v", rec["op"], rec)
		}
		statuses[rec["httpStatus"].(float64)]++
	}
	if statuses[401] != 1 || statuses[404] != 2 || statuses[400] < 3 || statuses[429] != 1 {
		t.Fatalf("refusals by status %v", statuses)
	}
}

// A stream cut by its upstream after it began ends with an error event that OpenAI's SDKs
// raise, and the response is kept as failed.
func TestResponsesStreamFailure(t *testing.T) {
	g, f := responsesGateway(t, "")
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault { return fakeupstream.Fault{CutAfter: 2} }
	r := g.Data("POST", "/v1/responses", gt.Key, `{"model":"echo","stream":true,"input":"x"}`)
	evs := readEvents(t, r.Body)
	last := evs[len(evs)-1]
	if last.name != "error" || last.data["message"] == "" || last.data["error"] == nil {
		t.Fatalf("a cut stream ends with %s: %s", last.name, r.Body)
	}
	id := evs[0].data["response"].(map[string]any)["id"].(string)
	got := g.Data("GET", "/v1/responses/"+id, gt.Key, nil).JSON(t)
	if got["status"] != "failed" || got["error"] == nil {
		t.Fatalf("the failed response %v", got)
	}
	g.Flush()
	list := g.Admin("GET", "/api/executions?status=error", nil).JSON(t)["data"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["errorKind"] != "provider" || list[0].(map[string]any)["op"] != "responses" {
		t.Fatalf("the cut stream's record %v", list)
	}
}

// The conversation a stored response may carry is bounded: a continuation that would pass it
// is refused before any model is called.
func TestResponsesConversationBounded(t *testing.T) {
	g, f := responsesGateway(t, "")
	big := strings.Repeat("word ", 600_000) // 3 MB: stored with its echo, 6 MB
	_, first := create(t, g, gt.Key, `{"model":"echo","input":"`+big+`"}`)
	id, _ := first["id"].(string)
	if id == "" {
		t.Fatalf("first %v", first["error"])
	}
	calls := f.Count()
	r, _ := create(t, g, gt.Key, `{"model":"echo","previous_response_id":"`+id+`","input":"`+big+`"}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), "too long to keep") || f.Count() != calls {
		t.Fatalf("an oversized conversation: %d %s", r.Status, r.Body)
	}
}

// The engine serves the call: a failing model falls back to the next, and the answer says so.
func TestResponsesFallback(t *testing.T) {
	g, f := responsesGateway(t, `  - id: flaky
    name: Flaky
    endpoint: `+"http://127.0.0.1:1/v1"+`
    provider: openai
    retry: {attempts: 0}
    fallbacks: [echo]
`)
	r, resp := create(t, g, gt.Key, `{"model":"flaky","input":"still there?"}`)
	if r.Status != 200 || outputText(resp) != "echo: still there?" || r.Header.Get("X-Iom-Fallback") != "echo" || resp["model"] != "flaky" {
		t.Fatalf("%d %v %s", r.Status, r.Header, r.Body)
	}
	if f.Count() != 1 {
		t.Fatalf("upstream calls %d", f.Count())
	}
}

// A pipeline answers the Responses API as it answers chat completions: plain and streamed,
// kept and continued, with its access and the key's limits checked.
func TestResponsesPipeline(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", pipelineModels(f, `  - id: private-path
    name: Uses a private model
    nodes:
      - {id: in, type: input}
      - {id: s, type: model, data: {model: secret-model}}
      - {id: out, type: output}
    edges:
      - {source: in, target: s}
      - {source: s, target: out}
`))
	r, resp := create(t, g, gt.Key, `{"model":"pipeline:draft-edit","input":"hello there"}`)
	if r.Status != 200 || outputText(resp) != "echo: improve: echo: hello there" || resp["model"] != "pipeline:draft-edit" ||
		r.Header.Get("X-Iom-Model") != "pipeline:draft-edit" || r.Header.Get("X-Iom-Execution-Id") == "" {
		t.Fatalf("%d %s %v", r.Status, r.Body, r.Header)
	}
	g.Flush()
	run := g.Admin("GET", "/api/executions/"+r.Header.Get("X-Iom-Execution-Id"), nil).JSON(t)
	if u := resp["usage"].(map[string]any); u["input_tokens"] != run["inputTokens"] || u["output_tokens"] != run["outputTokens"] ||
		u["output_tokens"] == 0.0 || run["kind"] != "pipeline" {
		t.Fatalf("usage %v, run %v", u, run)
	}
	id := resp["id"].(string)
	if got := g.Data("GET", "/v1/responses/"+id, gt.Key, nil); got.Status != 200 || outputText(got.JSON(t)) != outputText(resp) {
		t.Fatalf("kept: %d %s", got.Status, got.Body)
	}
	// A continuation gives the pipeline the conversation: the draft step sees every turn.
	r, next := create(t, g, gt.Key, `{"model":"pipeline:draft-edit","input":"and again","previous_response_id":"`+id+`"}`)
	if r.Status != 200 || outputText(next) != "echo: improve: echo: and again" {
		t.Fatalf("continued: %d %s", r.Status, r.Body)
	}
	if msgs := upstreamMessages(t, f); !strings.Contains(msgs, "improve: echo: and again") {
		t.Fatalf("edit step got %s", msgs)
	}
	g.Flush()
	if x := g.Admin("GET", "/api/executions/"+r.Header.Get("X-Iom-Execution-Id"), nil); !strings.Contains(string(x.Body), "hello there") {
		t.Fatalf("the run's input holds the conversation it continues: %s", x.Body)
	}

	f.Chunks.Store(3)
	s := g.Data("POST", "/v1/responses", gt.Key, `{"model":"pipeline:draft-edit","input":"stream it","stream":true}`)
	evs := readEvents(t, s.Body)
	text := ""
	for _, e := range evs {
		if e.name == "response.output_text.delta" {
			text += e.data["delta"].(string)
		}
	}
	final := evs[len(evs)-1]
	fr, _ := final.data["response"].(map[string]any)
	if s.Status != 200 || text != "echo: improve: echo: stream it" || final.name != "response.completed" || outputText(fr) != text ||
		fr["usage"].(map[string]any)["output_tokens"] == 0.0 {
		t.Fatalf("streamed: %d %q %s", s.Status, text, s.Body)
	}
	if got := g.Data("GET", "/v1/responses/"+fr["id"].(string), gt.Key, nil); got.Status != 200 {
		t.Fatalf("streamed response kept: %d", got.Status)
	}

	k := g.Admin("POST", "/api/keys", `{"name":"slow","org":"acme","limits":{"rps":0.001,"burst":1}}`).JSON(t)
	slow := k["key"].(string)
	for _, c := range []struct {
		key, body string
		status    int
	}{
		{gt.Key, `{"model":"pipeline:private-path","input":"x"}`, 404},
		{gt.Key, `{"model":"pipeline:nope","input":"x"}`, 404},
		{slow, `{"model":"pipeline:draft-edit","input":"x"}`, 200},
		{slow, `{"model":"pipeline:draft-edit","input":"x"}`, 429},
		{gt.OtherKey, `{"model":"pipeline:private-path","input":"x","stream":true}`, 200},
	} {
		if r := g.Data("POST", "/v1/responses", c.key, c.body); r.Status != c.status {
			t.Fatalf("%s: %d %s", c.body, r.Status, r.Body)
		}
	}
	brokenFaults(f)
	g2 := gt.Start(t, "", pipelineModels(f, `  - id: fails
    name: Fails
    nodes:
      - {id: in, type: input}
      - {id: b, type: model, data: {model: broken}}
      - {id: out, type: output}
    edges:
      - {source: in, target: b}
      - {source: b, target: out}
`))
	for _, body := range []string{`{"model":"pipeline:fails","input":"x"}`, `{"model":"pipeline:fails","input":"x","stream":true}`} {
		r := g2.Data("POST", "/v1/responses", gt.Key, body)
		if r.Status != 502 || !strings.Contains(string(r.Body), `"error"`) || strings.Contains(string(r.Body), f.URL) {
			t.Fatalf("a failed run: %d %s", r.Status, r.Body)
		}
	}
}

// passGateway starts a gateway with "gpt", whose upstream (the fake OpenAI) has the Responses
// API and gets requests passed through, beside the translated "echo".
func passGateway(t *testing.T, extra string) (*gt.Gateway, *fakeupstream.OpenAI) {
	t.Helper()
	f := startFake(t)
	g := gt.Start(t, "", models(f, `  - id: gpt
    name: GPT
    endpoint: `+f.URL+`
    provider: openai
    upstreamModel: gpt-up
    inputCostPerToken: 0.001
    outputCostPerToken: 0.002
    config: {responses: passthrough}
`+extra))
	return g, f
}

// upstreamSent is the last body the fake got, decoded.
func upstreamSent(t *testing.T, f *fakeupstream.OpenAI) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(f.Last().Body, &m); err != nil {
		t.Fatalf("upstream body %s", f.Last().Body)
	}
	return m
}

// A model with config.responses: passthrough gets the request on its own /responses, hosted
// tools and all, with store false and the whole conversation as input; the gateway keeps the
// response under its own id, and records the usage and cost the upstream reports.
func TestResponsesPassthrough(t *testing.T) {
	g, f := passGateway(t, "")
	r, resp := create(t, g, gt.Key, `{"model":"gpt","input":"hello big world","tools":[{"type":"web_search"}],"include":["reasoning.encrypted_content"]}`)
	id, _ := resp["id"].(string)
	if r.Status != 200 || !responsesID(id) || outputText(resp) != "echo: hello big world" || resp["store"] != true || resp["model"] != "gpt" ||
		r.Header.Get("X-Iom-Model") != "gpt" || r.Header.Get("X-Iom-Cost-Usd") != "0.011" {
		t.Fatalf("%d %v %s", r.Status, r.Header, r.Body)
	}
	sent := upstreamSent(t, f)
	if f.Last().Path != "/v1/responses" || sent["model"] != "gpt-up" || sent["store"] != false || sent["tools"] == nil ||
		sent["include"] == nil || f.Last().Authorization != "Bearer sk-provider-default-000" {
		t.Fatalf("upstream got %s %s", f.Last().Path, f.Last().Body)
	}
	if got := g.Data("GET", "/v1/responses/"+id, gt.Key, nil); got.Status != 200 || outputText(got.JSON(t)) != "echo: hello big world" {
		t.Fatalf("kept: %d %s", got.Status, got.Body)
	}
	if items := g.Data("GET", "/v1/responses/"+id+"/input_items", gt.Key, nil).JSON(t); len(items["data"].([]any)) != 1 {
		t.Fatalf("input items %v", items)
	}
	// A continuation sends the upstream the conversation, never the id (the fake keeps nothing).
	r, next := create(t, g, gt.Key, `{"model":"gpt","input":"and more","previous_response_id":"`+id+`"}`)
	if r.Status != 200 || outputText(next) != "echo: and more" || next["previous_response_id"] != id {
		t.Fatalf("continued: %d %s", r.Status, r.Body)
	}
	sent = upstreamSent(t, f)
	if input, _ := sent["input"].([]any); len(input) != 3 || sent["previous_response_id"] != nil ||
		!strings.Contains(string(f.Last().Body), `"text":"echo: hello big world"`) {
		t.Fatalf("continued upstream body %s", f.Last().Body)
	}
	// Either kind continues the other's conversation.
	r, _ = create(t, g, gt.Key, `{"model":"echo","input":"translated now","previous_response_id":"`+next["id"].(string)+`"}`)
	if msgs := upstreamMessages(t, f); r.Status != 200 || !strings.Contains(msgs, "hello big world") || !strings.Contains(msgs, "echo: and more") {
		t.Fatalf("translated after passed: %d %s", r.Status, msgs)
	}
	_, tr := create(t, g, gt.Key, `{"model":"echo","input":"first translated"}`)
	r, _ = create(t, g, gt.Key, `{"model":"gpt","input":"then passed","previous_response_id":"`+tr["id"].(string)+`"}`)
	if sent := upstreamSent(t, f); r.Status != 200 || len(sent["input"].([]any)) != 3 || !strings.Contains(string(f.Last().Body), "echo: first translated") {
		t.Fatalf("passed after translated: %d %s", r.Status, f.Last().Body)
	}
	g.Flush()
	rec := g.Admin("GET", "/api/executions/"+r.Header.Get("X-Iom-Request-Id"), nil).JSON(t)
	if rec["op"] != "responses" || rec["inputTokens"] == 0.0 || rec["outputTokens"] != 3.0 || rec["costUsd"] == 0.0 {
		t.Fatalf("record %v", rec)
	}
}

func responsesID(id string) bool {
	return len(id) == len("resp_")+24 && strings.HasPrefix(id, "resp_")
}

// A passed-through stream is relayed event by event, the upstream's names and sequence numbers
// kept, the responses in it given the gateway's id; the final one is kept.
func TestResponsesPassthroughStream(t *testing.T) {
	g, f := passGateway(t, "")
	f.Chunks.Store(3)
	r := g.Data("POST", "/v1/responses", gt.Key, `{"model":"gpt","input":"stream this please","stream":true}`)
	evs := readEvents(t, r.Body)
	want := "created in_progress output_item.added content_part.added " + strings.Repeat("output_text.delta ", 3) +
		"output_text.done content_part.done output_item.done completed"
	if got := eventNames(evs); r.Status != 200 || got != want {
		t.Fatalf("events %d\n got %s\nwant %s", r.Status, got, want)
	}
	id := evs[0].data["response"].(map[string]any)["id"].(string)
	final := evs[len(evs)-1].data["response"].(map[string]any)
	if !responsesID(id) || final["id"] != id || outputText(final) != "echo: stream this please" || final["store"] != true {
		t.Fatalf("final %v", final)
	}
	if sent := upstreamSent(t, f); sent["stream"] != true || sent["stream_options"] != nil {
		t.Fatalf("upstream body %s", f.Last().Body)
	}
	if got := g.Data("GET", "/v1/responses/"+id, gt.Key, nil); got.Status != 200 || outputText(got.JSON(t)) != "echo: stream this please" {
		t.Fatalf("kept: %d %s", got.Status, got.Body)
	}
	g.Flush()
	rec := g.Admin("GET", "/api/executions/"+r.Header.Get("X-Iom-Request-Id"), nil).JSON(t)
	if rec["outputTokens"] != 4.0 || rec["inputTokens"] != 3.0 || rec["stream"] != true {
		t.Fatalf("record %v", rec)
	}

	// A stream cut by its upstream ends with an error event; the response is kept as failed.
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault { return fakeupstream.Fault{CutAfter: 4} }
	r = g.Data("POST", "/v1/responses", gt.Key, `{"model":"gpt","input":"x","stream":true}`)
	evs = readEvents(t, r.Body)
	if last := evs[len(evs)-1]; len(evs) != 5 || last.name != "error" || last.data["message"] == "" || strings.Contains(string(r.Body), f.URL) {
		t.Fatalf("a cut stream: %s", r.Body)
	}
	id = evs[0].data["response"].(map[string]any)["id"].(string)
	if got := g.Data("GET", "/v1/responses/"+id, gt.Key, nil).JSON(t); got["status"] != "failed" || got["error"] == nil {
		t.Fatalf("the failed response %v", got)
	}
}

// Upstream errors are mapped as for chat; a passthrough model with a translated fallback is
// translated (the fallback could not read the request); config.responses is checked.
func TestResponsesPassthroughErrorsAndConfig(t *testing.T) {
	g, f := passGateway(t, `  - id: gpt-with-fallback
    name: GPT with a fallback
    endpoint: `+"http://127.0.0.1:1/v1"+`
    provider: openai
    retry: {attempts: 0}
    config: {responses: passthrough}
    fallbacks: [echo]
`)
	f.Faults = func(int64, *fakeupstream.Received) fakeupstream.Fault {
		return fakeupstream.Fault{Status: 429, RetryAfter: "20"}
	}
	chat := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"x"}]}`)
	r := g.Data("POST", "/v1/responses", gt.Key, `{"model":"gpt","input":"x"}`)
	if r.Status != chat.Status || r.Status != 429 || string(r.Body) != string(chat.Body) {
		t.Fatalf("an upstream's 429: %d %s, chat %d %s", r.Status, r.Body, chat.Status, chat.Body)
	}
	f.Faults = nil
	r, resp := create(t, g, gt.Key, `{"model":"gpt-with-fallback","input":"still there?"}`)
	if r.Status != 200 || outputText(resp) != "echo: still there?" || !strings.HasSuffix(f.Last().Path, "/chat/completions") {
		t.Fatalf("with a translated fallback: %d %s %s", r.Status, r.Body, f.Last().Path)
	}
	if r := g.Data("POST", "/v1/responses", gt.Key, `{"model":"gpt","input":"x","background":true}`); r.Status != 400 {
		t.Fatalf("background: %d %s", r.Status, r.Body)
	}
	for body, says := range map[string]string{
		`{"id":"bad1","name":"b","endpoint":"` + f.URL + `","provider":"openai","config":{"responses":"yes"}}`:                             "config.responses: must be translate or passthrough",
		`{"id":"bad2","name":"b","endpoint":"http://127.0.0.1:9/v1/messages","provider":"anthropic","config":{"responses":"passthrough"}}`: "passthrough needs an upstream with OpenAI's Responses API",
	} {
		if r := g.Admin("POST", "/api/models", body); r.Status != 400 || !strings.Contains(string(r.Body), says) {
			t.Fatalf("%s: %d %s", body, r.Status, r.Body)
		}
	}
}

// A model's response cache serves the Responses API as it serves chat: the same question asked
// again is a hit that costs nothing and reaches no upstream, stored and retrievable like any
// response, and a chat request with the same messages shares the entry.
func TestResponsesUseTheCache(t *testing.T) {
	f := startFake(t)
	g := gt.Start(t, "", `models:
  - {id: cached, name: Cached, endpoint: `+f.URL+`, provider: openai, costPerToken: 0.001, cache: {ttlSeconds: 60}}
`)
	body := `{"model":"cached","input":"same question"}`
	r := g.Data("POST", "/v1/responses", gt.Key, body)
	if r.Status != 200 || r.Header.Get("x-iom-cache") != "miss" {
		t.Fatalf("first call: %d %v %s", r.Status, r.Header, r.Body)
	}
	g.Flush()
	calls := f.Count()
	r2 := g.Data("POST", "/v1/responses", gt.Key, body)
	if r2.Status != 200 || r2.Header.Get("x-iom-cache") != "hit" || r2.Header.Get("x-iom-cost-usd") != "0" {
		t.Fatalf("second call: %d %v %s", r2.Status, r2.Header, r2.Body)
	}
	first, second := r.JSON(t), r2.JSON(t)
	if first["id"] == second["id"] || fmt.Sprint(first["output"].([]any)[0].(map[string]any)["content"]) !=
		fmt.Sprint(second["output"].([]any)[0].(map[string]any)["content"]) {
		t.Fatalf("a hit must be a new response with the same answer:\n%s\n%s", r.Body, r2.Body)
	}
	if got := g.Data("GET", "/v1/responses/"+second["id"].(string), gt.Key, nil); got.Status != 200 {
		t.Fatalf("a cached response is not stored: %d %s", got.Status, got.Body)
	}
	chat := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"cached","messages":[{"role":"user","content":"same question"}]}`)
	if chat.Status != 200 {
		t.Fatalf("chat: %d %s", chat.Status, chat.Body)
	}
	if f.Count() != calls {
		t.Fatalf("cache hits reached the upstream (%d calls)", f.Count()-calls)
	}
	r3 := doRaw(t, "POST", g.DataURL+"/v1/responses", map[string]string{"Authorization": "Bearer " + gt.Key, "Cache-Control": "no-cache"}, body)
	if r3.Header.Get("x-iom-cache") != "miss" || f.Count() != calls+1 {
		t.Fatalf("Cache-Control: no-cache must bypass: %v, %d calls", r3.Header, f.Count()-calls)
	}
}
