package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/wire/openai"
)

// pipelineFor returns the pipeline id if key may run it: it is on the key's allowlist (when the
// key has one) and the key may use every model in it under their security policies.
func (g *Server) pipelineFor(key *policy.Key, id string) (*pipeline.Entry, *fault.Error) {
	e := g.pipes.Get(id)
	notFound := fault.NotFound("model_not_found", "the model %q does not exist or you do not have access to it", spec.PipelinePrefix+id)
	if e == nil || key != nil && !g.mayRun(key, e) {
		return nil, notFound
	}
	if e.Plan == nil {
		return nil, fault.Unavailable("pipeline %q cannot run: %s", id, e.Summary())
	}
	return e, nil
}

// mayRun reports whether key may run e: it may use the pipeline, every model its steps call and
// every MCP tool they name. A key that may not does not see the pipeline.
func (g *Server) mayRun(key *policy.Key, e *pipeline.Entry) bool {
	if len(key.Models) > 0 && !containsString(key.Models, spec.PipelinePrefix+e.ID) {
		return false
	}
	snap := g.reg.Snapshot()
	for _, id := range e.Uses() {
		m := snap.Get(id)
		if m == nil || !policy.AllowsPolicy(key, m.Model) {
			return false
		}
	}
	return e.Plan != nil && g.mayCallTools(key, e)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// pipelineModel is the model name a refused run of pipeline id is recorded under: its
// pipeline:<id> when the pipeline exists, else "" (unknown).
func pipelineModel(e *pipeline.Entry, id string) string {
	if e == nil {
		return ""
	}
	return spec.PipelinePrefix + id
}

// pipelineChat serves a chat completion whose model is pipeline:<id>: the request (its messages
// and settings, and any inputSchema properties set as members) is the pipeline's input, its
// chat property filled from the last user message (pipeline.Plan.ChatInput); the output's text
// is the answer. A stream relays the last model step as it runs, when the output is that
// step's answer; otherwise the answer is sent as one chunk when the run ends.
func (g *Server) pipelineChat(ctx *fasthttp.RequestCtx, key *policy.Key, id string, c *call, start time.Time, reqID string) {
	e, fe := g.pipelineFor(key, id)
	if fe == nil {
		fe = g.limits.Admit(key)
	}
	if fe != nil {
		g.reject(ctx, fe, key, pipelineModel(e, id))
		return
	}
	model := spec.PipelinePrefix + id
	var input map[string]any
	if err := json.Unmarshal(ctx.PostBody(), &input); err != nil {
		g.reject(ctx, fault.Invalid("", "cannot read the request: %v", err), key, model)
		return
	}
	includeUsage := false
	if so, ok := input["stream_options"].(map[string]any); ok {
		includeUsage, _ = so["include_usage"].(bool)
	}
	for _, k := range []string{"model", "stream", "stream_options"} {
		delete(input, k)
	}
	if fe := e.Plan.ChatInput(input); fe != nil {
		g.reject(ctx, fe, key, model)
		return
	}
	if e.Plan.Input != nil {
		if err := e.Plan.Input.ValidateValue(input); err != nil {
			g.reject(ctx, fault.Invalid("messages", "input does not match the inputSchema of pipeline %q: %v; %s", id, err, chatHint(e.Plan)), key, model)
			return
		}
	}
	h := &ctx.Response.Header
	hModel.set(h, model)
	hExecution.set(h, reqID)
	opts := pipeline.Options{Key: key.Unlisted(), ID: reqID, Start: start}
	if !c.stream {
		x := g.runner.Run(g.callContext(ctx), e.Plan, any(input), opts)
		if err := x.Err(); err != nil {
			writeError(ctx, g.runError(id, err))
			return
		}
		text := pipeline.TextOf(x.OutputValue())
		g.setRunHeaders(ctx, x, start)
		writeJSON(ctx, fasthttp.StatusOK, openai.ChatResponse{ID: "chatcmpl-" + x.ID, Object: "chat.completion", Created: start.Unix(), Model: model,
			Choices: []openai.Choice{{Message: openai.ResponseMessage{Role: "assistant", Content: &text}, FinishReason: "stop"}},
			Usage:   &openai.Usage{PromptTokens: x.InTokens, CompletionTokens: x.OutTokens, TotalTokens: x.InTokens + x.OutTokens}})
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
	setStreamBody(ctx, func(w *bufio.Writer) {
		defer rs.close()
		k := &streamTail{id: "chatcmpl-" + reqID, model: model, created: start.Unix()}
		x, streamed, ok := rs.relay(w, x, func(c []byte) { writeEvent(w, c) })
		if !ok {
			return
		}
		if err := x.Err(); err != nil {
			writeEvent(w, g.runError(id, err).AppendJSON(nil))
			w.Flush()
			return
		}
		if !streamed { // nothing streamed: send the answer as one chunk
			writeEvent(w, k.chunk(openai.Delta{Role: "assistant", Content: openai.Str(pipeline.TextOf(x.OutputValue()))}, ""))
		}
		writeEvent(w, k.chunk(openai.Delta{}, "stop"))
		if includeUsage {
			u := openai.Usage{PromptTokens: x.InTokens, CompletionTokens: x.OutTokens, TotalTokens: x.InTokens + x.OutTokens}
			b, _ := json.Marshal(openai.Chunk{ID: k.id, Object: "chat.completion.chunk", Created: k.created, Model: model, Choices: []openai.ChunkChoice{}, Usage: &u})
			writeEvent(w, b)
		}
		w.Write(sseDone)
		w.Flush()
	})
}

// runStream is a pipeline run in the background for a streamed answer: the answer commits to
// a stream only once the first chunk is there, so that a run failing early still gets a plain
// error answer. A client that leaves ends the run, and the model call it is waiting on.
type runStream struct {
	chunks chan []byte
	gone   chan struct{}
	done   chan *pipeline.Execution
	end    context.CancelFunc
	once   sync.Once
	first  []byte
}

// startRun starts plan and waits for its first chunk; x is the execution when the run ended
// before one.
func (g *Server) startRun(ctx *fasthttp.RequestCtx, plan *pipeline.Plan, input any, opts pipeline.Options) (rs *runStream, x *pipeline.Execution) {
	rs = &runStream{chunks: make(chan []byte, 64), gone: make(chan struct{}), done: make(chan *pipeline.Execution, 1)}
	if plan.Streams() {
		opts.Sink = func(chunk []byte) error {
			if bytes.Contains(chunk, []byte(`"choices":[]`)) {
				return nil // the step's own usage chunk; the pipeline's comes at the end
			}
			select {
			case rs.chunks <- bytes.Clone(chunk):
				return nil
			case <-rs.gone:
				return errClientGone
			}
		}
	}
	runCtx, end := context.WithCancel(g.callContext(ctx))
	rs.end = end
	go func() { rs.done <- g.runner.Run(runCtx, plan, input, opts) }()
	select {
	case rs.first = <-rs.chunks:
	case x = <-rs.done:
		end()
	}
	return rs, x
}

// relay writes every chunk of the run, flushing when none is queued, until it ends. streamed
// says whether any chunk came; ok is false when the client went away.
func (rs *runStream) relay(w *bufio.Writer, x *pipeline.Execution, write func([]byte)) (_ *pipeline.Execution, streamed, ok bool) {
	if rs.first != nil {
		write(rs.first)
		if w.Flush() != nil {
			return nil, false, false
		}
	}
	for x == nil {
		select {
		case c := <-rs.chunks:
			write(c)
			if len(rs.chunks) == 0 && w.Flush() != nil {
				return nil, false, false
			}
		case x = <-rs.done:
		}
	}
	// The run may end before its first chunk was taken (the select picks either way when both
	// are ready), so what the stream carried is the first chunk or anything still queued.
	streamed = rs.first != nil || len(rs.chunks) > 0
	for len(rs.chunks) > 0 {
		write(<-rs.chunks)
	}
	return x, streamed, true
}

// close ends the run's stream: a run still going is cancelled.
func (rs *runStream) close() {
	rs.once.Do(func() {
		close(rs.gone)
		rs.end()
	})
}

// chatHint says how a chat request gives a pipeline its input, for an input that does not
// match the pipeline's inputSchema.
func chatHint(plan *pipeline.Plan) string {
	if p := plan.ChatProperty(); p != "" {
		return fmt.Sprintf("the last user message fills %q; set the other properties as members of the request", p)
	}
	return "it takes no property from the messages (it declares no chatInput): set its inputSchema's properties as members of the request"
}

type streamTail struct {
	id, model string
	created   int64
}

func (k *streamTail) chunk(d openai.Delta, finish string) []byte {
	c := openai.Chunk{ID: k.id, Object: "chat.completion.chunk", Created: k.created, Model: k.model, Choices: []openai.ChunkChoice{{Delta: d}}}
	if finish != "" {
		c.Choices[0].FinishReason = &finish
	}
	b, _ := json.Marshal(c)
	return b
}

var hExecution = header("X-Iom-Execution-Id")

func (g *Server) setRunHeaders(ctx *fasthttp.RequestCtx, x *pipeline.Execution, start time.Time) {
	h := &ctx.Response.Header
	setLatency(h, time.Since(start))
	if x != nil {
		var buf [32]byte
		hCost.setBytes(h, strconv.AppendFloat(buf[:0], x.CostUSD, 'f', -1, 64))
	}
}

// runError is the client's view of a failed run of pipeline id: the failing step's own fault,
// named. A fault that is not the request's says the reason only, as a call's does (see public).
func (g *Server) runError(id string, err error) *fault.Error {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		g.log.Error("pipeline run failed", "pipeline", id, "err", redact(err.Error()))
		return fault.Internal("pipeline %q: internal error; the gateway logged the details", id)
	}
	c := *fe
	c.Body = nil
	c.Message = err.Error()
	switch fe.Kind {
	case fault.Caller, fault.Auth, fault.Policy:
	default:
		// err is `step "x" failed: ` and fe's message.
		step, ok := strings.CutSuffix(c.Message, fe.Message)
		if !ok {
			step = "pipeline " + strconv.Quote(id) + ": "
		}
		c.Message = step + reason(fe)
	}
	return &c
}

// pipelineAnswer is the answer of a pipeline run: its output, the output's text (pipeline.TextOf),
// the tokens and cost of all its steps, the error of a failed run, and with trace (always on
// the admin API) the execution with every step.
type pipelineAnswer struct {
	ExecutionID string          `json:"executionId"`
	Status      string          `json:"status"`
	Output      any             `json:"output"`
	Text        string          `json:"text"`
	Usage       openai.Usage    `json:"usage"`
	CostUSD     float64         `json:"costUsd"`
	Error       json.RawMessage `json:"error,omitempty"`
	Execution   json.RawMessage `json:"execution,omitempty"`
}

// wantsTrace reports whether a data-plane run asks for its steps: ?trace=1 or x-iom-trace: 1
// (or true).
func wantsTrace(ctx *fasthttp.RequestCtx) bool {
	on := func(v []byte) bool { return string(v) == "1" || string(v) == "true" }
	return on(ctx.QueryArgs().Peek("trace")) || on(ctx.Request.Header.Peek("X-Iom-Trace"))
}

// runPipeline serves POST /v1/pipelines/{id}/run (and the admin API's): any JSON input, checked
// against the pipeline's inputSchema; {"input": …, "async": true} (or ?async=true) answers 202
// at once and runs in the background. The answer holds the execution with every step when
// trace is set; the stored execution always does.
func (g *Server) runPipeline(ctx *fasthttp.RequestCtx, key *policy.Key, id string, trace bool) {
	start := time.Now()
	reqID := g.engine.NewID(start)
	hExecution.set(&ctx.Response.Header, reqID)
	e, fe := g.pipelineFor(key, id)
	if fe == nil && key != nil {
		fe = g.limits.Admit(key)
	}
	if fe != nil {
		g.reject(ctx, fe, key, pipelineModel(e, id))
		return
	}
	body := bytes.TrimSpace(ctx.PostBody())
	if len(body) == 0 {
		body = []byte("{}")
	}
	input, err := decode.ParseJSON(body)
	if err != nil {
		g.reject(ctx, fault.Invalid("", "the input is not valid JSON: %v", err), key, spec.PipelinePrefix+id)
		return
	}
	async := bytes.Equal(ctx.QueryArgs().Peek("async"), []byte("true"))
	if m, ok := input.(map[string]any); ok {
		if a, ok := m["async"].(bool); ok {
			if in, has := m["input"]; has && len(m) == 2 {
				async, input = a, in
			}
		}
	}
	input = decode.Normalize(input)
	if e.Plan.Input != nil {
		if err := e.Plan.Input.ValidateValue(input); err != nil {
			g.reject(ctx, fault.Invalid("input", "input does not match the inputSchema of pipeline %q: %v", id, err), key, spec.PipelinePrefix+id)
			return
		}
	}
	opts := pipeline.Options{Key: key.Unlisted(), ID: reqID, Start: start}
	if async {
		x, err := g.runner.Start(g.callContext(ctx), e.Plan, input, opts)
		if err != nil {
			g.reject(ctx, fault.Limited(1, "%v", err), key, spec.PipelinePrefix+id)
			return
		}
		writeJSON(ctx, fasthttp.StatusAccepted, map[string]any{"executionId": x.ID, "status": "running",
			"poll": "/api/executions/" + x.ID})
		return
	}
	x := g.runner.Run(g.callContext(ctx), e.Plan, input, opts)
	g.setRunHeaders(ctx, x, start)
	status := fasthttp.StatusOK
	a := pipelineAnswer{ExecutionID: x.ID, Status: x.Status, Output: x.OutputValue(), Text: pipeline.TextOf(x.OutputValue()),
		Usage:   openai.Usage{PromptTokens: x.InTokens, CompletionTokens: x.OutTokens, TotalTokens: x.InTokens + x.OutTokens},
		CostUSD: x.CostUSD}
	if err := x.Err(); err != nil {
		fe := g.runError(id, err)
		status = fe.Status
		var wrapped struct {
			Error json.RawMessage `json:"error"`
		}
		_ = json.Unmarshal(fe.AppendJSON(nil), &wrapped)
		a.Error = wrapped.Error
	}
	if trace {
		a.Execution = x.JSON()
	}
	writeJSON(ctx, status, a)
}

func (g *Server) dataRunPipeline(ctx *fasthttp.RequestCtx, params []string) {
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return
	}
	g.runPipeline(ctx, key, params[0], wantsTrace(ctx))
}

// Admin API.

func (g *Server) apiListPipelines(ctx *fasthttp.RequestCtx, _ []string) {
	limit, offset, fe := page(ctx.QueryArgs())
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, pageOf(g.pipes.List(), limit, offset))
}

func (g *Server) apiGetPipeline(ctx *fasthttp.RequestCtx, params []string) {
	e := g.pipes.Get(params[0])
	if e == nil {
		writeError(ctx, fault.NotFound("pipeline_not_found", "pipeline %q does not exist", params[0]))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, e)
}

// pipelineInput is a pipeline body; it accepts, and ignores, the read-only fields the API returns.
type pipelineInput struct {
	spec.Pipeline
	Problems any `json:"problems"`
}

func decodePipeline(body []byte) (spec.Pipeline, *fault.Error) {
	var in pipelineInput
	if es := decode.JSON(body, &in); len(es) > 0 {
		return spec.Pipeline{}, fault.Invalid(es[0].Path, "invalid pipeline: %s", strings.ReplaceAll(es.Error(), "\n", "; "))
	}
	return in.Pipeline, nil
}

func (g *Server) apiCreatePipeline(ctx *fasthttp.RequestCtx, _ []string) {
	p, fe := decodePipeline(ctx.PostBody())
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	e, err := g.pipes.Create(p)
	if err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	ctx.Response.Header.Set("Location", "/api/pipelines/"+e.ID)
	writeJSON(ctx, fasthttp.StatusCreated, e)
}

func (g *Server) apiUpdatePipeline(ctx *fasthttp.RequestCtx, params []string) {
	p, fe := decodePipeline(ctx.PostBody())
	if fe != nil {
		writeError(ctx, fe)
		return
	}
	e, err := g.pipes.Update(params[0], p)
	if err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, e)
}

func (g *Server) apiDeletePipeline(ctx *fasthttp.RequestCtx, params []string) {
	if err := g.pipes.Delete(params[0]); err != nil {
		writeError(ctx, fault.As(err))
		return
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// apiValidatePipeline answers 200 with {"valid": …, "errors": [{node, field, message}]}, so the
// builder can mark each failing node.
func (g *Server) apiValidatePipeline(ctx *fasthttp.RequestCtx, _ []string) {
	p, fe := decodePipeline(ctx.PostBody())
	if fe != nil {
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"valid": false, "errors": []spec.Problem{{Message: fe.Message}}})
		return
	}
	if p.ID == "" {
		p.ID = "draft"
	}
	problems := g.pipes.Validate(&p)
	if problems == nil {
		problems = spec.Problems{}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"valid": len(problems) == 0, "errors": problems})
}

// apiRunPipeline serves the admin API's run, which always answers with the execution's steps
// (the console's test panel shows them).
func (g *Server) apiRunPipeline(ctx *fasthttp.RequestCtx, params []string) {
	g.runPipeline(ctx, nil, params[0], true)
}
