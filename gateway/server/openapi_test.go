package server

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
)

var update = flag.Bool("update", false, "rewrite console/openapi.json")

// openAPIFile is the copy of the document the console's API types are generated from
// (console/src/lib/api.gen.ts: npm run gen:api in console/).
const openAPIFile = "../../console/openapi.json"

// TestOpenAPIFile keeps console/openapi.json equal to the document the gateway serves, so the
// console's generated types follow the Go types: Go types → openapi.json → api.gen.ts → tsc.
func TestOpenAPIFile(t *testing.T) {
	g := &Server{}
	g.data, g.admin = g.dataRoutes(), g.adminRoutes()
	got, err := json.MarshalIndent(g.openAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(openAPIFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, _ := os.ReadFile(openAPIFile)
	if string(got) != string(want) {
		t.Fatalf("%s is out of date: go test ./gateway/server -run OpenAPI -update && cd console && npm run gen:api", openAPIFile)
	}
}

// TestOpenAPICoversEveryRoute keeps the API reference true: every route the server registers
// must be documented, with its details, and nothing documented may be missing from the server.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	g := &Server{}
	g.data, g.admin = g.dataRoutes(), g.adminRoutes()
	doc := g.openAPI()
	paths := doc["paths"].(map[string]map[string]any)
	registered := map[string]bool{}
	for _, rt := range []*router{g.data, g.admin} {
		for _, r := range rt.routes {
			key := r.Method + " " + r.Pattern
			registered[key] = true
			if _, ok := opDocs[key]; !ok {
				t.Errorf("route %s has no entry in opDocs", key)
			}
			op, ok := paths[r.Pattern][strings.ToLower(r.Method)].(map[string]any)
			if !ok {
				t.Errorf("route %s is not in the document", key)
				continue
			}
			if op["summary"] == "" {
				t.Errorf("route %s has no summary", key)
			}
		}
	}
	for key := range opDocs {
		if !registered[key] {
			t.Errorf("opDocs documents %s, which the server does not serve", key)
		}
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"SpecModel", "RegistryView", "ServerpipelineEntry", "ServerpipelineInput", "AnalyticsInvocation", "PipelineExecution", "AnalyticsReport", "Error"} {
		if _, ok := schemas[name]; !ok {
			t.Errorf("schema %s is missing", name)
		}
	}
	model := schemas["SpecModel"].(map[string]any)["properties"].(map[string]any)
	if model["apiKey"].(map[string]any)["writeOnly"] != true {
		t.Errorf("apiKey should be write-only: %v", model["apiKey"])
	}
}

// The document's answers are what the handlers write, where they write something other than
// the type documented (a map, a type with an embedded pointer, raw JSON): each is checked
// against its schema, with the properties it requires and none it does not know.
func TestOpenAPIDescribesAnswers(t *testing.T) {
	g := &Server{}
	g.data, g.admin = g.dataRoutes(), g.adminRoutes()
	schemas := g.openAPI()["components"].(map[string]any)["schemas"].(map[string]any)
	check := func(schema string, v any) {
		t.Helper()
		b, ok := v.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		for _, e := range conform(schemas, map[string]any{"$ref": schemaRef + schema}, doc, schema) {
			t.Errorf("%s\n%s", e, b)
		}
	}

	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g.reg, err = registry.Open(st, func(string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if g.keys, err = policy.OpenKeyring(st); err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	g.status(&ctx, nil)
	check("ServergatewayStatus", ctx.Response.Body())
	g.NoteReload(&ReloadStatus{At: time.Now(), Error: "bad"})
	ctx.Response.Reset()
	g.status(&ctx, nil)
	check("ServergatewayStatus", ctx.Response.Body())

	key := &policy.Key{ID: "k1", Name: "ci", Org: "acme", Models: []string{"m"}, Limits: &spec.Limits{RPS: 1, Budget: &spec.Budget{USD: 5}},
		Prefix: "iom-ab", ManagedBy: "api", CreatedAt: time.Now()}
	check("ServerlistedKey", keyView{Key: key, Usage: policy.Usage{SpentUSD: 1, PeriodStart: time.Now()}})
	check("ServerlistedKey", keyView{Key: &policy.Key{ID: "k2", Name: "bare"}})

	p := &spec.Pipeline{ID: "p", Name: "P", Nodes: []spec.Node{{ID: "in", Type: "input", Position: &spec.Position{X: 1}},
		{ID: "m", Type: "model", Data: spec.NodeData{Model: "gpt"}}}, Edges: []spec.Edge{{Source: "in", Target: "m"}},
		InputSchema: json.RawMessage(`{"type":"object"}`), CreatedAt: time.Now()}
	check("ServerpipelineEntry", pipeline.Entry{Pipeline: p, Problems: spec.Problems{{Node: "m", Message: "unknown model"}}})
	check("ServerpipelineEntry", pipeline.Entry{Pipeline: &spec.Pipeline{ID: "q", Nodes: []spec.Node{}, Edges: []spec.Edge{}}})

	x := &pipeline.Execution{ID: "x", Kind: "pipeline", Pipeline: "p", Status: "error", Steps: []pipeline.StepRecord{{ID: "in", Status: "ok"}}}
	fe := fault.Invalid("input", "bad input")
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(fe.AppendJSON(nil), &wrapped); err != nil {
		t.Fatal(err)
	}
	check("ServerrunAnswer", pipelineAnswer{ExecutionID: "x", Status: "error", Output: map[string]any{"a": 1}, Error: wrapped.Error, Execution: x.JSON()})
	check("ServerrunAnswer", pipelineAnswer{ExecutionID: "x", Status: "ok", Output: nil, Text: "hi"})
	check("ServerrunAnswer", map[string]any{"executionId": "x", "status": "running", "poll": "/api/executions/x"})
	check("Error", fe.AppendJSON(nil))
	check("Error", fault.NotFound("model_not_found", "no such model").AppendJSON(nil))

	check("ServerexecutionRecord", x.JSON())
	check("ServerexecutionRecord", analytics.Invocation{ID: "i", Kind: "invocation", Status: "ok", Attempts: []analytics.Attempt{{Model: "m"}}})
	check("ServerexecutionList", map[string]any{"data": []json.RawMessage{x.JSON()}, "next": ""})
	check("Servervalidation", map[string]any{"valid": false, "errors": []spec.Problem{{Message: "bad"}}})

	// The check itself tells a missing property, an unknown one, and null where none may be.
	for _, bad := range []string{`{"id":"k","name":"n","prefix":"p","usage":{"spentUsd":0,"tokensThisMinute":0}}`,
		`{"id":"k","name":"n","prefix":"p","managedBy":"api","usage":{"spentUsd":0,"tokensThisMinute":0},"extra":1}`,
		`{"id":"k","name":"n","prefix":"p","managedBy":"api","usage":null}`} {
		var doc any
		json.Unmarshal([]byte(bad), &doc)
		if conform(schemas, map[string]any{"$ref": schemaRef + "ServerlistedKey"}, doc, "key") == nil {
			t.Errorf("conform accepted %s", bad)
		}
	}
}

// conform lists where v (decoded JSON) does not match schema s of the document's schemas.
func conform(schemas, s map[string]any, v any, path string) []string {
	if r, ok := s["$ref"].(string); ok {
		return conform(schemas, schemas[strings.TrimPrefix(r, schemaRef)].(map[string]any), v, path)
	}
	if v == nil {
		if s["nullable"] == true || s["type"] == nil && s["allOf"] == nil && s["oneOf"] == nil {
			return nil
		}
		return []string{path + ": null"}
	}
	var errs []string
	for _, a := range sliceOf(s["allOf"]) {
		errs = append(errs, conform(schemas, a.(map[string]any), v, path)...)
	}
	if one := sliceOf(s["oneOf"]); one != nil {
		for _, o := range one {
			if conform(schemas, o.(map[string]any), v, path) == nil {
				return errs
			}
		}
		return append(errs, path+": matches none of oneOf")
	}
	wrong := func() []string { return append(errs, fmt.Sprintf("%s: %T is not %v", path, v, s["type"])) }
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return wrong()
		}
		req, _ := s["required"].([]string)
		for _, r := range req {
			if _, ok := m[r]; !ok {
				errs = append(errs, path+"."+r+": missing")
			}
		}
		props, _ := s["properties"].(map[string]any)
		for k, x := range m {
			if p, ok := props[k].(map[string]any); ok {
				errs = append(errs, conform(schemas, p, x, path+"."+k)...)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				errs = append(errs, conform(schemas, ap, x, path+"."+k)...)
			} else if s["additionalProperties"] == false {
				errs = append(errs, path+"."+k+": not in the schema")
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return wrong()
		}
		items, _ := s["items"].(map[string]any)
		for i, x := range a {
			errs = append(errs, conform(schemas, items, x, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return wrong()
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			return wrong()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return wrong()
		}
	}
	return errs
}

func sliceOf(v any) []any {
	s, _ := v.([]any)
	return s
}
