package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/cache"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
)

// Response headers of the data plane (x-iom-request-id, …), named in fasthttp's canonical form so
// setting one skips the normalising copy fasthttp makes of a name given as a string.
var (
	hRequestID = header("X-Iom-Request-Id")
	hModel     = header("X-Iom-Model")
	hLatency   = header("X-Iom-Latency-Ms")
	hCost      = header("X-Iom-Cost-Usd")
	hCache     = header("X-Iom-Cache")
	hFallback  = header("X-Iom-Fallback")
)

type header []byte

func (n header) set(h *fasthttp.ResponseHeader, v string) { h.SetBytesK(n, v) }

func (n header) setBytes(h *fasthttp.ResponseHeader, v []byte) { h.SetCanonical(n, v) }

// setLatency sets the latency header: d in milliseconds with three decimals, as
// strconv.AppendFloat(ms, 'f', 3) writes it, in a fraction of its time.
func setLatency(h *fasthttp.ResponseHeader, d time.Duration) {
	us := max(d.Microseconds(), 0)
	var buf [24]byte
	b := strconv.AppendInt(buf[:0], us/1000, 10)
	frac := us % 1000
	b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	hLatency.setBytes(h, b)
}

// call is the state of one data-plane request, pooled.
type call struct {
	parsed
	req invoke.Request
}

var callPool = sync.Pool{New: func() any { return &call{parsed: parsed{fields: make([]rawjson.Field, 0, 16)}} }}

func (g *Server) dataRoutes() *router {
	rt := &router{}
	rt.add("POST", "/v1/chat/completions", "Create a chat completion (OpenAI-compatible; stream: true for SSE)",
		func(ctx *fasthttp.RequestCtx, _ []string) { g.completion(ctx, provider.Chat) })
	rt.add("POST", "/v1/completions", "Create a legacy completion (OpenAI-compatible)",
		func(ctx *fasthttp.RequestCtx, _ []string) { g.completion(ctx, provider.Completion) })
	rt.add("POST", "/v1/embeddings", "Create embeddings (OpenAI-compatible)",
		func(ctx *fasthttp.RequestCtx, _ []string) { g.completion(ctx, provider.Embedding) })
	rt.add("GET", "/v1/models", "List the models the key may use", g.listModels)
	rt.add("GET", "/v1/models/{id}", "Retrieve one model the key may use", g.getModel)
	rt.add("POST", "/v1/models/{id}/invoke", "Invoke a model with any JSON input, validated against its inputSchema", g.invokeModel)
	rt.add("POST", "/v1/messages", "Create a message (Anthropic-compatible; stream: true for events)", g.messages)
	rt.add("POST", "/v1/messages/count_tokens", "Estimate a message's input tokens (Anthropic-compatible)", g.countMessageTokens)
	rt.add("POST", "/v1/responses", "Create a response (OpenAI Responses API, served by any model; stream: true for events)", g.createResponse)
	rt.add("GET", "/v1/responses/{id}", "Retrieve a stored response", g.getResponse)
	rt.add("DELETE", "/v1/responses/{id}", "Delete a stored response", g.deleteResponse)
	rt.add("GET", "/v1/responses/{id}/input_items", "List a stored response's input items", g.responseInputItems)
	rt.add("POST", "/v1/pipelines/{id}/run", "Run a pipeline with any JSON input, validated against its inputSchema", g.dataRunPipeline)
	rt.add("POST", "/mcp", "MCP (streamable HTTP): a JSON-RPC message to the tools of every MCP server the key may use", g.serveMCP)
	rt.add("GET", "/mcp", "MCP (streamable HTTP): the session's stream of server messages", g.serveMCP)
	rt.add("DELETE", "/mcp", "MCP (streamable HTTP): end the session", g.serveMCP)
	return rt
}

func (g *Server) serveData(ctx *fasthttp.RequestCtx) {
	if l := g.access.Load(); l != nil && !l.Excluded(ctx.Path()) {
		g.serveLogged(ctx)
		return
	}
	g.handleData(ctx)
}

// handleData serves a data-plane request.
func (g *Server) handleData(ctx *fasthttp.RequestCtx) {
	defer g.recoverPanic(ctx)
	if g.cors.Load().apply(ctx) {
		return
	}
	if span := g.trace(ctx); span.Recording() {
		defer g.endTrace(ctx, span)
	}
	if hop := ctx.Request.Header.PeekBytes(hopHeader); len(hop) > 0 && !g.hop(ctx, hop) {
		return
	}
	// The hot paths skip the router.
	if ctx.IsPost() {
		switch string(ctx.Path()) {
		case "/v1/chat/completions":
			g.completion(ctx, provider.Chat)
			return
		case "/v1/embeddings":
			g.completion(ctx, provider.Embedding)
			return
		}
	}
	g.dispatch(ctx, g.data)
}

var hopHeader = []byte(provider.HopHeader)

// callKey is the user value of a request whose upstream calls need a context of their own (see
// callContext): every data-plane request's carries its trace, one that came through a gateway
// the hop header, one being logged its access-log state.
type callKey struct{}

// hop checks the hop header of a request that came through gateways (this one among them,
// perhaps): one that came back here provider.MaxHops times, or went through too many gateways,
// is refused with 508. It reports whether the request goes on.
func (g *Server) hop(ctx *fasthttp.RequestCtx, header []byte) bool {
	next, times, ok := provider.NextHop(g.pool.Instance(), header)
	if !ok || times >= provider.MaxHops {
		fe := provider.LoopDetected("the request came back to this gateway %d times: a model's endpoint leads back to it", times)
		if !ok {
			fe.Message = "the request went through too many gateways: a model's endpoint leads back to one of them"
		}
		g.count(ctx, fe, nil, "")
		if bytes.HasPrefix(ctx.Path(), []byte("/v1/messages")) {
			writeMessagesError(ctx, fe) // Anthropic's clients read Anthropic's error shape
		} else {
			writeError(ctx, fe)
		}
		return false
	}
	ctx.SetUserValue(callKey{}, provider.WithHop(g.callContext(ctx), next))
	return true
}

// callContext is the context of the upstream calls of a request: the gateway's life, carrying
// the hop header of a request that came through a gateway and the access-log state of one being
// logged.
func (g *Server) callContext(ctx *fasthttp.RequestCtx) context.Context {
	if c, ok := ctx.UserValue(callKey{}).(context.Context); ok {
		return c
	}
	return g.life
}

func (g *Server) dispatch(ctx *fasthttp.RequestCtx, rt *router) {
	r, params, other := rt.match(string(ctx.Method()), string(ctx.Path()))
	switch {
	case r != nil:
		r.handler(ctx, params)
	case other:
		writeError(ctx, &fault.Error{Kind: fault.Caller, Status: fasthttp.StatusMethodNotAllowed, Type: "invalid_request_error",
			Code: "method_not_allowed", Message: "method " + string(ctx.Method()) + " is not allowed on " + string(ctx.Path())})
	default:
		writeError(ctx, fault.NotFound("not_found", "no endpoint %s %s", ctx.Method(), ctx.Path()))
	}
}

func (g *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	if p := recover(); p != nil {
		g.log.Error("panic in handler", "path", string(ctx.Path()), "panic", p, "stack", stack())
		writeError(ctx, fault.Internal("internal error; the gateway logged the details"))
	}
}

// authenticate returns the caller's key from "Authorization: Bearer" or "x-api-key". A client
// address locked out for wrong keys (see authGuard) is refused without its key being checked.
func (g *Server) authenticate(ctx *fasthttp.RequestCtx) (*policy.Key, *fault.Error) {
	now := ctx.Time()
	if fe := g.dataAuth.check(ctx, now); fe != nil {
		return nil, fe
	}
	raw := bearer(ctx.Request.Header.Peek("Authorization"))
	if raw == nil {
		raw = ctx.Request.Header.Peek("x-api-key")
	}
	if len(raw) == 0 {
		return nil, fault.Unauthenticated("missing API key: send it as \"Authorization: Bearer <key>\"")
	}
	if key := g.keys.Authenticate(raw); key != nil {
		return key, nil
	}
	g.dataAuth.failed(ctx, now)
	return nil, fault.Unauthenticated("invalid API key")
}

func bearer(h []byte) []byte {
	const prefix = "bearer "
	if len(h) > len(prefix) && bytes.EqualFold(h[:len(prefix)], []byte(prefix)) {
		return bytes.TrimSpace(h[len(prefix):])
	}
	return nil
}

// reject answers a request that failed before reaching a model, and counts it.
// reject answers a request refused before it reached a model (see count).
func (g *Server) reject(ctx *fasthttp.RequestCtx, fe *fault.Error, key *policy.Key, model string) {
	g.count(ctx, fe, key, model)
	writeError(ctx, fe)
}

// count records a request refused before it reached a model: in the metrics (under model
// "none"), and as an invocation record with its status and reason, so that analytics and the
// console's executions show it. model is the model asked for when it exists, else "" for
// "unknown" (the ids clients make up would grow the rollups without bound; the record's error
// names them); key is the caller's, when authenticated.
func (g *Server) count(ctx *fasthttp.RequestCtx, fe *fault.Error, key *policy.Key, model string) {
	m := g.metrics.Model("none", "none")
	m.Requests.Inc()
	m.Error(fe.Kind)
	start := ctx.Time()
	id := string(ctx.Response.Header.PeekBytes(hRequestID))
	if id == "" {
		id = g.engine.NewID(start)
		hRequestID.set(&ctx.Response.Header, id)
	}
	if model == "" {
		model = "unknown"
	}
	inv := &analytics.Invocation{ID: id, Kind: "invocation", Time: start, Op: opOf(ctx.Path()), Model: model,
		Status: "error", HTTPStatus: fe.Status, ErrorKind: fe.Kind.String(), Error: fe.Message,
		LatencyMs: float64(time.Since(start).Microseconds()) / 1000,
		TraceID:   string(ctx.Response.Header.PeekBytes(hTraceID))}
	if key != nil {
		inv.Key, inv.KeyID, inv.Org = key.Name, key.ID, key.Org
	}
	g.rec.Record(inv)
	if l := g.access.Load(); l != nil {
		g.accessRefused(ctx, l, inv)
	}
}

// opOf names the operation of a data-plane path, as records do.
func opOf(path []byte) string {
	p := string(path)
	switch {
	case p == "/v1/messages":
		return "messages"
	case p == "/v1/messages/count_tokens":
		return "count_tokens"
	case p == "/v1/responses" || strings.HasPrefix(p, "/v1/responses/"):
		return "responses"
	case p == "/v1/chat/completions" || p == "/chat/completions":
		return "chat"
	case p == "/v1/completions" || p == "/completions":
		return "completion"
	case p == "/v1/embeddings" || p == "/embeddings":
		return "embedding"
	case strings.HasSuffix(p, "/invoke"):
		return "invoke"
	case strings.HasSuffix(p, "/run"):
		return "pipeline"
	case strings.HasPrefix(p, "/v1/models") || p == "/models":
		return "models"
	case p == "/mcp":
		return "tool"
	}
	return "other"
}

func (g *Server) completion(ctx *fasthttp.RequestCtx, op provider.Op) {
	start := ctx.Time() // read now: the data plane's server reads the clock lazily
	id := g.engine.NewID(start)
	hRequestID.set(&ctx.Response.Header, id)
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return
	}
	// The pooled call goes back when the answer is written; a stream owns it until it ends,
	// since its request's fields point into it.
	c := callPool.Get().(*call)
	owned := true
	defer func() {
		if owned {
			callPool.Put(c)
		}
	}()
	body := ctx.PostBody()
	if fe := parseRequest(op, body, &c.parsed); fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	if pid, ok := bytes.CutPrefix(c.model, []byte(spec.PipelinePrefix)); ok && op == provider.Chat {
		g.pipelineChat(ctx, key, string(pid), c, start, id)
		return
	}
	var route *invoke.Route
	if string(c.model) == spec.AutoModel {
		route, fe = g.selectAuto(ctx, key, op)
	} else {
		if route, fe = g.engine.Resolve(key, string(c.model)); fe != nil {
			fe = g.notAModel(fe, key, string(c.model))
		}
	}
	if fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	held, fe := g.reserve(key, route, op, body, c.fields)
	if fe != nil {
		g.reject(ctx, fe, key, route.ID)
		return
	}
	if held != key {
		// The call's cost replaces what it holds; one that ends without a cost (it failed, or
		// the cache answered) frees it here, or, streaming, when its stream ends.
		defer func() {
			if owned {
				g.limits.Release(held)
			}
		}()
		key = held
	}
	// The request escapes into the outcome, which outlives this handler for streams.
	req := &invoke.Request{ID: id, Start: start, Key: key, Op: op.String(),
		Call: provider.Call{Op: op, Body: body, Fields: c.fields, Stream: c.stream, Ctx: g.callContext(ctx)}}
	var cacheKey []byte
	if route.Cache != nil {
		req.Cache = "miss"
		if !bytes.Contains(ctx.Request.Header.Peek("Cache-Control"), []byte("no-cache")) {
			cacheKey = cache.Key(policy.CacheScope(key, route.Model), route.ID, op.String(), c.fields)
			if hit, ok := g.cache.Get(cacheKey, route.Cache.Shared); ok {
				req.Cache = "hit"
				g.serveCached(ctx, route, req, hit)
				return
			}
		}
	}
	if c.stream {
		owned = false
		g.stream(ctx, route, req, func() { g.limits.Release(key); callPool.Put(c) })
		return
	}
	out, fe := g.engine.Do(route, req)
	if fe == nil && op == provider.Embedding {
		if out.Result.Body, fe = shapeEmbeddings(out.Result.Body, c.shape); fe != nil {
			out.Finish(fe.Status, fe)
		}
	}
	if fe != nil {
		g.callFailed(ctx, route.ID, id, fe)
		return
	}
	g.answerHeaders(ctx, out, start)
	ctx.SetContentType("application/json")
	ctx.SetBody(out.Result.Body)
	if cacheKey != nil && out.Fallback == "" {
		u := out.Usage()
		g.cache.Put(cacheKey, cache.Entry{Body: bytes.Clone(out.Result.Body), Input: u.Input, Output: u.Output},
			time.Duration(route.Cache.TTLSeconds)*time.Second, route.Cache.Shared)
	}
	out.Finish(fasthttp.StatusOK, nil)
}

// selectAuto picks the model for `"model": "auto"` from the x-iom-capability,
// x-iom-max-latency-ms, x-iom-max-cost-per-token and x-iom-prefer headers.
func (g *Server) selectAuto(ctx *fasthttp.RequestCtx, key *policy.Key, op provider.Op) (*invoke.Route, *fault.Error) {
	h := &ctx.Request.Header
	c := invoke.Constraints{Capability: string(h.Peek("x-iom-capability")), Prefer: string(h.Peek("x-iom-prefer")), Op: op}
	if c.Prefer != "" && !slices.Contains(invoke.Preferences, c.Prefer) {
		return nil, fault.Invalid("x-iom-prefer", "x-iom-prefer must be one of %s, got %q", strings.Join(invoke.Preferences, ", "), c.Prefer)
	}
	for _, n := range []struct {
		header string
		dst    *float64
	}{{"x-iom-max-latency-ms", &c.MaxLatencyMs}, {"x-iom-max-cost-per-token", &c.MaxCostPerToken}} {
		if v := h.Peek(n.header); len(v) > 0 {
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || f < 0 {
				return nil, fault.Invalid(n.header, "%s must be a non-negative number, got %q", n.header, v)
			}
			*n.dst = f
		}
	}
	return g.engine.Select(key, c)
}

// serveCached answers from the response cache, as a stream when one was asked for.
func (g *Server) serveCached(ctx *fasthttp.RequestCtx, route *invoke.Route, req *invoke.Request, hit cache.Entry) {
	h := &ctx.Response.Header
	hModel.set(h, route.ID)
	hCache.set(h, "hit")
	hCost.set(h, "0")
	usage := provider.Usage{Input: hit.Input, Output: hit.Output}
	setLatency(h, time.Since(req.Start))
	if !req.Call.Stream {
		ctx.SetContentType("application/json")
		ctx.SetBody(hit.Body)
		g.engine.Cached(route, req, usage, fasthttp.StatusOK)
		return
	}
	s := provider.ResultAsStream(&provider.Result{Body: hit.Body, Usage: usage}, route.UpstreamModel, req.Call.Body)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	setStreamBody(ctx, func(w *bufio.Writer) {
		fe := relay(w, s, route.ID)
		status := fasthttp.StatusOK
		if fe != nil {
			status = fe.Status
		}
		g.engine.Cached(route, req, usage, status)
	})
}

func (g *Server) answerHeaders(ctx *fasthttp.RequestCtx, out *invoke.Outcome, start time.Time) {
	h := &ctx.Response.Header
	hModel.set(h, out.Route.ID)
	hCache.set(h, "miss")
	if out.Fallback != "" {
		hFallback.set(h, out.Fallback)
	}
	setLatency(h, time.Since(start))
	if out.Result != nil {
		var buf [32]byte
		hCost.setBytes(h, strconv.AppendFloat(buf[:0], out.Cost(), 'f', -1, 64))
	}
}

var errClientGone = &fault.Error{Kind: fault.Caller, Status: 499, Type: "client_closed", Code: "client_closed",
	Message: "the client closed the connection during the stream"}

var (
	sseData = []byte("data: ")
	sseEnd  = []byte("\n\n")
	sseDone = []byte("data: [DONE]\n\n")
)

// reserve admits key's call of route: when a budget applies, the call holds its worst cost
// until its cost settles it or Release frees it. The key it returns carries the hold.
func (g *Server) reserve(key *policy.Key, route *invoke.Route, op provider.Op, body []byte, fields []rawjson.Field) (*policy.Key, *fault.Error) {
	var estimate float64
	if g.limits.Holds(key) {
		estimate = estimateCost(route.Model, op, body, fields)
	}
	return g.limits.Reserve(key, estimate)
}

// stream relays a streamed answer as server-sent events, each written as it arrives and flushed
// unless another is already waiting. A failure after the first byte ends the stream with an
// error event, never with [DONE].
// done runs once the stream has ended (or failed to start).
func (g *Server) stream(ctx *fasthttp.RequestCtx, route *invoke.Route, req *invoke.Request, done func()) {
	out, fe := g.engine.Stream(route, req)
	if fe != nil {
		done()
		g.callFailed(ctx, route.ID, req.ID, fe)
		return
	}
	g.streamBody(ctx, out, route.ID, req, done, func(w *bufio.Writer) *fault.Error { return relay(w, out, route.ID) })
}

// streamBody answers with the event stream that write produces from out, a call to model: the
// stream's headers, then write on the connection's writer. However write ends (a panic
// included), the call is logged and finished with its fault, and done runs, when not nil.
func (g *Server) streamBody(ctx *fasthttp.RequestCtx, out *invoke.Outcome, model string, req *invoke.Request, done func(),
	write func(w *bufio.Writer) *fault.Error) {
	g.answerHeaders(ctx, out, req.Start)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no")
	setStreamBody(ctx, func(w *bufio.Writer) {
		var final *fault.Error
		defer func() {
			if p := recover(); p != nil {
				g.log.Error("panic in stream", "panic", p, "stack", stack())
				final = fault.Internal("internal error during the stream")
			}
			g.logCallFault(model, req.ID, final)
			out.Finish(fasthttp.StatusOK, final)
			if done != nil {
				done()
			}
		}()
		final = write(w)
	})
}

// chunks is a stream of canonical chunks: a call's outcome, or an answer replayed from the cache.
type chunks interface {
	Next() ([]byte, error)
	Buffered() bool
}

// relay writes out's chunks to w; a failure ends the stream with an error event about model.
// The first event goes out at once, with the headers; later ones are flushed unless another is
// already waiting, so a burst goes out in one write.
func relay(w *bufio.Writer, out chunks, model string) *fault.Error {
	for first := true; ; first = false {
		chunk, err := out.Next()
		if errors.Is(err, io.EOF) {
			w.Write(sseDone)
			if w.Flush() != nil {
				return errClientGone
			}
			return nil
		}
		if err != nil {
			fe := fault.As(err)
			writeEvent(w, public(model, fe).AppendJSON(nil))
			w.Flush()
			return fe
		}
		writeEvent(w, chunk)
		if first || !out.Buffered() {
			if w.Flush() != nil {
				return errClientGone
			}
		}
	}
}

// writeEvent writes one server-sent event carrying data. Data with line breaks (pretty-printed
// JSON from an upstream) becomes several data lines, so it cannot end the event early.
func writeEvent(w *bufio.Writer, data []byte) {
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		w.Write(sseData)
		w.Write(bytes.TrimSuffix(data[:i], []byte("\r")))
		w.WriteByte('\n')
		data = data[i+1:]
	}
	w.Write(sseData)
	w.Write(data)
	w.Write(sseEnd)
}
