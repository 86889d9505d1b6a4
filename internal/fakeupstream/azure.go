package fakeupstream

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// Azure is a fake Azure OpenAI resource. It serves deployments at
// /openai/deployments/{deployment}/{chat/completions,completions,embeddings}?api-version=… and
// Azure AI Foundry's OpenAI-compatible API at /openai/v1/…, whose body's model names the
// deployment. Like Azure it wants the api-key header (or an Entra token as a bearer), an
// api-version it supports on deployment paths, a deployment that exists, and no request member
// it does not know; its answers are OpenAI's, with Azure's content filter results, and a
// stream's first chunk has no choices but the prompt's filter results.
//
// It answers an echo of the last user text; a tool call of the first tool when the user asks
// about the weather; "the tool said …" to a tool result. Tokens are words.
type Azure struct {
	// URL is the resource's endpoint (no path).
	URL string
	// Key is the api-key it accepts, Token the Entra token it accepts as "Authorization: Bearer".
	Key, Token string
	// Deployments are the deployments it has (default: any but "missing").
	Deployments []string
	// Faults, when set, decides a fault per request (n counts requests from 1).
	Faults func(n int64, r *Received) Fault

	fake
}

// AzureVersions are the api-versions the fake supports on deployment paths.
var AzureVersions = []string{"2024-02-01", "2024-06-01", "2024-10-21", "2025-01-01-preview", "2025-04-01-preview"}

// StartAzure starts the fake on a free port of 127.0.0.1.
func StartAzure(key string) (*Azure, error) {
	a := &Azure{Key: key}
	url, err := a.start("fake-azure", a.handle)
	if err != nil {
		return nil, err
	}
	a.URL = url
	return a, nil
}

// azureFail answers an Azure error: OpenAI's shape, with Azure's codes.
func azureFail(ctx *fasthttp.RequestCtx, status int, code any, msg string) {
	ctx.SetStatusCode(status)
	writeJSON(ctx, map[string]any{"error": map[string]any{"code": code, "message": msg, "type": "invalid_request_error", "param": nil}})
}

var azurePath = regexp.MustCompile(`^/openai/(?:deployments/([^/]+)|v1)/(chat/completions|completions|embeddings)$`)

// azureMembers are the request members Azure knows, per operation.
var azureMembers = map[string][]string{
	"chat/completions": {"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "n", "stop", "stream",
		"stream_options", "tools", "tool_choice", "parallel_tool_calls", "response_format", "seed", "user", "logprobs", "top_logprobs",
		"presence_penalty", "frequency_penalty", "logit_bias", "reasoning_effort", "data_sources", "store", "metadata", "modalities",
		"prediction", "audio"},
	"completions": {"model", "prompt", "max_tokens", "temperature", "top_p", "n", "stop", "stream", "stream_options", "user", "seed",
		"logprobs", "echo", "best_of", "suffix", "presence_penalty", "frequency_penalty", "logit_bias"},
	"embeddings": {"model", "input", "encoding_format", "dimensions", "user", "input_type"},
}

func (a *Azure) handle(ctx *fasthttp.RequestCtx) {
	r, n := a.receive(ctx)

	if !a.authorized(r) {
		azureFail(ctx, 401, "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
		return
	}
	m := azurePath.FindStringSubmatch(string(ctx.Path()))
	if m == nil || !ctx.IsPost() {
		azureFail(ctx, 404, "404", "Resource not found")
		return
	}
	deployment, op := m[1], m[2]
	version := string(ctx.QueryArgs().Peek("api-version"))
	v1 := deployment == ""
	switch {
	case !v1 && version == "":
		azureFail(ctx, 404, "404", "Resource not found")
		return
	case !v1 && !slices.Contains(AzureVersions, version), v1 && version != "" && version != "preview" && version != "latest":
		azureFail(ctx, 400, "BadRequest", "API version not supported")
		return
	}
	if a.Faults != nil {
		if f := a.Faults(n, &r); f.Status != 0 {
			if f.RetryAfter != "" {
				ctx.Response.Header.Set("Retry-After", f.RetryAfter)
			}
			azureFail(ctx, f.Status, fmt.Sprint(f.Status), fmt.Sprintf("injected failure %d", f.Status))
			return
		}
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &body); err != nil {
		azureFail(ctx, 400, nil, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)")
		return
	}
	for k := range body {
		if !slices.Contains(azureMembers[op], k) {
			azureFail(ctx, 400, nil, "Unrecognized request argument supplied: "+k)
			return
		}
	}
	if v1 {
		json.Unmarshal(body["model"], &deployment)
	}
	if !a.hasDeployment(deployment) {
		azureFail(ctx, 404, "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
		return
	}
	switch op {
	case "chat/completions":
		a.chat(ctx, deployment, r.Body)
	case "completions":
		var req struct{ Prompt string }
		json.Unmarshal(r.Body, &req)
		reply := "echo: " + req.Prompt
		writeJSON(ctx, map[string]any{"id": "cmpl-azure", "object": "text_completion", "created": 1, "model": deployment,
			"choices": []any{map[string]any{"index": 0, "text": reply, "finish_reason": "stop"}}, "usage": usage(words(req.Prompt), words(reply))})
	case "embeddings":
		a.embeddings(ctx, deployment, body["input"])
	}
}

// authorized checks the api-key header, or the bearer token of Entra ID.
func (a *Azure) authorized(r Received) bool {
	if k := r.Header["api-key"]; k != "" {
		return k == a.Key
	}
	tok, ok := strings.CutPrefix(r.Authorization, "Bearer ")
	return ok && a.Token != "" && tok == a.Token
}

func (a *Azure) hasDeployment(name string) bool {
	if a.Deployments == nil {
		return name != "" && name != "missing"
	}
	return slices.Contains(a.Deployments, name)
}

// azureChatRequest is what the fake reads of a chat request.
type azureChatRequest struct {
	Messages []struct {
		Role       string `json:"role"`
		Content    any    `json:"content"`
		ToolCallID string `json:"tool_call_id"`
		ToolCalls  []struct {
			ID string `json:"id"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

var azureFilter = map[string]any{"hate": map[string]any{"filtered": false, "severity": "safe"},
	"self_harm": map[string]any{"filtered": false, "severity": "safe"}, "sexual": map[string]any{"filtered": false, "severity": "safe"},
	"violence": map[string]any{"filtered": false, "severity": "safe"}}

func (a *Azure) chat(ctx *fasthttp.RequestCtx, deployment string, raw []byte) {
	var req azureChatRequest
	if err := json.Unmarshal(raw, &req); err != nil || len(req.Messages) == 0 {
		azureFail(ctx, 400, nil, "'messages' is a required property")
		return
	}
	last := req.Messages[len(req.Messages)-1]
	text := contentText(last.Content)
	all := ""
	for _, m := range req.Messages {
		all += contentText(m.Content) + " "
	}
	msg := map[string]any{"role": "assistant"}
	finish := "stop"
	var call map[string]any
	switch {
	case last.Role == "tool":
		msg["content"] = "the tool said " + text
	case len(req.Tools) > 0 && strings.Contains(text, "weather"):
		call = map[string]any{"id": "call_azure_1", "type": "function", "function": map[string]any{"name": req.Tools[0].Function.Name, "arguments": `{"city":"Paris"}`}}
		msg["content"], msg["tool_calls"] = nil, []any{call}
		finish = "tool_calls"
	default:
		msg["content"] = "echo: " + text
	}
	reply, _ := msg["content"].(string)
	u := usage(words(all), words(reply))
	if !req.Stream {
		writeJSON(ctx, map[string]any{"id": "chatcmpl-azure", "object": "chat.completion", "created": 1, "model": deployment,
			"prompt_filter_results": []any{map[string]any{"prompt_index": 0, "content_filter_results": azureFilter}},
			"choices":               []any{map[string]any{"index": 0, "finish_reason": finish, "message": msg, "content_filter_results": azureFilter}},
			"usage":                 u})
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	ctx.SetContentType("text/event-stream")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		send := func(v any) {
			b, _ := json.Marshal(v)
			fmt.Fprintf(w, "data: %s\n\n", b)
			w.Flush()
		}
		chunk := func(delta map[string]any, finish any) map[string]any {
			return map[string]any{"id": "chatcmpl-azure", "object": "chat.completion.chunk", "created": 1, "model": deployment,
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "content_filter_results": map[string]any{}}}}
		}
		// As Azure: the prompt's filter results come first, in a chunk without choices.
		send(map[string]any{"id": "", "object": "", "created": 0, "model": "", "choices": []any{},
			"prompt_filter_results": []any{map[string]any{"prompt_index": 0, "content_filter_results": azureFilter}}})
		send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
		if call != nil {
			send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": call["id"], "type": "function",
				"function": map[string]any{"name": req.Tools[0].Function.Name, "arguments": ""}}}}, nil))
			for _, piece := range []string{`{"city":`, `"Paris"}`} {
				send(chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": piece}}}}, nil))
			}
		}
		for _, p := range strings.SplitAfter(reply, " ") {
			if p != "" {
				send(chunk(map[string]any{"content": p}, nil))
			}
		}
		send(chunk(map[string]any{}, finish))
		if includeUsage {
			send(map[string]any{"id": "chatcmpl-azure", "object": "chat.completion.chunk", "created": 1, "model": deployment, "choices": []any{}, "usage": u})
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		w.Flush()
	})
}

func (a *Azure) embeddings(ctx *fasthttp.RequestCtx, deployment string, raw json.RawMessage) {
	var inputs []string
	var one string
	if json.Unmarshal(raw, &one) == nil {
		inputs = []string{one}
	} else if err := json.Unmarshal(raw, &inputs); err != nil || len(inputs) == 0 {
		azureFail(ctx, 400, nil, "'input' is a required property")
		return
	}
	data := make([]any, len(inputs))
	total := 0
	for i, s := range inputs {
		total += words(s)
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": []float64{float64(len(s)), 0.25, float64(words(s))}}
	}
	writeJSON(ctx, map[string]any{"object": "list", "model": deployment, "data": data,
		"usage": map[string]any{"prompt_tokens": total, "total_tokens": total}})
}
