package provider

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/gemini"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// jsonEqual fails the test unless got and want are the same JSON value.
func jsonEqual(t *testing.T, what string, got any, want string) {
	t.Helper()
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: the wanted JSON does not parse: %v", what, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, b, want)
	}
}

func chatRequest(t *testing.T, body string) *openai.ChatRequest {
	t.Helper()
	var req openai.ChatRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	return &req
}

// A chat request becomes Gemini's: system messages the system instruction, turns with the
// roles user and model, tool calls and their results functionCall and functionResponse parts
// (parallel results in one turn), an image inline data, and the settings generationConfig.
func TestToGemini(t *testing.T) {
	sig := toolCallID("call_x_", 1, "c2lnbmF0dXJl") // a call that came with a thought signature
	req := chatRequest(t, `{"model":"m","temperature":0.2,"top_p":0.9,"max_tokens":50,"stop":"END","seed":7,
		"response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,"schema":{"type":"object","additionalProperties":false,
			"properties":{"a":{"type":["string","null"]}},"required":["a"]}}},
		"tools":[{"type":"function","function":{"name":"get_weather","description":"by city","parameters":{"type":"object",
			"properties":{"city":{"type":"string","format":"email"}},"required":["city"],"additionalProperties":false,"$schema":"x"}}},
			{"type":"function","function":{"name":"now","parameters":{"type":"object","properties":{}}}}],
		"tool_choice":{"type":"function","function":{"name":"get_weather"}},
		"messages":[
			{"role":"system","content":"be brief"},
			{"role":"developer","content":[{"type":"text","text":"and kind"}]},
			{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
			{"role":"assistant","content":"checking","tool_calls":[
				{"id":"call_x_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				{"id":"`+sig+`","type":"function","function":{"name":"now","arguments":""}}]},
			{"role":"tool","tool_call_id":"call_x_0","content":"{\"temp\":21}"},
			{"role":"tool","tool_call_id":"`+sig+`","content":"noon"},
			{"role":"user","content":"thanks"}]}`)
	got, err := toGemini(req)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "request", got, `{
		"systemInstruction":{"parts":[{"text":"be brief"},{"text":"and kind"}]},
		"contents":[
			{"role":"user","parts":[{"text":"look"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]},
			{"role":"model","parts":[{"text":"checking"},
				{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},
				{"functionCall":{"name":"now","args":{}},"thoughtSignature":"c2lnbmF0dXJl"}]},
			{"role":"user","parts":[
				{"functionResponse":{"name":"get_weather","response":{"temp":21}}},
				{"functionResponse":{"name":"now","response":{"output":"noon"}}},
				{"text":"thanks"}]}],
		"tools":[{"functionDeclarations":[
			{"name":"get_weather","description":"by city","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}},"required":["city"]}},
			{"name":"now"}]}],
		"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}},
		"generationConfig":{"temperature":0.2,"topP":0.9,"maxOutputTokens":50,"stopSequences":["END"],"seed":7,
			"responseMimeType":"application/json",
			"responseSchema":{"type":"OBJECT","properties":{"a":{"type":"STRING","nullable":true}},"required":["a"]}}}`)

	// A plain request has no generationConfig; the tool choices map to modes.
	for choice, mode := range map[string]string{`"auto"`: "AUTO", `"required"`: "ANY", `"none"`: "NONE"} {
		got, err := toGemini(chatRequest(t, `{"tool_choice":`+choice+`,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil || got.GenerationConfig != nil || got.ToolConfig.FunctionCallingConfig.Mode != mode {
			t.Fatalf("%s: %+v %v", choice, got, err)
		}
	}
	got, err = toGemini(chatRequest(t, `{"max_completion_tokens":9,"max_tokens":3,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil || *got.GenerationConfig.MaxOutputTokens != 9 || got.GenerationConfig.ResponseMimeType != "application/json" {
		t.Fatalf("max_completion_tokens, json_object: %+v %v", got.GenerationConfig, err)
	}
}

// What Gemini cannot take is refused with an error naming the field, before any call.
func TestToGeminiRefusals(t *testing.T) {
	for body, param := range map[string]string{
		`{"messages":[{"role":"system","content":"only"}]}`:                                                                   "messages",
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`:     "messages",
		`{"messages":[{"role":"tool","tool_call_id":"nope","content":"x"}]}`:                                                  "messages",
		`{"messages":[{"role":"wizard","content":"x"}]}`:                                                                      "messages",
		`{"n":2,"messages":[{"role":"user","content":"x"}]}`:                                                                  "n",
		`{"tool_choice":"sometimes","messages":[{"role":"user","content":"x"}]}`:                                              "tool_choice",
		`{"response_format":{"type":"yaml"},"messages":[{"role":"user","content":"x"}]}`:                                      "response_format",
		`{"stop":[1],"messages":[{"role":"user","content":"x"}]}`:                                                             "stop",
		`{"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}],"messages":[{"role":"user","content":"x"}]}`: "tools",
		`{"tools":[{"type":"code_interpreter","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`:          "tools",
	} {
		_, err := toGemini(chatRequest(t, body))
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Status != 400 || fe.Param != param {
			t.Errorf("%s: %v (want a 400 on %s)", body, err, param)
		}
	}
}

// JSON Schema becomes Gemini's Schema: local refs inlined, oneOf as anyOf, const as an enum,
// unknown keywords and formats left out.
func TestGeminiSchema(t *testing.T) {
	got, err := geminiSchema(json.RawMessage(`{"type":"object","$defs":{"Pt":{"type":"object","properties":{"x":{"type":"number","format":"double"}}}},
		"properties":{"p":{"$ref":"#/$defs/Pt"},"k":{"const":"a"},"u":{"oneOf":[{"type":"integer","format":"int32"},{"type":"string","format":"uri"}]},
			"l":{"type":"array","items":{"type":["integer","string"]},"maxItems":3},"loop":{"$ref":"#/$defs/None"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "schema", json.RawMessage(got), `{"type":"OBJECT","properties":{
		"p":{"type":"OBJECT","properties":{"x":{"type":"NUMBER","format":"double"}}},
		"k":{"type":"STRING","enum":["a"]},
		"u":{"anyOf":[{"type":"INTEGER","format":"int32"},{"type":"STRING"}]},
		"l":{"type":"ARRAY","items":{"anyOf":[{"type":"INTEGER"},{"type":"STRING"}]},"maxItems":3},
		"loop":{}}}`)
	// A schema that refers to itself is cut at a depth, not followed for ever.
	if _, err := geminiSchema(json.RawMessage(`{"type":"object","properties":{"n":{"$ref":"#"}},"$defs":{}}`)); err != nil {
		t.Fatal(err)
	}
	self := json.RawMessage(`{"$defs":{"T":{"type":"object","properties":{"next":{"$ref":"#/$defs/T"}}}},"$ref":"#/$defs/T"}`)
	if out, err := geminiSchema(self); err != nil || strings.Count(string(out), "next") > maxSchemaDepth+1 {
		t.Fatalf("recursive schema: %v %d", err, len(out))
	}
	if out, err := geminiSchema(json.RawMessage(`{"type":"object","properties":{}}`)); err != nil || out != nil {
		t.Fatalf("an object without properties is no parameters: %s %v", out, err)
	}
}

// An answer becomes a chat completion: its text, its function calls as tool calls (a thought
// signature kept in the id), the finish reason, and usage with the cached and thinking parts.
func TestFromGemini(t *testing.T) {
	var gr gemini.Response
	json.Unmarshal([]byte(`{"responseId":"r1","modelVersion":"gemini-2.5-flash","candidates":[{"content":{"role":"model","parts":[
		{"text":"thinking it over","thought":true},{"text":"Let me "},{"text":"check."},
		{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln+/w="},
		{"functionCall":{"name":"now"}}]},"finishReason":"STOP"}],
		"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":19,"cachedContentTokenCount":4,"thoughtsTokenCount":4}}`), &gr)
	chat, usage := fromGemini(&gr, "asked")
	if usage != (Usage{Input: 10, Output: 9, CachedInput: 4, Reasoning: 4}) {
		t.Fatalf("usage %+v", usage)
	}
	m := chat.Choices[0].Message
	if chat.ID != "chatcmpl-r1" || chat.Model != "gemini-2.5-flash" || *m.Content != "Let me check." || chat.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("answer %+v %q", chat, *m.Content)
	}
	if len(m.ToolCalls) != 2 || m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || m.ToolCalls[1].Function.Arguments != "{}" ||
		signatureOf(m.ToolCalls[0].ID) != "c2ln+/w=" || signatureOf(m.ToolCalls[1].ID) != "" || m.ToolCalls[0].ID == m.ToolCalls[1].ID {
		t.Fatalf("tool calls %+v", m.ToolCalls)
	}
	for _, c := range m.ToolCalls[0].ID {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			t.Fatalf("id %q has %q: ids stay letters, digits, _ and -", m.ToolCalls[0].ID, c)
		}
	}
	if u := chat.Usage; u.PromptTokens != 10 || u.CompletionTokens != 9 || u.PromptTokensDetails.CachedTokens != 4 || u.CompletionTokensDetails.ReasoningTokens != 4 {
		t.Fatalf("usage in the body %+v", u)
	}
	for reason, want := range map[string]string{"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
		"PROHIBITED_CONTENT": "content_filter", "OTHER": "stop", "": "stop"} {
		gr := gemini.Response{Candidates: []gemini.Candidate{{Content: &gemini.Content{Parts: []gemini.Part{{Text: "x"}}}, FinishReason: reason}}}
		if chat, _ := fromGemini(&gr, "m"); chat.Choices[0].FinishReason != want || chat.Model != "m" {
			t.Errorf("%q: %q", reason, chat.Choices[0].FinishReason)
		}
	}
	blocked := gemini.Response{PromptFeedback: &gemini.PromptFeedback{BlockReason: "SAFETY"}}
	if chat, _ := fromGemini(&blocked, "m"); chat.Choices[0].FinishReason != "content_filter" || *chat.Choices[0].Message.Content != "" {
		t.Fatalf("blocked prompt: %+v", chat.Choices[0])
	}
}

// A thought signature survives the trip through a tool call id, whatever bytes it holds.
func TestToolCallSignature(t *testing.T) {
	for _, sig := range []string{"", "c2ln", "AAEC/+8=", strings.Repeat("QUJD", 200)} {
		id := toolCallID(newCallPrefix(), 3, sig)
		if got := signatureOf(id); got != sig {
			t.Errorf("%q: %q back from %q", sig, got, id)
		}
	}
	if signatureOf("toolu_01_ts_c2ln") != "" || signatureOf("call_1_ts_!!") != "" {
		t.Error("only the gateway's own ids carry signatures")
	}
	if id := toolCallID("call_a_", 0, "not base64!"); id != "call_a_0" {
		t.Errorf("a signature that is not base64 is dropped: %q", id)
	}
}

// A stream's SSE chunks become chat chunks: text deltas, a whole function call, the finish,
// and the last usage; a stream that ends before a finish reason is a fault.
func TestGeminiStream(t *testing.T) {
	sse := "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"usageMetadata\":{\"promptTokenCount\":3},\"responseId\":\"r9\",\"modelVersion\":\"g\"}\r\n\r\n" +
		"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo\"},{\"functionCall\":{\"name\":\"f\",\"args\":{\"a\":1}}}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"thoughtsTokenCount\":1}}\r\n\r\n"
	read := func(sse string, includeUsage bool) ([]openai.Chunk, *geminiStream, error) {
		s := &geminiStream{r: newEventReader(&answerBody{r: strings.NewReader(sse)}, false), calls: "call_t_"}
		s.k.includeUsage = includeUsage
		defer s.Close()
		var out []openai.Chunk
		for {
			b, err := s.Next()
			if err == io.EOF {
				return out, s, nil
			}
			if err != nil {
				return out, s, err
			}
			var c openai.Chunk
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
	}
	chunks, s, err := read(sse, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 6 || chunks[0].Choices[0].Delta.Role != "assistant" || chunks[0].ID != "chatcmpl-r9" || chunks[0].Model != "g" {
		t.Fatalf("chunks %+v", chunks)
	}
	text := *chunks[1].Choices[0].Delta.Content + *chunks[2].Choices[0].Delta.Content
	call := chunks[3].Choices[0].Delta.ToolCalls[0]
	if text != "Hello" || call.Function.Name != "f" || call.Function.Arguments != `{"a":1}` || *call.Index != 0 || call.ID != "call_t_0" {
		t.Fatalf("deltas %q %+v", text, call)
	}
	if *chunks[4].Choices[0].FinishReason != "tool_calls" || chunks[5].Usage.CompletionTokens != 3 || len(chunks[5].Choices) != 0 {
		t.Fatalf("end %+v %+v", chunks[4], chunks[5])
	}
	if s.Usage() != (Usage{Input: 3, Output: 3, Reasoning: 1}) {
		t.Fatalf("usage %+v", s.Usage())
	}
	if chunks, _, _ := read(sse, false); len(chunks) != 5 {
		t.Fatalf("without include_usage, no usage chunk: %d", len(chunks))
	}
	cut := strings.SplitAfter(sse, "\r\n\r\n")[0]
	if _, _, err := read(cut, false); err == nil || !strings.Contains(err.Error(), "before its last chunk") {
		t.Fatalf("a cut stream: %v", err)
	}
	if _, _, err := read("data: {\"error\":{\"code\":500,\"message\":\"boom\",\"status\":\"INTERNAL\"}}\n\n", false); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("an error event: %v", err)
	}
}

// Gemini's errors map as every vendor's do; a key it refuses (a 400 to Gemini) is not the
// caller's fault.
func TestGeminiErrors(t *testing.T) {
	u := &Upstream{Provider: "gemini"}
	body := func(code int, status string, reason string) []byte {
		e := map[string]any{"code": code, "message": "the message", "status": status}
		if reason != "" {
			e["details"] = []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}}
		}
		b, _ := json.Marshal(map[string]any{"error": e})
		return b
	}
	cases := []struct {
		status            int
		gstatus, reason   string
		wantStatus        int
		wantCode, wantMsg string
	}{
		{400, "INVALID_ARGUMENT", "", 400, "invalid_argument", "upstream gemini returned HTTP 400: the message"},
		{400, "INVALID_ARGUMENT", "API_KEY_INVALID", 502, "api_key_invalid", "upstream gemini returned HTTP 400: the message"},
		{403, "PERMISSION_DENIED", "", 502, "permission_denied", "HTTP 403"},
		{404, "NOT_FOUND", "", 404, "not_found", "HTTP 404"},
		{429, "RESOURCE_EXHAUSTED", "", 429, "upstream_rate_limited", "HTTP 429"},
		{500, "INTERNAL", "", 502, "internal", "HTTP 500"},
		{503, "UNAVAILABLE", "", 502, "unavailable", "HTTP 503"},
	}
	for _, c := range cases {
		fe := geminiError(u, c.status, body(c.status, c.gstatus, c.reason), []byte("7"))
		if fe.Status != c.wantStatus || fe.Code != c.wantCode || !strings.Contains(fe.Message, c.wantMsg) || fe.Body != nil || fe.Upstream != c.status {
			t.Errorf("%d %s: %+v", c.status, c.reason, fe)
		}
		if c.status == 429 && fe.RetryAfter != 7 {
			t.Errorf("429 without its Retry-After: %+v", fe)
		}
	}
	if fe := geminiError(u, 502, []byte("<html>bad gateway</html>"), nil); fe.Status != 502 || !strings.Contains(fe.Message, "bad gateway") {
		t.Errorf("a body that is not JSON: %+v", fe)
	}
}

// A gemini model's URLs: the API's base from its endpoint (a base, or an operation URL), its
// model as models/{name} unless it names its collection.
func TestGeminiURLs(t *testing.T) {
	pool := NewPool()
	for _, c := range []struct{ endpoint, model, chat, stream string }{
		{"https://generativelanguage.googleapis.com/v1beta", "gemini-2.5-flash",
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{"https://generativelanguage.googleapis.com/v1beta/models/x:generateContent", "gemini-2.0-flash",
			"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent", ""},
		{"http://127.0.0.1:9/v1beta/", "tunedModels/my-model",
			"http://127.0.0.1:9/v1beta/tunedModels/my-model:generateContent", ""},
	} {
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "gemini", Endpoint: c.endpoint, UpstreamModel: c.model}, Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		st := u.state.(*geminiState)
		if u.URL(Chat) != c.chat || c.stream != "" && st.stream != c.stream || !strings.HasSuffix(u.URL(Embedding), ":embedContent") ||
			!strings.HasSuffix(st.batchEmbed, ":batchEmbedContents") {
			t.Errorf("%s %s: %s %s %s", c.endpoint, c.model, u.URL(Chat), st.stream, u.URL(Embedding))
		}
	}
}

// The provider-wide keys of gemini and azure go to the vendors' hosts only.
func TestGeminiAzureKeyHosts(t *testing.T) {
	pool := NewPool()
	key := secret.New("provider-wide")
	for _, c := range []struct {
		provider, endpoint string
		gets               bool
	}{
		{"gemini", "https://generativelanguage.googleapis.com/v1beta", true},
		{"gemini", "https://generativelanguage.googleapis.com.evil.example/v1beta", false},
		{"gemini", "http://generativelanguage.googleapis.com/v1beta", false},
		{"gemini", "http://127.0.0.1:9/v1beta", false},
		{"azure", "https://my-resource.openai.azure.com", true},
		{"azure", "https://my-project.services.ai.azure.com/openai/v1", true},
		{"azure", "https://my-resource.cognitiveservices.azure.com", true},
		{"azure", "https://openai.azure.com.evil.example", false},
		{"azure", "https://evil-openai.azure.com.example", false},
		{"azure", "http://127.0.0.1:9", false},
	} {
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: c.provider, Endpoint: c.endpoint, UpstreamModel: "d"}, Defaults{APIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if u.Key.IsSet() != c.gets || u.KeyWithheld == c.gets {
			t.Errorf("%s %s: key set %v, withheld %v", c.provider, c.endpoint, u.Key.IsSet(), u.KeyWithheld)
		}
		if !RequiresKey(c.endpoint) && c.gets {
			t.Errorf("%s: a cloud API needs a key", c.endpoint)
		}
	}
}
