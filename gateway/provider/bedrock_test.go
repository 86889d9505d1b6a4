package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/bedrock"
	"github.com/iomhq/iom/gateway/wire/openai"
	"github.com/iomhq/iom/internal/fakeupstream"
)

// A chat request becomes a Converse request: system messages the system prompt, tool calls
// toolUse blocks, tool results toolResult blocks of one user turn, a data-URL image an image
// block, tools toolSpecs, tool_choice toolChoice, the settings inferenceConfig.
func TestToBedrock(t *testing.T) {
	req := chatRequest(t, `{"model":"m","temperature":0.2,"top_p":0.9,"max_tokens":50,"stop":["END"],
		"tools":[{"type":"function","function":{"name":"get_weather","description":"by city","parameters":{"type":"object",
			"properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"now"}}],
		"tool_choice":{"type":"function","function":{"name":"get_weather"}},
		"messages":[
			{"role":"system","content":"be brief"},
			{"role":"developer","content":[{"type":"text","text":"and kind"}]},
			{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
			{"role":"assistant","content":"checking","tool_calls":[
				{"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				{"id":"tooluse_2","type":"function","function":{"name":"now","arguments":""}}]},
			{"role":"tool","tool_call_id":"tooluse_1","content":"{\"temp\":21}"},
			{"role":"tool","tool_call_id":"tooluse_2","content":"noon"},
			{"role":"user","content":"thanks"}]}`)
	got, err := toBedrock(req)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "request", got, `{
		"system":[{"text":"be brief"},{"text":"and kind"}],
		"messages":[
			{"role":"user","content":[{"text":"look"},{"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}}]},
			{"role":"assistant","content":[{"text":"checking"},
				{"toolUse":{"toolUseId":"tooluse_1","name":"get_weather","input":{"city":"Paris"}}},
				{"toolUse":{"toolUseId":"tooluse_2","name":"now","input":{}}}]},
			{"role":"user","content":[
				{"toolResult":{"toolUseId":"tooluse_1","content":[{"json":{"temp":21}}]}},
				{"toolResult":{"toolUseId":"tooluse_2","content":[{"text":"noon"}]}},
				{"text":"thanks"}]}],
		"toolConfig":{"tools":[
			{"toolSpec":{"name":"get_weather","description":"by city","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}},
			{"toolSpec":{"name":"now","inputSchema":{"json":{"type":"object","properties":{}}}}}],
			"toolChoice":{"tool":{"name":"get_weather"}}},
		"inferenceConfig":{"maxTokens":50,"temperature":0.2,"topP":0.9,"stopSequences":["END"]}}`)

	// A plain request has no inferenceConfig nor toolConfig; the tool choices map, and none
	// sends no tools.
	for choice, want := range map[string]string{`"auto"`: `{"auto":{}}`, `"required"`: `{"any":{}}`} {
		got, err := toBedrock(chatRequest(t, `{"tool_choice":`+choice+`,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil || got.InferenceConfig != nil {
			t.Fatalf("%s: %+v %v", choice, got, err)
		}
		jsonEqual(t, choice, got.ToolConfig.ToolChoice, want)
	}
	got, err = toBedrock(chatRequest(t, `{"tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil || got.ToolConfig != nil {
		t.Fatalf("none: %+v %v", got, err)
	}
	// Anthropic's cache_control marker on a text part becomes a cache point after it.
	got, err = toBedrock(chatRequest(t, `{"messages":[{"role":"system","content":[{"type":"text","text":"long rules","cache_control":{"type":"ephemeral"}}]},
		{"role":"user","content":[{"type":"text","text":"long doc","cache_control":{"type":"ephemeral"}},{"type":"text","text":"question"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "cache points", got, `{"system":[{"text":"long rules"},{"cachePoint":{"type":"default"}}],
		"messages":[{"role":"user","content":[{"text":"long doc"},{"cachePoint":{"type":"default"}},{"text":"question"}]}]}`)
	got, err = toBedrock(chatRequest(t, `{"max_completion_tokens":9,"max_tokens":3,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil || *got.InferenceConfig.MaxTokens != 9 || got.ToolConfig != nil || got.System != nil {
		t.Fatalf("max_completion_tokens: %+v %v", got, err)
	}
}

// What Converse cannot take is refused with an error naming the field, before any call.
func TestToBedrockRefusals(t *testing.T) {
	for body, param := range map[string]string{
		`{"messages":[{"role":"system","content":"only"}]}`:                                                                            "messages",
		`{"messages":[{"role":"assistant","content":"first"},{"role":"user","content":"x"}]}`:                                          "messages",
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`:              "messages",
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]}`:            "messages",
		`{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,@@"}}]}]}`:               "messages",
		`{"messages":[{"role":"user","content":"x"},{"role":"tool","content":"r"}]}`:                                                   "messages",
		`{"messages":[{"role":"wizard","content":"x"}]}`:                                                                               "messages",
		`{"n":2,"messages":[{"role":"user","content":"x"}]}`:                                                                           "n",
		`{"tool_choice":"sometimes","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`: "tool_choice",
		`{"stop":[1],"messages":[{"role":"user","content":"x"}]}`:                                                                      "stop",
		`{"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}],"messages":[{"role":"user","content":"x"}]}`:          "tools",
		`{"tools":[{"type":"code_interpreter","function":{"name":"f"}}],"messages":[{"role":"user","content":"x"}]}`:                   "tools",
		`{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},
			{"role":"tool","tool_call_id":"a","content":"r"}]}`: "tools",
	} {
		_, err := toBedrock(chatRequest(t, body))
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Status != 400 || fe.Param != param {
			t.Errorf("%s: %v (want a 400 on %s)", body, err, param)
		}
	}
}

// A Converse answer becomes a chat completion: its text, its toolUse blocks as tool calls, the
// stop reason, and usage with the cache's tokens counted in the prompt.
func TestFromBedrock(t *testing.T) {
	var br bedrock.Response
	json.Unmarshal([]byte(`{"output":{"message":{"role":"assistant","content":[
		{"reasoningContent":{"reasoningText":{"text":"hmm","signature":"x"}}},{"text":"Let me "},{"text":"check."},
		{"toolUse":{"toolUseId":"tooluse_a","name":"get_weather","input":{"city":"Paris"}}}]}},
		"stopReason":"tool_use","usage":{"inputTokens":10,"outputTokens":5,"totalTokens":21,"cacheReadInputTokens":4,"cacheWriteInputTokens":2},
		"metrics":{"latencyMs":100}}`), &br)
	chat, usage := fromBedrock(&br, "anthropic.claude-3-5-sonnet-20240620-v1:0")
	if usage != (Usage{Input: 16, Output: 5, CachedInput: 4, CacheWrite: 2}) {
		t.Fatalf("usage %+v", usage)
	}
	m := chat.Choices[0].Message
	if *m.Content != "Let me check." || chat.Choices[0].FinishReason != "tool_calls" || chat.Model != "anthropic.claude-3-5-sonnet-20240620-v1:0" ||
		len(m.ToolCalls) != 1 || m.ToolCalls[0].ID != "tooluse_a" || m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("answer %+v", chat)
	}
	if u := chat.Usage; u.PromptTokens != 16 || u.CompletionTokens != 5 || u.PromptTokensDetails.CachedTokens != 4 {
		t.Fatalf("usage in the body %+v", u)
	}
	for reason, want := range map[string]string{"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
		"guardrail_intervened": "content_filter", "content_filtered": "content_filter", "": "stop"} {
		br := bedrock.Response{StopReason: reason}
		if chat, _ := fromBedrock(&br, "m"); chat.Choices[0].FinishReason != want || *chat.Choices[0].Message.Content != "" {
			t.Errorf("%q: %q", reason, chat.Choices[0].FinishReason)
		}
	}
}

// encodeEvents encodes ConverseStream messages with the SDK's encoder, as Bedrock frames them.
func encodeEvents(t *testing.T, msgs ...eventstream.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, m := range msgs {
		if err := enc.Encode(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func event(name, payload string) eventstream.Message {
	return fakeupstream.BedrockEvent(name, []byte(payload))
}

// readBedrock reads a ConverseStream body to its end.
func readBedrock(t *testing.T, body []byte, includeUsage bool) ([]openai.Chunk, *bedrockStream, error) {
	t.Helper()
	s := newBedrockStream(&answerBody{r: bytes.NewReader(body)})
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

// A ConverseStream answer, framed as AWS frames it, becomes chat chunks event by event: text
// deltas, a tool call and its argument pieces, the finish, and the usage at the end; a stream
// cut before messageStop, an exception, a frame that lies about its length or its checksum are
// faults.
func TestBedrockStream(t *testing.T) {
	body := encodeEvents(t,
		event("messageStart", `{"role":"assistant","p":"abc"}`),
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hel"},"p":"abcd"}`),
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"lo"}}`),
		event("contentBlockStop", `{"contentBlockIndex":0}`),
		event("contentBlockStart", `{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tooluse_x","name":"f"}}}`),
		event("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\":"}}}`),
		event("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"1}"}}}`),
		event("contentBlockStop", `{"contentBlockIndex":1}`),
		event("messageStop", `{"stopReason":"tool_use"}`),
		event("metadata", `{"usage":{"inputTokens":3,"outputTokens":7,"totalTokens":12,"cacheReadInputTokens":2},"metrics":{"latencyMs":5}}`))
	chunks, s, err := readBedrock(t, body, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 8 || chunks[0].Choices[0].Delta.Role != "assistant" {
		t.Fatalf("chunks %+v", chunks)
	}
	text := *chunks[1].Choices[0].Delta.Content + *chunks[2].Choices[0].Delta.Content
	start, a, b := chunks[3].Choices[0].Delta.ToolCalls[0], chunks[4].Choices[0].Delta.ToolCalls[0], chunks[5].Choices[0].Delta.ToolCalls[0]
	if text != "Hello" || start.ID != "tooluse_x" || start.Function.Name != "f" || *start.Index != 0 || a.Function.Arguments+b.Function.Arguments != `{"a":1}` || *b.Index != 0 {
		t.Fatalf("deltas %q %+v %+v %+v", text, start, a, b)
	}
	if *chunks[6].Choices[0].FinishReason != "tool_calls" || chunks[7].Usage.PromptTokens != 5 || chunks[7].Usage.CompletionTokens != 7 || len(chunks[7].Choices) != 0 {
		t.Fatalf("end %+v %+v", chunks[6], chunks[7])
	}
	if s.Usage() != (Usage{Input: 5, Output: 7, CachedInput: 2}) {
		t.Fatalf("usage %+v", s.Usage())
	}
	if chunks, _, _ := readBedrock(t, body, false); len(chunks) != 7 {
		t.Fatalf("without include_usage, no usage chunk: %d", len(chunks))
	}

	cut := encodeEvents(t, event("messageStart", `{"role":"assistant"}`), event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hel"}}`))
	if _, _, err := readBedrock(t, cut, false); err == nil || !strings.Contains(err.Error(), "before messageStop") {
		t.Fatalf("a cut stream: %v", err)
	}
	if _, _, err := readBedrock(t, cut[:len(cut)-3], false); err == nil {
		t.Fatal("a stream cut inside a frame must fail")
	}
	exc := encodeEvents(t, event("messageStart", `{"role":"assistant"}`),
		fakeupstream.BedrockException("throttlingException", []byte(`{"message":"slow down"}`)))
	if _, _, err := readBedrock(t, exc, false); err == nil || !strings.Contains(err.Error(), "sent a throttlingException: slow down") {
		t.Fatalf("an exception: %v", err)
	}
	corrupt := append([]byte(nil), body...)
	corrupt[20] ^= 0xff
	if _, _, err := readBedrock(t, corrupt, false); err == nil {
		t.Fatal("a frame whose checksum is wrong must fail")
	}
	huge := append([]byte{0x7f, 0, 0, 0, 0, 0, 0, 0x10}, make([]byte, 64)...)
	if _, _, err := readBedrock(t, huge, false); err == nil || !strings.Contains(err.Error(), "bytes with") {
		t.Fatalf("a frame over the bound: %v", err)
	}
}

// Bedrock's errors map by their type: throttling a 429 with its Retry-After, validation the
// caller's 400, credentials AWS refuses a 502 (the gateway's problem), a model not ready a 503.
func TestBedrockErrors(t *testing.T) {
	u := &Upstream{Provider: "bedrock"}
	cases := []struct {
		status            int
		typ               string
		wantStatus        int
		wantCode, wantMsg string
	}{
		{400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", 400, "validation", "upstream bedrock returned HTTP 400: the message"},
		{429, "ThrottlingException", 429, "upstream_rate_limited", "HTTP 429"},
		{400, "ServiceQuotaExceededException", 429, "upstream_rate_limited", "HTTP 400"},
		{403, "AccessDeniedException", 502, "access_denied", "HTTP 403: the message"},
		{403, "InvalidSignatureException", 502, "invalid_signature", "HTTP 403"},
		{403, "UnrecognizedClientException", 502, "unrecognized_client", "HTTP 403"},
		{404, "ResourceNotFoundException", 404, "resource_not_found", "HTTP 404"},
		{429, "ModelNotReadyException", 503, "model_not_ready", "HTTP 429"},
		{503, "ServiceUnavailableException", 502, "service_unavailable", "HTTP 503"},
		{408, "ModelTimeoutException", 504, "model_timeout", "HTTP 408"},
		{424, "ModelErrorException", 502, "model_error", "HTTP 424"},
		{500, "InternalServerException", 502, "internal_server", "HTTP 500"},
	}
	for _, c := range cases {
		fe := bedrockError(u, c.status, []byte(c.typ), []byte(`{"message":"the message"}`), []byte("7"))
		if fe.Status != c.wantStatus || fe.Code != c.wantCode || !strings.Contains(fe.Message, c.wantMsg) || fe.Body != nil || fe.Upstream != c.status {
			t.Errorf("%d %s: %+v", c.status, c.typ, fe)
		}
		if c.wantStatus == 429 && fe.RetryAfter != 7 {
			t.Errorf("%s without its Retry-After: %+v", c.typ, fe)
		}
	}
	if fe := bedrockError(u, 400, nil, []byte(`{"__type":"com.amazon.coral.validate#ValidationException","message":"m"}`), nil); fe.Code != "validation" {
		t.Errorf("the type from the body: %+v", fe)
	}
	if fe := bedrockError(u, 502, nil, []byte("<html>bad gateway</html>"), nil); fe.Status != 502 || !strings.Contains(fe.Message, "bad gateway") {
		t.Errorf("a body that is not JSON: %+v", fe)
	}
}

// A bedrock model's URLs, region and credentials: the model id escaped in the path (an
// inference profile's ARN included), the region from the host or config.region, the key split
// into AWS credentials, the environment's credentials for Bedrock's own hosts only.
func TestBedrockPrepare(t *testing.T) {
	pool := NewPool()
	up := func(endpoint, model, key string, config map[string]any) (*Upstream, error) {
		return pool.Upstream(&spec.Model{ID: "m", Provider: "bedrock", Endpoint: endpoint, UpstreamModel: model,
			APIKey: secret.New(key), Config: config}, Defaults{})
	}
	u, err := up("https://bedrock-runtime.eu-west-3.amazonaws.com/", "anthropic.claude-3-5-sonnet-20240620-v1:0", "AKID:SECRET:TOKEN", nil)
	if err != nil {
		t.Fatal(err)
	}
	st := u.state.(*bedrockState)
	if u.URL(Chat) != "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse" ||
		st.stream.raw != "https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream" ||
		st.region != "eu-west-3" || st.creds.AccessKeyID != "AKID" || st.creds.SecretAccessKey != "SECRET" || st.creds.SessionToken != "TOKEN" {
		t.Fatalf("%s %s %s %+v", u.URL(Chat), st.stream.raw, st.region, st.creds)
	}
	if u, err = up("https://bedrock-runtime.eu-west-3.amazonaws.com", "m", "AKID:SECRET", map[string]any{"region": "us-east-1"}); err != nil ||
		u.state.(*bedrockState).region != "eu-west-3" {
		t.Fatalf("the host's region wins over config.region: %v", err)
	}
	u, err = up("http://127.0.0.1:9/model/x/converse", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude", "AKID:SECRET",
		map[string]any{"region": "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u.URL(Chat) != "http://127.0.0.1:9/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude/converse" ||
		u.state.(*bedrockState).region != "us-east-1" {
		t.Fatalf("an ARN: %s", u.URL(Chat))
	}
	t.Setenv("AWS_REGION", "")
	if _, err := up("http://127.0.0.1:9", "m", "AKID:SECRET", nil); err == nil || !strings.Contains(err.Error(), "config.region") {
		t.Fatalf("no region: %v", err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "ENVSECRET")
	t.Setenv("AWS_SESSION_TOKEN", "ENVTOKEN")
	u, err = up("https://bedrock-runtime.us-west-2.amazonaws.com", "m", "", nil)
	if err != nil || u.state.(*bedrockState).creds.SessionToken != "ENVTOKEN" {
		t.Fatalf("the environment's credentials on Bedrock's host: %v", err)
	}
	for _, e := range []string{"http://127.0.0.1:9", "http://bedrock-runtime.us-west-2.amazonaws.com", "https://bedrock-runtime.us-west-2.amazonaws.com:8443"} {
		u, err = up(e, "m", "", nil)
		if err != nil || u.state.(*bedrockState).creds != nil || u.Key.IsSet() {
			t.Fatalf("the environment's credentials at %s: %v %+v", e, err, u.Key.IsSet())
		}
	}
	// A default port written out is left out of the URL, as the signer leaves it out of the
	// host it signs.
	if u, err = up("https://bedrock-runtime.us-west-2.amazonaws.com:443/", "m", "", nil); err != nil || u.URL(Chat) != "https://bedrock-runtime.us-west-2.amazonaws.com/model/m/converse" {
		t.Fatalf("a default port: %v %s", err, u.URL(Chat))
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if _, err := up("https://bedrock-runtime.us-west-2.amazonaws.com", "m", "", nil); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Fatalf("no credentials for Bedrock's host: %v", err)
	}
	if _, err := up("https://bedrock-runtime.us-west-2.amazonaws.com", "m", "not-aws", nil); err == nil || strings.Contains(err.Error(), "not-aws") {
		t.Fatalf("a key of the wrong shape: %v", err)
	}
}

// The provider-wide key of bedrock goes to Bedrock Runtime's hosts over HTTPS, and to those
// keyHosts lists; never to another AWS host.
func TestBedrockKeyHosts(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	pool := NewPool()
	key := secret.New("AKID:SECRET")
	for _, c := range []struct {
		endpoint string
		gets     bool
	}{
		{"https://bedrock-runtime.us-east-1.amazonaws.com", true},
		{"https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com", true},
		{"https://vpce-0abc-1234.bedrock-runtime.eu-central-1.vpce.amazonaws.com", true},
		{"https://bedrock-runtime.cn-north-1.amazonaws.com.cn", true},
		{"http://bedrock-runtime.us-east-1.amazonaws.com", false},
		{"https://bedrock-runtime.us-east-1.amazonaws.com:8443", false},
		{"https://my-bucket.s3-website.us-east-1.amazonaws.com", false},
		{"https://bedrock-runtime.us-east-1.amazonaws.com.evil.example", false},
	} {
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "bedrock", Endpoint: c.endpoint, UpstreamModel: "m",
			Config: map[string]any{"region": "us-east-1"}}, Defaults{APIKey: key})
		if err != nil && c.gets {
			t.Fatalf("%s: %v", c.endpoint, err)
		}
		if err == nil && (u.Key.IsSet() != c.gets || u.KeyWithheld == c.gets) {
			t.Errorf("%s: key set %v, withheld %v", c.endpoint, u.Key.IsSet(), u.KeyWithheld)
		}
	}
}

// Requests are signed as AWS wants: the fake Bedrock, which recomputes the signature with the
// SDK's signer, takes them with the right secret and refuses them with a wrong one, a wrong
// region or a missing session token, as AWS does (403, the gateway's problem: a 502).
func TestBedrockSigning(t *testing.T) {
	f, err := fakeupstream.StartBedrock("AKIDEXAMPLE", "the-secret")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pool := NewPool()
	call := func(key, region string) (string, error) {
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "bedrock", Endpoint: f.URL, UpstreamModel: "amazon.nova-lite-v1:0",
			APIKey: secret.New(key), Config: map[string]any{"region": region}}, Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := u.Do(&Call{Op: Chat, Body: []byte(`{"model":"m","messages":[{"role":"user","content":"hello there"}]}`)})
		if err != nil {
			return "", err
		}
		defer r.Release()
		return string(r.Body), nil
	}
	if body, err := call("AKIDEXAMPLE:the-secret", "us-east-1"); err != nil || !strings.Contains(body, "echo: hello there") {
		t.Fatalf("signed: %s %v", body, err)
	}
	if p := f.Last().Path; p != "/model/amazon.nova-lite-v1%3A0/converse" {
		t.Fatalf("path %s", p)
	}
	for _, c := range []struct{ key, region, want string }{
		{"AKIDEXAMPLE:a-wrong-secret", "us-east-1", "signature we calculated does not match"},
		{"AKIDOTHER:the-secret", "us-east-1", "security token included in the request is invalid"},
		{"AKIDEXAMPLE:the-secret", "us-west-2", "Credential should be scoped"},
	} {
		_, err := call(c.key, c.region)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Status != 502 || fe.Upstream != 403 || !strings.Contains(fe.Message, c.want) || strings.Contains(fe.Message, "secret") {
			t.Errorf("%s %s: %v", c.key, c.region, err)
		}
	}
	f.Token = "the-token"
	if _, err := call("AKIDEXAMPLE:the-secret", "us-east-1"); err == nil {
		t.Fatal("a request without the session token must be refused")
	}
	if body, err := call("AKIDEXAMPLE:the-secret:the-token", "us-east-1"); err != nil || !strings.Contains(body, "echo") || f.Last().Header["x-amz-security-token"] != "the-token" {
		t.Fatalf("with the session token: %s %v", body, err)
	}
}

// The state of a bedrock model prints without its credentials.
func TestBedrockStateHidesCredentials(t *testing.T) {
	u, err := NewPool().Upstream(&spec.Model{ID: "m", Provider: "bedrock", Endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com",
		UpstreamModel: "m", APIKey: secret.New("AKIDHIDDEN:secret-hidden:token-hidden")}, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(u.state), fmt.Sprintf("%v %+v", u.state, u.state)} {
		if strings.Contains(s, "hidden") || strings.Contains(s, "HIDDEN") {
			t.Fatalf("printed: %s", s)
		}
	}
}

// A ConverseStream body of arbitrary bytes ends in chunks or a fault, never a panic or a read
// past the bound.
func FuzzBedrockStream(f *testing.F) {
	f.Add([]byte{})
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, m := range []eventstream.Message{event("messageStart", `{"role":"assistant"}`),
		event("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"t","name":"f"}}}`),
		event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{}"}}}`),
		event("messageStop", `{"stopReason":"tool_use"}`), event("metadata", `{"usage":{"inputTokens":1}}`)} {
		_ = enc.Encode(&buf, m)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newBedrockStream(&answerBody{r: bytes.NewReader(body)})
		s.k.includeUsage = true
		defer s.Close()
		for i := 0; i < 1000; i++ {
			if _, err := s.Next(); err != nil {
				return
			}
		}
		t.Fatal("a finite body gave endless chunks")
	})
}

func BenchmarkBedrockStream(b *testing.B) {
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	_ = enc.Encode(&buf, event("messageStart", `{"role":"assistant","p":"abcdefgh"}`))
	for i := 0; i < 50; i++ {
		_ = enc.Encode(&buf, event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"word "},"p":"abcdefghijkl"}`))
	}
	_ = enc.Encode(&buf, event("contentBlockStop", `{"contentBlockIndex":0}`))
	_ = enc.Encode(&buf, event("messageStop", `{"stopReason":"end_turn"}`))
	_ = enc.Encode(&buf, event("metadata", `{"usage":{"inputTokens":10,"outputTokens":50,"totalTokens":60}}`))
	body := buf.Bytes()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s := newBedrockStream(&answerBody{r: bytes.NewReader(body)})
		for {
			if _, err := s.Next(); err != nil {
				break
			}
		}
		s.Close()
	}
}

func BenchmarkBedrockRequest(b *testing.B) {
	u, err := NewPool().Upstream(&spec.Model{ID: "m", Provider: "bedrock", Endpoint: "https://bedrock-runtime.us-east-1.amazonaws.com",
		UpstreamModel: "anthropic.claude-3-5-sonnet-20240620-v1:0", APIKey: secret.New("AKIDEXAMPLE:secret")}, Defaults{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"model":"m","max_tokens":100,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there, how are you today?"}]}`)
	st := u.state.(*bedrockState)
	b.ReportAllocs()
	for b.Loop() {
		var req openai.ChatRequest
		_ = json.Unmarshal(body, &req)
		out, err := bedrockBody(&req)
		if err != nil {
			b.Fatal(err)
		}
		r := fasthttp.AcquireRequest()
		if err := bedrockRequest(u, r, st.converse, out, false); err != nil {
			b.Fatal(err)
		}
		fasthttp.ReleaseRequest(r)
	}
}

// Each event is translated as soon as it arrives: the first chunk comes out while the upstream
// has sent nothing more.
func TestBedrockStreamNotBuffered(t *testing.T) {
	pr, pw := io.Pipe()
	s := newBedrockStream(&answerBody{r: pr})
	defer s.Close()
	more := make(chan struct{})
	go func() {
		_ = eventstream.NewEncoder().Encode(pw, event("messageStart", `{"role":"assistant"}`))
		<-more
		enc := eventstream.NewEncoder()
		_ = enc.Encode(pw, event("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"hi"}}`))
		_ = enc.Encode(pw, event("messageStop", `{"stopReason":"end_turn"}`))
		pw.Close()
	}()
	b, err := s.Next()
	if err != nil || !strings.Contains(string(b), `"role":"assistant"`) || s.Buffered() {
		t.Fatalf("first chunk %s %v (buffered %v)", b, err, s.Buffered())
	}
	close(more)
	if b, err := s.Next(); err != nil || !strings.Contains(string(b), `"content":"hi"`) {
		t.Fatalf("second chunk %s %v", b, err)
	}
}

// A bedrock model's health probe is a signed, empty Converse request: Bedrock refuses it with
// 400 after checking the signature, so right credentials mean up and wrong ones down.
func TestBedrockProbe(t *testing.T) {
	f, err := fakeupstream.StartBedrock("AKIDEXAMPLE", "the-secret")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pool := NewPool()
	probe := func(key string) error {
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: "bedrock", Endpoint: f.URL, UpstreamModel: "amazon.nova-lite-v1:0",
			APIKey: secret.New(key), Config: map[string]any{"region": "us-east-1"}}, Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		return u.Probe(5 * time.Second)
	}
	if err := probe("AKIDEXAMPLE:the-secret"); err != nil {
		t.Fatalf("probe with the right key: %v", err)
	}
	if r := f.Last(); r.Path != "/model/amazon.nova-lite-v1%3A0/converse" || r.Header["authorization"] == "" {
		t.Fatalf("probe sent %s with authorization %q", r.Path, r.Header["authorization"])
	}
	if err := probe("AKIDEXAMPLE:a-wrong-secret"); err == nil {
		t.Fatal("probe with a wrong secret says the upstream is up")
	}
}
