// Package mcp fronts MCP servers (stdio child processes, streamable HTTP and SSE endpoints) with
// the gateway's keys, policies and records. It keeps one client session to each server and serves
// agents one MCP endpoint with the tools, prompts and resources of every server the caller's key
// may use, named "<server id>__<name>" (resources iom://<server id>/<URI>), each routed to its
// server. Both sides speak through the official Go SDK; the package knows nothing of fasthttp
// (the server package bridges its net/http handler onto the data plane).
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/gateway/telemetry"
)

// Defaults of Options.
const (
	DefaultMaxSessions       = 1024
	DefaultMaxSessionsPerKey = 64
	DefaultSessionIdle       = 10 * time.Minute
	// maxViews bounds the keys whose view of the tools is kept; views without sessions go first.
	maxViews = 4096
)

// Options are what the service needs of the rest of the gateway.
type Options struct {
	Log     *slog.Logger
	Version string
	// Record receives a record of every tool call.
	Record func(*analytics.Invocation)
	// NewID makes a record's id.
	NewID func(time.Time) string
	// Admit applies the key's rate limits and budgets to a call; nil admits every call.
	Admit func(*policy.Key) *fault.Error
	// Egress is the policy HTTP servers are reached under; nil allows everything.
	Egress func() *egress.Policy
	// MaxSessions and MaxSessionsPerKey bound the client sessions open at once; SessionIdle
	// closes a session that sends nothing for that long.
	MaxSessions, MaxSessionsPerKey int
	SessionIdle                    time.Duration
	// CheckKey reports an allowedKeys entry of an API-registered server that is no key's id.
	CheckKey func(id string) error
	// MaxBodyBytes bounds a client's request body.
	MaxBodyBytes int64
	// Metrics, when set, gets each tool's calls, errors and durations.
	Metrics *analytics.Metrics
	// OnChange, when set, is called after the set of servers changed (pipelines whose tool
	// steps name them are checked again).
	OnChange func()
}

// Service is the gateway's MCP front: the upstream servers and each key's view of their tools.
type Service struct {
	o       Options
	log     *slog.Logger
	life    context.Context
	end     context.CancelFunc
	handler http.Handler
	closed  atomic.Bool
	// applyMu orders the changes of the running servers (a reload, the admin API, Close).
	applyMu sync.Mutex

	mu     sync.Mutex
	st     *store.Store
	config []spec.MCPServer          // the config file's servers
	api    map[string]spec.MCPServer // those registered through the admin API
	specs  []spec.MCPServer          // what runs: config's, then API's

	upstreams map[string]*upstream
	views     map[string]*view // by key id
}

// view is what one key sees: an SDK server holding the tools the key may use.
type view struct {
	key       atomic.Pointer[policy.Key]
	srv       *sdk.Server
	tools     map[string]*sdk.Tool             // exposed name → the upstream's tool it was made from
	prompts   map[string]*sdk.Prompt           // likewise for prompts
	resources map[string]*sdk.Resource         // exposed URI → the upstream's resource
	templates map[string]*sdk.ResourceTemplate // exposed URI template → the upstream's template
}

type keyContext struct{}

// New starts a service with no servers (see SetConfig and Open).
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.MaxSessionsPerKey <= 0 {
		o.MaxSessionsPerKey = DefaultMaxSessionsPerKey
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.Egress == nil {
		o.Egress = func() *egress.Policy { return nil }
	}
	if o.NewID == nil {
		o.NewID = func(t time.Time) string { return t.UTC().Format("20060102T150405.000000000") }
	}
	s := &Service{o: o, log: o.Log, upstreams: map[string]*upstream{}, views: map[string]*view{}, api: map[string]spec.MCPServer{}}
	s.life, s.end = context.WithCancel(context.Background())
	h := sdk.NewStreamableHTTPHandler(s.serverFor, &sdk.StreamableHTTPOptions{
		SessionTimeout:      o.SessionIdle,
		MaxRequestBodyBytes: o.MaxBodyBytes,
		// The SDK's guard against DNS rebinding refuses a loopback connection naming another
		// host; the gateway (often behind a proxy on the same machine) needs a key on every
		// request instead, which a rebinding page does not have. Each session is tied to the
		// key's id, so another key cannot use it.
		DisableLocalhostProtection: true,
	})
	verify := func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		key, _ := ctx.Value(keyContext{}).(*policy.Key)
		if key == nil {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: key.ID}, nil
	}
	s.handler = auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
	return s
}

// apply makes specs the servers: new ones are started, removed ones stopped, changed ones
// restarted; the others keep their sessions. The caller holds applyMu.
func (s *Service) apply(specs []spec.MCPServer) {
	if s.closed.Load() {
		return
	}
	s.mu.Lock()
	var stale []*upstream
	next := make(map[string]*upstream, len(specs))
	for _, decl := range specs {
		if u := s.upstreams[decl.ID]; u != nil && reflect.DeepEqual(u.spec, decl) {
			next[decl.ID] = u
			continue
		}
		next[decl.ID] = newUpstream(s, decl)
	}
	for id, u := range s.upstreams {
		if next[id] != u {
			stale = append(stale, u)
		}
	}
	s.specs = slices.Clone(specs)
	s.upstreams = next
	s.mu.Unlock()
	for _, u := range stale {
		u.close()
	}
	s.sync()
	if s.o.OnChange != nil {
		s.o.OnChange()
	}
}

// Close ends every client session and upstream connection (stdio servers exit). Calls still
// running end with an error.
func (s *Service) Close() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Swap(true) {
		return
	}
	s.end()
	s.mu.Lock()
	views := s.views
	s.views = map[string]*view{}
	ups := s.upstreams
	s.upstreams = map[string]*upstream{}
	s.mu.Unlock()
	for _, v := range views {
		for ss := range v.srv.Sessions() {
			_ = ss.Close()
		}
	}
	for _, u := range ups {
		u.close()
	}
}

// ServeHTTP serves the MCP endpoint (POST, GET and DELETE) for a request the gateway has
// authenticated as key. New sessions are refused past the bounds, with 429.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request, key *policy.Key) {
	if s.closed.Load() {
		writeRPCError(w, http.StatusServiceUnavailable, "the gateway is shutting down")
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("Mcp-Session-Id") == "" {
		if msg := s.admitSession(key); msg != "" {
			w.Header().Set("Retry-After", "10")
			writeRPCError(w, http.StatusTooManyRequests, msg)
			return
		}
	}
	// The SDK keeps a session's first request context for the session's life, and the data
	// plane reuses a request's context once it ends: so the context handed on is the gateway's,
	// with the key, the request's span and the request's end, and nothing else of the request.
	ctx, cancel := context.WithCancel(context.WithValue(telemetry.Within(s.life, r.Context()), keyContext{}, key))
	defer cancel()
	stop := context.AfterFunc(r.Context(), cancel)
	defer stop()
	r = r.WithContext(ctx)
	// The SDK reads the caller from a bearer token: the key's id stands for it, so the key's
	// value goes no further than the gateway's own check.
	r.Header.Del("X-Api-Key")
	r.Header.Set("Authorization", "Bearer "+key.ID)
	s.handler.ServeHTTP(w, r)
}

func writeRPCError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": nil,
		"error": map[string]any{"code": -32000, "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// admitSession reports why key may not open another session, or "".
func (s *Service) admitSession(key *policy.Key) string {
	s.mu.Lock()
	views := make([]*view, 0, len(s.views))
	for _, v := range s.views {
		views = append(views, v)
	}
	mine := s.views[key.ID]
	s.mu.Unlock()
	total, own := 0, 0
	for _, v := range views {
		n := count(v.srv)
		total += n
		if v == mine {
			own = n
		}
	}
	switch {
	case own >= s.o.MaxSessionsPerKey:
		return "too many MCP sessions open for this key: end one (DELETE /mcp) or wait for an idle one to close"
	case total >= s.o.MaxSessions:
		return "too many MCP sessions open on the gateway; try again later"
	}
	return ""
}

// count is the number of srv's initialized sessions: one whose handshake failed (a client
// probing for a newer protocol first) is closed by the SDK, and may linger a moment.
func count(srv *sdk.Server) int {
	n := 0
	for ss := range srv.Sessions() {
		if ss.InitializeParams() != nil {
			n++
		}
	}
	return n
}

// serverFor is the SDK server of the request's key: its view of the tools, made on first use.
func (s *Service) serverFor(r *http.Request) *sdk.Server {
	key, _ := r.Context().Value(keyContext{}).(*policy.Key)
	if key == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.views[key.ID]; v != nil {
		if v.key.Load() != key {
			// A reload gave the key new limits or a new allowlist: the view follows.
			v.key.Store(key)
			s.updateLocked(v)
		}
		return v.srv
	}
	if len(s.views) >= maxViews {
		for id, v := range s.views {
			if count(v.srv) == 0 {
				delete(s.views, id)
			}
		}
	}
	v := &view{srv: sdk.NewServer(&sdk.Implementation{Name: "iom", Title: "IoM gateway", Version: s.o.Version},
		&sdk.ServerOptions{HasTools: true, HasPrompts: true, HasResources: true}), tools: map[string]*sdk.Tool{},
		prompts: map[string]*sdk.Prompt{}, resources: map[string]*sdk.Resource{}, templates: map[string]*sdk.ResourceTemplate{}}
	v.key.Store(key)
	s.updateLocked(v)
	s.views[key.ID] = v
	return v.srv
}

// sync brings every key's view up to date with the servers and their tools.
func (s *Service) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.views {
		s.updateLocked(v)
	}
	if s.o.Metrics != nil {
		// A tool no server lists any more leaves /metrics.
		keep := map[string]bool{}
		for id, u := range s.upstreams {
			tools, _ := u.snapshot()
			for _, t := range tools {
				keep[id+spec.ToolSeparator+t.Name] = true
			}
		}
		s.o.Metrics.ForgetTools(keep)
	}
}

// updateLocked makes v hold exactly the tools its key may use: tools that went away or changed
// are removed, new ones added. The SDK tells the view's sessions that the list changed.
func (s *Service) updateLocked(v *view) {
	key := v.key.Load()
	want := map[string]*sdk.Tool{}
	handlers := map[string]sdk.ToolHandler{}
	for _, decl := range s.specs {
		u := s.upstreams[decl.ID]
		if u == nil || !Allows(key, &u.spec) {
			continue
		}
		tools, _ := u.snapshot()
		for _, t := range tools {
			if !u.spec.Tools.Allows(t.Name) {
				continue
			}
			name := u.spec.ID + spec.ToolSeparator + t.Name
			want[name] = t
			handlers[name] = s.handlerFor(v.key.Load, u, t.Name, name)
		}
	}
	reconcile(v.tools, want, v.srv.RemoveTools, func(name string, t *sdk.Tool) bool {
		exposed := *t
		exposed.Name = name
		if !added(func() { v.srv.AddTool(&exposed, handlers[name]) }) {
			s.log.Warn("an MCP server's tool cannot be exposed", "tool", name)
			return false
		}
		return true
	})
	s.updatePromptsLocked(v, key)
	s.updateResourcesLocked(v, key)
}

// updatePromptsLocked makes v hold the prompts of the servers its key may use, as
// "<server id>__<prompt>", each got from its server.
func (s *Service) updatePromptsLocked(v *view, key *policy.Key) {
	want := map[string]*sdk.Prompt{}
	owner := map[string]*upstream{}
	for _, decl := range s.specs {
		u := s.upstreams[decl.ID]
		if u == nil || !Allows(key, &u.spec) {
			continue
		}
		for _, p := range u.promptList() {
			name := u.spec.ID + spec.ToolSeparator + p.Name
			want[name], owner[name] = p, u
		}
	}
	reconcile(v.prompts, want, v.srv.RemovePrompts, func(name string, p *sdk.Prompt) bool {
		exposed := *p
		exposed.Name = name
		u, upstreamName := owner[name], p.Name
		v.srv.AddPrompt(&exposed, func(ctx context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
			return u.getPrompt(ctx, upstreamName, req)
		})
		return true
	})
}

// updateResourcesLocked makes v hold the resources and resource templates of the servers its
// key may use, named "<server id>__<name>", at the URIs ResourceURI makes of theirs, each read
// from its server.
func (s *Service) updateResourcesLocked(v *view, key *policy.Key) {
	wantRes := map[string]*sdk.Resource{}
	wantTmpl := map[string]*sdk.ResourceTemplate{}
	owner := map[string]*upstream{}
	for _, decl := range s.specs {
		u := s.upstreams[decl.ID]
		if u == nil || !Allows(key, &u.spec) {
			continue
		}
		resources, templates := u.resourceList()
		for _, r := range resources {
			uri := ResourceURI(u.spec.ID, r.URI)
			wantRes[uri], owner[uri] = r, u
		}
		for _, t := range templates {
			uri := ResourceURI(u.spec.ID, t.URITemplate)
			wantTmpl[uri], owner[uri] = t, u
		}
	}
	reconcile(v.resources, wantRes, v.srv.RemoveResources, func(uri string, r *sdk.Resource) bool {
		exposed := *r
		exposed.Name, exposed.URI = owner[uri].spec.ID+spec.ToolSeparator+r.Name, uri
		if !added(func() { v.srv.AddResource(&exposed, s.resourceHandler(v.key.Load, owner[uri], exposed.Name)) }) {
			s.log.Warn("an MCP server's resource cannot be exposed", "resource", exposed.Name)
			return false
		}
		return true
	})
	reconcile(v.templates, wantTmpl, v.srv.RemoveResourceTemplates, func(uri string, t *sdk.ResourceTemplate) bool {
		exposed := *t
		exposed.Name, exposed.URITemplate = owner[uri].spec.ID+spec.ToolSeparator+t.Name, uri
		if !added(func() { v.srv.AddResourceTemplate(&exposed, s.resourceHandler(v.key.Load, owner[uri], exposed.Name)) }) {
			s.log.Warn("an MCP server's resource template cannot be exposed", "resource", exposed.Name)
			return false
		}
		return true
	})
}

// ResourcePrefix starts every resource URI clients see: ResourceURI puts a server's id and the
// server's own URI after it, and SplitResourceURI takes them back out.
const ResourcePrefix = "iom://"

// ResourceURI is the URI clients see for the resource (or resource template) at uri of server
// id: iom://<id>/<uri>, the server's URI unchanged after the id's slash, so that a template's
// variables stay variables.
func ResourceURI(id, uri string) string { return ResourcePrefix + id + "/" + uri }

// SplitResourceURI splits a URI that ResourceURI made into the server's id and its own URI.
func SplitResourceURI(uri string) (id, upstreamURI string, ok bool) {
	rest, ok := strings.CutPrefix(uri, ResourcePrefix)
	if !ok {
		return "", "", false
	}
	id, upstreamURI, ok = strings.Cut(rest, "/")
	return id, upstreamURI, ok && id != "" && upstreamURI != ""
}

// callContext bounds one call to u's server: its timeoutMs, and u's life, so that a session
// closed or restarted ends the calls on it.
func (u *upstream) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithTimeout(ctx, time.Duration(u.spec.TimeoutMs)*time.Millisecond)
	stop := context.AfterFunc(u.ctx, cancel)
	return cctx, func() { stop(); cancel() }
}

// admit applies key's rate limits to one call, marking inv when it is refused.
func (s *Service) admit(key *policy.Key, inv *analytics.Invocation) *jsonrpc.Error {
	if s.o.Admit == nil || key == nil {
		return nil
	}
	if fe := s.o.Admit(key); fe != nil {
		inv.Status, inv.HTTPStatus, inv.ErrorKind, inv.Error = "error", fe.Status, fe.Kind.String(), fe.Message
		return &jsonrpc.Error{Code: -32000, Message: fe.Message}
	}
	return nil
}

// reconcile makes have, what an SDK server holds, match want: it removes what want lacks or
// holds otherwise, then adds what is new; add reports false for one the SDK refused.
func reconcile[T comparable](have, want map[string]T, remove func(...string), add func(name string, v T) bool) {
	var gone []string
	for name, v := range have {
		if want[name] != v {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		remove(gone...)
		for _, name := range gone {
			delete(have, name)
		}
	}
	for name, v := range want {
		if have[name] != v && add(name, v) {
			have[name] = v
		}
	}
}

// added runs add, which adds a tool, resource or template to an SDK server, and reports whether
// it did: the SDK panics on a schema or URI it refuses.
func added(add func()) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	add()
	return true
}

// Allows reports whether key may use the server spec: its security policy, as for models, and
// the key's allowlist, which names servers as mcp:<id>.
func Allows(key *policy.Key, decl *spec.MCPServer) bool {
	if len(key.Models) > 0 && !slices.Contains(key.Models, KeyEntry(decl.ID)) {
		return false
	}
	m := spec.Model{ID: decl.ID, SecurityPolicy: decl.SecurityPolicy, Org: decl.Org, AllowedKeys: decl.AllowedKeys}
	return policy.AllowsPolicy(key, &m)
}

// KeyEntry is how a key's models allowlist names an MCP server.
func KeyEntry(id string) string { return "mcp:" + id }

// handlerFor calls tool of u for the key that keyOf returns (nil for the admin API's test
// calls, which no key's policy limits), and records the call.
func (s *Service) handlerFor(keyOf func() *policy.Key, u *upstream, tool, exposed string) sdk.ToolHandler {
	return func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
		res, err := s.callTool(ctx, keyOf(), u, tool, exposed, req, Origin{}, nil)
		if res != nil {
			exposeLinks(u.spec.ID, res.Content)
		}
		return res, err
	}
}

// exposeLinks rewrites the URIs of the resource links and embedded resources of a result to
// the URIs clients read them at (ResourceURI), so that a client can read what a tool pointed at.
func exposeLinks(id string, content []sdk.Content) {
	for _, c := range content {
		switch c := c.(type) {
		case *sdk.ResourceLink:
			if c.URI != "" {
				c.URI = ResourceURI(id, c.URI)
			}
		case *sdk.EmbeddedResource:
			if c.Resource != nil && c.Resource.URI != "" {
				c.Resource.URI = ResourceURI(id, c.Resource.URI)
			}
		}
	}
}

// Origin names the pipeline step that makes a call, for the call's record.
type Origin struct {
	Pipeline, Execution, Step string
	// Admitted says the key's limits were applied to the whole run already.
	Admitted bool
}

// callInfo is what a caller of callTool learns of its record: its id, and the HTTP-like status.
type callInfo struct {
	id     string
	status int
}

// callTool calls tool of u for key (nil: no key's policy applies) and records the call, its
// origin with it; info, when set, receives what the record says.
func (s *Service) callTool(ctx context.Context, key *policy.Key, u *upstream, tool, exposed string,
	req *sdk.CallToolRequest, from Origin, info *callInfo) (res *sdk.CallToolResult, err error) {
	start := time.Now()
	inv := &analytics.Invocation{ID: s.o.NewID(start), Kind: "invocation", Time: start, Op: "tool", Model: exposed,
		ServedBy: u.spec.ID, Provider: "mcp", Status: "ok", HTTPStatus: http.StatusOK,
		Pipeline: from.Pipeline, Execution: from.Execution, Step: from.Step}
	if key != nil {
		inv.Key, inv.KeyID, inv.Org = key.Name, key.ID, key.Org
	}
	if req.Params != nil {
		inv.RequestBytes = int64(len(req.Params.Arguments))
	}
	inv.TraceID = telemetry.TraceID(ctx)
	ctx, span := telemetry.Start(ctx, telemetry.Client, "tools/call", exposed)
	span.SetString("gen_ai.operation.name", "execute_tool")
	span.SetString("gen_ai.tool.name", exposed)
	span.SetString("iom.mcp.server", u.spec.ID)
	if key != nil {
		span.SetString("iom.key.id", key.ID)
		span.SetString("iom.org", key.Org)
	}
	defer func() {
		if inv.Status != "ok" {
			span.Fail(inv.ErrorKind, inv.Error)
		}
		span.End()
	}()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in an MCP tool call", "tool", exposed, "panic", p)
			res, err = nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "internal error; the gateway logged the details"}
			inv.Status, inv.HTTPStatus, inv.ErrorKind, inv.Error = "error", http.StatusInternalServerError, fault.Gateway.String(), "internal error"
		}
		inv.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
		if info != nil {
			info.id, info.status = inv.ID, inv.HTTPStatus
		}
		if s.o.Metrics != nil {
			tm := s.o.Metrics.Tool(exposed, u.spec.ID)
			tm.Calls.Inc()
			if inv.Status != "ok" {
				tm.Errors.Inc()
			}
			tm.Duration.Update(inv.LatencyMs / 1000)
		}
		if s.o.Record != nil {
			s.o.Record(inv)
		}
	}()
	if !from.Admitted {
		if jerr := s.admit(key, inv); jerr != nil {
			return nil, jerr
		}
	}
	cctx, cancel := u.callContext(ctx)
	defer cancel()
	upStart := time.Now()
	res, err = u.call(cctx, tool, req)
	inv.UpstreamMs = float64(time.Since(upStart).Microseconds()) / 1000
	if err != nil {
		jerr, status := u.callError(cctx, exposed, err)
		kind := fault.Provider
		if status == 499 {
			kind = fault.Caller
		}
		inv.Status, inv.HTTPStatus, inv.ErrorKind, inv.Error = "error", status, kind.String(), jerr.Message
		if status != 499 {
			s.log.Warn("an MCP tool call failed", "tool", exposed, "err", u.redact(err))
		}
		return nil, jerr
	}
	inv.ResponseBytes = resultSize(res)
	if res.IsError {
		inv.Status, inv.ErrorKind, inv.Error = "error", fault.Provider.String(), "the tool answered with an error"
	}
	return res, nil
}

// resourceHandler reads a resource of u for the key that keyOf returns; exposed names the
// resource (or template) in the records.
func (s *Service) resourceHandler(keyOf func() *policy.Key, u *upstream, exposed string) sdk.ResourceHandler {
	return func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		return s.readResource(ctx, keyOf(), u, exposed, req.Params.URI)
	}
}

// readResource reads the resource clients see at uri from u for key, and records the read as
// an operation "resource": admitted under the key's limits as a tool call is, bounded by the
// server's timeoutMs. The contents' URIs are given back as clients see them.
func (s *Service) readResource(ctx context.Context, key *policy.Key, u *upstream, exposed, uri string) (res *sdk.ReadResourceResult, err error) {
	start := time.Now()
	inv := &analytics.Invocation{ID: s.o.NewID(start), Kind: "invocation", Time: start, Op: "resource", Model: exposed,
		ServedBy: u.spec.ID, Provider: "mcp", Status: "ok", HTTPStatus: http.StatusOK, RequestBytes: int64(len(uri))}
	if key != nil {
		inv.Key, inv.KeyID, inv.Org = key.Name, key.ID, key.Org
	}
	inv.TraceID = telemetry.TraceID(ctx)
	ctx, span := telemetry.Start(ctx, telemetry.Client, "resources/read", exposed)
	span.SetString("iom.mcp.server", u.spec.ID)
	if key != nil {
		span.SetString("iom.key.id", key.ID)
		span.SetString("iom.org", key.Org)
	}
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in an MCP resource read", "resource", exposed, "panic", p)
			res, err = nil, &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "internal error; the gateway logged the details"}
			inv.Status, inv.HTTPStatus, inv.ErrorKind, inv.Error = "error", http.StatusInternalServerError, fault.Gateway.String(), "internal error"
		}
		if inv.Status != "ok" {
			span.Fail(inv.ErrorKind, inv.Error)
		}
		span.End()
		inv.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
		if s.o.Record != nil {
			s.o.Record(inv)
		}
	}()
	id, upstreamURI, ok := SplitResourceURI(uri)
	if !ok || id != u.spec.ID {
		inv.Status, inv.HTTPStatus, inv.ErrorKind, inv.Error = "error", http.StatusNotFound, fault.Caller.String(), "no such resource"
		return nil, sdk.ResourceNotFoundError(uri)
	}
	if jerr := s.admit(key, inv); jerr != nil {
		return nil, jerr
	}
	cctx, cancel := u.callContext(ctx)
	defer cancel()
	upStart := time.Now()
	res, err = u.readResource(cctx, upstreamURI)
	inv.UpstreamMs = float64(time.Since(upStart).Microseconds()) / 1000
	if err != nil {
		var wire *jsonrpc.Error
		if errors.As(err, &wire) && wire.Code == sdk.CodeResourceNotFound && !connectionLost(err) {
			// The server's own not-found names its URI: the client gets its own back.
			inv.Status, inv.HTTPStatus, inv.ErrorKind, inv.Error = "error", http.StatusNotFound, fault.Caller.String(), "no such resource"
			return nil, sdk.ResourceNotFoundError(uri)
		}
		jerr, status := u.opError(cctx, "resource", exposed, err)
		kind := fault.Provider
		if status == 499 {
			kind = fault.Caller
		}
		inv.Status, inv.HTTPStatus, inv.ErrorKind, inv.Error = "error", status, kind.String(), jerr.Message
		if status != 499 {
			s.log.Warn("an MCP resource read failed", "resource", exposed, "err", u.redact(err))
		}
		return nil, jerr
	}
	for _, c := range res.Contents {
		if c != nil && c.URI != "" {
			c.URI = ResourceURI(u.spec.ID, c.URI)
		}
	}
	if b, err := json.Marshal(res); err == nil {
		inv.ResponseBytes = int64(len(b))
	}
	return res, nil
}

// resultSize is the size of a result's JSON, as the server sent it near enough: the text of
// its content and its structured content. It is only counted, never kept.
func resultSize(res *sdk.CallToolResult) int64 {
	b, err := json.Marshal(res)
	if err != nil {
		return 0
	}
	return int64(len(b))
}

// CallTool calls the tool clients see as name ("<server id>__<tool>") for key, as a pipeline's
// tool step does, under /mcp's policies: a tool the key may not use, or that the server hides or
// lacks, is refused as unknown. A nil key (the admin API's test run) is not limited. out is the
// result's structured content, else its text; a failed call or an error result is fe, saying why.
// record is the id of the call's record.
func (s *Service) CallTool(ctx context.Context, key *policy.Key, name string, args json.RawMessage, from Origin) (out any, record string, fe *fault.Error) {
	unknown := fault.NotFound("tool_not_found", "unknown tool %q", name)
	server, tool, ok := SplitName(name)
	s.mu.Lock()
	u := s.upstreams[server]
	s.mu.Unlock()
	if !ok || u == nil || key != nil && !Allows(key, &u.spec) || !u.spec.Tools.Allows(tool) {
		return nil, "", unknown
	}
	if !hasTool(u, tool) {
		// A server still connecting has no tools yet: wait for it as a call would.
		if _, err := u.current(ctx); err != nil {
			jerr, _ := u.callError(ctx, name, err)
			return nil, "", fault.Unavailable("%s", jerr.Message)
		}
		if !hasTool(u, tool) {
			return nil, "", unknown
		}
	}
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	var info callInfo
	res, err := s.callTool(ctx, key, u, tool, name, &sdk.CallToolRequest{Params: &sdk.CallToolParamsRaw{Name: name, Arguments: args}}, from, &info)
	record = info.id
	if err != nil {
		var jerr *jsonrpc.Error
		msg := err.Error()
		if errors.As(err, &jerr) {
			msg = jerr.Message
		}
		switch info.status {
		case http.StatusGatewayTimeout:
			if ctx.Err() != nil { // the caller's deadline came before the server's timeoutMs
				msg = fmt.Sprintf("tool %q did not answer in time", name)
			}
			return nil, record, fault.Timeout("%s", msg)
		case http.StatusServiceUnavailable:
			return nil, record, fault.Unavailable("%s", msg)
		case 499:
			return nil, record, fault.Cancelled("%s", msg)
		}
		return nil, record, fault.Upstream(0, "%s", msg)
	}
	if res.IsError {
		return nil, record, fault.Upstream(0, "tool %q answered with an error: %s", name, resultText(res))
	}
	return Output(res), record, nil
}

func hasTool(u *upstream, tool string) bool {
	tools, _ := u.snapshot()
	return slices.ContainsFunc(tools, func(t *sdk.Tool) bool { return t.Name == tool })
}

// Output is what a tool's result is as a value: its structured content when it has some, else
// the text of its content, joined by newlines.
func Output(res *sdk.CallToolResult) any {
	if res.StructuredContent != nil {
		if raw, ok := res.StructuredContent.(json.RawMessage); ok {
			var v any
			if json.Unmarshal(raw, &v) == nil {
				return v
			}
		}
		return res.StructuredContent
	}
	return resultText(res)
}

func resultText(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// Has reports whether a server with id runs (from the config file or the admin API).
func (s *Service) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upstreams[id] != nil
}

// Call calls tool (the server's own name) of server id with args, for the admin API's test
// form: no key's policy applies, the server's tool filter does, and the call is recorded
// without a key. A failed call is a provider error saying why.
func (s *Service) Call(ctx context.Context, id, tool string, args json.RawMessage) (*sdk.CallToolResult, *fault.Error) {
	s.mu.Lock()
	u := s.upstreams[id]
	s.mu.Unlock()
	if u == nil {
		return nil, fault.NotFound("mcp_server_not_found", "MCP server %q does not exist", id)
	}
	tools, _ := u.snapshot()
	if !slices.ContainsFunc(tools, func(t *sdk.Tool) bool { return t.Name == tool }) || !u.spec.Tools.Allows(tool) {
		return nil, fault.NotFound("tool_not_found", "MCP server %q has no tool %q that clients may see", id, tool)
	}
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	h := s.handlerFor(func() *policy.Key { return nil }, u, tool, id+spec.ToolSeparator+tool)
	res, err := h(ctx, &sdk.CallToolRequest{Params: &sdk.CallToolParamsRaw{Name: id + spec.ToolSeparator + tool, Arguments: args}})
	if err != nil {
		return nil, fault.Upstream(0, "%s", err.Error())
	}
	return res, nil
}

// ServerView is a server as the admin API shows it: its spec without the values of its headers,
// env and OAuth client secret (which hold credentials), its connection state, and its tools'
// names and resources as clients see them.
type ServerView struct {
	spec.MCPServer
	HeaderNames []string `json:"headerNames,omitempty"`
	EnvNames    []string `json:"envNames,omitempty"`
	// HasClientSecret says the server's oauth has a client secret (never shown).
	HasClientSecret bool   `json:"hasClientSecret,omitempty"`
	State           string `json:"state"` // connecting, connected, unavailable
	// Problem says why the server cannot be used, when the gateway knows (a token endpoint's
	// refusal), without addresses or secrets.
	Problem string `json:"problem,omitempty"`
	// ExposedTools are the names clients see, the filter applied.
	ExposedTools []string `json:"exposedTools"`
	// Resources are the server's resources and resource templates as clients see them.
	Resources []ResourceView `json:"resources"`
}

// ResourceView is a resource (or resource template) as the admin API lists it: the name and
// URI clients see, and the server's own URI.
type ResourceView struct {
	Name        string `json:"name"`
	URI         string `json:"uri"`
	UpstreamURI string `json:"upstreamUri"`
	// Template says URI is a URI template (RFC 6570).
	Template    bool   `json:"template,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	MIMEType    string `json:"mimeType,omitempty"`
}

// ToolView is a tool as the admin API lists it: its exposed name, and the server's own.
type ToolView struct {
	Name         string               `json:"name"`
	Server       string               `json:"server"`
	UpstreamName string               `json:"upstreamName"`
	Title        string               `json:"title,omitempty"`
	Description  string               `json:"description,omitempty"`
	InputSchema  any                  `json:"inputSchema"`
	OutputSchema any                  `json:"outputSchema,omitempty"`
	Annotations  *sdk.ToolAnnotations `json:"annotations,omitempty"`
	// Hidden says the server's tool filter keeps it from every client.
	Hidden bool `json:"hidden,omitempty"`
}

// Views lists the servers in order.
func (s *Service) Views() []ServerView {
	s.mu.Lock()
	specs := s.specs
	ups := s.upstreams
	s.mu.Unlock()
	out := make([]ServerView, 0, len(specs))
	for _, decl := range specs {
		out = append(out, viewOf(decl, ups[decl.ID]))
	}
	return out
}

// View returns the server with id, if there is one.
func (s *Service) View(id string) (ServerView, bool) {
	s.mu.Lock()
	u := s.upstreams[id]
	s.mu.Unlock()
	if u == nil {
		return ServerView{}, false
	}
	return viewOf(u.spec, u), true
}

func viewOf(decl spec.MCPServer, u *upstream) ServerView {
	v := ServerView{MCPServer: decl, State: "connecting", ExposedTools: []string{}}
	for name := range decl.Headers {
		v.HeaderNames = append(v.HeaderNames, name)
	}
	slices.Sort(v.HeaderNames)
	for _, kv := range decl.Env {
		name, _, _ := strings.Cut(kv, "=")
		v.EnvNames = append(v.EnvNames, name)
	}
	v.Headers, v.Env = nil, nil
	v.Resources = []ResourceView{}
	if decl.OAuth != nil {
		o := *decl.OAuth
		v.HasClientSecret, o.ClientSecret = o.ClientSecret.IsSet(), secret.Secret{}
		v.OAuth = &o
	}
	if u != nil {
		tools, state := u.snapshot()
		v.State = state
		v.Problem = u.problem()
		resources, templates := u.resourceList()
		for _, r := range resources {
			v.Resources = append(v.Resources, ResourceView{Name: decl.ID + spec.ToolSeparator + r.Name, URI: ResourceURI(decl.ID, r.URI),
				UpstreamURI: r.URI, Title: r.Title, Description: r.Description, MIMEType: r.MIMEType})
		}
		for _, t := range templates {
			v.Resources = append(v.Resources, ResourceView{Name: decl.ID + spec.ToolSeparator + t.Name, URI: ResourceURI(decl.ID, t.URITemplate),
				UpstreamURI: t.URITemplate, Template: true, Title: t.Title, Description: t.Description, MIMEType: t.MIMEType})
		}
		for _, t := range tools {
			if decl.Tools.Allows(t.Name) {
				v.ExposedTools = append(v.ExposedTools, decl.ID+spec.ToolSeparator+t.Name)
			}
		}
	}
	return v
}

// Tools lists the tools of server id with their schemas, the filtered-out ones marked hidden.
func (s *Service) Tools(id string) ([]ToolView, bool) {
	s.mu.Lock()
	u := s.upstreams[id]
	s.mu.Unlock()
	if u == nil {
		return nil, false
	}
	tools, _ := u.snapshot()
	out := make([]ToolView, 0, len(tools))
	for _, t := range tools {
		out = append(out, ToolView{Name: id + spec.ToolSeparator + t.Name, Server: id, UpstreamName: t.Name, Title: t.Title,
			Description: t.Description, InputSchema: t.InputSchema, OutputSchema: t.OutputSchema, Annotations: t.Annotations,
			Hidden: !u.spec.Tools.Allows(t.Name)})
	}
	return out, true
}

// SplitName splits an exposed tool name into the server id and the tool's own name.
func SplitName(name string) (server, tool string, ok bool) {
	return strings.Cut(name, spec.ToolSeparator)
}
