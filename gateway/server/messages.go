package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/wire/anthropic"
)

// messages serves Anthropic's Messages API (POST /v1/messages), so Anthropic's SDKs work
// unchanged against any model: the request becomes a canonical chat request, and the answer, or
// each streamed chunk, becomes Anthropic's shape again. Errors use Anthropic's error object.
func (g *Server) messages(ctx *fasthttp.RequestCtx, _ []string) {
	start := time.Now()
	id, key, ar, ok := g.readMessagesRequest(ctx, start)
	if !ok {
		return
	}
	chat, err := provider.MessagesToChat(ar)
	if err != nil {
		fe := fault.As(err)
		g.count(ctx, fe, key, "")
		g.logCallFault(ar.Model, id, fe)
		writeMessagesError(ctx, public(ar.Model, fe))
		return
	}
	canonical, _ := json.Marshal(chat)
	fields, _ := rawjson.ScanObject(canonical, nil)
	route, fe := g.engine.Resolve(key, ar.Model)
	held := key
	if fe == nil {
		held, fe = g.reserve(key, route, provider.Chat, canonical, fields)
	}
	if fe != nil {
		model := ""
		if route != nil {
			model = route.ID
		}
		g.count(ctx, fe, key, model)
		writeMessagesError(ctx, fe)
		return
	}
	// The call's cost settles what it holds; one that ends without a cost frees it here, or,
	// streaming, when its stream ends.
	streaming := false
	defer func() {
		if !streaming {
			g.limits.Release(held)
		}
	}()
	key = held
	req := &invoke.Request{ID: id, Start: start, Key: key, Op: "messages",
		Call: provider.Call{Op: provider.Chat, Body: canonical, Fields: fields, Stream: ar.Stream, Ctx: g.callContext(ctx)}}
	if !ar.Stream {
		out, fe := g.engine.Do(route, req)
		if fe != nil {
			g.logCallFault(route.ID, id, fe)
			writeMessagesError(ctx, public(route.ID, fe))
			return
		}
		answer, err := provider.ChatToMessages(out.Result.Body, ar.Model, id)
		if err != nil {
			fe := fault.As(err)
			out.Finish(fe.Status, fe)
			g.logCallFault(route.ID, id, fe)
			writeMessagesError(ctx, public(route.ID, fe))
			return
		}
		g.answerHeaders(ctx, out, start)
		ctx.SetContentType("application/json")
		ctx.SetBody(answer)
		out.Finish(fasthttp.StatusOK, nil)
		return
	}
	out, fe := g.engine.Stream(route, req)
	if fe != nil {
		g.logCallFault(route.ID, id, fe)
		writeMessagesError(ctx, public(route.ID, fe))
		return
	}
	model := ar.Model
	streaming = true
	g.streamBody(ctx, out, route.ID, req, func() { g.limits.Release(held) }, func(w *bufio.Writer) *fault.Error {
		return relayMessages(w, out, provider.NewMessagesEvents(model, id), route.ID)
	})
}

// relayMessages is relay for the Messages API.
func relayMessages(w *bufio.Writer, out *invoke.Outcome, ev *provider.MessagesEvents, model string) *fault.Error {
	for first := true; ; first = false {
		chunk, err := out.Next()
		if errors.Is(err, io.EOF) {
			writeNamedEvents(w, ev.End())
			if w.Flush() != nil {
				return errClientGone
			}
			return nil
		}
		if err != nil {
			fe := fault.As(err)
			writeNamedEvents(w, []provider.Event{{Name: "error", Data: provider.MessagesError(public(model, fe))}})
			w.Flush()
			return fe
		}
		writeNamedEvents(w, ev.Chunk(chunk))
		if (first || !out.Buffered()) && w.Flush() != nil {
			return errClientGone
		}
	}
}

func writeNamedEvents(w *bufio.Writer, events []provider.Event) {
	for _, e := range events {
		w.WriteString("event: ")
		w.WriteString(e.Name)
		w.WriteByte('\n')
		writeEvent(w, e.Data)
	}
}

func writeMessagesError(ctx *fasthttp.RequestCtx, fe *fault.Error) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(fe.Status)
	ctx.SetContentType("application/json")
	if fe.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(fe.RetryAfter))
	}
	ctx.SetBody(provider.MessagesError(fe))
}

// readMessagesRequest starts a Messages API request: its id (in the x-iom-request-id and
// request-id headers), the caller's key and the request, read and checked as one JSON object.
// ok is false when it has answered the request with an Anthropic-shaped error, recorded.
func (g *Server) readMessagesRequest(ctx *fasthttp.RequestCtx, start time.Time) (id string, key *policy.Key, ar *anthropic.Request, ok bool) {
	id = g.engine.NewID(start)
	hRequestID.set(&ctx.Response.Header, id)
	ctx.Response.Header.Set("request-id", id)
	key, fe := g.authenticate(ctx)
	if fe == nil {
		_, fe = scanBody(ctx.PostBody())
	}
	if fe == nil {
		ar = new(anthropic.Request)
		if err := json.Unmarshal(ctx.PostBody(), ar); err != nil {
			fe = fault.Invalid("", "cannot read the request: %v", err)
		}
	}
	if fe != nil {
		g.count(ctx, fe, key, "")
		writeMessagesError(ctx, fe)
		return id, key, nil, false
	}
	return id, key, ar, true
}

// countMessageTokens serves POST /v1/messages/count_tokens: the input tokens a Messages request
// would use, for any model the key may use. An anthropic model's upstream counts them (its own
// count_tokens, the request passed through); for other models, or when that upstream fails or
// the key is over its limits, they are estimated locally (provider.EstimateInputTokens), since
// most upstreams cannot count. Counting is not billed.
func (g *Server) countMessageTokens(ctx *fasthttp.RequestCtx, _ []string) {
	start := time.Now()
	id, key, ar, ok := g.readMessagesRequest(ctx, start)
	if !ok {
		return
	}
	ar.MaxTokens = max(ar.MaxTokens, 1) // count_tokens takes none
	chat, err := provider.MessagesToChat(ar)
	var route *invoke.Route
	var fe *fault.Error
	if err == nil {
		route, fe = g.engine.Resolve(key, ar.Model)
	} else {
		fe = fault.As(err)
	}
	if fe != nil {
		g.count(ctx, fe, key, "")
		writeMessagesError(ctx, fe)
		return
	}
	if route.Provider == "anthropic" {
		if answer := g.countUpstream(ctx, route, key, id, start); answer != nil {
			ctx.SetContentType("application/json")
			ctx.SetBody(answer)
			return
		}
	}
	canonical, _ := json.Marshal(chat)
	fields, _ := rawjson.ScanObject(canonical, nil)
	writeJSON(ctx, fasthttp.StatusOK, map[string]int64{"input_tokens": provider.EstimateInputTokens(fields)})
}

// countTimeout bounds a count_tokens call to an upstream: past it, the estimate answers.
const countTimeout = 10 * time.Second

// countUpstream asks route's anthropic upstream to count the request's tokens, through the
// engine (retries, breaker, a record of the call). It returns the upstream's answer, or nil when
// the key is over its limits or the call failed, for the local estimate to answer instead.
func (g *Server) countUpstream(ctx *fasthttp.RequestCtx, route *invoke.Route, key *policy.Key, id string, start time.Time) []byte {
	if g.limits.Admit(key) != nil {
		return nil
	}
	body := ctx.PostBody()
	fields, _ := rawjson.ScanObject(body, nil) // checked by readMessagesRequest
	req := &invoke.Request{ID: id, Start: start, Key: key, Op: "count_tokens",
		Call: provider.Call{Op: provider.CountTokens, Body: body, Fields: fields, Deadline: start.Add(countTimeout), Ctx: g.callContext(ctx)}}
	out, fe := g.engine.Do(route, req)
	if fe != nil {
		g.logCallFault(route.ID, id, fe)
		return nil
	}
	answer := append([]byte(nil), out.Result.Body...)
	out.Finish(fasthttp.StatusOK, nil)
	return answer
}
