package wasm

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"

	"github.com/iomhq/iom/gateway/rawjson"
)

// Exports of ABI v1 (see ABI.md).
const (
	exportABIVersion = "iom_abi_version"
	exportAlloc      = "iom_alloc"
	exportFree       = "iom_free"
	exportDescribe   = "iom_describe"

	ExportTransform       = "iom_transform"
	ExportTransformChunk  = "iom_transform_chunk"
	ExportAdapterRequest  = "iom_adapter_request"
	ExportAdapterResponse = "iom_adapter_response"
	ExportInfer           = "iom_infer"
)

// Roles a module declares by what it exports.
const (
	RoleTransform      = "transform"       // iom_transform
	RoleTransformChunk = "transform_chunk" // iom_transform_chunk
	RoleAdapter        = "adapter"         // iom_adapter_request and iom_adapter_response
	RoleInfer          = "infer"           // iom_infer
)

// roleExports are the (ptr i32, len i32) -> i64 exports, in instance.roles order.
var roleExports = [...]string{ExportTransform, ExportTransformChunk, ExportAdapterRequest, ExportAdapterResponse, ExportInfer}

var allRoles = []struct{ role, export string }{
	{RoleTransform, ExportTransform},
	{RoleTransformChunk, ExportTransformChunk},
	{RoleAdapter, ExportAdapterRequest},
	{RoleInfer, ExportInfer},
}

// Stage is where in a request's life a transform runs.
type Stage string

const (
	StageRequest  Stage = "request"  // the client's request, before it goes upstream
	StageResponse Stage = "response" // the upstream's answer, before it goes to the client
	StageChunk    Stage = "chunk"    // one chat.completion.chunk of a stream
)

// Op is the kind of call: the OpenAI endpoint, or invoke for any-JSON models.
type Op string

const (
	OpChat       Op = "chat"
	OpCompletion Op = "completion"
	OpEmbedding  Op = "embedding"
	OpInvoke     Op = "invoke"
)

// Metadata tells a transform about the request it sees.
type Metadata struct {
	RequestID string `json:"requestId"`
	Model     string `json:"model"`
	Provider  string `json:"provider"`
	Key       string `json:"key"` // the gateway key's name, never the secret
	Org       string `json:"org"`
	Op        Op     `json:"op"`
	Stream    bool   `json:"stream"`
	// OutputSchema is the model's outputSchema (a JSON Schema), absent when it has none.
	OutputSchema json.RawMessage `json:"outputSchema,omitempty"`
}

// Envelope is the input of a transform. The host adds "abi" and the plugin's "config" when it
// encodes it; Body must be valid JSON (null when empty).
type Envelope struct {
	Stage    Stage           `json:"stage"`
	Body     json.RawMessage `json:"body"`
	Metadata Metadata        `json:"metadata"`
	// Config, when set (valid JSON), replaces the plugin's config for this call: a pipeline's
	// transform node configures its step this way.
	Config json.RawMessage `json:"-"`
}

// TransformResult is a transform's answer. A nil Body means unchanged.
type TransformResult struct {
	Body json.RawMessage `json:"body,omitempty"`
	// Drop, for chunk transforms, says to leave this chunk out of the stream.
	Drop bool `json:"drop,omitempty"`
}

// ModelInfo names the model an adapter or local model serves.
type ModelInfo struct {
	ID            string `json:"id"`
	UpstreamModel string `json:"upstreamModel"`
	Endpoint      string `json:"endpoint"`
}

// ModelCall is the input of iom_adapter_request and iom_infer: a canonical (OpenAI-format)
// request for a model.
type ModelCall struct {
	Op      Op              `json:"op"`
	Request json.RawMessage `json:"request"`
	Model   ModelInfo       `json:"model"`
}

// HTTPRequest is the upstream call an adapter asks the host to make.
type HTTPRequest struct {
	Method  string
	URL     string
	Headers map[string]string
	// Body is the exact bytes to send: the guest's JSON value as it wrote it, or the contents
	// of the JSON string it gave.
	Body []byte
}

// APIKeyPlaceholder is what an adapter writes in a header value where the model's upstream key
// goes; the guest never sees the key.
const APIKeyPlaceholder = "${apiKey}"

// SetAPIKey replaces APIKeyPlaceholder in every header value with key.
func (r *HTTPRequest) SetAPIKey(key string) {
	for k, v := range r.Headers {
		if strings.Contains(v, APIKeyPlaceholder) {
			r.Headers[k] = strings.ReplaceAll(v, APIKeyPlaceholder, key)
		}
	}
}

// UpstreamResponse is the input of iom_adapter_response: what the upstream answered to the
// HTTPRequest, with the call that caused it.
type UpstreamResponse struct {
	Op      Op
	Status  int
	Headers map[string]string
	// Body is the upstream's body as it came; the host passes it as JSON when it parses, else
	// as a JSON string.
	Body    []byte
	Request json.RawMessage
	Model   ModelInfo
}

// Transform runs iom_transform on a request or response envelope.
func (p *Plugin) Transform(ctx context.Context, env Envelope) (TransformResult, error) {
	return p.transform(ctx, ExportTransform, env)
}

// TransformChunk runs iom_transform_chunk on one stream chunk (env.Stage is set to chunk).
// Callers check Has(RoleTransformChunk) first: a module without it leaves chunks alone.
func (p *Plugin) TransformChunk(ctx context.Context, env Envelope) (TransformResult, error) {
	env.Stage = StageChunk
	return p.transform(ctx, ExportTransformChunk, env)
}

// inputBufs recycles the buffers inputs are encoded into: Call copies the input into the guest,
// so the buffer is free again when it returns.
var inputBufs = sync.Pool{New: func() any { return new([]byte) }}

func (p *Plugin) callWith(ctx context.Context, export string, encode func([]byte) []byte) ([]byte, error) {
	bp := inputBufs.Get().(*[]byte)
	*bp = encode((*bp)[:0])
	out, err := p.Call(ctx, export, *bp)
	if cap(*bp) <= 1<<20 { // keep no giant buffer alive
		inputBufs.Put(bp)
	}
	return out, err
}

func (p *Plugin) transform(ctx context.Context, export string, env Envelope) (TransformResult, error) {
	config := p.cfg.Config
	if env.Config != nil {
		config = env.Config
	}
	out, err := p.callWith(ctx, export, func(b []byte) []byte { return AppendEnvelope(b, env, config) })
	if err != nil {
		return TransformResult{}, err
	}
	res, err := decodeTransform(p.cfg.Name, export, out)
	if err != nil {
		p.countError(err)
	}
	return res, err
}

// AdapterRequest runs iom_adapter_request: the guest turns a canonical request into the
// upstream's HTTP request. The caller calls SetAPIKey on the result, then makes the call.
func (p *Plugin) AdapterRequest(ctx context.Context, c ModelCall) (*HTTPRequest, error) {
	out, err := p.callWith(ctx, ExportAdapterRequest, func(b []byte) []byte { return appendModelCall(b, c, p.cfg.Config) })
	if err != nil {
		return nil, err
	}
	req, err := decodeHTTPRequest(p.cfg.Name, out)
	if err != nil {
		p.countError(err)
	}
	return req, err
}

// AdapterResponse runs iom_adapter_response: the guest turns the upstream's answer into a
// canonical OpenAI response (with usage). An upstream error comes back as a KindGuest *Error
// whose Status is the HTTP status the guest chose (0 when it gave none).
func (p *Plugin) AdapterResponse(ctx context.Context, r UpstreamResponse) (json.RawMessage, error) {
	out, err := p.callWith(ctx, ExportAdapterResponse, func(b []byte) []byte { return appendUpstreamResponse(b, r, p.cfg.Config) })
	if err != nil {
		return nil, err
	}
	resp, err := decodeResponse(p.cfg.Name, ExportAdapterResponse, r.Op, out)
	if err != nil {
		p.countError(err)
	}
	return resp, err
}

// Infer runs iom_infer: a local model answers a canonical request with a canonical response.
func (p *Plugin) Infer(ctx context.Context, c ModelCall) (json.RawMessage, error) {
	out, err := p.callWith(ctx, ExportInfer, func(b []byte) []byte { return appendModelCall(b, c, p.cfg.Config) })
	if err != nil {
		return nil, err
	}
	resp, err := decodeResponse(p.cfg.Name, ExportInfer, c.Op, out)
	if err != nil {
		p.countError(err)
	}
	return resp, err
}

// Encoding. The envelopes are written by hand: the body is already JSON and is copied as is.

// AppendEnvelope appends env as ABI v1's transform envelope (see ABI.md), with config as the
// plugin's config (null when empty). Process plugins take the same envelope.
func AppendEnvelope(dst []byte, env Envelope, config []byte) []byte {
	dst = append(dst, `{"abi":1,"stage":`...)
	dst = rawjson.AppendString(dst, string(env.Stage))
	dst = append(dst, `,"body":`...)
	dst = appendRaw(dst, env.Body)
	dst = append(dst, `,"config":`...)
	dst = appendRaw(dst, config)
	m := env.Metadata
	dst = append(dst, `,"metadata":{"requestId":`...)
	dst = rawjson.AppendString(dst, m.RequestID)
	dst = append(dst, `,"model":`...)
	dst = rawjson.AppendString(dst, m.Model)
	dst = append(dst, `,"provider":`...)
	dst = rawjson.AppendString(dst, m.Provider)
	dst = append(dst, `,"key":`...)
	dst = rawjson.AppendString(dst, m.Key)
	dst = append(dst, `,"org":`...)
	dst = rawjson.AppendString(dst, m.Org)
	dst = append(dst, `,"op":`...)
	dst = rawjson.AppendString(dst, string(m.Op))
	dst = append(dst, `,"stream":`...)
	dst = strconv.AppendBool(dst, m.Stream)
	if len(m.OutputSchema) > 0 {
		dst = append(dst, `,"outputSchema":`...)
		dst = appendRaw(dst, m.OutputSchema)
	}
	return append(dst, "}}"...)
}

func appendModelInfo(dst []byte, m ModelInfo) []byte {
	dst = append(dst, `{"id":`...)
	dst = rawjson.AppendString(dst, m.ID)
	dst = append(dst, `,"upstreamModel":`...)
	dst = rawjson.AppendString(dst, m.UpstreamModel)
	dst = append(dst, `,"endpoint":`...)
	dst = rawjson.AppendString(dst, m.Endpoint)
	return append(dst, '}')
}

func appendModelCall(dst []byte, c ModelCall, config []byte) []byte {
	dst = append(dst, `{"abi":1,"op":`...)
	dst = rawjson.AppendString(dst, string(c.Op))
	dst = append(dst, `,"request":`...)
	dst = appendRaw(dst, c.Request)
	dst = append(dst, `,"model":`...)
	dst = appendModelInfo(dst, c.Model)
	dst = append(dst, `,"config":`...)
	dst = appendRaw(dst, config)
	return append(dst, '}')
}

func appendUpstreamResponse(dst []byte, r UpstreamResponse, config []byte) []byte {
	dst = append(dst, `{"abi":1,"op":`...)
	dst = rawjson.AppendString(dst, string(r.Op))
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, `,"headers":`...)
	dst = appendStringMap(dst, r.Headers)
	dst = append(dst, `,"body":`...)
	if v, err := rawjson.Document(r.Body); err == nil {
		dst = append(dst, v...)
	} else {
		dst = rawjson.AppendString(dst, string(r.Body))
	}
	dst = append(dst, `,"request":`...)
	dst = appendRaw(dst, r.Request)
	dst = append(dst, `,"model":`...)
	dst = appendModelInfo(dst, r.Model)
	dst = append(dst, `,"config":`...)
	dst = appendRaw(dst, config)
	return append(dst, '}')
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	dst = append(dst, '{')
	first := true
	for k, v := range m {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = rawjson.AppendString(dst, k)
		dst = append(dst, ':')
		dst = rawjson.AppendString(dst, v)
	}
	return append(dst, '}')
}

// Decoding. Every guest output is a JSON object; {"error":{...}} is a failure in any role.

// decodeOutput validates out as an object and returns its members, or the guest's error.
// Empty output yields no members and no error.
func decodeOutput(plugin, export string, out []byte, fields []rawjson.Field) ([]rawjson.Field, error) {
	if len(out) == 0 {
		return fields, nil
	}
	fields, err := rawjson.ScanObject(out, fields)
	if err != nil {
		return nil, newError(plugin, export, KindMalformed, "output is not a JSON object: %v", err)
	}
	if ev := rawjson.Get(fields, "error"); ev != nil && string(ev) != "null" {
		return nil, guestError(plugin, export, ev)
	}
	return fields, nil
}

func guestError(plugin, export string, ev []byte) *Error {
	if s, ok := rawjson.String(ev); ok {
		return &Error{Plugin: plugin, Export: export, Kind: KindGuest, Message: s}
	}
	var buf [4]rawjson.Field
	fields, err := rawjson.ScanObject(ev, buf[:0])
	if err != nil {
		return newError(plugin, export, KindMalformed, "error is neither a string nor an object")
	}
	e := &Error{Plugin: plugin, Export: export, Kind: KindGuest}
	e.Message, _ = rawjson.String(rawjson.Get(fields, "message"))
	if e.Message == "" {
		e.Message = "the plugin failed without a message"
	}
	e.Code, _ = rawjson.String(rawjson.Get(fields, "code"))
	if st := rawjson.Get(fields, "status"); st != nil {
		if n, err := strconv.Atoi(string(st)); err == nil && n >= 100 && n <= 599 {
			e.Status = n
		}
	}
	return e
}

func decodeTransform(plugin, export string, out []byte) (TransformResult, error) {
	var buf [4]rawjson.Field
	fields, err := decodeOutput(plugin, export, out, buf[:0])
	if err != nil {
		return TransformResult{}, err
	}
	var res TransformResult
	for _, f := range fields {
		switch string(f.Key) {
		case "body":
			res.Body = f.Value
		case "headers":
			// ABI v1 transforms see and set no headers (ABI.md §5.1): say so rather than drop them.
			if string(f.Value) != "null" {
				return TransformResult{}, newError(plugin, export, KindMalformed, "a transform cannot set headers (ABI v1 transforms change only the body)")
			}
		case "drop":
			res.Drop = string(f.Value) == "true"
		}
	}
	if res.Drop && export != ExportTransformChunk {
		return TransformResult{}, newError(plugin, export, KindMalformed, "only chunk transforms may drop")
	}
	return res, nil
}

func decodeHTTPRequest(plugin string, out []byte) (*HTTPRequest, error) {
	const export = ExportAdapterRequest
	var buf [8]rawjson.Field
	fields, err := decodeOutput(plugin, export, out, buf[:0])
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, newError(plugin, export, KindMalformed, "no output; an adapter must return a request")
	}
	r := &HTTPRequest{Method: "POST"}
	if v := rawjson.Get(fields, "method"); v != nil {
		m, ok := rawjson.String(v)
		if !ok || m == "" || strings.ContainsAny(m, " \t\r\n") {
			return nil, newError(plugin, export, KindMalformed, "method must be a non-empty string without spaces")
		}
		r.Method = strings.ToUpper(m)
	}
	r.URL, _ = rawjson.String(rawjson.Get(fields, "url"))
	if !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://") {
		return nil, newError(plugin, export, KindMalformed, "url must be an http:// or https:// URL, got %q", r.URL)
	}
	if v := rawjson.Get(fields, "headers"); v != nil && string(v) != "null" {
		if r.Headers, err = decodeStringMap(v); err != nil {
			return nil, newError(plugin, export, KindMalformed, "headers: %v", err)
		}
	}
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	if v := rawjson.Get(fields, "body"); v != nil && string(v) != "null" {
		if s, ok := rawjson.String(v); ok {
			r.Body = []byte(s)
		} else {
			r.Body = v
			if !hasHeader(r.Headers, "Content-Type") {
				r.Headers["Content-Type"] = "application/json"
			}
		}
	}
	return r, nil
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// decodeResponse reads {"response": <object>} and checks the object carries usage for the
// OpenAI ops, since the gateway counts tokens from it.
func decodeResponse(plugin, export string, op Op, out []byte) (json.RawMessage, error) {
	var buf [4]rawjson.Field
	fields, err := decodeOutput(plugin, export, out, buf[:0])
	if err != nil {
		return nil, err
	}
	resp := rawjson.Get(fields, "response")
	if resp == nil {
		return nil, newError(plugin, export, KindMalformed, `output has neither "response" nor "error"`)
	}
	var rbuf [16]rawjson.Field
	rf, err := rawjson.ScanObject(resp, rbuf[:0])
	if err != nil {
		return nil, newError(plugin, export, KindMalformed, "response is not a JSON object")
	}
	if op != OpInvoke {
		if u := rawjson.Get(rf, "usage"); u == nil || u[0] != '{' {
			return nil, newError(plugin, export, KindMalformed, "response has no usage object")
		}
	}
	return resp, nil
}
