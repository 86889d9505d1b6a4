package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/cluster"
	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/spec"
)

func (g *Server) adminRoutes() *router {
	rt := &router{}
	rt.add("GET", "/healthz", "Liveness check", g.healthz)
	rt.add("GET", "/metrics", "Prometheus metrics", g.promMetrics)
	rt.add("GET", "/api/status", "Gateway version, listeners, counts and the last reload", g.status)
	rt.add("POST", "/api/reload", "Reload the config file", g.reloadHandler)
	rt.add("GET", "/api/cluster", "The cluster's nodes, their last heartbeats, versions and config hashes, and Redis's state", g.apiCluster)
	rt.add("GET", "/api/models", "Search and filter registered models", g.apiListModels)
	rt.add("POST", "/api/models", "Register a model", g.apiCreateModel)
	rt.add("GET", "/api/models/{id}", "Get one model", g.apiGetModel)
	rt.add("PUT", "/api/models/{id}", "Replace an API-registered model", g.apiUpdateModel)
	rt.add("DELETE", "/api/models/{id}", "Delete an API-registered model", g.apiDeleteModel)
	rt.add("POST", "/api/models/{id}/test", "Send a small request to a model and report status, latency, tokens and cost", g.apiTestModel)
	rt.add("GET", "/api/keys", "List gateway keys (never their values)", g.apiListKeys)
	rt.add("POST", "/api/keys", "Create a gateway key; its value is returned only once", g.apiCreateKey)
	rt.add("DELETE", "/api/keys/{id}", "Revoke a gateway key", g.apiRevokeKey)
	rt.add("GET", "/api/pipelines", "List pipelines, with the problems of any that cannot run", g.apiListPipelines)
	rt.add("POST", "/api/pipelines", "Create a pipeline", g.apiCreatePipeline)
	rt.add("POST", "/api/pipelines/validate", "Validate a pipeline; errors are keyed by node id", g.apiValidatePipeline)
	rt.add("GET", "/api/pipelines/{id}", "Get one pipeline", g.apiGetPipeline)
	rt.add("PUT", "/api/pipelines/{id}", "Replace an API-made pipeline", g.apiUpdatePipeline)
	rt.add("DELETE", "/api/pipelines/{id}", "Delete an API-made pipeline", g.apiDeletePipeline)
	rt.add("POST", "/api/pipelines/{id}/run", "Run a pipeline (for testing; no key policies)", g.apiRunPipeline)
	rt.add("GET", "/api/executions", "List pipeline executions and model invocations, most recent first", g.apiListExecutions)
	rt.add("GET", "/api/executions/{id}", "Get one execution or invocation; a running pipeline shows its progress", g.apiGetExecution)
	rt.add("GET", "/api/analytics", "Requests, errors, latency percentiles, tokens and cost over time, grouped by model, pipeline, key or org", g.apiAnalytics)
	rt.add("GET", "/api/plugins", "Loaded WASM and process plugins with their stats", g.apiPlugins)
	rt.add("GET", "/api/mcp-servers", "List MCP servers with their state and tools", g.apiListMCPServers)
	rt.add("POST", "/api/mcp-servers", "Register an MCP server", g.apiCreateMCPServer)
	rt.add("GET", "/api/mcp-servers/{id}", "Get one MCP server", g.apiGetMCPServer)
	rt.add("PUT", "/api/mcp-servers/{id}", "Replace an API-registered MCP server", g.apiUpdateMCPServer)
	rt.add("DELETE", "/api/mcp-servers/{id}", "Delete an API-registered MCP server", g.apiDeleteMCPServer)
	rt.add("GET", "/api/mcp-servers/{id}/tools", "An MCP server's tools with their input schemas", g.apiMCPServerTools)
	rt.add("POST", "/api/mcp-servers/{id}/tools/{name}/call", "Call one of an MCP server's tools (for testing; no key policies)", g.apiCallMCPTool)
	rt.add("GET", "/api/openapi.json", "This document: the OpenAPI 3 description of the admin API and the data plane", g.apiOpenAPI)
	rt.add("GET", "/", "The admin console", g.console)
	return rt
}

func (g *Server) serveAdmin(ctx *fasthttp.RequestCtx) {
	defer g.recoverPanic(ctx)
	// Admin answers carry tokens, keys and records: no cache may keep them. The console's hashed
	// assets set their own.
	ctx.Response.Header.Set("Cache-Control", "no-store")
	path := ctx.Path()
	profiling := bytes.HasPrefix(path, []byte("/debug/pprof/"))
	if bytes.HasPrefix(path, []byte("/api/")) || profiling {
		now := time.Now()
		if fe := g.adminAuth.check(ctx, now); fe != nil {
			writeError(ctx, fe)
			return
		}
		tok := bearer(ctx.Request.Header.Peek("Authorization"))
		if tok == nil || !policy.CheckToken(*g.adminHash.Load(), tok) {
			if tok != nil {
				g.adminAuth.failed(ctx, now)
			}
			writeError(ctx, fault.Unauthenticated("the admin API needs \"Authorization: Bearer <admin token>\""))
			return
		}
	}
	if profiling {
		pprofhandler.PprofHandler(ctx) // Go's profiles, for operators chasing a hot path
		return
	}
	r, params, other := g.admin.match(string(ctx.Method()), string(path))
	switch {
	case r != nil && r.Pattern != "/":
		r.handler(ctx, params)
	case other:
		g.dispatch(ctx, g.admin)
	case ctx.IsGet() && !bytes.HasPrefix(path, []byte("/api/")):
		g.console(ctx, nil) // the console's own routes
	default:
		g.dispatch(ctx, g.admin)
	}
}

func (g *Server) healthz(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ok"})
}

func (g *Server) promMetrics(ctx *fasthttp.RequestCtx, _ []string) {
	ctx.SetContentType("text/plain; version=0.0.4")
	g.metrics.WritePrometheus(ctx)
}

func (g *Server) status(ctx *fasthttp.RequestCtx, _ []string) {
	answer := map[string]any{
		"version":     g.opts.Version,
		"startedAt":   g.started,
		"listen":      g.DataAddr(),
		"adminListen": g.AdminAddr(),
		"config":      g.opts.ConfigPath,
		"models":      len(g.reg.Snapshot().All()),
		"keys":        len(g.keys.List()),
		"lastReload":  g.lastReload.Load(),
	}
	if c := g.cfg.Load(); c != nil && c.Telemetry.TraceURL != "" {
		answer["traceUrl"] = c.Telemetry.TraceURL
	}
	writeJSON(ctx, fasthttp.StatusOK, answer)
}

func (g *Server) reloadHandler(ctx *fasthttp.RequestCtx, _ []string) {
	if g.opts.Reload == nil {
		writeError(ctx, fault.Conflict("the gateway was not started from a config file"))
		return
	}
	if err := g.opts.Reload(); err != nil {
		fe := fault.Invalid("", "reload failed; the running config is unchanged: %v", err)
		fe.Message = strings.ReplaceAll(fe.Message, "\n", "; ")
		writeError(ctx, fe)
		return
	}
	g.status(ctx, nil)
}

func (g *Server) apiListModels(ctx *fasthttp.RequestCtx, _ []string) {
	q := ctx.QueryArgs()
	f := registry.Filter{Q: string(q.Peek("q")), Type: string(q.Peek("type")), Owner: string(q.Peek("owner")),
		Policy: string(q.Peek("policy")), Status: string(q.Peek("status")), Sort: string(q.Peek("sort"))}
	for _, t := range q.PeekMulti("tag") {
		f.Tags = append(f.Tags, string(t))
	}
	var fe *fault.Error
	num := func(name string) float64 {
		v := q.Peek(name)
		if len(v) == 0 || fe != nil {
			return 0
		}
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil || n < 0 {
			fe = fault.Invalid(name, "%s must be a non-negative number, got %q", name, v)
		}
		return n
	}
	f.MaxLatencyMs = num("maxLatencyMs")
	f.MaxCostPerToken = num("maxCostPerToken")
	if s := strings.TrimPrefix(f.Sort, "-"); s != "" && !slices.Contains(registry.SortFields, s) {
		fe = fault.Invalid("sort", "sort must be one of %s (with - for descending), got %q", strings.Join(registry.SortFields, ", "), f.Sort)
	}
	limit, offset, pfe := page(q)
	if fe == nil {
		fe = pfe
	}
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	live, source := g.liveNumbers(ctx)
	views := g.reg.Snapshot().Find(f, live)
	if tools := g.toolViews(f); len(tools) > 0 { // MCP tools, listed beside the models
		views = append(views, tools...)
		registry.SortViews(views, f.Sort)
	}
	answer := pageOf(views, limit, offset)
	answer["statsSource"] = source
	writeJSON(ctx, fasthttp.StatusOK, answer)
}

// liveNumbers is where the registry's listing reads each model's status and numbers: with
// VictoriaMetrics, the whole cluster's numbers of the last day (the last error and request as
// this node knows them), else this node's merged with its peers'; and which of the two it is.
// Routing keeps reading this node's view either way.
func (g *Server) liveNumbers(ctx *fasthttp.RequestCtx) (registry.Live, string) {
	qctx, cancel := g.queryContext(ctx)
	defer cancel()
	fleet, ok := g.push.Fleet().Stats(qctx)
	if !ok {
		return g.engine.Live, analytics.SourceLocal
	}
	return func(e *spec.Entry) (string, *registry.Stats) {
		status, own := g.engine.Live(e)
		st := fleet[e.ID]
		if st == nil {
			return status, nil
		}
		c := *st
		if own != nil {
			c.LastError, c.LastErrorAt, c.LastRequestAt = own.LastError, own.LastErrorAt, own.LastRequestAt
		}
		return status, &c
	}, analytics.SourceVictoriaMetrics
}

// modelInput is a registration body. It accepts, and ignores, the read-only fields the API
// returns, so a client can send back what it got.
type modelInput struct {
	spec.Model
	HasAPIKey any `json:"hasApiKey"`
	Status    any `json:"status"`
	Stats     any `json:"stats"`
	Warnings  any `json:"warnings"`
}

func decodeModel(body []byte) (spec.Model, *fault.Error) {
	var in modelInput
	if es := decode.JSON(body, &in); len(es) > 0 {
		return spec.Model{}, registry.InvalidModel(es).(*fault.Error)
	}
	return in.Model, nil
}

func (g *Server) view(e *spec.Entry) registry.View {
	status, stats := g.engine.Live(e)
	return registry.NewView(e.Model, status, stats)
}

func (g *Server) apiCreateModel(ctx *fasthttp.RequestCtx, _ []string) {
	m, fe := decodeModel(ctx.PostBody())
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	e, err := g.reg.CreateUnique(m)
	if err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	ctx.Response.Header.Set("Location", "/api/models/"+e.ID)
	writeJSON(ctx, fasthttp.StatusCreated, g.view(e))
}

func (g *Server) apiGetModel(ctx *fasthttp.RequestCtx, params []string) {
	e := g.reg.Snapshot().Get(params[0])
	if e == nil {
		if v, ok := g.toolView(params[0]); ok { // an MCP tool, as the listing shows it
			writeJSON(ctx, fasthttp.StatusOK, v)
			return
		}
		writeError(ctx, fault.NotFound("model_not_found", "model %q does not exist", params[0]))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, g.view(e))
}

func (g *Server) apiUpdateModel(ctx *fasthttp.RequestCtx, params []string) {
	m, fe := decodeModel(ctx.PostBody())
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	e, warnings, err := g.reg.Update(params[0], m)
	if err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, updatedModel{g.view(e), warnings})
}

// updatedModel is the answer to a PUT: the model, and what the update did beyond what it was
// asked (the stored key dropped, for a model moved to another host).
type updatedModel struct {
	registry.View
	Warnings []string `json:"warnings,omitempty"`
}

func (g *Server) apiDeleteModel(ctx *fasthttp.RequestCtx, params []string) {
	if err := g.reg.Delete(params[0]); err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// testReport is what a one-click model test returns.
type testReport struct {
	OK                bool            `json:"ok"`
	Model             string          `json:"model"`
	ServedBy          string          `json:"servedBy,omitempty"`
	RequestID         string          `json:"requestId"`
	Status            int             `json:"status"`
	LatencyMs         float64         `json:"latencyMs"`
	UpstreamLatencyMs float64         `json:"upstreamLatencyMs"`
	Tokens            testTokens      `json:"tokens"`
	CostUSD           float64         `json:"costUsd"`
	Output            string          `json:"output,omitempty"`
	Request           json.RawMessage `json:"request"`
	Response          json.RawMessage `json:"response,omitempty"`
	Error             *testError      `json:"error,omitempty"`
}

type testTokens struct {
	Input  int64 `json:"input"`
	Output int64 `json:"output"`
	Total  int64 `json:"total"`
}

type testError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
}

// apiTestModel calls a model with the body given (any input /v1/models/{id}/invoke accepts), or
// with a small default request, and reports how it went. It answers 200 whether or not the model
// did; the report says which.
func (g *Server) apiTestModel(ctx *fasthttp.RequestCtx, params []string) {
	r := g.engine.Route(params[0])
	if r == nil {
		writeError(ctx, fault.NotFound("model_not_found", "model %q does not exist", params[0]))
		return
	}
	input := bytes.TrimSpace(ctx.PostBody())
	if len(input) == 0 || bytes.Equal(input, []byte("{}")) {
		input = []byte(`{"messages":[{"role":"user","content":"Say hello in five words."}],"max_tokens":32}`)
		if r.ModelType == "embedding" {
			input = []byte(`{"input":"hello world"}`)
		}
	}
	start := time.Now()
	id := g.engine.NewID(start)
	rep := testReport{Model: r.ID, RequestID: id, Request: json.RawMessage(input)}
	if !json.Valid(input) {
		rep.Request = nil
	}
	out, fe := g.callWithInput(g.life, r, nil, id, start, "test", input)
	rep.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
	if fe != nil {
		rep.Status = fe.Status
		rep.Error = &testError{Message: fe.Message, Type: fe.Type, Code: fe.Code}
		writeJSON(ctx, fasthttp.StatusOK, rep)
		return
	}
	u := out.Usage()
	rep.OK, rep.Status, rep.ServedBy = true, fasthttp.StatusOK, out.Route.ID
	rep.UpstreamLatencyMs = float64(out.UpstreamLatency().Microseconds()) / 1000
	rep.Tokens = testTokens{Input: u.Input, Output: u.Output, Total: u.Input + u.Output}
	rep.CostUSD = out.Cost()
	rep.Output = textOf(out.Result.Body)
	if json.Valid(out.Result.Body) {
		rep.Response = json.RawMessage(bytes.Clone(out.Result.Body))
	}
	out.Finish(fasthttp.StatusOK, nil)
	writeJSON(ctx, fasthttp.StatusOK, rep)
}

// keyView is a key as the API shows it, with what it has used.
type keyView struct {
	*policy.Key
	Usage policy.Usage `json:"usage"`
}

func (g *Server) apiListKeys(ctx *fasthttp.RequestCtx, _ []string) {
	keys := g.keys.List()
	out := make([]keyView, len(keys))
	for i, k := range keys {
		out[i] = keyView{Key: k, Usage: g.limits.UsageOf(k)}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": out})
}

func (g *Server) apiCreateKey(ctx *fasthttp.RequestCtx, _ []string) {
	var req policy.NewKeyRequest
	if es := decode.JSON(ctx.PostBody(), &req); len(es) > 0 {
		writeError(ctx, fault.Invalid(es[0].Path, "invalid key: %s", strings.ReplaceAll(es.Error(), "\n", "; ")))
		return
	}
	key, value, err := g.keys.Create(req)
	if err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	writeJSON(ctx, fasthttp.StatusCreated, struct {
		*policy.Key
		Value string `json:"key"`
	}{key, value})
}

func (g *Server) apiRevokeKey(ctx *fasthttp.RequestCtx, params []string) {
	if err := g.keys.Revoke(params[0]); err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

func (g *Server) apiListExecutions(ctx *fasthttp.RequestCtx, _ []string) {
	a := ctx.QueryArgs()
	q := analytics.Query{Model: string(a.Peek("model")), Key: string(a.Peek("key")), Org: string(a.Peek("org")),
		Status: string(a.Peek("status")), Before: string(a.Peek("before")), Kind: string(a.Peek("kind")),
		Pipeline: string(a.Peek("pipeline"))}
	var fe *fault.Error
	if q.Status != "" && q.Status != "ok" && q.Status != "error" {
		fe = fault.Invalid("status", "status must be ok or error, got %q", q.Status)
	}
	if q.Kind != "" && q.Kind != "invocation" && q.Kind != "pipeline" {
		fe = fault.Invalid("kind", "kind must be invocation or pipeline, got %q", q.Kind)
	}
	if v := a.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > analytics.MaxLimit {
			fe = fault.Invalid("limit", "limit must be between 1 and %d, got %q", analytics.MaxLimit, v)
		}
		q.Limit = n
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if v := a.Peek(t.name); len(v) > 0 {
			tm, err := parseTime(string(v))
			if err != nil {
				fe = fault.Invalid(t.name, "%s must be an RFC 3339 time or Unix milliseconds, got %q", t.name, v)
			}
			*t.dst = tm
		}
	}
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	qctx, cancel := g.queryContext(ctx)
	defer cancel()
	var (
		list []json.RawMessage
		next string
		err  error
	)
	answer := map[string]any{}
	if ex := g.sharedExecutions(); ex != nil {
		// With a cluster, the other nodes' pipeline runs too, each record naming its node.
		var remoteErr error
		list, next, remoteErr, err = g.rec.ListMerged(qctx, q, g.cluster.NodeID(), ex.List)
		if remoteErr != nil {
			answer["clusterError"] = "the other nodes' executions are missing: " + remoteErr.Error()
		}
	} else {
		list, next, err = g.rec.List(qctx, q)
	}
	if errors.Is(err, analytics.ErrBadCursor) {
		writeError(ctx, fault.Invalid("before", "before must be the next cursor of a previous page, got %q", q.Before))
		return
	}
	if err != nil {
		writeError(ctx, g.queryFault("executions", err))
		return
	}
	if list == nil {
		list = []json.RawMessage{}
	}
	answer["data"], answer["next"] = list, next
	writeJSON(ctx, fasthttp.StatusOK, answer)
}

// sharedExecutions is the cluster's pipeline runs; nil without a cluster.
func (g *Server) sharedExecutions() *cluster.Executions {
	if g.cluster == nil {
		return nil
	}
	return g.cluster.Executions()
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(n), nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

func (g *Server) apiGetExecution(ctx *fasthttp.RequestCtx, params []string) {
	if !analytics.IsRecordID(params[0]) {
		writeError(ctx, fault.NotFound("execution_not_found", "execution %q does not exist", params[0]))
		return
	}
	if live := g.runner.Live(params[0]); live != nil {
		ctx.SetContentType("application/json")
		ctx.SetBody(live)
		return
	}
	qctx, cancel := g.queryContext(ctx)
	defer cancel()
	inv, err := g.rec.Get(qctx, params[0])
	if ex := g.sharedExecutions(); ex != nil {
		if err == nil {
			inv = json.RawMessage(analytics.WithNode(inv, g.cluster.NodeID()))
		} else if errors.Is(err, analytics.ErrNotFound) {
			// Another node's run, which it published.
			if run, cerr := ex.Get(qctx, params[0]); cerr != nil {
				g.log.Warn("cannot read a pipeline execution from the cluster", "err", cerr)
			} else if run != nil {
				inv, err = run, nil
			}
		}
	}
	if errors.Is(err, analytics.ErrNotFound) {
		writeError(ctx, fault.NotFound("execution_not_found", "execution %q does not exist (or has expired)", params[0]))
		return
	}
	if err != nil {
		writeError(ctx, g.queryFault("execution", err))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, inv)
}

func (g *Server) console(ctx *fasthttp.RequestCtx, _ []string) {
	if g.consoleFiles != nil {
		g.consoleFiles.serve(ctx)
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(`<!doctype html><meta charset="utf-8"><title>IoM</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>IoM admin</h1><p>The console is not part of this build: run <code>make run</code> (or <code>make console</code>
and rebuild) to include it. The admin API is served under <code>/api/</code>
(send <code>Authorization: Bearer &lt;admin token&gt;</code>), Prometheus metrics at <code>/metrics</code>.</p></body>`)
}

// ranges are the named ranges of the analytics API.
var ranges = map[string]time.Duration{"1h": time.Hour, "6h": 6 * time.Hour, "24h": 24 * time.Hour, "1d": 24 * time.Hour,
	"7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// apiAnalytics answers from the rollups: ?range=1h|6h|24h|7d|30d (or since and until), step
// (1m, 5m, 15m, 1h, 6h, 1d; chosen from the range when absent, widened when too fine for the
// range) and group (model, pipeline, key, org). analytics.Analytics bounds the answer.
func (g *Server) apiAnalytics(ctx *fasthttp.RequestCtx, _ []string) {
	a := ctx.QueryArgs()
	to := time.Now()
	span := time.Hour
	if r := string(a.Peek("range")); r != "" {
		d, ok := ranges[r]
		if !ok {
			writeError(ctx, fault.Invalid("range", "range must be one of 1h, 6h, 24h, 7d, 30d, got %q", r))
			return
		}
		span = d
	}
	from := to.Add(-span)
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &from}, {"until", &to}} {
		if v := a.Peek(t.name); len(v) > 0 {
			tm, err := parseTime(string(v))
			if err != nil {
				writeError(ctx, fault.Invalid(t.name, "%s must be an RFC 3339 time or Unix milliseconds, got %q", t.name, v))
				return
			}
			*t.dst = tm
		}
	}
	step := string(a.Peek("step"))
	if step == "" {
		step = analytics.AutoStep(to.Sub(from))
	}
	group := string(a.Peek("group"))
	if group == "" {
		group = "model"
	}
	qctx, cancel := g.queryContext(ctx)
	defer cancel()
	rep, err := g.analytics(qctx, from, to, step, group)
	if err != nil {
		writeError(ctx, g.queryFault("analytics", err))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, rep)
}

// analytics answers from VictoriaMetrics (the whole cluster) when the metrics are pushed there,
// and from this node's rollups otherwise, or when it does not answer in time: the answer's
// source and sourceError say which, and why.
func (g *Server) analytics(ctx context.Context, from, to time.Time, step, group string) (*analytics.Report, error) {
	vq := g.push.Query()
	if vq == nil {
		return g.rec.Analytics(ctx, from, to, step, group)
	}
	rep, err := vq.Analytics(ctx, from, to, step, group)
	var qe *analytics.QueryError
	if err == nil || errors.As(err, &qe) || ctx.Err() != nil {
		return rep, err
	}
	rep, lerr := g.rec.Analytics(ctx, from, to, step, group)
	if rep != nil {
		rep.SourceError = err.Error() + "; these are this node's numbers only"
	}
	return rep, lerr
}

func (g *Server) apiPlugins(ctx *fasthttp.RequestCtx, _ []string) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": g.hub.List()})
}
