package server

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/mcp"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/telemetry"
)

// mcpKeyValue is the user value that carries an /mcp request's key into the net/http handler.
type mcpKeyValue struct{}

// newMCPHandler bridges the MCP service's net/http handler onto the data plane. fasthttp's
// adaptor runs the handler beside the connection and, on the handler's first Flush, hands the
// connection a pipe: every flushed event goes out as a chunk at once, so a stream of progress
// notifications and results is never buffered.
func newMCPHandler(svc *mcp.Service) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _ := r.Context().Value(mcpKeyValue{}).(*policy.Key)
		if key == nil {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		// r's context is the fasthttp request, reused once the request ends, which a session
		// outlives: the service gets a context of its own that carries only the request's
		// trace, for the spans and records of the tool calls it makes.
		// The server's shutdown still ends the request, as it does every request.
		shutdown := r.Context().Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ended := ctx.Done()
		go func() {
			select {
			case <-shutdown:
				cancel()
			case <-ended:
			}
		}()
		if call, ok := r.Context().Value(callKey{}).(context.Context); ok {
			ctx = telemetry.Within(ctx, call)
		}
		svc.ServeHTTP(w, r.WithContext(ctx), key)
	}))
}

// serveMCP is the MCP endpoint (POST, GET, DELETE /mcp): the tools of every MCP server the key
// may use, in sessions of the streamable HTTP transport.
func (g *Server) serveMCP(ctx *fasthttp.RequestCtx, _ []string) {
	key, fe := g.authenticate(ctx)
	if fe != nil {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="iom"`)
		g.reject(ctx, fe, nil, "")
		return
	}
	if st, _ := ctx.UserValue(accessKey{}).(*accessState); st != nil {
		st.mu.Lock()
		st.keyID, st.org = key.ID, key.Org // the access log's line names the caller
		st.mu.Unlock()
	}
	ctx.SetUserValue(mcpKeyValue{}, key)
	g.mcpHandler(ctx)
}

func (g *Server) apiListMCPServers(ctx *fasthttp.RequestCtx, _ []string) {
	views := g.mcp.Views()
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": views, "total": len(views)})
}

func (g *Server) apiGetMCPServer(ctx *fasthttp.RequestCtx, params []string) {
	v, ok := g.mcp.View(params[0])
	if !ok {
		writeError(ctx, fault.NotFound("mcp_server_not_found", "MCP server %q does not exist", params[0]))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, v)
}

func (g *Server) apiMCPServerTools(ctx *fasthttp.RequestCtx, params []string) {
	tools, ok := g.mcp.Tools(params[0])
	if !ok {
		writeError(ctx, fault.NotFound("mcp_server_not_found", "MCP server %q does not exist", params[0]))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": tools})
}

// toolCall is the body of a test call from the admin API.
type toolCall struct {
	Arguments json.RawMessage `json:"arguments"`
}

// toolCallAnswer is a test call's result, as MCP gives it, and how long the call took.
type toolCallAnswer struct {
	Result    *sdkmcp.CallToolResult `json:"result"`
	LatencyMs float64                `json:"latencyMs"`
}

func (g *Server) apiCallMCPTool(ctx *fasthttp.RequestCtx, params []string) {
	var in toolCall
	if body := ctx.PostBody(); len(body) > 0 {
		if es := decode.JSON(body, &in); len(es) > 0 {
			writeError(ctx, fault.Invalid(es[0].Path, "invalid tool call: %s", es.Error()))
			return
		}
	}
	if len(in.Arguments) > 0 && in.Arguments[0] != '{' {
		writeError(ctx, fault.Invalid("arguments", "arguments must be a JSON object"))
		return
	}
	start := time.Now()
	c, cancel := context.WithTimeout(g.life, 5*time.Minute)
	defer cancel()
	res, fe := g.mcp.Call(c, params[0], params[1], in.Arguments)
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, toolCallAnswer{Result: res, LatencyMs: float64(time.Since(start).Microseconds()) / 1000})
}

// mcpServerInput is a registration body; it accepts, and ignores, the read-only fields the API
// returns, so a client can send back what it got.
type mcpServerInput struct {
	spec.MCPServer
	HeaderNames     any `json:"headerNames"`
	EnvNames        any `json:"envNames"`
	HasClientSecret any `json:"hasClientSecret"`
	State           any `json:"state"`
	Problem         any `json:"problem"`
	ExposedTools    any `json:"exposedTools"`
	Resources       any `json:"resources"`
	Warnings        any `json:"warnings"`
}

func decodeMCPServer(body []byte) (spec.MCPServer, *fault.Error) {
	var in mcpServerInput
	if es := decode.JSON(body, &in); len(es) > 0 {
		return spec.MCPServer{}, fault.Invalid(es[0].Path, "invalid MCP server: %s", es.Error())
	}
	in.MCPServer.ManagedBy = ""
	return in.MCPServer, nil
}

func (g *Server) apiCreateMCPServer(ctx *fasthttp.RequestCtx, _ []string) {
	s, fe := decodeMCPServer(ctx.PostBody())
	if fe == nil {
		var v mcp.ServerView
		if v, fe = g.mcp.Create(s); fe == nil {
			ctx.Response.Header.Set("Location", "/api/mcp-servers/"+v.ID)
			writeJSON(ctx, fasthttp.StatusCreated, v)
			return
		}
	}
	writeError(ctx, fe)
}

func (g *Server) apiUpdateMCPServer(ctx *fasthttp.RequestCtx, params []string) {
	s, fe := decodeMCPServer(ctx.PostBody())
	if fe == nil {
		v, warnings, fe := g.mcp.Update(params[0], s)
		if fe == nil {
			writeJSON(ctx, fasthttp.StatusOK, updatedMCPServer{v, warnings})
			return
		}
		writeError(ctx, fe)
		return
	}
	writeError(ctx, fe)
}

// updatedMCPServer is the answer to a PUT: the server, and what the update did beyond what it
// was asked (stored headers dropped, for a server moved to another origin).
type updatedMCPServer struct {
	mcp.ServerView
	Warnings []string `json:"warnings,omitempty"`
}

func (g *Server) apiDeleteMCPServer(ctx *fasthttp.RequestCtx, params []string) {
	if fe := g.mcp.Delete(params[0]); fe != nil {
		writeError(ctx, fe)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// ToolModelType is the modelType of an MCP tool in the registry's listing.
const ToolModelType = "tool"

// toolViews are the MCP tools clients may see (their server's filter applied) as entries of the
// registry's listing, read-only and managed by mcp, those f selects. They are listed, not
// registered: they are not models, and no model API calls them.
func (g *Server) toolViews(f registry.Filter) []registry.View {
	if f.Type != "" && f.Type != ToolModelType {
		return nil
	}
	var out []registry.View
	for _, s := range g.mcp.Views() {
		tools, _ := g.mcp.Tools(s.ID)
		status := spec.StatusAvailable
		if s.State != "connected" {
			status = spec.StatusUnavailable
		}
		for _, t := range tools {
			if t.Hidden {
				continue
			}
			m := spec.Model{ID: t.Name, Name: t.Title, Description: t.Description, ModelType: ToolModelType,
				Provider: "mcp", Owner: s.Name, SecurityPolicy: s.SecurityPolicy, Org: s.Org, AllowedKeys: s.AllowedKeys,
				ManagedBy: "mcp"}
			if m.Name == "" {
				m.Name = t.UpstreamName
			}
			if m.Owner == "" {
				m.Owner = s.ID
			}
			if t.InputSchema != nil {
				m.InputSchema, _ = json.Marshal(t.InputSchema)
			}
			v := registry.View{Model: m, Status: status}
			if f.Matches(&v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// toolView is the MCP tool named id as the registry's listing shows it, if it lists it.
func (g *Server) toolView(id string) (registry.View, bool) {
	server, _, ok := mcp.SplitName(id)
	if !ok || !g.mcp.Has(server) {
		return registry.View{}, false
	}
	for _, v := range g.toolViews(registry.Filter{}) {
		if v.ID == id {
			return v, true
		}
	}
	return registry.View{}, false
}

// notAModel is the refusal of a model call naming an MCP tool that key may use: a tool is
// called through /mcp or a pipeline's tool step, never as a model. Any other name keeps fe.
func (g *Server) notAModel(fe *fault.Error, key *policy.Key, name string) *fault.Error {
	server, tool, ok := mcp.SplitName(name)
	if !ok || fe.Code != "model_not_found" {
		return fe
	}
	v, found := g.mcp.View(server)
	if !found || key != nil && !mcp.Allows(key, &v.MCPServer) || !slices.Contains(v.ExposedTools, server+spec.ToolSeparator+tool) {
		return fe
	}
	return fault.NotFound("model_not_found", "%q is an MCP tool, not a model: call it through /mcp (tools/call) or a pipeline's tool step", name)
}
