package fakeupstream

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/valyala/fasthttp"
)

// Bedrock is a fake of Amazon Bedrock Runtime: Converse (POST /model/{modelId}/converse),
// ConverseStream (/converse-stream, answered in AWS's binary event-stream framing) and
// InvokeModel of Titan text embeddings models (/model/amazon.titan-embed-text-…/invoke).
//
// Like AWS it wants every request signed with Signature V4 (service bedrock, its Region): it
// recomputes the signature from the request it received with the secret key of the access key
// id it names, and refuses a missing, unknown, stale or wrong one with AWS's error types. Like
// Bedrock it refuses, with a ValidationException, bodies with members it does not know and the
// conversations Converse refuses: none, one starting with the assistant, roles not alternating,
// an empty or ambiguous content block, tool blocks without a toolConfig, a toolResult that
// answers no toolUse of the turn before, a malformed toolConfig. Errors carry the type in the
// x-amzn-errortype header and {"message"} in the body.
//
// It answers an echo of the last user text ("echo: …", with " (n image)" and " [system: …]");
// a toolUse of the first tool when the user asks about the weather; "the tool said …" to a
// toolResult. Tokens are words: the prompt's plus 3; a system prompt's words count as read from
// the cache (cacheReadInputTokens) and each cache point as 2 tokens written to it
// (cacheWriteInputTokens), apart from inputTokens, as Bedrock counts cached tokens.
type Bedrock struct {
	// URL is the endpoint (no path).
	URL string
	// Region is the region requests must be signed for (default us-east-1).
	Region string
	// Keys are the access key ids it knows, each with its secret access key.
	Keys map[string]string
	// Token, when set, is the session token requests must carry (X-Amz-Security-Token).
	Token string
	// Faults, when set, decides a fault per request (n counts requests from 1).
	Faults func(n int64, r *Received) BedrockFault

	fake
}

// BedrockFault is a misbehaviour of the fake Bedrock for one request. The zero value answers
// normally.
type BedrockFault struct {
	Status     int    // answer with this status
	Type       string // and this error type (default: the status's usual one)
	RetryAfter string
	// InStream: a streamed answer fails after its first event with an exception event of Type
	// instead.
	InStream bool
}

// StartBedrock starts the fake on a free port of 127.0.0.1, knowing one access key.
func StartBedrock(accessKeyID, secretAccessKey string) (*Bedrock, error) {
	b := &Bedrock{Region: "us-east-1", Keys: map[string]string{accessKeyID: secretAccessKey}}
	url, err := b.start("fake-bedrock", b.handle)
	if err != nil {
		return nil, err
	}
	b.URL = url
	return b, nil
}

// bedrockTypes are the error types Bedrock answers with, by status.
var bedrockTypes = map[int]string{400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
	408: "ModelTimeoutException", 424: "ModelErrorException", 429: "ThrottlingException", 500: "InternalServerException",
	503: "ServiceUnavailableException"}

// bedrockFail answers a Bedrock error.
func bedrockFail(ctx *fasthttp.RequestCtx, status int, typ, msg string) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.Set("x-amzn-ErrorType", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	writeJSON(ctx, map[string]any{"message": msg})
}

var bedrockPath = regexp.MustCompile(`^/model/(.+)/(converse|converse-stream|invoke)$`)

func (b *Bedrock) handle(ctx *fasthttp.RequestCtx) {
	r, n := b.receive(ctx)

	if status, typ, msg := b.verify(ctx, &r); status != 0 {
		bedrockFail(ctx, status, typ, msg)
		return
	}
	var fault BedrockFault
	if b.Faults != nil {
		fault = b.Faults(n, &r)
		if fault.Type == "" {
			fault.Type = bedrockTypes[fault.Status]
		}
		if fault.Status != 0 && !fault.InStream {
			if fault.RetryAfter != "" {
				ctx.Response.Header.Set("Retry-After", fault.RetryAfter)
			}
			bedrockFail(ctx, fault.Status, fault.Type, fmt.Sprintf("injected failure %d", fault.Status))
			return
		}
	}
	m := bedrockPath.FindStringSubmatch(string(ctx.Path()))
	if m == nil || !ctx.IsPost() {
		bedrockFail(ctx, 404, "UnknownOperationException", "")
		return
	}
	model, op := m[1], m[2]
	if strings.Contains(model, "missing") {
		bedrockFail(ctx, 404, "ResourceNotFoundException", "Model not found.")
		return
	}
	if op == "invoke" {
		b.titan(ctx, model, r.Body)
		return
	}
	var req brRequest
	if err := strictJSON(r.Body, &req); err != nil {
		bedrockFail(ctx, 400, "ValidationException", "Malformed input request: "+err.Error()+", please reformat your input and try again.")
		return
	}
	if msg := req.check(); msg != "" {
		bedrockFail(ctx, 400, "ValidationException", msg)
		return
	}
	a := bedrockAnswer(&req)
	if op == "converse" {
		writeJSON(ctx, a.whole())
		return
	}
	a.stream(ctx, fault)
}

// verify checks the request's Signature V4 as AWS does, recomputing it with the signer of the
// AWS SDK from what was received, and returns the error AWS would answer, or a zero status.
func (b *Bedrock) verify(ctx *fasthttp.RequestCtx, r *Received) (int, string, string) {
	const mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	auth := r.Authorization
	if auth == "" {
		return 403, "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return 403, "IncompleteSignatureException", "Authorization header requires the AWS4-HMAC-SHA256 algorithm."
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(p, "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	signed := strings.Split(parts["SignedHeaders"], ";")
	if len(scope) != 5 || scope[4] != "aws4_request" || parts["Signature"] == "" || len(signed) == 0 {
		return 403, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."
	}
	secret, known := b.Keys[scope[0]]
	if !known || b.Token != "" && r.Header["x-amz-security-token"] != b.Token {
		return 403, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if scope[2] != b.Region || scope[3] != "bedrock" {
		return 403, "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region and service, not '%s/%s'.", scope[2], scope[3])
	}
	when, err := time.Parse("20060102T150405Z", r.Header["x-amz-date"])
	if err != nil || !strings.Contains(parts["SignedHeaders"], "host") || !strings.Contains(parts["SignedHeaders"], "x-amz-date") {
		return 403, "IncompleteSignatureException", "The request must sign the host and a valid x-amz-date."
	}
	if d := time.Since(when); d > 5*time.Minute || d < -5*time.Minute {
		return 403, "InvalidSignatureException", "Signature expired: " + r.Header["x-amz-date"] + " is now earlier than the allowed time."
	}
	u, err := url.Parse("http://" + string(ctx.Host()) + r.Path)
	if err != nil {
		return 403, "InvalidSignatureException", mismatch
	}
	hr := &http.Request{Method: string(ctx.Method()), URL: u, Host: string(ctx.Host()), Header: http.Header{}}
	for _, h := range signed {
		if h != "host" && h != "x-amz-date" && h != "x-amz-security-token" {
			hr.Header.Set(h, r.Header[h])
		}
	}
	sum := sha256.Sum256(r.Body)
	creds := aws.Credentials{AccessKeyID: scope[0], SecretAccessKey: secret, SessionToken: r.Header["x-amz-security-token"]}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, hr, hex.EncodeToString(sum[:]), scope[3], scope[2], when); err != nil {
		return 500, "InternalServerException", err.Error()
	}
	if hr.Header.Get("Authorization") != auth {
		return 403, "InvalidSignatureException", mismatch
	}
	return 0, "", ""
}

// The Converse request's shapes, as Bedrock knows them.
type (
	brRequest struct {
		ModelID                           string          `json:"modelId"`
		Messages                          []brMessage     `json:"messages"`
		System                            []brBlock       `json:"system"`
		InferenceConfig                   *brInference    `json:"inferenceConfig"`
		ToolConfig                        *brToolConfig   `json:"toolConfig"`
		GuardrailConfig                   json.RawMessage `json:"guardrailConfig"`
		AdditionalModelRequestFields      json.RawMessage `json:"additionalModelRequestFields"`
		AdditionalModelResponseFieldPaths []string        `json:"additionalModelResponseFieldPaths"`
		PromptVariables                   json.RawMessage `json:"promptVariables"`
		RequestMetadata                   json.RawMessage `json:"requestMetadata"`
		PerformanceConfig                 json.RawMessage `json:"performanceConfig"`
	}
	brMessage struct {
		Role    string    `json:"role"`
		Content []brBlock `json:"content"`
	}
	brBlock struct {
		Text  *string `json:"text"`
		Image *struct {
			Format string `json:"format"`
			Source struct {
				Bytes string `json:"bytes"`
			} `json:"source"`
		} `json:"image"`
		ToolUse *struct {
			ToolUseID string          `json:"toolUseId"`
			Name      string          `json:"name"`
			Input     json.RawMessage `json:"input"`
		} `json:"toolUse"`
		ToolResult *struct {
			ToolUseID string `json:"toolUseId"`
			Content   []struct {
				Text *string         `json:"text"`
				JSON json.RawMessage `json:"json"`
			} `json:"content"`
			Status string `json:"status"`
		} `json:"toolResult"`
		Document         json.RawMessage `json:"document"`
		ReasoningContent json.RawMessage `json:"reasoningContent"`
		CachePoint       json.RawMessage `json:"cachePoint"`
		GuardContent     json.RawMessage `json:"guardContent"`
	}
	brInference struct {
		MaxTokens     *int     `json:"maxTokens"`
		Temperature   *float64 `json:"temperature"`
		TopP          *float64 `json:"topP"`
		StopSequences []string `json:"stopSequences"`
	}
	brToolConfig struct {
		Tools []struct {
			ToolSpec *struct {
				Name        string `json:"name"`
				Description string `json:"description"`
				InputSchema struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpec"`
			CachePoint json.RawMessage `json:"cachePoint"`
		} `json:"tools"`
		ToolChoice *struct {
			Auto *struct{} `json:"auto"`
			Any  *struct{} `json:"any"`
			Tool *struct {
				Name string `json:"name"`
			} `json:"tool"`
		} `json:"toolChoice"`
	}
)

var brToolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

var brImageFormats = map[string]bool{"png": true, "jpeg": true, "gif": true, "webp": true}

// check finds what Converse would refuse in a request, or "".
func (req *brRequest) check() string {
	if len(req.Messages) == 0 || req.Messages[0].Role != "user" {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	for i, s := range req.System {
		if s.CachePoint != nil && s.Text == nil {
			continue
		}
		if s.Text == nil || strings.TrimSpace(*s.Text) == "" || s.CachePoint != nil {
			return fmt.Sprintf("The text field in the SystemContentBlock object at system.%d is blank. Add text to the text field, and try again.", i)
		}
	}
	toolBlocks := false
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("1 validation error detected: Value '%s' at 'messages.%d.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", m.Role, i+1)
		}
		if i > 0 && req.Messages[i-1].Role == m.Role {
			return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		for j, c := range m.Content {
			at := fmt.Sprintf("messages.%d.content.%d", i, j)
			n := 0
			for _, set := range []bool{c.Text != nil, c.Image != nil, c.ToolUse != nil, c.ToolResult != nil, c.Document != nil,
				c.ReasoningContent != nil, c.CachePoint != nil, c.GuardContent != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				return fmt.Sprintf("The ContentBlock object at %s must set one field.", at)
			}
			switch {
			case c.Text != nil && strings.TrimSpace(*c.Text) == "":
				return "The text field in the ContentBlock object at " + at + " is blank. Add text to the text field, and try again."
			case c.Image != nil:
				if _, err := base64.StdEncoding.DecodeString(c.Image.Source.Bytes); err != nil || !brImageFormats[c.Image.Format] || c.Image.Source.Bytes == "" {
					return "The image in the ContentBlock object at " + at + " needs a format of png, jpeg, gif or webp and its bytes."
				}
			case c.ToolUse != nil:
				toolBlocks = true
				if m.Role != "assistant" || c.ToolUse.ToolUseID == "" || !isObject(c.ToolUse.Input) {
					return "The toolUse block at " + at + " needs an assistant message, a toolUseId and an object input."
				}
			case c.ToolResult != nil:
				toolBlocks = true
				if m.Role != "user" || len(c.ToolResult.Content) == 0 {
					return "The toolResult block at " + at + " needs a user message and content."
				}
			}
		}
		if msg := req.answered(i); msg != "" {
			return msg
		}
	}
	if toolBlocks && req.ToolConfig == nil {
		return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
	}
	if tc := req.ToolConfig; tc != nil {
		if len(tc.Tools) == 0 {
			return "The value at toolConfig.tools is empty. Add a value to the field and try again."
		}
		names := map[string]bool{}
		for i, t := range tc.Tools {
			if t.ToolSpec == nil || !brToolName.MatchString(t.ToolSpec.Name) || !isObject(t.ToolSpec.InputSchema.JSON) {
				return fmt.Sprintf("The toolSpec at toolConfig.tools.%d needs a name of letters, digits, _ and - and an inputSchema with a JSON Schema object.", i)
			}
			names[t.ToolSpec.Name] = true
		}
		if c := tc.ToolChoice; c != nil {
			n := 0
			for _, set := range []bool{c.Auto != nil, c.Any != nil, c.Tool != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				return "The toolChoice must set exactly one of auto, any and tool."
			}
			if c.Tool != nil && !names[c.Tool.Name] {
				return "The tool named in toolConfig.toolChoice.tool is not in toolConfig.tools."
			}
		}
	}
	if ic := req.InferenceConfig; ic != nil {
		switch {
		case ic.MaxTokens != nil && *ic.MaxTokens < 1:
			return "The maximum tokens you requested must be at least 1."
		case ic.Temperature != nil && (*ic.Temperature < 0 || *ic.Temperature > 1):
			return "The temperature must be between 0 and 1."
		case ic.TopP != nil && (*ic.TopP < 0 || *ic.TopP > 1):
			return "The topP must be between 0 and 1."
		}
	}
	return ""
}

// answered checks that the toolUse blocks of an assistant turn are answered, each, by the
// toolResult blocks of the next turn.
func (req *brRequest) answered(i int) string {
	var ids []string
	for _, c := range req.Messages[i].Content {
		if c.ToolUse != nil {
			ids = append(ids, c.ToolUse.ToolUseID)
		}
	}
	var results []string
	if i+1 < len(req.Messages) {
		for _, c := range req.Messages[i+1].Content {
			if c.ToolResult != nil {
				results = append(results, c.ToolResult.ToolUseID)
			}
		}
	}
	if i > 0 && req.Messages[i].Role == "user" {
		var asked []string
		for _, c := range req.Messages[i-1].Content {
			if c.ToolUse != nil {
				asked = append(asked, c.ToolUse.ToolUseID)
			}
		}
		for _, c := range req.Messages[i].Content {
			if c.ToolResult != nil && !contains(asked, c.ToolResult.ToolUseID) {
				return fmt.Sprintf("The toolResult at messages.%d answers no toolUse of the previous turn (%s).", i, c.ToolResult.ToolUseID)
			}
		}
	}
	if len(ids) == 0 || i+1 == len(req.Messages) {
		return ""
	}
	if strings.Join(ids, ",") != strings.Join(results, ",") {
		return fmt.Sprintf("Expected toolResult blocks at messages.%d.content for the following Ids: %s, but found: %s", i+1,
			strings.Join(ids, ", "), strings.Join(results, ", "))
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// brAnswer is what the fake answers a request.
type brAnswer struct {
	text    string
	toolUse map[string]any // toolUseId, name, input
	stop    string
	usage   map[string]any
}

// bedrockAnswer decides the answer to a checked request.
func bedrockAnswer(req *brRequest) *brAnswer {
	last := req.Messages[len(req.Messages)-1]
	var text, result string
	images := 0
	for _, c := range last.Content {
		switch {
		case c.Text != nil:
			text += *c.Text
		case c.Image != nil:
			images++
		case c.ToolResult != nil:
			for _, rc := range c.ToolResult.Content {
				if rc.Text != nil {
					result += *rc.Text
				} else {
					result += string(rc.JSON)
				}
			}
		}
	}
	system := ""
	cachePoints := 0
	for _, s := range req.System {
		if s.Text != nil {
			system += *s.Text
		} else {
			cachePoints++
		}
	}
	for _, m := range req.Messages {
		for _, c := range m.Content {
			if c.CachePoint != nil {
				cachePoints++
			}
		}
	}
	a := &brAnswer{stop: "end_turn"}
	switch {
	case result != "":
		a.text = "the tool said " + result
	case req.ToolConfig != nil && strings.Contains(text, "weather"):
		a.toolUse = map[string]any{"toolUseId": "tooluse_fake01", "name": req.ToolConfig.Tools[0].ToolSpec.Name, "input": map[string]any{"city": "Paris"}}
		a.stop = "tool_use"
	default:
		a.text = "echo: " + text
		if images > 0 {
			a.text += fmt.Sprintf(" (%d image)", images)
		}
		if system != "" {
			a.text += " [system: " + system + "]"
		}
	}
	if ic := req.InferenceConfig; ic != nil && ic.MaxTokens != nil && words(a.text) > *ic.MaxTokens {
		a.text = strings.Join(strings.Fields(a.text)[:*ic.MaxTokens], " ")
		a.stop = "max_tokens"
	}
	in := 3
	for _, m := range req.Messages {
		for _, c := range m.Content {
			if c.Text != nil {
				in += words(*c.Text)
			}
		}
	}
	out := words(a.text)
	if a.toolUse != nil {
		out += 5
	}
	cached := words(system)
	a.usage = map[string]any{"inputTokens": in, "outputTokens": out, "totalTokens": in + out + cached}
	if cached > 0 || cachePoints > 0 {
		// A cache point writes 2 tokens to the cache, as if the prefix before it were new.
		a.usage["cacheReadInputTokens"], a.usage["cacheWriteInputTokens"] = cached, 2*cachePoints
		a.usage["totalTokens"] = in + out + cached + 2*cachePoints
	}
	return a
}

func (a *brAnswer) whole() map[string]any {
	var content []any
	if a.text != "" {
		content = append(content, map[string]any{"text": a.text})
	}
	if a.toolUse != nil {
		content = append(content, map[string]any{"toolUse": a.toolUse})
	}
	return map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": a.stop, "usage": a.usage, "metrics": map[string]any{"latencyMs": 12}}
}

// stream answers in the event-stream framing, event by event, flushed as it goes, as
// ConverseStream does: each event's payload carries a "p" member of padding, as AWS's do.
func (a *brAnswer) stream(ctx *fasthttp.RequestCtx, fault BedrockFault) {
	ctx.SetContentType("application/vnd.amazon.eventstream")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		enc := eventstream.NewEncoder()
		send := func(event string, payload map[string]any) bool {
			payload["p"] = "abcdefghijklmnopqrstuvwxyzABCDEF"[:len(event)]
			b, _ := json.Marshal(payload)
			if err := enc.Encode(w, BedrockEvent(event, b)); err != nil {
				return false
			}
			return w.Flush() == nil
		}
		if !send("messageStart", map[string]any{"role": "assistant"}) {
			return
		}
		if fault.InStream {
			b, _ := json.Marshal(map[string]any{"message": "injected failure in the stream"})
			_ = enc.Encode(w, BedrockException(lowerFirst(fault.Type), b))
			_ = w.Flush()
			return
		}
		i := 0
		if a.text != "" {
			for _, part := range strings.SplitAfter(a.text, " ") {
				if !send("contentBlockDelta", map[string]any{"contentBlockIndex": i, "delta": map[string]any{"text": part}}) {
					return
				}
			}
			send("contentBlockStop", map[string]any{"contentBlockIndex": i})
			i++
		}
		if a.toolUse != nil {
			send("contentBlockStart", map[string]any{"contentBlockIndex": i, "start": map[string]any{"toolUse": map[string]any{
				"toolUseId": a.toolUse["toolUseId"], "name": a.toolUse["name"]}}})
			for _, piece := range []string{`{"city": `, `"Paris"}`} {
				send("contentBlockDelta", map[string]any{"contentBlockIndex": i, "delta": map[string]any{"toolUse": map[string]any{"input": piece}}})
			}
			send("contentBlockStop", map[string]any{"contentBlockIndex": i})
		}
		send("messageStop", map[string]any{"stopReason": a.stop})
		send("metadata", map[string]any{"usage": a.usage, "metrics": map[string]any{"latencyMs": 12}})
	})
}

// BedrockEvent is an event-stream message of ConverseStream: an event named event with a JSON
// payload.
func BedrockEvent(event string, payload []byte) eventstream.Message {
	return eventstream.Message{Headers: eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(event)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}, Payload: payload}
}

// BedrockException is an exception message of ConverseStream (throttlingException…).
func BedrockException(typ string, payload []byte) eventstream.Message {
	return eventstream.Message{Headers: eventstream.Headers{
		{Name: ":exception-type", Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
	}, Payload: payload}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// titan answers InvokeModel of a Titan text embeddings model: a vector of the text's length,
// 0.5 and its words, and its words as the token count.
func (b *Bedrock) titan(ctx *fasthttp.RequestCtx, model string, body []byte) {
	if !strings.HasPrefix(model, "amazon.titan-embed-text") {
		bedrockFail(ctx, 400, "ValidationException", "The fake serves InvokeModel for Titan text embeddings models only.")
		return
	}
	var req struct {
		InputText      *string  `json:"inputText"`
		Dimensions     *int     `json:"dimensions"`
		Normalize      *bool    `json:"normalize"`
		EmbeddingTypes []string `json:"embeddingTypes"`
	}
	if err := strictJSON(body, &req); err != nil {
		bedrockFail(ctx, 400, "ValidationException", "Malformed input request: "+err.Error()+", please reformat your input and try again.")
		return
	}
	switch {
	case req.InputText == nil || *req.InputText == "":
		bedrockFail(ctx, 400, "ValidationException", "Malformed input request: #: required key [inputText] not found, please reformat your input and try again.")
		return
	case req.Dimensions != nil && (!strings.Contains(model, "-v2") || *req.Dimensions != 256 && *req.Dimensions != 512 && *req.Dimensions != 1024):
		bedrockFail(ctx, 400, "ValidationException", "Malformed input request: #/dimensions: must be one of 256, 512, 1024, please reformat your input and try again.")
		return
	}
	writeJSON(ctx, map[string]any{"embedding": []float64{float64(len(*req.InputText)), 0.5, float64(words(*req.InputText))},
		"inputTextTokenCount": words(*req.InputText)})
}
