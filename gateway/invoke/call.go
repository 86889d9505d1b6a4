package invoke

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/telemetry"
)

// Request is one call as the engine sees it.
type Request struct {
	ID    string
	Start time.Time
	// Key is the caller's key; nil for the admin API, which is not subject to model policies.
	Key *policy.Key
	// Op names the operation in records: chat, completion, embedding, invoke, test.
	Op   string
	Call provider.Call
	// Cache is "hit" or "miss" for models with a response cache.
	Cache string
	// Pipeline, Execution and Step name the pipeline step that made the call, if one did.
	Pipeline, Execution, Step string
	// Fallbacks and Retries, when set, replace the model's own (a pipeline step's settings).
	Fallbacks []string
	Retries   *int
}

// maxRetryWait caps how long the engine waits before a retry, whatever Retry-After says; a
// longer wait goes to the fallback instead.
const maxRetryWait = 10 * time.Second

// Outcome is a call that has an answer. Its owner must call Finish exactly once, after the
// answer was written, and not touch it afterwards.
type Outcome struct {
	// Route is the model that answered.
	Route *Route
	// Result is the answer of a non-streaming call.
	Result *provider.Result
	// Fallback is the id of the answering model when it was a fallback.
	Fallback string

	e            *Engine
	req          *Request
	primary      *Route
	stream       provider.Stream
	gate         *gate
	first        []byte
	firstEOF     bool
	upstreamT0   time.Time
	firstByte    time.Duration
	upstreamDur  time.Duration
	cachedUsage  *provider.Usage
	chunkPlugins []string
	fields       []rawjson.Field // the members of a transformed request body
	inv          analytics.Invocation
	span         telemetry.Span  // the answering attempt's, ended by finish
	callCtx      context.Context // the call's context, while an attempt's span replaces it
}

var outcomePool = sync.Pool{New: func() any { return new(Outcome) }}

// Do makes a non-streaming call of primary (then its fallbacks).
func (e *Engine) Do(primary *Route, req *Request) (*Outcome, *fault.Error) {
	return e.run(primary, req, false)
}

// Stream starts a streaming call of primary (then its fallbacks). The outcome holds the first
// chunk already: a model that fails before its first chunk is retried or falls back, since the
// client has seen nothing yet.
func (e *Engine) Stream(primary *Route, req *Request) (*Outcome, *fault.Error) {
	return e.run(primary, req, true)
}

func (e *Engine) run(primary *Route, req *Request, stream bool) (*Outcome, *fault.Error) {
	o := outcomePool.Get().(*Outcome) // reset by finish, but for the buffers it keeps
	o.e, o.req, o.primary = e, req, primary
	var last *fault.Error
	orig := &requestBody{body: req.Call.Body, fields: req.Call.Fields}
	fallbacks := primary.Fallbacks
	if req.Fallbacks != nil {
		fallbacks = req.Fallbacks
	}
	for i := 0; i <= len(fallbacks); i++ {
		r := primary
		if i > 0 {
			if r = e.Route(fallbacks[i-1]); r == nil || req.Key != nil && !policy.Allows(req.Key, r.Model) {
				continue
			}
		}
		if r.Unavailable != "" {
			last = fault.Unavailable("model %q is unavailable: %s", r.ID, r.Unavailable)
			o.addAttempt(r, nil, last, 0)
			continue
		}
		if last = e.requestFor(o, r, orig); last != nil {
			break // the request's own transforms failed: no model will do better
		}
		if r.gate != nil {
			if last = r.gate.enter(req.Call.Context(), r.ID); last != nil {
				o.addAttempt(r, nil, last, 0)
				continue
			}
			o.gate = r.gate
		}
		last = e.attempts(o, r, stream)
		r.Stats.Count(time.Now(), last != nil)
		if last == nil {
			o.Route = r
			if r != primary {
				o.Fallback = r.ID
			}
			if last = e.respond(o); last != nil {
				o.finish(last.Status, last)
				return nil, last
			}
			return o, nil
		}
		if o.gate != nil {
			o.gate.leave()
			o.gate = nil
		}
		if !fallbackable(last) {
			break
		}
	}
	if last == nil {
		last = fault.Unavailable("model %q has no usable upstream", primary.ID)
	}
	o.finish(last.Status, last)
	return nil, last
}

// attempts calls r, retrying retryable failures with exponential backoff and full jitter, on
// another replica when there is one.
func (e *Engine) attempts(o *Outcome, r *Route, stream bool) *fault.Error {
	var tried []*replica
	retries := r.retry.Attempts
	if o.req.Retries != nil && r == o.primary {
		retries = *o.req.Retries
	}
	for attempt := 0; ; attempt++ {
		t0 := time.Now()
		rep := r.pick(tried, t0)
		if rep == nil {
			fe := fault.Unavailable("model %q is unavailable: every upstream is failing (circuit open); retry later", r.ID)
			fe.RetryAfter = 1
			o.addAttempt(r, nil, fe, 0)
			return fe
		}
		tried = append(tried, rep)
		o.upstreamT0 = t0
		span := o.startAttempt(r, rep, attempt)
		var err error
		if stream {
			err = o.open(rep)
		} else {
			o.Result, err = rep.up.Do(&o.req.Call)
		}
		dur := time.Since(t0)
		if span.Recording() {
			o.req.Call.Ctx = o.callCtx
		}
		if err == nil {
			o.span = span
			rep.health.success(dur)
			r.Stats.Observe(t0.Add(dur), dur, "")
			if stream {
				o.firstByte = dur
			} else {
				o.upstreamDur = dur
			}
			if len(o.inv.Attempts) > 0 {
				o.addAttempt(r, rep, nil, dur)
			}
			return nil
		}
		fe := fault.As(err)
		endAttempt(span, fe)
		if upstreamFault(fe) {
			rep.health.failure(t0.Add(dur))
		} else {
			rep.health.success(dur) // the upstream answered; the request was at fault
		}
		r.Stats.Observe(t0.Add(dur), dur, fe.Message)
		o.addAttempt(r, rep, fe, dur)
		if !fe.Retryable() || attempt >= retries {
			return fe
		}
		wait := backoff(r.retry, attempt, fe.RetryAfter)
		if wait > maxRetryWait {
			return fe
		}
		if err := e.sleep(o.req.Call.Context(), wait); err != nil {
			return cancelled(r.ID, err)
		}
		o.inv.Retries++
	}
}

// startAttempt starts the client span of an attempt on rep, when the call's span is recording,
// and makes it the parent of the upstream request (its traceparent).
func (o *Outcome) startAttempt(r *Route, rep *replica, attempt int) telemetry.Span {
	ctx, span := telemetry.Start(o.req.Call.Context(), telemetry.Client, telemetry.Operation(o.req.Call.Op.String()), r.UpstreamModel)
	if !span.Recording() {
		return span
	}
	o.callCtx = o.req.Call.Ctx
	o.req.Call.Ctx = ctx
	span.SetCall(telemetry.Call{Op: o.req.Call.Op.String(), RequestModel: r.UpstreamModel, Provider: r.Provider})
	span.SetString("iom.model", r.ID)
	span.SetInt("iom.attempt", int64(attempt))
	if len(r.replicas) > 1 {
		span.SetString("iom.upstream", rep.name)
	}
	return span
}

// endAttempt ends the span of an attempt that failed with fe.
func endAttempt(span telemetry.Span, fe *fault.Error) {
	if !span.Recording() {
		return
	}
	if fe.Upstream > 0 {
		span.SetInt("http.response.status_code", int64(fe.Upstream))
	}
	span.Fail(fe.Kind.String(), fe.Message)
	span.End()
}

// open starts a stream and reads its first chunk.
func (o *Outcome) open(rep *replica) error {
	s, err := rep.up.Stream(&o.req.Call)
	if err != nil {
		return err
	}
	first, err := s.Next()
	switch {
	case errors.Is(err, io.EOF):
		o.firstEOF = true
	case err != nil:
		s.Close()
		return err
	default:
		o.first = append(o.first[:0], first...)
	}
	o.stream = s
	return nil
}

// sleepContext waits d, or until ctx ends (its error).
func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancelled is the fault of a call whose context ended while it waited: the deadline passed, or
// the caller went away.
func cancelled(model string, err error) *fault.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fault.Timeout("model %q did not answer before the request's deadline", model)
	}
	return &fault.Error{Kind: fault.Caller, Status: 499, Type: "client_closed", Code: "client_closed",
		Message: "the request was cancelled before model " + strconv.Quote(model) + " answered"}
}

func backoff(r spec.Retry, attempt, retryAfter int) time.Duration {
	if retryAfter > 0 {
		return time.Duration(retryAfter) * time.Second
	}
	ceil := time.Duration(r.BackoffMs) * time.Millisecond << attempt
	if m := time.Duration(r.MaxBackoffMs) * time.Millisecond; ceil > m {
		ceil = m
	}
	if ceil <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil))) + ceil/10
}

// fallbackable reports whether another model may succeed where this one failed: not when the
// upstream found the request itself bad, nor when a plugin refused it (a 4xx of its own).
func fallbackable(fe *fault.Error) bool {
	if fe.Code == codeBusy || fe.Kind == fault.Plugin && fe.Status >= 500 {
		return true
	}
	return upstreamFault(fe)
}

// upstreamFault reports whether a failure is the upstream's (it counts against its circuit
// breaker), rather than the request's. A plugin's failure never counts: a guest that traps on
// one request's input fails that request only, and the plugin hosts keep their own health (a
// WASM plugin's quarantine, a process plugin's restarts), so a plugin back up serves at once.
// An upstream behind a plugin adapter reports as the provider's fault and counts.
func upstreamFault(fe *fault.Error) bool {
	if fe.Kind != fault.Provider {
		return false
	}
	switch fe.Upstream {
	case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return false
	}
	return true
}

func (o *Outcome) addAttempt(r *Route, rep *replica, fe *fault.Error, d time.Duration) {
	a := analytics.Attempt{Model: r.ID, Provider: r.Provider, LatencyMs: ms(d), StartMs: ms(max(time.Since(o.req.Start)-d, 0))}
	if rep != nil && len(r.replicas) > 1 {
		a.Upstream = rep.name
	}
	if fe != nil {
		a.Error, a.Status = fe.Message, fe.Upstream
	}
	o.inv.Attempts = append(o.inv.Attempts, a)
}

// Next returns the stream's next chunk, or io.EOF at its end.
func (o *Outcome) Next() ([]byte, error) {
	for {
		c, err := o.next()
		if err != nil || len(o.chunkPlugins) == 0 {
			return c, err
		}
		if c, err = o.transformChunk(c); err != nil || c != nil {
			return c, err
		}
	}
}

func (o *Outcome) next() ([]byte, error) {
	if o.first != nil {
		c := o.first
		o.first = nil
		return c, nil
	}
	if o.firstEOF {
		return nil, io.EOF
	}
	return o.stream.Next()
}

// Buffered reports whether the next chunk may be ready without waiting.
func (o *Outcome) Buffered() bool { return o.first != nil || o.stream != nil && o.stream.Buffered() }

// Cached records a call answered from the response cache: no upstream, no cost.
func (e *Engine) Cached(r *Route, req *Request, usage provider.Usage, status int) {
	o := outcomePool.Get().(*Outcome)
	o.e, o.req, o.primary, o.Route, o.cachedUsage = e, req, r, r, &usage
	o.finish(status, nil)
}

// Usage is what the call consumed so far (complete after a stream's end).
func (o *Outcome) Usage() provider.Usage {
	if o.cachedUsage != nil {
		return *o.cachedUsage
	}
	if o.Result != nil {
		return o.Result.Usage
	}
	if o.stream != nil {
		return o.stream.Usage()
	}
	return provider.Usage{}
}

// Cost is the call's cost in USD at the answering model's prices; an answer from the cache
// costs nothing.
func (o *Outcome) Cost() float64 {
	if o.cachedUsage != nil {
		return 0
	}
	return cost(o.Route.Model, o.Usage())
}

// cost prices u at m's rates: cached, cache-written and reasoning tokens at their own rates,
// the rest of the input and output at the input and output prices.
func cost(m *spec.Model, u provider.Usage) float64 {
	cached, written, reasoning := m.TokenCosts()
	plainIn := max(u.Input-u.CachedInput-u.CacheWrite, 0)
	plainOut := max(u.Output-u.Reasoning, 0)
	c := float64(plainIn)*m.InputCost() + float64(u.CachedInput)*cached + float64(u.CacheWrite)*written +
		float64(plainOut)*m.OutputCost() + float64(u.Reasoning)*reasoning
	return math.Round(c*1e12) / 1e12 // to a millionth of a micro-dollar, without float noise
}

// Finish records the call (metrics, record) and releases it. status is the HTTP status the
// client got; err is the failure that ended a stream after it began, if any.
func (o *Outcome) Finish(status int, err *fault.Error) {
	if o.stream != nil && o.upstreamDur == 0 {
		o.upstreamDur = time.Since(o.upstreamT0)
	}
	o.finish(status, err)
}

func (o *Outcome) finish(status int, fe *fault.Error) {
	e, req := o.e, o.req
	latency := time.Since(req.Start)
	r := o.Route
	if r == nil {
		r = o.primary
	}
	inv := &o.inv
	inv.ID, inv.Kind, inv.Time, inv.Op, inv.Model = req.ID, "invocation", req.Start, req.Op, o.primary.ID
	inv.ServedBy, inv.Provider, inv.Fallback = r.ID, r.Provider, o.Fallback
	if req.Key != nil {
		inv.Key, inv.KeyID, inv.Org = req.Key.Name, req.Key.ID, req.Key.Org
	} else {
		inv.Key = "admin"
	}
	inv.Stream = req.Call.Stream
	inv.Cache = req.Cache
	inv.Pipeline, inv.Execution, inv.Step = req.Pipeline, req.Execution, req.Step
	inv.HTTPStatus = status
	inv.LatencyMs = ms(latency)
	inv.UpstreamMs = ms(o.upstreamDur)
	inv.FirstByte = ms(o.firstByte)
	m := r.Metrics
	m.Requests.Inc()
	m.Latency.Update(latency.Seconds())
	if o.upstreamDur > 0 {
		m.Upstream.Update(o.upstreamDur.Seconds())
	}
	if o.Route != nil {
		u := o.Usage()
		inv.InTokens, inv.OutTokens, inv.CostUSD = u.Input, u.Output, o.Cost()
		inv.CachedTokens, inv.CacheWriteTokens, inv.ReasoningTokens = u.CachedInput, u.CacheWrite, u.Reasoning
		if o.cachedUsage == nil {
			m.InputTokens.Add(int(u.Input))
			m.OutputTokens.Add(int(u.Output))
			m.Cost.Add(inv.CostUSD)
			if e.Spend != nil && req.Key != nil {
				e.Spend(req.Key, u.Input+u.Output, inv.CostUSD)
			}
		}
	}
	inv.Status = "ok"
	if fe != nil {
		inv.Status, inv.ErrorKind, inv.Error = "error", fe.Kind.String(), fe.Message
		m.Error(fe.Kind)
	}
	inv.TraceID = telemetry.TraceID(req.Call.Ctx)
	if o.span.Recording() {
		o.span.SetCall(telemetry.Call{Op: req.Call.Op.String(), RequestModel: r.UpstreamModel, ResponseModel: r.UpstreamModel,
			Provider: r.Provider, InputTokens: inv.InTokens, OutputTokens: inv.OutTokens, CostUSD: inv.CostUSD})
		if fe != nil {
			o.span.Fail(fe.Kind.String(), fe.Message)
		}
		o.span.End()
	}
	if span := telemetry.FromContext(req.Call.Ctx); span.Recording() {
		span.SetCall(telemetry.Call{Op: req.Call.Op.String(), RequestModel: inv.Model, ResponseModel: inv.ServedBy, Provider: inv.Provider,
			InputTokens: inv.InTokens, OutputTokens: inv.OutTokens, CostUSD: inv.CostUSD, Cache: inv.Cache,
			KeyID: inv.KeyID, Org: inv.Org})
		if o.Fallback != "" {
			span.SetString("iom.fallback", o.Fallback)
		}
		if fe != nil {
			span.Fail(fe.Kind.String(), fe.Message)
		}
	}
	e.rec.Record(inv)
	if fn := e.finished.Load(); fn != nil {
		(*fn)(req, inv)
	}
	if o.gate != nil {
		o.gate.leave()
	}
	if o.Result != nil {
		o.Result.Release()
	}
	if o.stream != nil {
		o.stream.Close()
	}
	clear(o.fields) // they point into the request's body
	*o = Outcome{first: o.first[:0], chunkPlugins: o.chunkPlugins[:0], fields: o.fields[:0]}
	outcomePool.Put(o)
}

// OnFinish makes fn be told of every call as it finishes, on the goroutine that finishes it,
// with the call's complete record (which fn must not keep); nil stops it.
func (e *Engine) OnFinish(fn func(req *Request, inv *analytics.Invocation)) {
	if fn == nil {
		e.finished.Store(nil)
		return
	}
	e.finished.Store(&fn)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Retries is how many retries the call took.
func (o *Outcome) Retries() int { return o.inv.Retries }

// UpstreamLatency is how long the answering upstream took (to its answer, or to a stream's
// first chunk while the stream runs).
func (o *Outcome) UpstreamLatency() time.Duration {
	if o.upstreamDur > 0 {
		return o.upstreamDur
	}
	return o.firstByte
}
