package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/cache"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/responses"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// Pages of input items: how many by default, and at most (OpenAI's bounds).
const (
	defaultItemsPage = 20
	maxItemsPage     = 100
)

// createResponse serves OpenAI's Responses API (POST /v1/responses) for any model, as messages
// serves Anthropic's: the request, with the stored conversation it continues, becomes a canonical
// chat request, and the answer or each streamed chunk becomes the Responses shape again. With
// store (the default) the response is kept for GET /v1/responses/{id} and previous_response_id
// before the client hears of it.
func (g *Server) createResponse(ctx *fasthttp.RequestCtx, _ []string) {
	start := time.Now()
	id := g.engine.NewID(start)
	hRequestID.set(&ctx.Response.Header, id)
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return
	}
	body := ctx.PostBody()
	if _, fe := scanBody(body); fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	var rr openai.ResponsesRequest
	if err := json.Unmarshal(body, &rr); err != nil {
		g.reject(ctx, fault.Invalid("", "cannot read the request: %v", err), key, "")
		return
	}
	st := g.responseStore()
	if pid, ok := strings.CutPrefix(rr.Model, spec.PipelinePrefix); ok {
		p, fe := g.prepareResponse(st, key, &rr, id, start, len(body))
		if fe != nil {
			g.reject(ctx, fe, key, "")
			return
		}
		req := &invoke.Request{ID: id, Start: start, Key: key, Call: provider.Call{Stream: rr.Stream}}
		g.pipelineResponse(ctx, key, pid, req, body, p, st)
		return
	}
	if rr.Model == "" {
		g.reject(ctx, fault.Invalid("model", "model: field required"), key, "")
		return
	}
	route, fe := g.responseRoute(ctx, key, rr.Model)
	if fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	if g.passesThrough(route) {
		g.passResponse(ctx, route, key, &rr, body, id, start, st)
		return
	}
	p, fe := g.prepareResponse(st, key, &rr, id, start, len(body))
	if fe != nil {
		g.reject(ctx, fe, key, route.ID)
		return
	}
	fields, _ := rawjson.ScanObject(p.Chat, nil)
	held, fe := g.reserve(key, route, provider.Chat, p.Chat, fields)
	if fe != nil {
		g.reject(ctx, fe, key, route.ID)
		return
	}
	p.Template.Model = route.ID
	req := &invoke.Request{ID: id, Start: start, Key: held, Op: "responses",
		Call: provider.Call{Op: provider.Chat, Body: p.Chat, Fields: fields, Stream: rr.Stream, Ctx: g.callContext(ctx)}}
	// The call's cost settles what it holds; one that ends without a cost frees it, a stream
	// when it ends.
	release := func() { g.limits.Release(held) }
	if rr.Stream {
		g.streamResponse(ctx, route, req, p, st, release)
		return
	}
	defer release()
	g.answerResponse(ctx, route, req, p, st)
}

// passesThrough reports whether a Responses request to route goes to its upstream's own
// Responses API: the model's config.responses is passthrough, and so is every fallback's (a
// fallback gets the same request).
func (g *Server) passesThrough(route *invoke.Route) bool {
	if !route.Model.ResponsesPassthrough() {
		return false
	}
	for _, id := range route.Fallbacks {
		if r := g.engine.Route(id); r != nil && !r.Model.ResponsesPassthrough() {
			return false
		}
	}
	return true
}

// passResponse passes rr through to route's upstream Responses API (responses.Pass): the
// answer, or each event of the stream as it comes, gets the gateway's response id and is kept
// as a translated one is.
func (g *Server) passResponse(ctx *fasthttp.RequestCtx, route *invoke.Route, key *policy.Key, rr *openai.ResponsesRequest, body []byte, id string, start time.Time, st *responses.Store) {
	var prev *responses.Record
	if rr.PreviousResponseID != "" {
		var fe *fault.Error
		if prev, fe = g.storedResponse(st, key, rr.PreviousResponseID); fe != nil {
			fe.Param = "previous_response_id"
			g.reject(ctx, fe, key, route.ID)
			return
		}
	}
	pt, err := responses.Pass(rr, body, prev, id, route.ID)
	if err != nil {
		g.reject(ctx, fault.As(err), key, route.ID)
		return
	}
	if pt.Store && len(pt.Items) > responses.MaxRecordBytes {
		g.reject(ctx, fault.Invalid("previous_response_id", "the conversation is too long to keep: %v; start a new one, or set store to false", responses.ErrTooLarge), key, route.ID)
		return
	}
	fields, _ := rawjson.ScanObject(pt.Body, nil)
	held, fe := g.reserve(key, route, provider.Responses, pt.Body, fields)
	if fe != nil {
		g.reject(ctx, fe, key, route.ID)
		return
	}
	release := func() { g.limits.Release(held) }
	req := &invoke.Request{ID: id, Start: start, Key: held, Op: "responses",
		Call: provider.Call{Op: provider.Responses, Body: pt.Body, Fields: fields, Stream: rr.Stream, Ctx: g.callContext(ctx)}}
	keep := func(response []byte) {
		if !pt.Store || response == nil {
			return
		}
		if err := st.Put(responses.ResponseID(id), pt.NewRecord(orgOf(key), response)); err != nil {
			g.log.Warn("cannot keep a response", "id", responses.ResponseID(id), "err", err)
		}
	}
	if rr.Stream {
		out, fe := g.engine.Stream(route, req)
		if fe != nil {
			release()
			g.callFailed(ctx, route.ID, id, fe)
			return
		}
		g.streamBody(ctx, out, route.ID, req, release, func(w *bufio.Writer) *fault.Error {
			return relayPassed(w, out, pt, route.ID, keep)
		})
		return
	}
	defer release()
	out, fe := g.engine.Do(route, req)
	if fe != nil {
		g.callFailed(ctx, route.ID, id, fe)
		return
	}
	answer, err := pt.Rewrite(out.Result.Body)
	if err != nil {
		fe := fault.As(err)
		out.Finish(fe.Status, fe)
		g.callFailed(ctx, route.ID, id, fe)
		return
	}
	keep(answer)
	g.answerHeaders(ctx, out, start)
	ctx.SetContentType("application/json")
	ctx.SetBody(answer)
	out.Finish(fasthttp.StatusOK, nil)
}

// relayPassed relays an upstream's Responses event stream, each event named by its type and
// flushed as relayResponses flushes. The final response is kept before its event is written; a
// stream that breaks off ends with an error event, its last response kept as failed.
func relayPassed(w *bufio.Writer, out *invoke.Outcome, pt *responses.Passed, model string, keep func([]byte)) *fault.Error {
	var last []byte
	for n := 0; ; n++ {
		data, err := out.Next()
		if errors.Is(err, io.EOF) {
			if w.Flush() != nil {
				return errClientGone
			}
			return nil
		}
		if err != nil {
			fe := fault.As(err)
			pf := public(model, fe)
			code := pf.Code
			if code == "" {
				code = "server_error"
			}
			keep(pt.Failed(last, code, pf.Message))
			writeNamedEvents(w, []provider.Event{{Name: "error", Data: responses.ErrorEvent(n, pf.AppendJSON(nil), pf.Message)}})
			w.Flush()
			return fe
		}
		data, typ, response := pt.Event(data)
		if response != nil {
			last = append(last[:0], response...)
			switch string(typ) {
			case "response.completed", "response.incomplete", "response.failed":
				keep(last)
			}
		}
		if len(typ) > 0 {
			w.WriteString("event: ")
			w.Write(typ)
			w.WriteByte('\n')
		}
		writeEvent(w, data)
		if (n == 0 || !out.Buffered()) && w.Flush() != nil {
			return errClientGone
		}
	}
}

// answerResponse makes a non-streaming call and answers with the response object.
// A model's response cache serves it as it serves chat: the translated chat request is the key,
// the chat answer the entry, so the two endpoints share answers.
func (g *Server) answerResponse(ctx *fasthttp.RequestCtx, route *invoke.Route, req *invoke.Request, p *responses.Prepared, st *responses.Store) {
	var cacheKey []byte
	if route.Cache != nil {
		req.Cache = "miss"
		if !bytes.Contains(ctx.Request.Header.Peek("Cache-Control"), []byte("no-cache")) {
			cacheKey = cache.Key(policy.CacheScope(req.Key, route.Model), route.ID, provider.Chat.String(), req.Call.Fields)
			if hit, ok := g.cache.Get(cacheKey, route.Cache.Shared); ok {
				req.Cache = "hit"
				g.cachedResponse(ctx, route, req, p, st, hit)
				return
			}
		}
	}
	out, fe := g.engine.Do(route, req)
	if fe != nil {
		g.callFailed(ctx, route.ID, req.ID, fe)
		return
	}
	if cacheKey != nil && out.Fallback == "" {
		u := out.Usage()
		g.cache.Put(cacheKey, cache.Entry{Body: bytes.Clone(out.Result.Body), Input: u.Input, Output: u.Output},
			time.Duration(route.Cache.TTLSeconds)*time.Second, route.Cache.Shared)
	}
	resp, err := p.Complete(out.Result.Body, out.Usage(), time.Now())
	var answer []byte
	if err == nil {
		answer, err = json.Marshal(resp)
	}
	if err != nil {
		fe := fault.As(err)
		out.Finish(fe.Status, fe)
		g.callFailed(ctx, route.ID, req.ID, fe)
		return
	}
	g.keepResponse(st, req.Key, p, resp)
	g.answerHeaders(ctx, out, req.Start)
	ctx.SetContentType("application/json")
	ctx.SetBody(answer)
	out.Finish(fasthttp.StatusOK, nil)
}

// cachedResponse answers from a cached chat answer, recorded as a hit that cost nothing.
func (g *Server) cachedResponse(ctx *fasthttp.RequestCtx, route *invoke.Route, req *invoke.Request, p *responses.Prepared, st *responses.Store, hit cache.Entry) {
	usage := provider.Usage{Input: hit.Input, Output: hit.Output}
	resp, err := p.Complete(hit.Body, usage, time.Now())
	var answer []byte
	if err == nil {
		answer, err = json.Marshal(resp)
	}
	if err != nil {
		fe := fault.As(err)
		g.engine.Cached(route, req, usage, fe.Status)
		g.callFailed(ctx, route.ID, req.ID, fe)
		return
	}
	g.keepResponse(st, req.Key, p, resp)
	h := &ctx.Response.Header
	hModel.set(h, route.ID)
	hCache.set(h, "hit")
	hCost.set(h, "0")
	setLatency(h, time.Since(req.Start))
	ctx.SetContentType("application/json")
	ctx.SetBody(answer)
	g.engine.Cached(route, req, usage, fasthttp.StatusOK)
}

// prepareResponse translates rr, with the stored response it continues, if any.
func (g *Server) prepareResponse(st *responses.Store, key *policy.Key, rr *openai.ResponsesRequest, id string, start time.Time, size int) (*responses.Prepared, *fault.Error) {
	var prev *responses.Record
	if rr.PreviousResponseID != "" {
		var fe *fault.Error
		if prev, fe = g.storedResponse(st, key, rr.PreviousResponseID); fe != nil {
			fe.Param = "previous_response_id"
			return nil, fe
		}
	}
	p, err := responses.Prepare(rr, prev, id, start)
	if err != nil {
		return nil, fault.As(err)
	}
	if p.Store && prev != nil && prev.Size()+size > responses.MaxRecordBytes {
		return nil, fault.Invalid("previous_response_id", "the conversation is too long to keep: %v; start a new one, or set store to false", responses.ErrTooLarge)
	}
	return p, nil
}

// responseRoute resolves the model of a Responses request: a model id, or auto.
func (g *Server) responseRoute(ctx *fasthttp.RequestCtx, key *policy.Key, model string) (*invoke.Route, *fault.Error) {
	if model == spec.AutoModel {
		return g.selectAuto(ctx, key, provider.Chat)
	}
	return g.engine.Resolve(key, model)
}

// streamResponse relays a streamed answer as the Responses event stream.
func (g *Server) streamResponse(ctx *fasthttp.RequestCtx, route *invoke.Route, req *invoke.Request, p *responses.Prepared, st *responses.Store, done func()) {
	out, fe := g.engine.Stream(route, req)
	if fe != nil {
		done()
		g.callFailed(ctx, route.ID, req.ID, fe)
		return
	}
	key := req.Key
	g.streamBody(ctx, out, route.ID, req, done, func(w *bufio.Writer) *fault.Error {
		keep := func(r *openai.Response) { g.keepResponse(st, key, p, r) }
		return relayResponses(w, out, p.Events(), route.ID, keep)
	})
}

// relayResponses is relay for the Responses API. The response is kept (keep) before its last
// event is written, so that a client continuing it as soon as it ends finds it.
func relayResponses(w *bufio.Writer, out *invoke.Outcome, ev *responses.Events, model string, keep func(*openai.Response)) *fault.Error {
	for first := true; ; first = false {
		chunk, err := out.Next()
		if errors.Is(err, io.EOF) {
			events := ev.End(out.Usage(), time.Now())
			keep(ev.Response())
			writeNamedEvents(w, events)
			if w.Flush() != nil {
				return errClientGone
			}
			return nil
		}
		var fe *fault.Error
		if err != nil {
			fe = fault.As(err)
		} else {
			var events []provider.Event
			events, fe = ev.Chunk(chunk)
			writeNamedEvents(w, events)
		}
		if fe != nil {
			pf := public(model, fe)
			events := ev.Fail(pf.AppendJSON(nil), pf.Message, out.Usage())
			keep(ev.Response())
			writeNamedEvents(w, events)
			w.Flush()
			return fe
		}
		if (first || !out.Buffered()) && w.Flush() != nil {
			return errClientGone
		}
	}
}

// keepResponse stores r when its request asked for it. A response that cannot be kept is still
// answered: the failure is logged, and a later request naming it gets 404.
func (g *Server) keepResponse(st *responses.Store, key *policy.Key, p *responses.Prepared, r *openai.Response) {
	if !p.Store || r == nil {
		return
	}
	rec, err := p.NewRecord(orgOf(key), r)
	if err == nil {
		err = st.Put(r.ID, rec)
	}
	if err != nil {
		g.log.Warn("cannot keep a response", "id", r.ID, "err", err)
	}
}

// responseStore is the store of responses, with the retention of the running config.
func (g *Server) responseStore() *responses.Store {
	return responses.NewStore(g.st, time.Duration(g.cfg.Load().Responses.RetentionHours)*time.Hour)
}

func orgOf(key *policy.Key) string {
	if key.Org == "" {
		return spec.DefaultOrg
	}
	return key.Org
}

// storedResponse reads response id of key's org: 404 when it does not exist, expired, or is
// another org's.
func (g *Server) storedResponse(st *responses.Store, key *policy.Key, id string) (*responses.Record, *fault.Error) {
	rec, err := st.Get(orgOf(key), id)
	switch {
	case errors.Is(err, responses.ErrNotFound):
		return nil, responseNotFound(id)
	case err != nil:
		g.log.Error("cannot read a stored response", "id", cut(id, 64), "err", err)
		return nil, fault.Internal("cannot read the stored response")
	}
	return rec, nil
}

// responseNotFound is the 404 of a response the key cannot see, whether it exists or not.
func responseNotFound(id string) *fault.Error {
	return fault.NotFound("response_not_found", "no response with id %q: it does not exist, has expired, or was made by a key of another org", cut(id, 64))
}

// getResponse serves GET /v1/responses/{id}.
func (g *Server) getResponse(ctx *fasthttp.RequestCtx, params []string) {
	key, rec := g.responseOf(ctx, params[0])
	if rec == nil {
		return
	}
	if s := ctx.QueryArgs().Peek("stream"); string(s) == "true" {
		g.reject(ctx, fault.Invalid("stream", "a stored response cannot be streamed again; get it without stream"), key, "")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(rec.Response)
}

// deleteResponse serves DELETE /v1/responses/{id}.
func (g *Server) deleteResponse(ctx *fasthttp.RequestCtx, params []string) {
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return
	}
	err := g.responseStore().Delete(orgOf(key), params[0])
	switch {
	case errors.Is(err, responses.ErrNotFound):
		g.reject(ctx, responseNotFound(params[0]), key, "")
		return
	case err != nil:
		g.log.Error("cannot delete a stored response", "id", cut(params[0], 64), "err", err)
		g.reject(ctx, fault.Internal("cannot delete the stored response"), key, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, openai.ResponsesDeleted{ID: params[0], Object: "response", Deleted: true})
}

// responseInputItems serves GET /v1/responses/{id}/input_items: a page of the response's input
// items, limit (1 to 100, default 20) after the item named by after, in order desc (default) or
// asc.
func (g *Server) responseInputItems(ctx *fasthttp.RequestCtx, params []string) {
	key, rec := g.responseOf(ctx, params[0])
	if rec == nil {
		return
	}
	q := ctx.QueryArgs()
	limit := defaultItemsPage
	if v := q.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxItemsPage {
			g.reject(ctx, fault.Invalid("limit", "limit must be an integer from 1 to %d", maxItemsPage), key, "")
			return
		}
		limit = n
	}
	order := string(q.Peek("order"))
	switch order {
	case "":
		order = "desc"
	case "asc", "desc":
	default:
		g.reject(ctx, fault.Invalid("order", "order must be asc or desc"), key, "")
		return
	}
	page, err := rec.Page(limit, order, string(q.Peek("after")))
	if err != nil {
		g.reject(ctx, fault.Invalid("after", "after must be the id of one of the response's input items"), key, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, page)
}

// responseOf authenticates the request and reads the stored response id; on failure it has
// answered, and rec is nil.
func (g *Server) responseOf(ctx *fasthttp.RequestCtx, id string) (*policy.Key, *responses.Record) {
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return nil, nil
	}
	rec, fe := g.storedResponse(g.responseStore(), key, id)
	if fe != nil {
		g.reject(ctx, fe, key, "")
		return key, nil
	}
	return key, rec
}

// pipelineResponse serves a Responses request whose model is pipeline:<id>, as pipelineChat
// serves a chat completion: the translated chat request (the conversation it continues
// included) is the pipeline's input, its chat property filled from the last user message, and
// the output's text is the answer. A stream relays the last model step as it runs when the
// output is that step's answer; otherwise the answer comes as one delta when the run ends.
func (g *Server) pipelineResponse(ctx *fasthttp.RequestCtx, key *policy.Key, id string, req *invoke.Request, body []byte, p *responses.Prepared, st *responses.Store) {
	start, reqID, stream := req.Start, req.ID, req.Call.Stream
	model := spec.PipelinePrefix + id
	e, fe := g.pipelineFor(key, id)
	if fe == nil {
		fe = g.limits.Admit(key)
	}
	if fe != nil {
		g.reject(ctx, fe, key, pipelineModel(e, id))
		return
	}
	input, fe := responsesPipelineInput(e.Plan, id, body, p.Chat)
	if fe != nil {
		g.reject(ctx, fe, key, model)
		return
	}
	h := &ctx.Response.Header
	hModel.set(h, model)
	hExecution.set(h, reqID)
	opts := pipeline.Options{Key: key.Unlisted(), ID: reqID, Start: start}
	if !stream {
		x := g.runner.Run(g.callContext(ctx), e.Plan, any(input), opts)
		if err := x.Err(); err != nil {
			writeError(ctx, g.runError(id, err))
			return
		}
		resp, err := p.Complete(runChat(x), runTokens(x), time.Now())
		if err != nil {
			writeError(ctx, fault.As(err))
			return
		}
		g.keepResponse(st, key, p, resp)
		g.setRunHeaders(ctx, x, start)
		writeJSON(ctx, fasthttp.StatusOK, resp)
		return
	}
	rs, x := g.startRun(ctx, e.Plan, any(input), opts)
	if x != nil && x.Err() != nil {
		writeError(ctx, g.runError(id, x.Err()))
		return
	}
	g.setRunHeaders(ctx, nil, start)
	ctx.SetContentType("text/event-stream")
	h.Set("Cache-Control", "no-cache")
	ev := p.Events()
	setStreamBody(ctx, func(w *bufio.Writer) {
		defer rs.close()
		var failed *fault.Error
		relay := func(chunk []byte) {
			if failed == nil {
				var events []provider.Event
				events, failed = ev.Chunk(chunk)
				writeNamedEvents(w, events)
			}
		}
		x, streamed, ok := rs.relay(w, x, relay)
		if !ok {
			return
		}
		if failed == nil {
			if err := x.Err(); err != nil {
				failed = g.runError(id, err)
			} else if !streamed {
				relay(textChunk(pipeline.TextOf(x.OutputValue())))
			}
		}
		var events []provider.Event
		if failed != nil {
			events = ev.Fail(failed.AppendJSON(nil), failed.Message, runTokens(x))
		} else {
			events = ev.End(runTokens(x), time.Now())
		}
		g.keepResponse(st, key, p, ev.Response())
		writeNamedEvents(w, events)
		w.Flush()
	})
}

// responsesMembers are the members of a Responses request; any other member of a request to a
// pipeline is an inputSchema property, as on chat completions.
var responsesMembers = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[openai.ResponsesRequest]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[name] = true
	}
	return m
}()

// responsesPipelineInput is the input of pipeline id for a Responses request, body, translated
// to chat: the chat request's members but model and stream, with the request's own members
// that are not the Responses API's, and the pipeline's chat property filled.
func responsesPipelineInput(plan *pipeline.Plan, id string, body, chat []byte) (map[string]any, *fault.Error) {
	var input map[string]any
	if err := json.Unmarshal(chat, &input); err != nil {
		return nil, fault.Internal("cannot read the translated request: %v", err)
	}
	for _, k := range []string{"model", "stream", "stream_options"} {
		delete(input, k)
	}
	var members map[string]json.RawMessage
	_ = json.Unmarshal(body, &members) // it decoded as a Responses request already
	for k, v := range members {
		if responsesMembers[k] {
			continue
		}
		var val any
		_ = json.Unmarshal(v, &val)
		input[k] = val
	}
	if fe := plan.ChatInput(input); fe != nil {
		fe.Param = "input"
		return nil, fe
	}
	if plan.Input != nil {
		if err := plan.Input.ValidateValue(input); err != nil {
			return nil, fault.Invalid("input", "input does not match the inputSchema of pipeline %q: %v; %s", id, err, chatHint(plan))
		}
	}
	return input, nil
}

// runChat is a pipeline run's output as a chat completion, for Prepared.Complete.
func runChat(x *pipeline.Execution) []byte {
	text := pipeline.TextOf(x.OutputValue())
	b, _ := json.Marshal(openai.ChatResponse{Object: "chat.completion",
		Choices: []openai.Choice{{Message: openai.ResponseMessage{Role: "assistant", Content: &text}, FinishReason: "stop"}}})
	return b
}

// textChunk is a chat chunk carrying text, for a run whose answer was not streamed.
func textChunk(text string) []byte {
	b, _ := json.Marshal(openai.Chunk{Object: "chat.completion.chunk", Choices: []openai.ChunkChoice{{Delta: openai.Delta{Content: &text}}}})
	return b
}

// runTokens is the tokens of all a run's steps.
func runTokens(x *pipeline.Execution) provider.Usage {
	return provider.Usage{Input: x.InTokens, Output: x.OutTokens}
}
