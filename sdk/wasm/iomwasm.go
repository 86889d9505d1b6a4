// Package iomwasm is the Go guest SDK for IoM's WASM plugins (ABI v1, described in the
// gateway's wasm/ABI.md). It owns everything between the host's bytes and a plugin's logic:
// the iom_abi_version, iom_alloc and iom_free exports, reading the input envelope, writing the
// output or error object, and logging through the host.
//
// A plugin is a main package built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm .
//
// Importing this package exports the ABI's allocator and version. The plugin declares its
// roles itself, by exporting the role functions with //go:wasmexport and handing each call to
// the SDK, so a module claims only the roles it implements:
//
//	package main
//
//	import iomwasm "github.com/iomhq/iom/sdk/wasm"
//
//	func main() {}
//
//	//go:wasmexport iom_transform
//	func transform(ptr, size uint32) uint64 {
//		return iomwasm.Transform(ptr, size, func(env *iomwasm.Envelope) (iomwasm.Result, error) {
//			if env.Stage != "request" {
//				return iomwasm.Result{}, nil // unchanged
//			}
//			model := env.Body.Get("model") // a Value: raw bytes, no decoding
//			iomwasm.Log(iomwasm.LevelInfo, "request for "+model.Str())
//			body := iomwasm.Splice(env.Body, env.Body.Get("temperature"), []byte("0"))
//			return iomwasm.Result{Body: body}, nil
//		})
//	}
//
// The hot path uses no reflection: the envelope is scanned once into Values that alias the
// input, and the output is written into a buffer the SDK reuses from call to call. Values are
// valid only during the call that received them. encoding/json is fine for a plugin's config,
// which ConfigCache decodes once per distinct config.
//
// Errors: a handler's error becomes the ABI's {"error":{"message","code","status"}} object; use
// *Error to set a code or, in iom_adapter_response, an HTTP status.
//
// The same functions without the ptr/size plumbing (TransformJSON, InferJSON…) take and return
// bytes, so a plugin's logic can be unit-tested with go test on the host.
//
// This package imports only the standard library. It is a Go module of its own, so a plugin
// needs only
//
//	go get github.com/iomhq/iom/sdk/wasm
//
// and none of the gateway's dependencies.
package iomwasm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// ABIVersion is the ABI this SDK speaks; the module's iom_abi_version returns it.
const ABIVersion = 1

// Log levels of the host's iom.log import.
const (
	LevelDebug = 0
	LevelInfo  = 1
	LevelWarn  = 2
	LevelError = 3
)

// Metadata describes the request a transform sees.
type Metadata struct {
	RequestID string
	Model     string
	Provider  string
	Key       string // the gateway key's name
	Org       string
	Op        string // chat, completion, embedding or invoke
	Stream    bool
	// OutputSchema is the model's outputSchema (a JSON Schema); its Kind is Invalid when the
	// model declares none.
	OutputSchema Value
}

// Envelope is a transform's input.
type Envelope struct {
	Stage    string // request, response or chunk
	Body     Value  // the request, response or chunk as JSON
	Config   Value  // the plugin's config; null when none
	Metadata Metadata
}

// Result is a transform's answer. A nil Body leaves it unchanged.
type Result struct {
	Body []byte // must be valid JSON
	Drop bool   // chunk transforms only: leave this chunk out of the stream
}

// Model names the model an adapter or local model serves.
type Model struct {
	ID            string
	UpstreamModel string
	Endpoint      string
}

// ModelCall is the input of iom_adapter_request and iom_infer.
type ModelCall struct {
	Op      string // chat, completion, embedding or invoke
	Request Value  // the canonical (OpenAI) request
	Model   Model
	Config  Value
}

// HTTPRequest is what iom_adapter_request answers: the upstream call for the host to make.
// Header values may hold "${apiKey}", which the host replaces with the model's key.
type HTTPRequest struct {
	Method  string // default POST
	URL     string
	Headers map[string]string
	// Body is sent as it is: a JSON value (the host adds Content-Type: application/json
	// unless a header sets one). For a body that is not JSON, leave Body nil and set Text.
	Body []byte
	Text string
}

// UpstreamResponse is the input of iom_adapter_response.
type UpstreamResponse struct {
	Op      string
	Status  int
	Headers Value
	Body    Value // JSON when the upstream's body parsed, else a JSON string of it
	Request Value
	Model   Model
	Config  Value
}

// Description is what iom_describe answers.
type Description struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Roles    []string `json:"roles"`
	Version  string   `json:"version"`
}

// Error is an error with an ABI code and, for adapters mapping an upstream error, an HTTP
// status for the gateway to answer with.
type Error struct {
	Message string
	Code    string
	Status  int
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with a code.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParseEnvelope reads a transform's input.
func ParseEnvelope(input []byte) (*Envelope, error) {
	doc := Value(input)
	if doc.Kind() != Object {
		return nil, errors.New("input is not a JSON object")
	}
	env := &Envelope{}
	doc.Members(func(k []byte, v Value) bool {
		switch string(k) {
		case "stage":
			env.Stage = v.Str()
		case "body":
			env.Body = v
		case "config":
			env.Config = v
		case "metadata":
			v.Members(func(k []byte, v Value) bool {
				m := &env.Metadata
				switch string(k) {
				case "requestId":
					m.RequestID = v.Str()
				case "model":
					m.Model = v.Str()
				case "provider":
					m.Provider = v.Str()
				case "key":
					m.Key = v.Str()
				case "org":
					m.Org = v.Str()
				case "op":
					m.Op = v.Str()
				case "stream":
					m.Stream = v.Bool()
				case "outputSchema":
					m.OutputSchema = v
				}
				return true
			})
		}
		return true
	})
	return env, nil
}

func parseModel(v Value) Model {
	var m Model
	v.Members(func(k []byte, v Value) bool {
		switch string(k) {
		case "id":
			m.ID = v.Str()
		case "upstreamModel":
			m.UpstreamModel = v.Str()
		case "endpoint":
			m.Endpoint = v.Str()
		}
		return true
	})
	return m
}

// ParseModelCall reads the input of iom_adapter_request or iom_infer.
func ParseModelCall(input []byte) (*ModelCall, error) {
	doc := Value(input)
	if doc.Kind() != Object {
		return nil, errors.New("input is not a JSON object")
	}
	c := &ModelCall{}
	doc.Members(func(k []byte, v Value) bool {
		switch string(k) {
		case "op":
			c.Op = v.Str()
		case "request":
			c.Request = v
		case "model":
			c.Model = parseModel(v)
		case "config":
			c.Config = v
		}
		return true
	})
	return c, nil
}

// ParseUpstreamResponse reads the input of iom_adapter_response.
func ParseUpstreamResponse(input []byte) (*UpstreamResponse, error) {
	doc := Value(input)
	if doc.Kind() != Object {
		return nil, errors.New("input is not a JSON object")
	}
	r := &UpstreamResponse{}
	doc.Members(func(k []byte, v Value) bool {
		switch string(k) {
		case "op":
			r.Op = v.Str()
		case "status":
			n, _ := v.Int()
			r.Status = int(n)
		case "headers":
			r.Headers = v
		case "body":
			r.Body = v
		case "request":
			r.Request = v
		case "model":
			r.Model = parseModel(v)
		case "config":
			r.Config = v
		}
		return true
	})
	return r, nil
}

// The output buffer is reused from call to call: the host copies the output out and calls
// iom_free before the next call, so one buffer serves every call.
var out []byte

// AppendError appends the ABI's error object for err.
func AppendError(dst []byte, err error) []byte {
	e := &Error{Message: err.Error()}
	var ie *Error
	if errors.As(err, &ie) {
		e = ie
	}
	dst = append(dst, `{"error":{"message":`...)
	dst = AppendString(dst, e.Message)
	if e.Code != "" {
		dst = append(dst, `,"code":`...)
		dst = AppendString(dst, e.Code)
	}
	if e.Status != 0 {
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(e.Status), 10)
	}
	return append(dst, "}}"...)
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	dst = append(dst, '{')
	first := true
	for k, v := range m {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = AppendString(dst, v)
	}
	return append(dst, '}')
}

// TransformJSON runs fn on a transform's input and returns the output document (nil for
// "unchanged"). The output aliases a buffer reused by the next call.
func TransformJSON(input []byte, fn func(*Envelope) (Result, error)) []byte {
	env, err := ParseEnvelope(input)
	if err != nil {
		out = AppendError(out[:0], err)
		return out
	}
	res, err := fn(env)
	if err != nil {
		out = AppendError(out[:0], err)
		return out
	}
	switch {
	case res.Drop:
		out = append(out[:0], `{"drop":true}`...)
	case res.Body == nil:
		return nil
	default:
		out = append(append(append(out[:0], `{"body":`...), res.Body...), '}')
	}
	return out
}

// AdapterRequestJSON runs fn on iom_adapter_request's input and returns the output document.
func AdapterRequestJSON(input []byte, fn func(*ModelCall) (*HTTPRequest, error)) []byte {
	c, err := ParseModelCall(input)
	if err != nil {
		out = AppendError(out[:0], err)
		return out
	}
	r, err := fn(c)
	if err == nil && r == nil {
		err = errors.New("the adapter built no request")
	}
	if err != nil {
		out = AppendError(out[:0], err)
		return out
	}
	method := r.Method
	if method == "" {
		method = "POST"
	}
	out = append(out[:0], `{"method":`...)
	out = AppendString(out, method)
	out = append(out, `,"url":`...)
	out = AppendString(out, r.URL)
	out = append(out, `,"headers":`...)
	out = appendStringMap(out, r.Headers)
	out = append(out, `,"body":`...)
	switch {
	case r.Body != nil:
		out = append(out, r.Body...)
	case r.Text != "":
		out = AppendString(out, r.Text)
	default:
		out = append(out, "null"...)
	}
	out = append(out, '}')
	return out
}

// responseJSON wraps a canonical response, or fn's error.
func responseJSON(resp []byte, err error) []byte {
	if err == nil && len(resp) == 0 {
		err = errors.New("the plugin produced no response")
	}
	if err != nil {
		out = AppendError(out[:0], err)
		return out
	}
	out = append(out[:0], `{"response":`...)
	out = append(out, resp...)
	out = append(out, '}')
	return out
}

// AdapterResponseJSON runs fn on iom_adapter_response's input and returns the output document.
// fn returns the canonical response, or an *Error with Status for an upstream error.
func AdapterResponseJSON(input []byte, fn func(*UpstreamResponse) ([]byte, error)) []byte {
	r, err := ParseUpstreamResponse(input)
	if err != nil {
		return responseJSON(nil, err)
	}
	return responseJSON(fn(r))
}

// InferJSON runs fn on iom_infer's input and returns the output document.
func InferJSON(input []byte, fn func(*ModelCall) ([]byte, error)) []byte {
	c, err := ParseModelCall(input)
	if err != nil {
		return responseJSON(nil, err)
	}
	return responseJSON(fn(c))
}

// DescribeJSON returns iom_describe's output for d.
func DescribeJSON(d Description) []byte {
	b, err := json.Marshal(d)
	if err != nil {
		return nil
	}
	out = append(out[:0], b...)
	return out
}

// ConfigCache decodes a plugin's config with encoding/json once, and again only when the
// config changes (the host sends the same config with every call). The zero value is ready.
type ConfigCache[T any] struct {
	mu  sync.Mutex
	raw []byte
	v   *T
	err error
}

// Get returns raw decoded into a T; a null or absent config yields the zero T.
func (c *ConfigCache[T]) Get(raw Value) (*T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.v != nil && string(c.raw) == string(raw) {
		return c.v, c.err
	}
	c.raw = append(c.raw[:0], raw...)
	c.v, c.err = new(T), nil
	if !raw.IsNull() {
		if err := json.Unmarshal(raw, c.v); err != nil {
			c.err = errors.New("invalid plugin config: " + err.Error())
		}
	}
	return c.v, c.err
}
