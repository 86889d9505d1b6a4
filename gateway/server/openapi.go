package server

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/hub"
	"github.com/iomhq/iom/gateway/mcp"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/spec"
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

// modelPage is the model listing: a page of views, and where their live numbers come from.
type modelPage struct {
	Data  []registry.View `json:"data"`
	Total int             `json:"total"`
	Next  int             `json:"next,omitempty"` // the offset of the next page; absent on the last
	// StatsSource is victoriaMetrics (the whole cluster's last 24 hours, with
	// metrics.victoriaMetrics) or local (this node's, with its peers' through Redis).
	StatsSource string `json:"statsSource"`
}

type errorObject struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    *string `json:"code"`
	Param   *string `json:"param"`
}

// anyJSON is any JSON value: an object, an array, a string, a number, true, false or null.
type anyJSON = json.RawMessage

var modelFilters = []string{"q:substring of id, name, description, owner, type or a tag", "type:modelType (tool: the MCP tools clients may see, listed read-only beside the models)", "tag:a tag (repeatable; all must match)",
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
	"GET /v1/models/{id}":            {response: openAIModel{}},
	"POST /v1/models/{id}/invoke":    {body: anyJSON{}, response: openai.ChatResponse{}},
	"POST /v1/messages":              {body: anthropic.Request{}, response: anthropic.Response{}, stream: true},
	"POST /v1/messages/count_tokens": {body: anthropic.Request{}, response: tokenCount{}},
	"POST /v1/responses":             {body: openai.ResponsesRequest{}, response: openai.Response{}, stream: true},
	"GET /v1/responses/{id}":         {response: openai.Response{}},
	"DELETE /v1/responses/{id}":      {response: openai.ResponsesDeleted{}},
	"GET /v1/responses/{id}/input_items": {query: []string{"limit:1 to 100 (default 20)", "order:asc or desc (default desc)",
		"after:an item id: the page begins after it"}, response: openai.ResponsesItemList{}},
	"POST /v1/pipelines/{id}/run": {query: []string{"async:true to answer 202 at once and run in the background",
		"trace:1 to add every step's detail (execution) to the answer"}, body: anyJSON{}, response: runAnswer{}},
	"POST /mcp":   {body: anyJSON{}, response: anyJSON{}, stream: true},
	"GET /mcp":    {response: "text/event-stream"},
	"DELETE /mcp": {status: 204},

	"GET /healthz":                 {response: map[string]string{}},
	"GET /metrics":                 {response: "text/plain"},
	"GET /api/status":              {response: gatewayStatus{}},
	"POST /api/reload":             {response: gatewayStatus{}},
	"GET /api/cluster":             {response: clusterView{}},
	"GET /api/models":              {query: modelFilters, response: modelPage{}},
	"POST /api/models":             {body: spec.Model{}, response: registry.View{}, status: 201},
	"GET /api/models/{id}":         {response: registry.View{}},
	"PUT /api/models/{id}":         {body: spec.Model{}, response: updatedModel{}},
	"DELETE /api/models/{id}":      {status: 204},
	"POST /api/models/{id}/test":   {body: anyJSON{}, response: testReport{}},
	"GET /api/keys":                {response: listOf[listedKey]{}},
	"POST /api/keys":               {body: policy.NewKeyRequest{}, response: newKeyAnswer{}, status: 201},
	"DELETE /api/keys/{id}":        {status: 204},
	"GET /api/pipelines":           {query: pageParams, response: pageDoc[pipelineEntry]{}},
	"POST /api/pipelines":          {body: pipelineInput{}, response: pipelineEntry{}, status: 201},
	"POST /api/pipelines/validate": {body: pipelineInput{}, response: validation{}},
	"GET /api/pipelines/{id}":      {response: pipelineEntry{}},
	"PUT /api/pipelines/{id}":      {body: pipelineInput{}, response: pipelineEntry{}},
	"DELETE /api/pipelines/{id}":   {status: 204},
	"POST /api/pipelines/{id}/run": {body: anyJSON{}, response: runAnswer{}},
	"GET /api/executions": {query: []string{"kind:invocation or pipeline", "pipeline:records of this pipeline", "model:requested or serving model",
		"key:key name or id", "org:organisation", "status:ok or error", "since:RFC 3339 time or Unix milliseconds", "until:RFC 3339 time or Unix milliseconds",
		"limit:1 to 500 (default 50)", "before:the next cursor of the previous page"}, response: executionList{}},
	"GET /api/executions/{id}": {response: executionRecord{}},
	"GET /api/analytics": {query: []string{"range:1h, 6h, 24h, 7d or 30d", "since:start (instead of range; at most 366 days before until)", "until:end",
		"step:1m, 5m, 15m, 1h, 6h or 1d (chosen from the range by default; widened to keep 2000 points per series)", "group:model, pipeline, key or org"}, response: analytics.Report{}},
	"GET /api/plugins":                             {response: listOf[hub.PluginInfo]{}},
	"GET /api/mcp-servers":                         {response: pageDoc[mcp.ServerView]{}},
	"POST /api/mcp-servers":                        {body: spec.MCPServer{}, response: mcp.ServerView{}, status: 201},
	"GET /api/mcp-servers/{id}":                    {response: mcp.ServerView{}},
	"PUT /api/mcp-servers/{id}":                    {body: spec.MCPServer{}, response: updatedMCPServer{}},
	"DELETE /api/mcp-servers/{id}":                 {status: 204},
	"GET /api/mcp-servers/{id}/tools":              {response: listOf[mcp.ToolView]{}},
	"POST /api/mcp-servers/{id}/tools/{name}/call": {body: toolCall{}, response: toolCallAnswer{}},
	"GET /api/openapi.json":                        {response: map[string]any{}},
	"GET /":                                        {response: "text/html"},
}

// gatewayStatus is the status the admin API answers (status in admin.go writes it as a map).
type gatewayStatus struct {
	Version     string        `json:"version"`
	StartedAt   time.Time     `json:"startedAt"`
	Listen      string        `json:"listen"`
	AdminListen string        `json:"adminListen"`
	Config      string        `json:"config"` // the config file, or "" when started without one
	Models      int           `json:"models"`
	Keys        int           `json:"keys"`
	LastReload  *ReloadStatus `json:"lastReload"` // null until the first reload
	// TraceURL is telemetry.traceUrl: a link to a trace viewer, {traceId} standing for the id.
	TraceURL string `json:"traceUrl,omitempty"`
}

// listedKey is a keyView as encoding/json writes it, and pipelineEntry a pipeline.Entry: with the
// fields of the embedded *policy.Key and *spec.Pipeline in place (decode.SchemaOf does not
// flatten embedded pointers, encoding/json does).
type listedKey struct {
	policy.Key
	Usage policy.Usage `json:"usage"`
}

type pipelineEntry struct {
	spec.Pipeline
	Problems spec.Problems `json:"problems,omitempty"`
}

// runAnswer is a pipeline run's answer (pipelineAnswer): the data plane's leaves out execution
// unless asked (?trace=1 or x-iom-trace: 1); the admin API's always has it. An async run's
// answer (202) has only executionId, status (running) and poll, which the others do not have.
type runAnswer struct {
	ExecutionID string              `json:"executionId"`
	Status      string              `json:"status"`
	Output      anyJSON             `json:"output,omitempty"`
	Text        string              `json:"text,omitempty"`
	Usage       *runUsage           `json:"usage,omitempty"`
	CostUSD     float64             `json:"costUsd,omitempty"`
	Error       *errorDetail        `json:"error,omitempty"` // a failed run's (the answer's status is the error's)
	Execution   *pipeline.Execution `json:"execution,omitempty"`
	Poll        string              `json:"poll,omitempty"` // an async run's: where its execution is
}

// tokenCount is the answer of POST /v1/messages/count_tokens.
type tokenCount struct {
	InputTokens int64 `json:"input_tokens"`
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
	Valid  bool           `json:"valid"`
	Errors []spec.Problem `json:"errors"`
}

type executionList struct {
	Data []executionRecord `json:"data"`
	Next string            `json:"next"`
	// ClusterError says why the other nodes' runs are missing from a cluster's listing.
	ClusterError string `json:"clusterError,omitempty"`
}

// executionRecord is a record of the executions API: an invocation or a pipeline execution, as
// its kind says.
type executionRecord struct{}

func (executionRecord) oneOf() (string, map[string]any) {
	return "kind", map[string]any{"invocation": analytics.Invocation{}, "pipeline": pipeline.Execution{}}
}

// oneOfDoc is a type documented as one of several (variants, by the value of property).
type oneOfDoc interface {
	oneOf() (property string, variants map[string]any)
}

// openAPI builds the document.
func (g *Server) openAPI() map[string]any {
	b := &docBuilder{schemas: map[string]any{}, described: map[reflect.Type]bool{}}
	schemas := b.schemas
	schemas["Error"] = b.answer(errorObject{})
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
				op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": b.body(d.body)}}}
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
				content := map[string]any{ct: map[string]any{"schema": b.answer(d.response)}}
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

// docBuilder makes the document's schemas.
type docBuilder struct {
	schemas   map[string]any
	described map[reflect.Type]bool
}

const schemaRef = "#/components/schemas/"

// body is the schema of a request body of v's type (or of a content type, for a string): what
// the decoder accepts, where no property is required.
func (b *docBuilder) body(v any) map[string]any {
	if s, ok := v.(string); ok {
		return map[string]any{"type": "string", "description": s}
	}
	return decode.SchemaOf(reflect.TypeOf(v), b.schemas, schemaRef)
}

// answer is the schema of an answer of v's type (or of a content type, for a string).
func (b *docBuilder) answer(v any) map[string]any {
	s := b.body(v)
	if _, ok := v.(string); !ok {
		b.describe(reflect.TypeOf(v), s)
	}
	return s
}

// describe adds to the schema s of type t (and to those of the types in it) what
// decode.SchemaOf leaves out because the decoder does not need it, but a client reading answers
// does: which properties every answer has (required: those encoding/json always writes, without
// omitempty or omitzero), and which of those may be null (nullable: pointers; the API writes
// empty lists and maps as [] and {}), and what a oneOfDoc type is.
func (b *docBuilder) describe(t reflect.Type, s map[string]any) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if r, ok := s["$ref"].(string); ok {
		if b.described[t] {
			return
		}
		b.described[t] = true
		name := strings.TrimPrefix(r, schemaRef)
		if u, ok := reflect.Zero(t).Interface().(oneOfDoc); ok {
			prop, variants := u.oneOf()
			var refs []any
			mapping := map[string]any{}
			for _, value := range slices.Sorted(maps.Keys(variants)) {
				v := b.answer(variants[value])
				refs = append(refs, v)
				mapping[value] = v["$ref"]
			}
			b.schemas[name] = map[string]any{"oneOf": refs, "discriminator": map[string]any{"propertyName": prop, "mapping": mapping}}
			return
		}
		def, _ := b.schemas[name].(map[string]any)
		b.describe(t, def)
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if items, ok := s["items"].(map[string]any); ok {
			b.describe(t.Elem(), items)
		}
	case reflect.Map:
		if values, ok := s["additionalProperties"].(map[string]any); ok {
			b.describe(t.Elem(), values)
		}
	case reflect.Struct:
		props, ok := s["properties"].(map[string]any)
		if !ok { // a type that encodes itself (time.Time, a secret, a json.Marshaler)
			return
		}
		var required []string
		for _, f := range jsonFields(t) {
			p, ok := props[f.name].(map[string]any)
			if !ok {
				continue
			}
			b.describe(f.typ, p)
			if f.omit {
				continue
			}
			required = append(required, f.name)
			if f.typ.Kind() == reflect.Pointer {
				if r, ok := p["$ref"]; ok { // OpenAPI 3.0 ignores what is beside a $ref
					p = map[string]any{"allOf": []any{map[string]any{"$ref": r}}}
					props[f.name] = p
				}
				p["nullable"] = true
			}
		}
		if required != nil {
			slices.Sort(required)
			s["required"] = required
		}
	}
}

type jsonField struct {
	name string
	typ  reflect.Type
	omit bool // omitempty or omitzero: absent when empty
}

// jsonFields lists the fields of struct t as decode.SchemaOf names them (embedded structs'
// fields in place of the struct).
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := false
		for _, o := range strings.Split(opts, ",") {
			omit = omit || o == "omitempty" || o == "omitzero"
		}
		out = append(out, jsonField{name, f.Type, omit})
	}
	return out
}

func dialableAddr(addr string) string {
	if strings.HasPrefix(addr, "[::]") || strings.HasPrefix(addr, "0.0.0.0") || strings.HasPrefix(addr, ":") {
		return "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return addr
}

func (g *Server) apiOpenAPI(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, g.openAPI())
}
