package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/responses"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// Pages of input items: how many by default, and at most (OpenAI's bounds).
const (
	defaultItemsPage = 20
	maxItemsPage     = 100
)

// createResponse serves OpenAI's Responses API (POST /v1/responses) for any model, as messages
// serves Anthropic's: the request, continuing a stored response's conversation when it names
// one, becomes a canonical chat request for the engine, and the answer, or each streamed chunk,
// becomes the Responses shape again. With store (the default) the response is kept, for
// GET /v1/responses/{id} and for later requests' previous_response_id, before the client
// hears of it.
func (g *Gateway) createResponse(ctx *fasthttp.RequestCtx, _ []string) {
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
	p, fe := g.prepareResponse(st, key, &rr, id, start, len(body))
	if fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	route, fe := g.responseRoute(ctx, key, rr.Model)
	if fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	if fe := g.limits.Admit(key); fe != nil {
		g.reject(ctx, fe, key, route.ID)
		return
	}
	p.Template.Model = route.ID
	fields, _ := rawjson.ScanObject(p.Chat, nil)
	req := &invoke.Request{ID: id, Start: start, Key: key, Op: "responses",
		Call: provider.Call{Op: provider.Chat, Body: p.Chat, Fields: fields, Stream: rr.Stream, Ctx: g.callContext(ctx)}}
	if rr.Stream {
		g.streamResponse(ctx, route, req, p, st)
		return
	}
	g.answerResponse(ctx, route, req, p, st)
}

// answerResponse makes a non-streaming call and answers with the response object.
func (g *Gateway) answerResponse(ctx *fasthttp.RequestCtx, route *invoke.Route, req *invoke.Request, p *responses.Prepared, st *responses.Store) {
	out, fe := g.engine.Do(route, req)
	if fe != nil {
		g.callFailed(ctx, route.ID, req.ID, fe)
		return
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

// prepareResponse translates rr, with the stored response it continues, if any.
func (g *Gateway) prepareResponse(st *responses.Store, key *policy.Key, rr *openai.ResponsesRequest, id string, start time.Time, size int) (*responses.Prepared, *fault.Error) {
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

// responseRoute resolves the model of a Responses request: a model id, or auto. Pipelines are
// served on the chat completion and run endpoints only.
func (g *Gateway) responseRoute(ctx *fasthttp.RequestCtx, key *policy.Key, model string) (*invoke.Route, *fault.Error) {
	switch {
	case model == registry.AutoModel:
		return g.selectAuto(ctx, key, provider.Chat)
	case strings.HasPrefix(model, registry.PipelinePrefix):
		return nil, fault.Invalid("model", "pipelines are not served on /v1/responses: call %q on /v1/chat/completions or /v1/pipelines/{id}/run", model)
	}
	return g.engine.Resolve(key, model)
}

// streamResponse relays a streamed answer as the Responses event stream.
func (g *Gateway) streamResponse(ctx *fasthttp.RequestCtx, route *invoke.Route, req *invoke.Request, p *responses.Prepared, st *responses.Store) {
	out, fe := g.engine.Stream(route, req)
	if fe != nil {
		g.callFailed(ctx, route.ID, req.ID, fe)
		return
	}
	key := req.Key
	g.streamBody(ctx, out, route.ID, req, nil, func(w *bufio.Writer) *fault.Error {
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
func (g *Gateway) keepResponse(st *responses.Store, key *policy.Key, p *responses.Prepared, r *openai.Response) {
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
func (g *Gateway) responseStore() *responses.Store {
	return responses.NewStore(g.st, time.Duration(g.cfg.Load().Responses.RetentionHours)*time.Hour)
}

func orgOf(key *policy.Key) string {
	if key.Org == "" {
		return registry.DefaultOrg
	}
	return key.Org
}

// storedResponse reads response id of key's org: 404 when it does not exist, expired, or is
// another org's.
func (g *Gateway) storedResponse(st *responses.Store, key *policy.Key, id string) (*responses.Record, *fault.Error) {
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
func (g *Gateway) getResponse(ctx *fasthttp.RequestCtx, params []string) {
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
func (g *Gateway) deleteResponse(ctx *fasthttp.RequestCtx, params []string) {
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
func (g *Gateway) responseInputItems(ctx *fasthttp.RequestCtx, params []string) {
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
func (g *Gateway) responseOf(ctx *fasthttp.RequestCtx, id string) (*policy.Key, *responses.Record) {
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
