// Command textgen-adapter is a provider adapter for a plain text-generation API that is not
// OpenAI's, of the kind many self-hosted servers expose:
//
//	POST {endpoint}/generate  {"prompt": "...", "max_new_tokens": 256}
//	200                       {"generated_text": "...", "tokens": {"input": 12, "output": 40}}
//	4xx/5xx                   {"error": "..."}
//
// It serves the chat and completion ops. A pair of pure functions: iom_adapter_request turns
// the canonical request into that call (the key goes in as the ${apiKey} placeholder, so the
// guest never sees it), the host makes the call, and iom_adapter_response turns the answer into
// an OpenAI chat.completion or text_completion with usage. Config (optional):
//
//	{"path": "/generate", "maxNewTokens": 256}
package main

import (
	"strconv"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

type config struct {
	Path         string `json:"path"`
	MaxNewTokens int    `json:"maxNewTokens"`
}

var cfg iomwasm.ConfigCache[config]

//go:wasmexport iom_adapter_request
func adapterRequest(ptr, size uint32) uint64 { return iomwasm.AdapterRequest(ptr, size, buildRequest) }

//go:wasmexport iom_adapter_response
func adapterResponse(ptr, size uint32) uint64 {
	return iomwasm.AdapterResponse(ptr, size, readResponse)
}

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "textgen-adapter", Language: "go", Roles: []string{"adapter"}, Version: "1.0.0"})
}

// prompt flattens a chat request into one prompt ("role: text" lines, then "assistant:"), or
// returns a completion's prompt as it is.
func prompt(op string, req iomwasm.Value) (string, error) {
	switch op {
	case "completion":
		return strings.Join(iomwasm.Strings(req.Get("prompt")), "\n"), nil
	case "chat":
		var b strings.Builder
		req.Get("messages").Each(func(_ int, m iomwasm.Value) bool {
			b.WriteString(m.Get("role").Str())
			b.WriteString(": ")
			b.WriteString(iomwasm.MessageText(m))
			b.WriteByte('\n')
			return true
		})
		b.WriteString("assistant:")
		return b.String(), nil
	}
	return "", &iomwasm.Error{Code: "unsupported_op", Status: 400, Message: "textgen-adapter serves chat and completion, not " + op}
}

func buildRequest(c *iomwasm.ModelCall) (*iomwasm.HTTPRequest, error) {
	conf, err := cfg.Get(c.Config)
	if err != nil {
		return nil, err
	}
	p, err := prompt(c.Op, c.Request)
	if err != nil {
		return nil, err
	}
	maxTokens := int64(conf.MaxNewTokens)
	if maxTokens <= 0 {
		maxTokens = 256
	}
	for _, k := range []string{"max_completion_tokens", "max_tokens"} {
		if n, ok := c.Request.Get(k).Int(); ok && n > 0 {
			maxTokens = n
			break
		}
	}
	path := conf.Path
	if path == "" {
		path = "/generate"
	}
	body := iomwasm.AppendString([]byte(`{"prompt":`), p)
	body = append(body, `,"max_new_tokens":`...)
	body = strconv.AppendInt(body, maxTokens, 10)
	body = append(body, '}')
	return &iomwasm.HTTPRequest{
		Method:  "POST",
		URL:     strings.TrimRight(c.Model.Endpoint, "/") + path,
		Headers: map[string]string{"Authorization": "Bearer ${apiKey}", "Content-Type": "application/json"},
		Body:    body,
	}, nil
}

func readResponse(r *iomwasm.UpstreamResponse) ([]byte, error) {
	if r.Status < 200 || r.Status > 299 {
		msg := r.Body.Get("error").Str()
		if msg == "" {
			msg = r.Body.Str() // a body that was not JSON arrives as a string
		}
		// The gateway's convention: a request the upstream found bad keeps its status,
		// a rate limit stays 429, anything else is a bad gateway.
		status := 502
		if r.Status == 400 || r.Status == 404 || r.Status == 413 || r.Status == 422 || r.Status == 429 {
			status = r.Status
		}
		return nil, &iomwasm.Error{Code: "upstream_error", Status: status,
			Message: "textgen upstream returned HTTP " + strconv.Itoa(r.Status) + ": " + msg}
	}
	text, ok := r.Body.Get("generated_text").Text()
	if !ok {
		return nil, &iomwasm.Error{Code: "upstream_error", Status: 502, Message: "textgen upstream answered without generated_text"}
	}
	in, _ := r.Body.Path("tokens", "input").Int()
	out, _ := r.Body.Path("tokens", "output").Int()
	model := r.Request.Get("model").Str()
	if r.Op == "completion" {
		return iomwasm.TextCompletion(model, text, int(in), int(out)), nil
	}
	return iomwasm.ChatCompletion(model, text, int(in), int(out)), nil
}
