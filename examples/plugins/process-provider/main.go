// Command process-provider is an example IoM provider plugin: it answers model calls by calling
// an OpenAI-compatible upstream over its own HTTP client, plainly or streamed, as a plugin that
// needs its own network access would.
//
// Its config (the plugin entry's "config" in the gateway's file) is optional:
//
//	{"baseURL": "http://localhost:11434/v1", "timeout": "60s", "headers": {"x-team": "search"}}
//
// baseURL defaults to the model's endpoint. Build it with `go build` and name the binary in the
// gateway's config; a model then uses it as provider "plugin:<name>".
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
	iomplugin "github.com/iomhq/iom/sdk/plugin"
)

type config struct {
	BaseURL string            `json:"baseURL"`
	Timeout string            `json:"timeout"`
	Headers map[string]string `json:"headers"`
}

var paths = map[string]string{
	"chat":       "/chat/completions",
	"completion": "/completions",
	"embedding":  "/embeddings",
}

type provider struct {
	client *http.Client

	mu      sync.Mutex
	raw     string // the config last parsed, to skip parsing the same one on every call
	cfg     config
	timeout time.Duration
}

func (p *provider) config(raw json.RawMessage) (config, time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if string(raw) == p.raw && p.raw != "" {
		return p.cfg, p.timeout, nil
	}
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return c, 0, fmt.Errorf("bad plugin config: %w", err)
		}
	}
	t := 60 * time.Second
	if c.Timeout != "" {
		d, err := time.ParseDuration(c.Timeout)
		if err != nil {
			return c, 0, fmt.Errorf("bad plugin config: timeout: %w", err)
		}
		t = d
	}
	p.raw, p.cfg, p.timeout = string(raw), c, t
	return c, t, nil
}

// request builds the upstream request: the canonical body with the upstream's model name, and
// for streams a request for the usage chunk, so the gateway can count tokens.
func (p *provider) request(ctx context.Context, call iomplugin.Call, stream bool) (*http.Request, error) {
	cfg, _, err := p.config(call.Config)
	if err != nil {
		return nil, err
	}
	path, ok := paths[call.Op]
	if !ok {
		return nil, &iomplugin.UpstreamError{Status: http.StatusBadRequest, Code: "unsupported_operation",
			Message: fmt.Sprintf("this provider does not support %q calls", call.Op)}
	}
	base := cfg.BaseURL
	if base == "" {
		base = call.Model.Endpoint
	}
	if base == "" {
		return nil, errors.New("no upstream: set baseURL in the plugin's config or the model's endpoint")
	}
	b, err := upstreamBody(call.Request, call.Model.UpstreamModel, stream)
	if err != nil {
		return nil, &iomplugin.UpstreamError{Status: http.StatusBadRequest, Code: "invalid_request", Message: "request is not a JSON object"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	for k, v := range cfg.Headers {
		req.Header.Set(k, v)
	}
	if call.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+call.APIKey)
	}
	return req, nil
}

// upstreamBody is the canonical request with model set to the upstream's name (when there is
// one) and, for a stream, stream_options asking for usage. The request's other members are
// copied as they are, without decoding them.
func upstreamBody(request []byte, model string, stream bool) ([]byte, error) {
	fields, err := rawjson.ScanObject(request, make([]rawjson.Field, 0, 16))
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(request)+64)
	out = append(out, '{')
	for _, f := range fields {
		if model != "" && string(f.Key) == "model" || stream && string(f.Key) == "stream_options" {
			continue
		}
		out = rawjson.AppendString(out, string(f.Key))
		out = append(out, ':')
		out = append(out, f.Value...)
		out = append(out, ',')
	}
	if model != "" {
		out = append(out, `"model":`...)
		out = rawjson.AppendString(out, model)
		out = append(out, ',')
	}
	if stream {
		out = append(out, `"stream_options":{"include_usage":true},`...)
	}
	if out[len(out)-1] == ',' {
		out = out[:len(out)-1]
	}
	return append(out, '}'), nil
}

func (p *provider) do(ctx context.Context, call iomplugin.Call, stream bool) (*http.Response, context.CancelFunc, error) {
	_, timeout, err := p.config(call.Config)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := p.request(ctx, call, stream)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		cancel()
		code := "upstream_unreachable"
		if errors.Is(err, context.DeadlineExceeded) {
			code = "upstream_timeout"
		}
		return nil, nil, &iomplugin.UpstreamError{Status: 0, Code: code, Message: err.Error()}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer cancel()
		defer resp.Body.Close()
		return nil, nil, upstreamError(resp)
	}
	return resp, cancel, nil
}

func (p *provider) Complete(ctx context.Context, call iomplugin.Call) ([]byte, error) {
	resp, cancel, err := p.do(ctx, call, false)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, &iomplugin.UpstreamError{Status: 0, Code: "upstream_unreachable", Message: "reading the answer: " + err.Error()}
	}
	return b, nil
}

func (p *provider) Stream(ctx context.Context, call iomplugin.Call, send func([]byte) error) error {
	resp, cancel, err := p.do(ctx, call, true)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	// Server-sent events: "data: <json>" lines, ended by "data: [DONE]". Multi-line events and
	// comments are rare in OpenAI-compatible servers; this example handles single-line data.
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			return nil
		}
		if err := send(data); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return &iomplugin.UpstreamError{Status: 0, Code: "upstream_stream_broken", Message: err.Error()}
	}
	return &iomplugin.UpstreamError{Status: 0, Code: "upstream_stream_broken", Message: "the stream ended without [DONE]"}
}

// upstreamError reports an upstream's error answer, passing an OpenAI error object on as is.
func upstreamError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &iomplugin.UpstreamError{Status: resp.StatusCode, Message: http.StatusText(resp.StatusCode)}
	var oe struct {
		Error *struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &oe) == nil && oe.Error != nil {
		e.Message, e.Body = oe.Error.Message, body
		if s, ok := oe.Error.Code.(string); ok {
			e.Code = s
		}
	} else if s := strings.TrimSpace(string(body)); s != "" {
		e.Message = s
	}
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		e.RetryAfter = n
	}
	return e
}

func main() {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64 // one upstream, many calls at once
	iomplugin.ServeProvider(&provider{client: &http.Client{Transport: t}})
}
