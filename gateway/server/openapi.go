package server

import (
	"reflect"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/hub"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/wire/anthropic"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// The OpenAPI document is built from the route tables (paths, methods, summaries) and the details
// below (parameters, bodies, answers), with the schemas reflected from the Go types the handlers
// use, so it cannot drift from what the server does. A test checks every route has its details.

type opDoc struct {
	query    []string // query parameters, "name:description"
	body     any      // a value of the request body's type, or a schema name
	response any      // a value of the answer's type
	status   int      // the success status, 200 by default
	stream   bool     // the answer may be text/event-stream
}

// listOf documents {"data": [T]}.
type listOf[T any] struct {
	Data []T `json:"data"`
}

// pageDoc is one page of a listing (pageOf).
type pageDoc[T any] struct {
	Data  []T `json:"data"`
	Total int `json:"total"`
	Next  int `json:"next,omitempty"` // the offset of the next page; absent on the last
}

type errorObject struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
		Param   *string `json:"param"`
	} `json:"error"`
}

type anyJSON struct{}

var modelFilters = []string{"q:substring of id, name, description, owner, type or a tag", "type:modelType", "tag:a tag (repeatable; all must match)",
	"owner:owner", "policy:public, organization or private", "status:available, degraded or unavailable",
	"maxLatencyMs:measured (else declared) latency at most", "maxCostPerToken:cost per token at most",
	"sort:name, id, latency, cost, owner, status or type; - first for descending", pageParams[0], pageParams[1]}

var pageParams = []string{"limit:1 to 500 (default 500)", "offset:how many to skip (the next of the previous page)"}

var opDocs = map[string]opDoc{
	"POST /v1/chat/completions": {body: openai.ChatRequest{}, response: openai.ChatResponse{}, stream: true},
	"POST /v1/completions":      {body: openai.CompletionRequest{}, response: openai.CompletionResponse{}},
	"POST /v1/embeddings":       {body: openai.EmbeddingRequest{}, response: openai.EmbeddingResponse{}},
	"GET /v1/models": {response: struct {
		Object string        `json:"object"`
		Data   []openAIModel `json:"data"`
	}{}},
	"GET /v1/models/{id}":         {response: openAIModel{}},
	"POST /v1/models/{id}/invoke": {body: anyJSON{}, response: openai.ChatResponse{}},
	"POST /v1/messages":           {body: anthropic.Request{}, response: anthropic.Response{}, stream: true},
	"POST /v1/responses":          {body: openai.ResponsesRequest{}, response: openai.Response{}, stream: true},
	"GET /v1/responses/{id}":      {response: openai.Response{}},
	"DELETE /v1/responses/{id}":   {response: openai.ResponsesDeleted{}},
	"GET /v1/responses/{id}/input_items": {query: []string{"limit:1 to 100 (default 20)", "order:asc or desc (default desc)",
		"after:an item id: the page begins after it"}, response: openai.ResponsesItemList{}},
	"POST /v1/pipelines/{id}/run": {query: []string{"async:true to answer 202 at once and run in the background",
		"trace:1 to add every step's detail (execution) to the answer"}, body: anyJSON{}, response: runAnswer{}},

	"GET /healthz":                 {response: map[string]string{}},
	"GET /metrics":                 {response: "text/plain"},
	"GET /api/status":              {response: map[string]any{}},
	"POST /api/reload":             {response: map[string]any{}},
	"GET /api/models":              {query: modelFilters, response: pageDoc[registry.View]{}},
	"POST /api/models":             {body: registry.Model{}, response: registry.View{}, status: 201},
	"GET /api/models/{id}":         {response: registry.View{}},
	"PUT /api/models/{id}":         {body: registry.Model{}, response: updatedModel{}},
	"DELETE /api/models/{id}":      {status: 204},
	"POST /api/models/{id}/test":   {body: anyJSON{}, response: testReport{}},
	"GET /api/keys":                {response: listOf[keyView]{}},
	"POST /api/keys":               {body: policy.NewKeyRequest{}, response: newKeyAnswer{}, status: 201},
	"DELETE /api/keys/{id}":        {status: 204},
	"GET /api/pipelines":           {query: pageParams, response: pageDoc[pipeline.Entry]{}},
	"POST /api/pipelines":          {body: pipeline.Pipeline{}, response: pipeline.Entry{}, status: 201},
	"POST /api/pipelines/validate": {body: pipeline.Pipeline{}, response: validation{}},
	"GET /api/pipelines/{id}":      {response: pipeline.Entry{}},
	"PUT /api/pipelines/{id}":      {body: pipeline.Pipeline{}, response: pipeline.Entry{}},
	"DELETE /api/pipelines/{id}":   {status: 204},
	"POST /api/pipelines/{id}/run": {body: anyJSON{}, response: runAnswer{}},
	"GET /api/executions": {query: []string{"kind:invocation or pipeline", "pipeline:records of this pipeline", "model:requested or serving model",
		"key:key name or id", "org:organisation", "status:ok or error", "since:RFC 3339 time or Unix milliseconds", "until:RFC 3339 time or Unix milliseconds",
		"limit:1 to 500 (default 50)", "before:the next cursor of the previous page"}, response: executionList{}},
	"GET /api/executions/{id}": {response: analytics.Invocation{}},
	"GET /api/analytics": {query: []string{"range:1h, 6h, 24h, 7d or 30d", "since:start (instead of range; at most 366 days before until)", "until:end",
		"step:1m, 5m, 15m, 1h, 6h or 1d (chosen from the range by default; widened to keep 2000 points per series)", "group:model, pipeline, key or org"}, response: analytics.Report{}},
	"GET /api/plugins":      {response: listOf[hub.PluginInfo]{}},
	"GET /api/openapi.json": {response: map[string]any{}},
	"GET /":                 {response: "text/html"},
}

// runAnswer is a pipeline run's answer: the data plane's leaves out execution unless asked
// (?trace=1 or x-iom-trace: 1); the admin API's always has it.
type runAnswer struct {
	ExecutionID string              `json:"executionId"`
	Status      string              `json:"status"`
	Output      anyJSON             `json:"output"`
	Text        string              `json:"text"`
	Usage       runUsage            `json:"usage"`
	CostUSD     float64             `json:"costUsd"`
	Error       *errorObject        `json:"error,omitempty"`
	Execution   *pipeline.Execution `json:"execution,omitempty"`
}

// runUsage sums the tokens of a run's model calls.
type runUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

type newKeyAnswer struct {
	policy.Key
	Value string `json:"key"`
}

type validation struct {
	Valid  bool               `json:"valid"`
	Errors []pipeline.Problem `json:"errors"`
}

type executionList struct {
	Data []analytics.Invocation `json:"data"`
	Next string                 `json:"next"`
}

// openAPI builds the document.
func (g *Gateway) openAPI() map[string]any {
	schemas := map[string]any{}
	ref := func(v any) map[string]any {
		if s, ok := v.(string); ok {
			return map[string]any{"type": "string", "description": s}
		}
		return decode.SchemaOf(reflect.TypeOf(v), schemas, "#/components/schemas/")
	}
	schemas["Error"] = decode.SchemaOf(reflect.TypeOf(errorObject{}), schemas, "#/components/schemas/")
	paths := map[string]map[string]any{}
	add := func(rt *router, server string, auth string) {
		for _, r := range rt.routes {
			d := opDocs[r.Method+" "+r.Pattern]
			op := map[string]any{"summary": r.Summary, "servers": []any{map[string]string{"url": server}},
				"security": []any{map[string]any{auth: []string{}}}}
			if r.Pattern == "/healthz" || r.Pattern == "/metrics" || r.Pattern == "/" {
				delete(op, "security")
			}
			var params []any
			for _, seg := range strings.Split(r.Pattern, "/") {
				if strings.HasPrefix(seg, "{") {
					params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
				}
			}
			for _, q := range d.query {
				name, desc, _ := strings.Cut(q, ":")
				params = append(params, map[string]any{"name": name, "in": "query", "description": desc, "schema": map[string]string{"type": "string"}})
			}
			if params != nil {
				op["parameters"] = params
			}
			if d.body != nil {
				op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(d.body)}}}
			}
			status := d.status
			if status == 0 {
				status = 200
			}
			resp := map[string]any{"description": "success"}
			if d.response != nil {
				ct := "application/json"
				if s, ok := d.response.(string); ok {
					ct = s
				}
				content := map[string]any{ct: map[string]any{"schema": ref(d.response)}}
				if d.stream {
					content["text/event-stream"] = map[string]any{"schema": map[string]any{"type": "string", "description": "server-sent events when the request sets stream: true"}}
				}
				resp["content"] = content
			}
			op["responses"] = map[string]any{itoa(status): resp, "default": map[string]any{"description": "an error",
				"content": map[string]any{"application/json": map[string]any{"schema": map[string]string{"$ref": "#/components/schemas/Error"}}}}}
			if paths[r.Pattern] == nil {
				paths[r.Pattern] = map[string]any{}
			}
			paths[r.Pattern][strings.ToLower(r.Method)] = op
		}
	}
	add(g.data, "http://"+dialableAddr(g.DataAddr()), "gatewayKey")
	add(g.admin, "http://"+dialableAddr(g.AdminAddr()), "adminToken")
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "IoM", "version": g.opts.Version,
			"description": "The OpenAI- and Anthropic-compatible data plane and the admin API of the IoM gateway."},
		"paths": paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{
			"gatewayKey": map[string]any{"type": "http", "scheme": "bearer", "description": "a gateway key (also accepted as x-api-key)"},
			"adminToken": map[string]any{"type": "http", "scheme": "bearer", "description": "the admin token"}}},
	}
}

func dialableAddr(addr string) string {
	if strings.HasPrefix(addr, "[::]") || strings.HasPrefix(addr, "0.0.0.0") || strings.HasPrefix(addr, ":") {
		return "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return addr
}

func (g *Gateway) apiOpenAPI(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, g.openAPI())
}
