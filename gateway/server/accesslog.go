package server

import (
	"bufio"
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/accesslog"
	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/spec"
)

// The access log (accessLog in the config) writes a line per data-plane request once it is over:
// a model call's from its invocation record (OnFinish), a refused request's from the record count
// makes, and any other's from the answer when the handler or its stream ends, with what a
// pipeline's model steps recorded. While the log is off none of this runs: serveData, count and
// the engine each test one pointer.

// accessKey is the context value (and request user value) of a request being logged.
type accessKey struct{}

// accessState is what the access log knows of one data-plane request.
type accessState struct {
	ip, path string
	logged   atomic.Bool // its line is written (or was left out): no second one

	mu sync.Mutex // the records of a pipeline's model steps
	steps
}

// steps adds up the records of a pipeline run's model calls.
type steps struct {
	keyID, org, pipeline, errorKind string
	in, out                         int64
	cost                            float64
}

// serveLogged serves a data-plane request to be logged.
func (g *Server) serveLogged(ctx *fasthttp.RequestCtx) {
	start := ctx.Time()
	st := &accessState{ip: ctx.RemoteIP().String(), path: string(ctx.Path())}
	ctx.SetUserValue(accessKey{}, st)
	ctx.SetUserValue(callKey{}, context.WithValue(g.life, accessKey{}, st))
	g.handleData(ctx)
	if st.logged.Load() {
		return
	}
	// A stream's line is written when it ends, unless the model call's record came first.
	if sb, ok := ctx.Response.BodyStream().(*streamBody); ok {
		e := g.answerEntry(ctx, st, start, true)
		fn := sb.fn
		sb.fn = func(w *bufio.Writer) {
			fn(w)
			if st.logged.CompareAndSwap(false, true) {
				e.LatencyMs = ms(time.Since(start))
				g.writePlain(st, &e)
			}
		}
		return
	}
	if st.logged.CompareAndSwap(false, true) {
		e := g.answerEntry(ctx, st, start, false)
		g.writePlain(st, &e)
	}
}

// answerEntry is the line of a request that has no record of its own, from its answer.
func (g *Server) answerEntry(ctx *fasthttp.RequestCtx, st *accessState, start time.Time, stream bool) accesslog.Entry {
	h := &ctx.Response.Header
	id := h.PeekBytes(hRequestID)
	if len(id) == 0 {
		id = h.PeekBytes(hExecution)
	}
	return accesslog.Entry{Time: start, RequestID: string(id), Model: string(h.PeekBytes(hModel)),
		Status: ctx.Response.StatusCode(), LatencyMs: ms(time.Since(start)), ClientIP: st.ip,
		Op: opOf(ctx.Path()), Stream: stream, Path: st.path, TraceID: string(h.PeekBytes(hTraceID))}
}

// writePlain completes e with what the request's pipeline steps recorded, and writes it.
func (g *Server) writePlain(st *accessState, e *accesslog.Entry) {
	l := g.access.Load()
	if l == nil {
		return
	}
	st.mu.Lock()
	s := st.steps
	st.mu.Unlock()
	e.KeyID, e.Org, e.InputTokens, e.OutputTokens = s.keyID, s.org, s.in, s.out
	e.CostUSD = math.Round(s.cost*1e12) / 1e12
	if e.Model == "" && s.pipeline != "" {
		e.Model = spec.PipelinePrefix + s.pipeline
	}
	if e.Status >= 400 || e.Stream {
		e.ErrorKind = s.errorKind // a stream's failure comes after its 200
	}
	if e.Status >= 400 && e.ErrorKind == "" {
		e.ErrorKind = "caller"
		if e.Status >= 500 {
			e.ErrorKind = "gateway"
		}
	}
	l.Write(e)
}

// accessFinished is the engine's OnFinish while the access log is on: a data-plane call's
// record makes its request's line; a pipeline step's adds to its run's.
func (g *Server) accessFinished(req *invoke.Request, inv *analytics.Invocation) {
	st, _ := req.Call.Context().Value(accessKey{}).(*accessState)
	if st == nil {
		return // the admin API's call, or a request not logged
	}
	if inv.Pipeline != "" {
		st.mu.Lock()
		s := &st.steps
		s.pipeline, s.keyID, s.org = inv.Pipeline, inv.KeyID, inv.Org
		s.in += inv.InTokens
		s.out += inv.OutTokens
		s.cost += inv.CostUSD
		if s.errorKind == "" {
			s.errorKind = inv.ErrorKind
		}
		st.mu.Unlock()
		return
	}
	if !st.logged.CompareAndSwap(false, true) {
		return
	}
	if l := g.access.Load(); l != nil {
		e := recordEntry(inv, st.ip, st.path)
		l.Write(&e)
	}
}

// accessRefused writes the line of a request count recorded as refused. A request the server
// could not read never reached serveData: its address and path are read here.
func (g *Server) accessRefused(ctx *fasthttp.RequestCtx, l *accesslog.Log, inv *analytics.Invocation) {
	ip, path := "", ""
	if st, ok := ctx.UserValue(accessKey{}).(*accessState); ok {
		if !st.logged.CompareAndSwap(false, true) {
			return
		}
		ip, path = st.ip, st.path
	} else {
		if l.Excluded(ctx.Path()) {
			return
		}
		ip, path = ctx.RemoteIP().String(), string(ctx.Path())
	}
	e := recordEntry(inv, ip, path)
	l.Write(&e)
}

// recordEntry is the line of a request with a record.
func recordEntry(inv *analytics.Invocation, ip, path string) accesslog.Entry {
	e := accesslog.Entry{Time: inv.Time, RequestID: inv.ID, KeyID: inv.KeyID, Org: inv.Org, Model: inv.Model,
		ServedBy: inv.ServedBy, Provider: inv.Provider, Status: inv.HTTPStatus, ErrorKind: inv.ErrorKind,
		LatencyMs: inv.LatencyMs, FirstByteMs: inv.FirstByte, InputTokens: inv.InTokens, OutputTokens: inv.OutTokens,
		CostUSD: inv.CostUSD, Cache: inv.Cache, Fallback: inv.Fallback, ClientIP: ip, Op: inv.Op, Stream: inv.Stream, Path: path,
		TraceID: inv.TraceID}
	if e.Cache == "" && e.ServedBy != "" {
		e.Cache = "miss" // as x-iom-cache says of a model without a response cache
	}
	return e
}

// setAccessLog makes l the running access log (nil: off) and closes the one it replaces.
func (g *Server) setAccessLog(l *accesslog.Log) {
	if l != nil {
		g.engine.OnFinish(g.accessFinished)
	} else {
		g.engine.OnFinish(nil)
	}
	if old := g.access.Swap(l); old != nil {
		_ = old.Close(l)
	}
}

// CloseAccessLog turns the access log off and closes it.
func (g *Server) CloseAccessLog() { g.setAccessLog(nil) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
