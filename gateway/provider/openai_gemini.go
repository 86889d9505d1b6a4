package provider

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/gemini"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// geminiAdapter translates canonical requests to Google's Gemini API: chat to generateContent
// (streamed as streamGenerateContent?alt=sse), legacy completions to a one-message chat, and
// embeddings to embedContent or batchEmbedContents. The key goes in x-goog-api-key. Answers are
// translated back in gemini_openai.go. A model without an endpoint gets the API's
// (registry.DefaultEndpoints).
type geminiAdapter struct{}

func init() { adapters["gemini"] = geminiAdapter{} }

// geminiState holds the URLs a gemini model needs beyond u.urls.
type geminiState struct {
	stream, batchEmbed string
	// resource is the model's resource name (models/{model}), which batch requests repeat.
	resource string
}

func (geminiAdapter) Prepare(u *Upstream, m *spec.Model) error {
	e := strings.TrimRight(m.Endpoint, "/")
	if i := strings.Index(e, "/models/"); i >= 0 {
		e = e[:i] // an operation URL: the base is what comes before the model
	}
	e = strings.TrimSuffix(e, "/models")
	u.base = e
	name := geminiResource(u.Model)
	model := e + "/" + name
	u.urls[Chat] = model + ":generateContent"
	u.urls[Completion] = u.urls[Chat]
	u.urls[Embedding] = model + ":embedContent"
	u.state = &geminiState{stream: model + ":streamGenerateContent?alt=sse", batchEmbed: model + ":batchEmbedContents", resource: name}
	return nil
}

// geminiResource is a model's resource name: models/{name}, or the name as it is when it names
// its collection already (tunedModels/…), each segment escaped for the path.
func geminiResource(model string) string {
	if !strings.Contains(model, "/") {
		model = "models/" + model
	}
	segs := strings.Split(model, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// geminiAuth sets the key header.
func geminiAuth(u *Upstream) func(*fasthttp.RequestHeader) {
	return func(h *fasthttp.RequestHeader) {
		if u.Key.IsSet() {
			h.Set("x-goog-api-key", u.Key.Reveal())
		}
	}
}

func (g geminiAdapter) Do(u *Upstream, c *Call) (*Result, error) {
	if c.Op == Embedding {
		return g.embed(u, c)
	}
	_, body, err := vendorBody(u, c, geminiBody)
	if err != nil {
		return nil, err
	}
	resp, err := geminiSend(u, c, u.urls[Chat], body)
	if err != nil {
		return nil, err
	}
	return vendorAnswer(u, c, resp, func(gr *gemini.Response) (*openai.ChatResponse, Usage) { return fromGemini(gr, u.Model) })
}

func (geminiAdapter) Stream(u *Upstream, c *Call) (Stream, error) {
	if c.Op != Chat {
		return nil, fault.Invalid("stream", "provider %s streams chat completions only", u.Provider)
	}
	req, body, err := vendorBody(u, c, geminiBody)
	if err != nil {
		return nil, err
	}
	b, err := geminiOpen(u, c, u.state.(*geminiState).stream, body)
	if err != nil {
		return nil, err
	}
	s := &geminiStream{r: newEventReader(b, false), calls: newCallPrefix()}
	s.k.id, s.k.model, s.k.created = "chatcmpl-"+strings.Trim(strings.TrimPrefix(s.calls, "call_"), "_"), u.Model, time.Now().Unix()
	s.k.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	return s, nil
}

// chatOf reads a call's chat request; a legacy completion becomes a one-message chat.
func chatOf(u *Upstream, c *Call) (*openai.ChatRequest, error) {
	switch c.Op {
	case Chat:
		var req openai.ChatRequest
		if err := json.Unmarshal(c.Body, &req); err != nil {
			return nil, fault.Invalid("", "cannot read the chat request: %v", err)
		}
		return &req, nil
	case Completion:
		return completionAsChat(c.Body)
	}
	return nil, unsupported(u, c.Op)
}

// geminiBody translates and encodes a chat request.
func geminiBody(req *openai.ChatRequest) ([]byte, error) {
	gr, err := toGemini(req)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(gr)
	if err != nil {
		return nil, fault.Invalid("", "cannot encode the request for gemini: %v", err)
	}
	return b, nil
}

// geminiSend POSTs body and returns the answer when it is a 2xx; the caller releases it.
func geminiSend(u *Upstream, c *Call, url string, body []byte) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	u.request(req, url, body, false, geminiAuth(u))
	resp := fasthttp.AcquireResponse()
	if _, err := u.do(req, resp, c, false); err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		defer fasthttp.ReleaseResponse(resp)
		return nil, geminiError(u, code, resp.Body(), resp.Header.Peek("Retry-After"))
	}
	return resp, nil
}

// geminiOpen is geminiSend for a streamed answer: it returns the body to read when the answer
// is a 2xx; the caller closes it.
func geminiOpen(u *Upstream, c *Call, url string, body []byte) (*answerBody, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	u.request(req, url, body, true, geminiAuth(u))
	resp := fasthttp.AcquireResponse()
	b, err := u.do(req, resp, c, true)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if b == nil {
		b = &answerBody{u: u, resp: resp, r: http.NoBody}
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		defer b.Close()
		return nil, geminiError(u, code, b.readLimited(64<<10), resp.Header.Peek("Retry-After"))
	}
	return b, nil
}

// toGemini translates a canonical chat request. System messages become the system instruction;
// assistant turns become model turns, their tool calls functionCall parts; tool results become
// functionResponse parts of a user turn; consecutive turns of one role merge, so that the
// results of parallel calls answer them in one turn, as Gemini requires.
func toGemini(req *openai.ChatRequest) (*gemini.Request, error) {
	if req.N != nil && *req.N > 1 {
		return nil, fault.Invalid("n", "gemini models answer one choice per request through the gateway; n must be 1")
	}
	out := &gemini.Request{}
	var system []gemini.Part
	names := map[string]string{} // tool call id → function name, for the results
	for i, m := range req.Messages {
		var parts []gemini.Part
		role := "user"
		switch m.Role {
		case "system", "developer":
			if t := openai.Text(m.Content); t != "" {
				system = append(system, gemini.Part{Text: t})
			}
			continue
		case "user":
			ps, err := openai.Parts(m.Content)
			if err != nil {
				return nil, fault.Invalid("messages", "messages[%d].content: %v", i, err)
			}
			for _, p := range ps {
				gp, err := geminiPart(p)
				if err != nil {
					return nil, fault.Invalid("messages", "messages[%d].content: %v", i, err)
				}
				if gp != nil {
					parts = append(parts, *gp)
				}
			}
		case "assistant":
			role = "model"
			if t := openai.Text(m.Content); t != "" {
				parts = append(parts, gemini.Part{Text: t})
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Function.Name
				parts = append(parts, gemini.Part{FunctionCall: &gemini.FunctionCall{Name: tc.Function.Name, Args: argsObject(tc.Function.Arguments)},
					ThoughtSignature: signatureOf(tc.ID)})
			}
		case "tool", "function":
			name := names[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return nil, fault.Invalid("messages", "messages[%d]: tool_call_id %q answers no tool call of an earlier assistant message", i, m.ToolCallID)
			}
			parts = append(parts, gemini.Part{FunctionResponse: &gemini.FunctionResponse{Name: name, Response: toolResponse(m.Content)}})
		default:
			return nil, fault.Invalid("messages", "messages[%d].role %q is not supported", i, m.Role)
		}
		if len(parts) == 0 {
			continue // Gemini refuses a turn without parts
		}
		if n := len(out.Contents); n > 0 && out.Contents[n-1].Role == role {
			out.Contents[n-1].Parts = append(out.Contents[n-1].Parts, parts...)
			continue
		}
		out.Contents = append(out.Contents, gemini.Content{Role: role, Parts: parts})
	}
	if len(out.Contents) == 0 {
		return nil, fault.Invalid("messages", "gemini needs at least one user or assistant message")
	}
	if len(system) > 0 {
		out.SystemInstruction = &gemini.Content{Parts: system}
	}
	if err := geminiTools(req, out); err != nil {
		return nil, err
	}
	gc, err := generationConfig(req)
	if err != nil {
		return nil, err
	}
	out.GenerationConfig = gc
	return out, nil
}

// geminiPart translates a user content part; an empty text part is left out (nil).
func geminiPart(p openai.ContentPart) (*gemini.Part, error) {
	switch p.Type {
	case "text":
		if p.Text == "" {
			return nil, nil
		}
		return &gemini.Part{Text: p.Text}, nil
	case "image_url":
		if p.ImageURL == nil {
			return nil, errors.New("image_url part without a url")
		}
		rest, ok := strings.CutPrefix(p.ImageURL.URL, "data:")
		media, data, b64 := strings.Cut(rest, ";base64,")
		if !ok || !b64 || media == "" {
			return nil, errors.New("gemini takes images as base64 data URLs (data:image/png;base64,…)")
		}
		return &gemini.Part{InlineData: &gemini.Blob{MimeType: media, Data: data}}, nil
	}
	return nil, errors.New("content part type " + strconv.Quote(p.Type) + " is not supported")
}

// argsObject returns a tool call's arguments as the JSON object Gemini wants: {} for none or
// for arguments that are not an object.
func argsObject(args string) json.RawMessage {
	raw := bytes.TrimSpace([]byte(args))
	if len(raw) == 0 || raw[0] != '{' || !json.Valid(raw) {
		return json.RawMessage(`{}`)
	}
	return raw
}

// toolResponse makes a tool result the JSON object functionResponse.response must be: an object
// result as it is, anything else under "output" (Gemini's name for a function's output).
func toolResponse(content json.RawMessage) json.RawMessage {
	text := openai.Text(content)
	trimmed := bytes.TrimSpace([]byte(text))
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return trimmed
	}
	var output any = text
	if json.Valid(trimmed) && len(trimmed) > 0 {
		output = json.RawMessage(trimmed)
	}
	b, _ := json.Marshal(map[string]any{"output": output})
	return b
}

// geminiTools translates tools and tool_choice.
func geminiTools(req *openai.ChatRequest, out *gemini.Request) error {
	var decls []gemini.FunctionDeclaration
	for i, t := range req.Tools {
		if t.Type != "" && t.Type != "function" {
			return fault.Invalid("tools", "tools[%d].type %q is not supported: gemini takes function tools", i, t.Type)
		}
		d := gemini.FunctionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if len(t.Function.Parameters) > 0 {
			params, err := geminiSchema(t.Function.Parameters)
			if err != nil {
				return fault.Invalid("tools", "tools[%d].function.parameters: %v", i, err)
			}
			d.Parameters = params
		}
		decls = append(decls, d)
	}
	if len(decls) > 0 {
		out.Tools = []gemini.Tool{{FunctionDeclarations: decls}}
	}
	if len(req.ToolChoice) == 0 || string(req.ToolChoice) == "null" {
		return nil
	}
	fc := &gemini.FunctionCallingConfig{}
	var s string
	if json.Unmarshal(req.ToolChoice, &s) == nil {
		switch s {
		case "auto":
			fc.Mode = "AUTO"
		case "required":
			fc.Mode = "ANY"
		case "none":
			fc.Mode = "NONE"
		default:
			return fault.Invalid("tool_choice", "tool_choice %q is not one of auto, required, none", s)
		}
	} else {
		var named struct {
			Function struct{ Name string } `json:"function"`
		}
		if json.Unmarshal(req.ToolChoice, &named) != nil || named.Function.Name == "" {
			return fault.Invalid("tool_choice", "tool_choice must be a string or {\"type\":\"function\",\"function\":{\"name\":…}}")
		}
		fc.Mode, fc.AllowedFunctionNames = "ANY", []string{named.Function.Name}
	}
	out.ToolConfig = &gemini.ToolConfig{FunctionCallingConfig: fc}
	return nil
}

// generationConfig gathers the sampling settings and the response format; nil when none is set.
func generationConfig(req *openai.ChatRequest) (*gemini.GenerationConfig, error) {
	gc := &gemini.GenerationConfig{Temperature: req.Temperature, TopP: req.TopP, Seed: req.Seed, MaxOutputTokens: req.MaxTokens}
	if req.MaxCompletionTokens != nil {
		gc.MaxOutputTokens = req.MaxCompletionTokens
	}
	stops, err := openai.Strings(req.Stop)
	if err != nil {
		return nil, fault.Invalid("stop", "stop must be a string or a list of strings")
	}
	gc.StopSequences = stops
	if len(req.ResponseFormat) > 0 && string(req.ResponseFormat) != "null" {
		var rf struct {
			Type       string `json:"type"`
			JSONSchema *struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"json_schema"`
		}
		if err := json.Unmarshal(req.ResponseFormat, &rf); err != nil {
			return nil, fault.Invalid("response_format", "response_format must be an object with a type")
		}
		switch rf.Type {
		case "text":
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if rf.JSONSchema != nil && len(rf.JSONSchema.Schema) > 0 {
				s, err := geminiSchema(rf.JSONSchema.Schema)
				if err != nil {
					return nil, fault.Invalid("response_format", "response_format.json_schema.schema: %v", err)
				}
				gc.ResponseSchema = s
			}
		default:
			return nil, fault.Invalid("response_format", "response_format.type %q is not one of text, json_object, json_schema", rf.Type)
		}
	}
	if gc.Temperature == nil && gc.TopP == nil && gc.Seed == nil && gc.MaxOutputTokens == nil &&
		len(gc.StopSequences) == 0 && gc.ResponseMimeType == "" {
		return nil, nil
	}
	return gc, nil
}

// schemaKeys are the members of Gemini's Schema object (an OpenAPI subset) kept as they are;
// the JSON Schema keywords it does not know ($schema, additionalProperties, strict…) make the
// API refuse the request, so they are left out.
var schemaKeys = map[string]bool{"format": true, "title": true, "description": true, "nullable": true, "enum": true,
	"maxItems": true, "minItems": true, "required": true, "minProperties": true, "maxProperties": true,
	"minLength": true, "maxLength": true, "pattern": true, "example": true, "propertyOrdering": true,
	"default": true, "minimum": true, "maximum": true}

// schemaFormats are the formats Gemini accepts, per type; others are dropped.
var schemaFormats = map[string][]string{"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"}, "INTEGER": {"int32", "int64"}}

// maxSchemaDepth bounds the nesting of a translated schema, and so the expansion of $refs.
const maxSchemaDepth = 32

// geminiSchema translates a JSON Schema to Gemini's Schema: types in upper case, a type list
// with "null" as nullable, oneOf as anyOf, const as a one-value enum, local $refs inlined, and
// unknown keywords left out.
func geminiSchema(raw json.RawMessage) (json.RawMessage, error) {
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, errors.New("is not a JSON Schema object")
	}
	defs := map[string]any{}
	for _, k := range []string{"$defs", "definitions"} {
		if d, ok := root[k].(map[string]any); ok {
			for name, s := range d {
				defs["#/"+k+"/"+name] = s
			}
		}
	}
	s := convertSchema(root, defs, 0)
	// Gemini refuses an object without properties as a function's parameters: no parameters is
	// the same.
	if s["type"] == "OBJECT" && len(asMap(s["properties"])) == 0 {
		return nil, nil
	}
	return json.Marshal(s)
}

func convertSchema(v any, defs map[string]any, depth int) map[string]any {
	m, ok := v.(map[string]any)
	if !ok || depth > maxSchemaDepth {
		return map[string]any{}
	}
	if ref, ok := m["$ref"].(string); ok {
		return convertSchema(defs[ref], defs, depth+1)
	}
	out := map[string]any{}
	for k, val := range m {
		switch k {
		case "type":
			schemaType(val, out)
		case "properties":
			props := map[string]any{}
			for name, p := range asMap(val) {
				props[name] = convertSchema(p, defs, depth+1)
			}
			out["properties"] = props
		case "items":
			out["items"] = convertSchema(val, defs, depth+1)
		case "anyOf", "oneOf":
			list, _ := val.([]any)
			var alts []any
			for _, a := range list {
				alts = append(alts, convertSchema(a, defs, depth+1))
			}
			out["anyOf"] = alts
		case "const":
			out["enum"] = []any{val}
		default:
			if schemaKeys[k] {
				out[k] = val
			}
		}
	}
	if f, ok := out["format"].(string); ok {
		t, _ := out["type"].(string)
		if !slices.Contains(schemaFormats[t], f) {
			delete(out, "format")
		}
	}
	if _, ok := out["enum"]; ok && out["type"] == nil {
		out["type"] = "STRING"
	}
	return out
}

// schemaType sets the type of a translated schema from a JSON Schema type: a name, or a list
// of names in which "null" makes it nullable (and several others become anyOf).
func schemaType(val any, out map[string]any) {
	var types []string
	switch t := val.(type) {
	case string:
		types = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				types = append(types, s)
			}
		}
	}
	var kept []string
	for _, t := range types {
		if t == "null" {
			out["nullable"] = true
			continue
		}
		kept = append(kept, strings.ToUpper(t))
	}
	switch len(kept) {
	case 0:
	case 1:
		out["type"] = kept[0]
	default:
		var alts []any
		for _, t := range kept {
			alts = append(alts, map[string]any{"type": t})
		}
		out["anyOf"] = alts
	}
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Tool call ids. Gemini's function calls have no id of their own, so the gateway names them
// call_<nonce>_<n>, the nonce making ids unique across turns. A call that came with a thought
// signature carries it in its id (_ts_ and the signature in URL-safe base64, so the id stays
// letters, digits, _ and -), and the signature goes back with the call when the client sends
// the conversation again: thinking models refuse a function call without its signature.
const signatureMark = "_ts_"

// newCallPrefix returns the start of one answer's tool call ids.
func newCallPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "call_" + hex.EncodeToString(b[:]) + "_"
}

// toolCallID names the n-th call of an answer whose ids start with prefix.
func toolCallID(prefix string, n int, signature string) string {
	id := prefix + strconv.Itoa(n)
	if signature == "" {
		return id
	}
	raw, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return id // not base64, as the API sends it: nothing to keep it by
	}
	return id + signatureMark + base64.RawURLEncoding.EncodeToString(raw)
}

// signatureOf returns the thought signature a tool call id carries, or "".
func signatureOf(id string) string {
	if !strings.HasPrefix(id, "call_") {
		return ""
	}
	_, enc, ok := strings.Cut(id, signatureMark)
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(raw)
}
