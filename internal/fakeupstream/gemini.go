package fakeupstream

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/valyala/fasthttp"
)

// Gemini is a fake of Google's Gemini API under /v1beta: generateContent,
// streamGenerateContent (SSE with alt=sse, a JSON array without), embedContent and
// batchEmbedContents. Like the API it wants a key in x-goog-api-key, refuses bodies with
// unknown fields or the shapes the API refuses (empty parts, function calls unanswered,
// JSON Schema keywords its Schema lacks), and answers errors as {"error":{code,message,status}}.
//
// It answers an echo of the last user text; a functionCall of the first declared function
// when the user asks about the weather (with a thought signature, which models named gemini-3…
// want back with the call); "the tool said …" to a function's response. Tokens are words:
// the prompt's plus 3; a system instruction's words count as cached, and models whose name has
// "thinking" think 4 tokens.
type Gemini struct {
	// URL is the base URL, ending in /v1beta.
	URL string
	// Key is the key it accepts; any other is refused as the API does (400, API_KEY_INVALID).
	Key string
	// Faults, when set, decides a fault per request (n counts requests from 1); its Body
	// defaults to a Gemini error.
	Faults func(n int64, r *Received) Fault

	fake
}

// StartGemini starts the fake on a free port of 127.0.0.1.
func StartGemini(key string) (*Gemini, error) {
	g := &Gemini{Key: key}
	url, err := g.start("fake-gemini", g.handle)
	if err != nil {
		return nil, err
	}
	g.URL = url + "/v1beta"
	return g, nil
}

// geminiFail answers a Gemini error.
func geminiFail(ctx *fasthttp.RequestCtx, code int, status, msg string, details ...any) {
	e := map[string]any{"code": code, "message": msg, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	ctx.SetStatusCode(code)
	writeJSON(ctx, map[string]any{"error": e})
}

var geminiStatuses = map[int]string{400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
	429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}

var geminiPath = regexp.MustCompile(`^/v1beta/models/([^/:]+):([A-Za-z]+)$`)

func (g *Gemini) handle(ctx *fasthttp.RequestCtx) {
	r, n := g.receive(ctx)

	key := r.Header["x-goog-api-key"]
	switch {
	case key == "":
		geminiFail(ctx, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
		return
	case g.Key != "" && key != g.Key:
		geminiFail(ctx, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
			map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"})
		return
	}
	if g.Faults != nil {
		if f := g.Faults(n, &r); f.Status != 0 {
			if f.RetryAfter != "" {
				ctx.Response.Header.Set("Retry-After", f.RetryAfter)
			}
			if f.Body != "" {
				ctx.SetStatusCode(f.Status)
				ctx.SetContentType("application/json")
				ctx.SetBodyString(f.Body)
				return
			}
			geminiFail(ctx, f.Status, geminiStatuses[f.Status], fmt.Sprintf("injected failure %d", f.Status))
			return
		}
	}
	m := geminiPath.FindStringSubmatch(string(ctx.Path()))
	if m == nil || !ctx.IsPost() {
		geminiFail(ctx, 404, "NOT_FOUND", "The requested URL was not found on this server.")
		return
	}
	model, method := m[1], m[2]
	if model == "missing" {
		geminiFail(ctx, 404, "NOT_FOUND", "models/missing is not found for API version v1beta, or is not supported for "+method+".")
		return
	}
	switch method {
	case "generateContent", "streamGenerateContent":
		var req gmRequest
		if err := strictJSON(r.Body, &req); err != nil {
			geminiFail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
			return
		}
		if msg := req.check(model); msg != "" {
			geminiFail(ctx, 400, "INVALID_ARGUMENT", msg)
			return
		}
		answer := geminiAnswer(model, &req)
		if method == "generateContent" {
			writeJSON(ctx, answer.whole())
			return
		}
		geminiStream(ctx, answer, string(ctx.QueryArgs().Peek("alt")) == "sse")
	case "embedContent":
		var req gmEmbed
		if err := strictJSON(r.Body, &req); err != nil {
			geminiFail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
			return
		}
		if msg := req.check(""); msg != "" {
			geminiFail(ctx, 400, "INVALID_ARGUMENT", msg)
			return
		}
		writeJSON(ctx, map[string]any{"embedding": req.vector()})
	case "batchEmbedContents":
		var req struct {
			Requests []gmEmbed `json:"requests"`
		}
		if err := strictJSON(r.Body, &req); err != nil {
			geminiFail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
			return
		}
		if len(req.Requests) == 0 {
			geminiFail(ctx, 400, "INVALID_ARGUMENT", "* BatchEmbedContentsRequest.requests: at least one request is required")
			return
		}
		out := make([]any, len(req.Requests))
		for i, e := range req.Requests {
			if msg := e.check("models/" + model); msg != "" {
				geminiFail(ctx, 400, "INVALID_ARGUMENT", fmt.Sprintf("* BatchEmbedContentsRequest.requests[%d]: %s", i, msg))
				return
			}
			out[i] = e.vector()
		}
		writeJSON(ctx, map[string]any{"embeddings": out})
	default:
		geminiFail(ctx, 404, "NOT_FOUND", "The requested URL was not found on this server.")
	}
}

// strictJSON decodes like the API: a member it does not know is an error.
func strictJSON(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "json: ", ""))
	}
	return nil
}

// The request's shapes, as the API knows them.
type (
	gmRequest struct {
		Contents          []gmContent     `json:"contents"`
		SystemInstruction *gmContent      `json:"systemInstruction"`
		Tools             []gmTool        `json:"tools"`
		ToolConfig        *gmToolConfig   `json:"toolConfig"`
		GenerationConfig  *gmGeneration   `json:"generationConfig"`
		SafetySettings    json.RawMessage `json:"safetySettings"`
		CachedContent     string          `json:"cachedContent"`
	}
	gmContent struct {
		Role  string   `json:"role"`
		Parts []gmPart `json:"parts"`
	}
	gmPart struct {
		Text       *string `json:"text"`
		InlineData *struct {
			MimeType string `json:"mimeType"`
			Data     string `json:"data"`
		} `json:"inlineData"`
		FileData *struct {
			MimeType string `json:"mimeType"`
			FileURI  string `json:"fileUri"`
		} `json:"fileData"`
		FunctionCall *struct {
			ID   string          `json:"id"`
			Name string          `json:"name"`
			Args json.RawMessage `json:"args"`
		} `json:"functionCall"`
		FunctionResponse *struct {
			ID       string          `json:"id"`
			Name     string          `json:"name"`
			Response json.RawMessage `json:"response"`
		} `json:"functionResponse"`
		Thought          bool   `json:"thought"`
		ThoughtSignature string `json:"thoughtSignature"`
	}
	gmTool struct {
		FunctionDeclarations []struct {
			Name        string         `json:"name"`
			Description string         `json:"description"`
			Parameters  map[string]any `json:"parameters"`
		} `json:"functionDeclarations"`
	}
	gmToolConfig struct {
		FunctionCallingConfig *struct {
			Mode                 string   `json:"mode"`
			AllowedFunctionNames []string `json:"allowedFunctionNames"`
		} `json:"functionCallingConfig"`
	}
	gmGeneration struct {
		Temperature      *float64       `json:"temperature"`
		TopP             *float64       `json:"topP"`
		TopK             *int           `json:"topK"`
		MaxOutputTokens  *int           `json:"maxOutputTokens"`
		StopSequences    []string       `json:"stopSequences"`
		CandidateCount   *int           `json:"candidateCount"`
		Seed             *int64         `json:"seed"`
		ResponseMimeType string         `json:"responseMimeType"`
		ResponseSchema   map[string]any `json:"responseSchema"`
	}
	gmEmbed struct {
		Model                string    `json:"model"`
		Content              gmContent `json:"content"`
		TaskType             string    `json:"taskType"`
		Title                string    `json:"title"`
		OutputDimensionality *int      `json:"outputDimensionality"`
	}
)

var gmFunctionName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$`)

// check finds what the API would refuse in a request, or "".
func (req *gmRequest) check(model string) string {
	if len(req.Contents) == 0 {
		return "* GenerateContentRequest.contents: contents is not specified"
	}
	if req.SystemInstruction != nil {
		if msg := req.SystemInstruction.check("systemInstruction"); msg != "" {
			return msg
		}
	}
	for i, c := range req.Contents {
		if c.Role != "" && c.Role != "user" && c.Role != "model" {
			return fmt.Sprintf("Please use a valid role: user, model. (contents[%d].role %q)", i, c.Role)
		}
		if msg := c.check(fmt.Sprintf("contents[%d]", i)); msg != "" {
			return msg
		}
		if msg := req.answered(i); msg != "" {
			return msg
		}
		if strings.HasPrefix(model, "gemini-3") {
			for j, p := range c.Parts {
				if p.FunctionCall != nil && j == firstCall(c) && p.ThoughtSignature == "" {
					return fmt.Sprintf("Function call is missing a thought_signature in functionCall parts. (contents[%d].parts[%d])", i, j)
				}
			}
		}
	}
	for i, t := range req.Tools {
		for j, d := range t.FunctionDeclarations {
			at := fmt.Sprintf("tools[%d].function_declarations[%d]", i, j)
			if !gmFunctionName.MatchString(d.Name) {
				return "* GenerateContentRequest." + at + ".name: Invalid function name."
			}
			if d.Parameters != nil {
				if msg := checkSchema(d.Parameters, at+".parameters", true); msg != "" {
					return msg
				}
			}
		}
	}
	if tc := req.ToolConfig; tc != nil && tc.FunctionCallingConfig != nil {
		fc := tc.FunctionCallingConfig
		switch fc.Mode {
		case "", "AUTO", "ANY", "NONE", "VALIDATED":
		default:
			return fmt.Sprintf("Invalid value at 'tool_config.function_calling_config.mode' (%s)", fc.Mode)
		}
		if len(fc.AllowedFunctionNames) > 0 && fc.Mode != "ANY" && fc.Mode != "VALIDATED" {
			return "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: only allowed when mode is ANY"
		}
	}
	if gc := req.GenerationConfig; gc != nil && gc.ResponseSchema != nil {
		if gc.ResponseMimeType != "application/json" && gc.ResponseMimeType != "text/x.enum" {
			return "* GenerateContentRequest.generation_config.response_mime_type: must be application/json or text/x.enum when response_schema is set"
		}
		if msg := checkSchema(gc.ResponseSchema, "generation_config.response_schema", false); msg != "" {
			return msg
		}
	}
	return ""
}

// check finds what the API refuses in a turn: no parts, a part with no data or more than one.
func (c *gmContent) check(at string) string {
	if len(c.Parts) == 0 {
		return "* GenerateContentRequest." + at + ".parts: contents.parts must not be empty."
	}
	for j, p := range c.Parts {
		n := 0
		for _, set := range []bool{p.Text != nil, p.InlineData != nil, p.FileData != nil, p.FunctionCall != nil, p.FunctionResponse != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Sprintf("* GenerateContentRequest.%s.parts[%d].data: required oneof field 'data' must have one initialized field", at, j)
		}
		switch {
		case p.Text != nil && *p.Text == "":
			return "Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again."
		case p.InlineData != nil:
			if _, err := base64.StdEncoding.DecodeString(p.InlineData.Data); err != nil || p.InlineData.MimeType == "" {
				return fmt.Sprintf("* GenerateContentRequest.%s.parts[%d].inline_data: needs a mime_type and base64 data", at, j)
			}
		case p.FunctionCall != nil && !isObject(p.FunctionCall.Args) && p.FunctionCall.Args != nil:
			return fmt.Sprintf("Invalid value at '%s.parts[%d].function_call.args' (type.googleapis.com/google.protobuf.Struct)", at, j)
		case p.FunctionResponse != nil && !isObject(p.FunctionResponse.Response):
			return fmt.Sprintf("Invalid value at '%s.parts[%d].function_response.response' (type.googleapis.com/google.protobuf.Struct)", at, j)
		}
	}
	return ""
}

// answered checks that a turn of function calls is followed by a turn answering each of them.
func (req *gmRequest) answered(i int) string {
	calls := 0
	for _, p := range req.Contents[i].Parts {
		if p.FunctionCall != nil {
			calls++
		}
	}
	if calls == 0 || i+1 == len(req.Contents) {
		return ""
	}
	responses := 0
	for _, p := range req.Contents[i+1].Parts {
		if p.FunctionResponse != nil {
			responses++
		}
	}
	if responses != calls {
		return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
	}
	return ""
}

func firstCall(c gmContent) int {
	for j, p := range c.Parts {
		if p.FunctionCall != nil {
			return j
		}
	}
	return -1
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

var gmSchemaKeys = map[string]bool{"type": true, "format": true, "title": true, "description": true, "nullable": true,
	"enum": true, "maxItems": true, "minItems": true, "properties": true, "required": true, "minProperties": true,
	"maxProperties": true, "minLength": true, "maxLength": true, "pattern": true, "example": true, "anyOf": true,
	"propertyOrdering": true, "default": true, "items": true, "minimum": true, "maximum": true}

var gmTypes = map[string]bool{"STRING": true, "NUMBER": true, "INTEGER": true, "BOOLEAN": true, "ARRAY": true, "OBJECT": true, "NULL": true}

// checkSchema checks a Schema as the API does: only its own members, known types, and (for a
// function's parameters) an object with properties.
func checkSchema(s map[string]any, at string, params bool) string {
	for k, v := range s {
		if !gmSchemaKeys[k] {
			return fmt.Sprintf("Invalid JSON payload received. Unknown name %q at '%s': Cannot find field.", k, at)
		}
		switch k {
		case "type":
			t, _ := v.(string)
			if !gmTypes[strings.ToUpper(t)] {
				return fmt.Sprintf("Invalid value at '%s.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), %v", at, v)
			}
		case "properties":
			props, _ := v.(map[string]any)
			for name, p := range props {
				ps, _ := p.(map[string]any)
				if msg := checkSchema(ps, at+".properties["+name+"].value", false); msg != "" {
					return msg
				}
			}
		case "items":
			is, _ := v.(map[string]any)
			if msg := checkSchema(is, at+".items", false); msg != "" {
				return msg
			}
		}
	}
	if t, _ := s["type"].(string); params && strings.ToUpper(t) == "OBJECT" {
		if props, _ := s["properties"].(map[string]any); len(props) == 0 {
			return "* GenerateContentRequest." + at + ".properties: should be non-empty for OBJECT type"
		}
	}
	return ""
}

func (e *gmEmbed) check(model string) string {
	if model != "" && e.Model != model {
		return fmt.Sprintf("Model names should match the model of the batch request (%s), got %q", model, e.Model)
	}
	if model == "" && e.Model != "" && !strings.HasPrefix(e.Model, "models/") {
		return "* EmbedContentRequest.model: unexpected model name format"
	}
	return e.Content.check("content")
}

// vector is an embedding of the content's text: its length, 0.5 and its words, cut to
// outputDimensionality.
func (e *gmEmbed) vector() map[string]any {
	text := ""
	for _, p := range e.Content.Parts {
		if p.Text != nil {
			text += *p.Text
		}
	}
	v := []float64{float64(len(text)), 0.5, float64(words(text))}
	if d := e.OutputDimensionality; d != nil && *d > 0 && *d < len(v) {
		v = v[:*d]
	}
	return map[string]any{"values": v}
}

// gmAnswer is what the fake answers a request: parts, why it stopped, its usage.
type gmAnswer struct {
	model  string
	parts  []map[string]any
	finish string
	usage  map[string]any
}

// geminiAnswer decides the answer to a checked request.
func geminiAnswer(model string, req *gmRequest) *gmAnswer {
	last := req.Contents[len(req.Contents)-1]
	var text, result string
	images := 0
	for _, p := range last.Parts {
		switch {
		case p.Text != nil:
			text += *p.Text
		case p.InlineData != nil:
			images++
		case p.FunctionResponse != nil:
			var r map[string]any
			json.Unmarshal(p.FunctionResponse.Response, &r)
			if out, ok := r["output"]; ok {
				result = fmt.Sprint(out)
			} else {
				b, _ := json.Marshal(r)
				result = string(b)
			}
		}
	}
	system := ""
	if si := req.SystemInstruction; si != nil {
		for _, p := range si.Parts {
			if p.Text != nil {
				system += *p.Text
			}
		}
	}
	a := &gmAnswer{model: model, finish: "STOP"}
	var reply string
	switch {
	case result != "":
		reply = "the tool said " + result
	case len(req.Tools) > 0 && len(req.Tools[0].FunctionDeclarations) > 0 && strings.Contains(text, "weather"):
		name := req.Tools[0].FunctionDeclarations[0].Name
		sig := base64.StdEncoding.EncodeToString([]byte("signature of " + name + "?"))
		a.parts = append(a.parts, map[string]any{"functionCall": map[string]any{"name": name, "args": map[string]any{"city": "Paris"}}, "thoughtSignature": sig})
	default:
		reply = "echo: " + text
		if images > 0 {
			reply += fmt.Sprintf(" (%d image)", images)
		}
		if system != "" {
			reply += " [system: " + system + "]"
		}
		if gc := req.GenerationConfig; gc != nil && gc.ResponseMimeType == "application/json" {
			b, _ := json.Marshal(map[string]string{"echo": text})
			reply = string(b)
		}
	}
	if gc := req.GenerationConfig; gc != nil && gc.MaxOutputTokens != nil && words(reply) > *gc.MaxOutputTokens {
		reply = strings.Join(strings.Fields(reply)[:*gc.MaxOutputTokens], " ")
		a.finish = "MAX_TOKENS"
	}
	if reply != "" {
		a.parts = append([]map[string]any{{"text": reply}}, a.parts...)
	}
	prompt := words(system) + 3
	for _, c := range req.Contents {
		for _, p := range c.Parts {
			if p.Text != nil {
				prompt += words(*p.Text)
			}
		}
	}
	out := words(reply)
	u := map[string]any{"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out}
	if system != "" {
		u["cachedContentTokenCount"] = words(system)
	}
	if strings.Contains(model, "thinking") {
		u["thoughtsTokenCount"] = 4
		u["totalTokenCount"] = prompt + out + 4
	}
	a.usage = u
	return a
}

// whole is the answer as one GenerateContentResponse.
func (a *gmAnswer) whole() map[string]any {
	return a.chunk(a.parts, a.finish, a.usage)
}

func (a *gmAnswer) chunk(parts []map[string]any, finish string, usage map[string]any) map[string]any {
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": parts}, "index": 0}
	if finish != "" {
		cand["finishReason"] = finish
	}
	return map[string]any{"candidates": []any{cand}, "usageMetadata": usage, "modelVersion": a.model, "responseId": "fake-response-1"}
}

// chunks splits the answer as the API streams it: text a word at a time, a function call
// whole, the last chunk with the finish reason and the whole usage; the chunks before it count
// only the prompt.
func (a *gmAnswer) chunks() []map[string]any {
	var pieces [][]map[string]any
	for _, p := range a.parts {
		if t, ok := p["text"].(string); ok {
			for _, w := range strings.SplitAfter(t, " ") {
				pieces = append(pieces, []map[string]any{{"text": w}})
			}
			continue
		}
		pieces = append(pieces, []map[string]any{p})
	}
	partial := map[string]any{"promptTokenCount": a.usage["promptTokenCount"], "totalTokenCount": a.usage["promptTokenCount"]}
	var out []map[string]any
	for i, p := range pieces {
		if i == len(pieces)-1 {
			out = append(out, a.chunk(p, a.finish, a.usage))
		} else {
			out = append(out, a.chunk(p, "", partial))
		}
	}
	return out
}

// geminiStream streams an answer: SSE with alt=sse, else the chunks as one JSON array written
// piece by piece, as the API does.
func geminiStream(ctx *fasthttp.RequestCtx, a *gmAnswer, sse bool) {
	chunks := a.chunks()
	if !sse {
		ctx.SetContentType("application/json")
		b, _ := json.Marshal(chunks)
		ctx.SetBody(b)
		return
	}
	ctx.SetContentType("text/event-stream")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		for _, c := range chunks {
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "data: %s\r\n\r\n", b)
			if w.Flush() != nil {
				return
			}
		}
	})
}
