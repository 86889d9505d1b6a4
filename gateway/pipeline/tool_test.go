package pipeline

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/mcp"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/spec"
)

// kbUpstream is a streamable HTTP MCP server on 127.0.0.1: lookup answers structured content,
// shout text, broken a result marked as an error.
func kbUpstream(t *testing.T) string {
	t.Helper()
	srv := sdk.NewServer(&sdk.Implementation{Name: "kb", Version: "1"}, nil)
	type query struct {
		Q string `json:"q"`
	}
	type doc struct {
		Title string `json:"title"`
		Hits  int    `json:"hits"`
	}
	sdk.AddTool(srv, &sdk.Tool{Name: "lookup", Description: "finds a document"},
		func(_ context.Context, _ *sdk.CallToolRequest, in query) (*sdk.CallToolResult, doc, error) {
			return nil, doc{Title: "all about " + in.Q, Hits: len(in.Q)}, nil
		})
	type textIn struct {
		Text string `json:"text"`
	}
	sdk.AddTool(srv, &sdk.Tool{Name: "shout"},
		func(_ context.Context, _ *sdk.CallToolRequest, in textIn) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: strings.ToUpper(in.Text)}}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "broken"},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{IsError: true, Content: []sdk.Content{&sdk.TextContent{Text: "the index is offline"}}}, nil, nil
		})
	sdk.AddTool(srv, &sdk.Tool{Name: "sleepy"},
		func(ctx context.Context, _ *sdk.CallToolRequest, _ struct{}) (*sdk.CallToolResult, any, error) {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "late"}}}, nil, nil
		})
	ts := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	return ts.URL
}

// mcpTools is how the gateway lets tool steps call its MCP service.
type mcpTools struct{ svc *mcp.Service }

func (m mcpTools) CallTool(ctx context.Context, c ToolCall) (any, string, error) {
	out, record, fe := m.svc.CallTool(ctx, c.Key, c.Tool, c.Arguments,
		mcp.Origin{Pipeline: c.Pipeline, Execution: c.Execution, Step: c.Step, Admitted: true})
	if fe != nil {
		return nil, record, fe
	}
	return out, record, nil
}

// mcpCatalog knows the MCP service's servers and every plugin.
type mcpCatalog struct{ svc *mcp.Service }

func (mcpCatalog) Model(string) *spec.Entry                          { return nil }
func (mcpCatalog) HasPlugin(string) bool                             { return true }
func (c mcpCatalog) HasMCPServer(id string) bool                     { return c.svc.Has(id) }
func (c mcpCatalog) tools(r *Runner) *Runner                         { r.SetTools(mcpTools{c.svc}); return r }
func (c mcpCatalog) compile(p *spec.Pipeline) (*Plan, spec.Problems) { return Compile(p, c) }

type toolRecords struct {
	mu   sync.Mutex
	invs []analytics.Invocation
}

func (r *toolRecords) add(inv *analytics.Invocation) {
	r.mu.Lock()
	r.invs = append(r.invs, *inv)
	r.mu.Unlock()
}

var (
	kbKey    = &policy.Key{ID: "config:kb-app", Name: "kb-app", Org: "acme"}
	strayKey = &policy.Key{ID: "config:stray", Name: "stray", Org: "acme"}
)

// kbService runs an MCP service with one server, kb, private to kbKey.
func kbService(t *testing.T, recs *toolRecords) *mcp.Service {
	t.Helper()
	url := kbUpstream(t) // closed after the service, which holds a stream open to it
	svc := mcp.New(mcp.Options{Record: recs.add})
	t.Cleanup(svc.Close)
	decl := spec.MCPServer{ID: "kb", URL: url + "/", SecurityPolicy: spec.Private, AllowedKeys: []string{kbKey.ID}}
	decl.Normalize()
	svc.SetConfig([]spec.MCPServer{decl})
	return svc
}

// toolChain is input → lookup (arguments from the input) → shout (arguments from lookup's
// structured output) → output.
func toolChain() *spec.Pipeline {
	return &spec.Pipeline{ID: "research", Name: "Research",
		Nodes: []spec.Node{
			{ID: "in", Type: spec.NodeInput},
			{ID: "lookup", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__lookup", Arguments: `{"q": input.topic}`}},
			{ID: "shout", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__shout", Arguments: `{"text": steps.lookup.output.title}`}},
			{ID: "out", Type: spec.NodeOutput, Data: spec.NodeData{Output: `{"loud": steps.shout.output, "hits": steps.lookup.output.hits}`}},
		},
		Edges: []spec.Edge{{Source: "in", Target: "lookup"}, {Source: "lookup", Target: "shout"}, {Source: "shout", Target: "out"}}}
}

func TestToolStepsCallMCPTools(t *testing.T) {
	recs := &toolRecords{}
	svc := kbService(t, recs)
	cat := mcpCatalog{svc}
	plan, ps := cat.compile(toolChain())
	if ps != nil {
		t.Fatal(ps)
	}
	r := cat.tools(runner(t))
	x := r.Run(context.Background(), plan, map[string]any{"topic": "otters"}, Options{Key: kbKey})
	if x.Status != "ok" {
		t.Fatalf("status %s: %s", x.Status, x.Error)
	}
	out := x.OutputValue().(map[string]any)
	if out["loud"] != "ALL ABOUT OTTERS" || out["hits"] != 6.0 {
		t.Fatalf("output %v", out)
	}
	steps := map[string]StepRecord{}
	for _, s := range x.Steps {
		steps[s.ID] = s
	}
	if s := steps["lookup"]; s.Tool != "kb__lookup" || s.ServedBy != "kb" || s.Invocation == "" || s.Status != "ok" {
		t.Fatalf("lookup step %+v", s)
	}
	// Each call is recorded as a tool call of the step.
	recs.mu.Lock()
	defer recs.mu.Unlock()
	if len(recs.invs) != 2 {
		t.Fatalf("records %+v", recs.invs)
	}
	inv := recs.invs[0]
	if inv.Op != "tool" || inv.Model != "kb__lookup" || inv.ServedBy != "kb" || inv.KeyID != kbKey.ID ||
		inv.Pipeline != "research" || inv.Execution != x.ID || inv.Step != "lookup" || inv.ID != steps["lookup"].Invocation ||
		inv.RequestBytes != int64(len(`{"q":"otters"}`)) || inv.ResponseBytes == 0 {
		t.Fatalf("record %+v", inv)
	}
}

// The admin API's test run has no key: no key's policy applies to its tools.
func TestToolStepWithoutKey(t *testing.T) {
	svc := kbService(t, &toolRecords{})
	cat := mcpCatalog{svc}
	plan, _ := cat.compile(toolChain())
	x := cat.tools(runner(t)).Run(context.Background(), plan, map[string]any{"topic": "eels"}, Options{})
	if x.Status != "ok" || x.OutputValue().(map[string]any)["loud"] != "ALL ABOUT EELS" {
		t.Fatalf("%s %s %v", x.Status, x.Error, x.OutputValue())
	}
}

func TestToolStepFailures(t *testing.T) {
	recs := &toolRecords{}
	svc := kbService(t, recs)
	cat := mcpCatalog{svc}
	r := cat.tools(runner(t))
	f := func(name string, key *policy.Key, node spec.Node, input any, wantErr string) {
		t.Helper()
		p := &spec.Pipeline{ID: "p", Name: "P", Nodes: []spec.Node{{ID: "in", Type: spec.NodeInput}, node, {ID: "out", Type: spec.NodeOutput}},
			Edges: []spec.Edge{{Source: "in", Target: node.ID}, {Source: node.ID, Target: "out"}}}
		plan, ps := cat.compile(p)
		if ps != nil {
			t.Fatalf("%s: %v", name, ps)
		}
		x := r.Run(context.Background(), plan, input, Options{Key: key})
		if x.Status != "error" || x.FailedStep != node.ID || !strings.Contains(x.Error, wantErr) {
			t.Fatalf("%s: %s %q (failed step %q), want an error with %q", name, x.Status, x.Error, x.FailedStep, wantErr)
		}
	}
	// A key that may not use the server gets what /mcp says of a tool it does not list.
	f("not allowed", strayKey, spec.Node{ID: "t", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__lookup", Arguments: `{"q": "x"}`}},
		map[string]any{}, `unknown tool "kb__lookup"`)
	f("no such tool", kbKey, spec.Node{ID: "t", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__nothing"}},
		map[string]any{}, `unknown tool "kb__nothing"`)
	f("error result", kbKey, spec.Node{ID: "t", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__broken"}},
		map[string]any{}, `tool "kb__broken" answered with an error: the index is offline`)
	f("arguments not an object", kbKey, spec.Node{ID: "t", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__shout", Arguments: `"loud"`}},
		map[string]any{}, `the arguments of tool "kb__shout" must be an object, not a string`)
	start := time.Now()
	f("step timeout", kbKey, spec.Node{ID: "t", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__sleepy", TimeoutMs: 100}},
		map[string]any{}, `tool "kb__sleepy" did not answer in time`)
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("the step's timeout of 100 ms ended the call after %v", waited)
	}
	f("input not an object", kbKey, spec.Node{ID: "t", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__shout"}},
		[]any{1.0}, `must be an object, not a list`)

	// onError continue turns the failure into the step's output.
	p := &spec.Pipeline{ID: "p", Name: "P", Nodes: []spec.Node{{ID: "in", Type: spec.NodeInput},
		{ID: "t", Type: spec.NodeTool, Data: spec.NodeData{Tool: "kb__broken", OnError: "continue"}}, {ID: "out", Type: spec.NodeOutput}},
		Edges: []spec.Edge{{Source: "in", Target: "t"}, {Source: "t", Target: "out"}}}
	plan, _ := cat.compile(p)
	x := r.Run(context.Background(), plan, map[string]any{}, Options{Key: kbKey})
	if m, _ := x.OutputValue().(map[string]any); x.Status != "ok" || !strings.Contains(TextOf(m["error"]), "the index is offline") {
		t.Fatalf("%s %v", x.Status, x.OutputValue())
	}
	// Refused calls never reached the server and are not recorded; failed ones are.
	recs.mu.Lock()
	defer recs.mu.Unlock()
	var names []string
	for _, inv := range recs.invs {
		names = append(names, inv.Model+":"+inv.Status)
	}
	if !slices.Equal(names, []string{"kb__broken:error", "kb__sleepy:error", "kb__broken:error"}) {
		t.Fatalf("records %v", names)
	}
}

func TestToolStepCompileErrors(t *testing.T) {
	svc := kbService(t, &toolRecords{})
	cat := mcpCatalog{svc}
	f := func(data spec.NodeData, want string) {
		t.Helper()
		p := &spec.Pipeline{ID: "p", Name: "P", Nodes: []spec.Node{{ID: "in", Type: spec.NodeInput}, {ID: "t", Type: spec.NodeTool, Data: data}, {ID: "out", Type: spec.NodeOutput}},
			Edges: []spec.Edge{{Source: "in", Target: "t"}, {Source: "t", Target: "out"}}}
		_, ps := cat.compile(p)
		if ps == nil || !strings.Contains(ps.Error(), want) {
			t.Fatalf("%+v: got %v, want %q", data, ps, want)
		}
	}
	f(spec.NodeData{}, "nodes.t.data.tool: is required")
	f(spec.NodeData{Tool: "lookup"}, `nodes.t.data.tool: "lookup" must be <server id>__<tool name>`)
	f(spec.NodeData{Tool: "kb__"}, `must be <server id>__<tool name>`)
	f(spec.NodeData{Tool: "wiki__lookup"}, `nodes.t.data.tool: unknown MCP server "wiki"`)
	f(spec.NodeData{Tool: "kb__lookup", Arguments: "{"}, "nodes.t.data.arguments:")
	f(spec.NodeData{Tool: "kb__lookup", TimeoutMs: -1}, "nodes.t.data.timeoutMs: must not be negative")
}
