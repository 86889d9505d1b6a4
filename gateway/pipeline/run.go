package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/rules"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/telemetry"
)

// Transformer runs a plugin's transform on a step's value.
type Transformer interface {
	Transform(ctx context.Context, plugin string, value any, config any, meta map[string]any) (any, error)
}

// ToolCall is a tool step's call of an MCP tool.
type ToolCall struct {
	// Key is the run's key, whose policies apply to the tool as on /mcp; nil for the admin API.
	Key *policy.Key
	// Tool is the tool as /mcp names it, "<server id>__<tool>"; Arguments a JSON object.
	Tool      string
	Arguments json.RawMessage
	// Pipeline, Execution and Step name the step, for the call's record.
	Pipeline, Execution, Step string
}

// Tools calls MCP tools for tool steps. CallTool returns the tool's output (its structured
// content, else its text) and the id of the call's record, or why it failed.
type Tools interface {
	CallTool(ctx context.Context, c ToolCall) (out any, record string, err error)
}

// Runner runs pipelines and records their executions.
type Runner struct {
	engine  *invoke.Engine
	plugins Transformer
	tools   Tools // nil: tool steps fail
	rec     *analytics.Recorder
	log     *slog.Logger
	mu      sync.Mutex
	live    map[string]*Execution
	slots   chan struct{} // background runs
	wg      sync.WaitGroup
}

// NewRunner returns a runner; asyncRuns bounds the runs going on in the background.
func NewRunner(engine *invoke.Engine, plugins Transformer, rec *analytics.Recorder, log *slog.Logger, asyncRuns int) *Runner {
	return &Runner{engine: engine, plugins: plugins, rec: rec, log: log, live: map[string]*Execution{},
		slots: make(chan struct{}, max(asyncRuns, 1))}
}

// SetTools gives the runner what tool steps call; it is set once, before any run.
func (r *Runner) SetTools(t Tools) { r.tools = t }

// Options configure one run.
type Options struct {
	// Key is the caller's key: model steps are subject to its policies. Nil for the admin API.
	Key   *policy.Key
	ID    string
	Start time.Time
	// Sink, when set, receives the chunks of the plan's stream step as they come.
	Sink func(chunk []byte) error
}

// Run runs plan on input and returns its execution, finished.
func (r *Runner) Run(ctx context.Context, plan *Plan, input any, o Options) *Execution {
	x := r.begin(plan, input, o, false, telemetry.TraceID(ctx))
	r.execute(ctx, plan, x, input, o)
	return x
}

// ErrBusy is returned by Start when the background pool is full.
var ErrBusy = errors.New("too many pipeline runs in the background; retry later")

// Start begins a background run and returns its execution at once. The run keeps ctx's values
// (the hop header of its calls) but not its end: it outlives the request that started it.
func (r *Runner) Start(ctx context.Context, plan *Plan, input any, o Options) (*Execution, error) {
	select {
	case r.slots <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	x := r.begin(plan, input, o, true, telemetry.TraceID(ctx))
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.slots }()
		r.execute(context.WithoutCancel(ctx), plan, x, input, o)
	}()
	return x, nil
}

// Wait waits for the background runs (shutdown and tests).
func (r *Runner) Wait() { r.wg.Wait() }

// Live returns the JSON of a run still going on, or nil.
func (r *Runner) Live(id string) []byte {
	r.mu.Lock()
	x := r.live[id]
	r.mu.Unlock()
	if x == nil {
		return nil
	}
	return x.JSON()
}

func (r *Runner) begin(plan *Plan, input any, o Options, async bool, traceID string) *Execution {
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	if o.ID == "" {
		o.ID = r.engine.NewID(o.Start)
	}
	p := plan.Pipeline
	x := &Execution{ID: o.ID, Kind: "pipeline", Time: o.Start.UTC(), Pipeline: p.ID, PipelineName: p.Name,
		Model: "pipeline:" + p.ID, Status: "running", Async: async, Input: clip(input), start: o.Start, TraceID: traceID}
	if o.Key != nil {
		x.Key, x.KeyID, x.Org = o.Key.Name, o.Key.ID, o.Key.Org
	} else {
		x.Key = "admin"
	}
	for _, s := range plan.steps {
		x.Steps = append(x.Steps, StepRecord{ID: s.node.ID, Type: s.node.Type, Label: s.node.Data.Label, Status: "pending",
			Model: s.node.Data.Model, Tool: s.node.Data.Tool})
	}
	r.mu.Lock()
	r.live[x.ID] = x
	r.mu.Unlock()
	return x
}

// run is the state of one execution, owned by the goroutine that coordinates it.
type run struct {
	r        *Runner
	plan     *Plan
	x        *Execution
	o        Options
	ctx      context.Context
	cancel   context.CancelFunc
	input    any
	outputs  map[*step]any
	active   map[*link]bool
	pending  map[*step]int
	activeIn map[*step]int
	steps    map[string]any // the expressions' view: id → {output, status, error}
	results  chan result
	queued   []launch // model, tool and transform steps ready to call
	inflight int
	failed   error
	done     bool
}

// A launch is a model, tool or transform step ready to call, with its input.
type launch struct {
	s       *step
	in      any
	started time.Time
}

type result struct {
	s   *step
	out any
	rec StepRecord
	err error
}

func (r *Runner) execute(ctx context.Context, plan *Plan, x *Execution, input any, o Options) {
	ctx, cancel := context.WithTimeout(ctx, plan.timeout)
	defer cancel()
	u := &run{r: r, plan: plan, x: x, o: o, ctx: ctx, cancel: cancel, input: input,
		outputs: map[*step]any{}, active: map[*link]bool{}, pending: map[*step]int{}, activeIn: map[*step]int{}, steps: map[string]any{},
		results: make(chan result, len(plan.steps))}
	for _, s := range plan.steps {
		u.pending[s] = len(s.in)
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic in pipeline run", "pipeline", plan.Pipeline.ID, "panic", p)
			u.failed = fault.Internal("internal error in the pipeline run")
		}
		u.finishRun()
	}()
	u.outputs[plan.input] = input
	u.record(plan.input, func(rec *StepRecord) { rec.Status, rec.Output = "ok", clip(input) })
	u.resolve(plan.input, func(*link) bool { return true })
	u.launchReady()
	for u.inflight > 0 {
		res := <-u.results
		u.inflight--
		u.complete(res)
		u.launchReady()
	}
}

// launchReady calls the steps that are ready: a lone one on this goroutine, so that a chain pays
// no hand-off between goroutines per step; several at once in parallel.
func (u *run) launchReady() {
	for len(u.queued) > 0 {
		q := u.queued
		u.queued = nil
		if len(q) == 1 && u.inflight == 0 {
			u.complete(u.callStep(q[0]))
			continue
		}
		u.inflight += len(q)
		for _, l := range q {
			go func() { u.results <- u.callStep(l) }()
		}
	}
}

// callStep runs a model, tool or transform step; a panic in it fails the step, not the gateway.
func (u *run) callStep(l launch) (res result) {
	defer func() {
		if p := recover(); p != nil {
			res = result{s: l.s, err: fmt.Errorf("internal error: %v", p)}
		}
	}()
	res = u.r.call(u, l.s, l.in)
	res.rec.LatencyMs = ms(time.Since(l.started))
	return res
}

// resolve settles the outgoing links of s, scheduling the targets that become ready.
func (u *run) resolve(s *step, active func(*link) bool) {
	for _, l := range s.out {
		on := u.failed == nil && active(l)
		u.pending[l.to]--
		if on {
			u.activeIn[l.to]++
			u.active[l] = true
		}
		if u.pending[l.to] == 0 {
			u.ready(l.to)
		}
	}
}

func (u *run) ready(s *step) {
	if u.failed != nil {
		return
	}
	if u.activeIn[s] == 0 {
		u.record(s, func(rec *StepRecord) { rec.Status = "skipped" })
		u.steps[s.node.ID] = map[string]any{"status": "skipped"}
		u.resolve(s, func(*link) bool { return false })
		return
	}
	started := time.Now()
	u.record(s, func(rec *StepRecord) { rec.Status, rec.StartMs = "running", ms(started.Sub(u.x.start)) })
	fail := func(err error) {
		u.complete(result{s: s, err: err, rec: StepRecord{LatencyMs: ms(time.Since(started))}})
	}
	switch s.node.Type {
	case spec.NodeModel, spec.NodeTransform, spec.NodeTool:
		in, err := u.stepInput(s)
		if err != nil {
			fail(err)
			return
		}
		u.queued = append(u.queued, launch{s, in, started})
	case spec.NodeCondition:
		ok, err := s.expr.Bool(u.env())
		if err != nil {
			fail(err)
			return
		}
		out := u.single(s)
		handle := fmt.Sprint(ok)
		u.settle(s, out, func(rec *StepRecord) { rec.Result = &ok; rec.Output = clip(out) })
		u.resolve(s, func(l *link) bool { return l.handle == handle })
	case spec.NodeRouter:
		target, err := u.route(s)
		if err != nil {
			fail(err)
			return
		}
		out := u.single(s)
		u.settle(s, out, func(rec *StepRecord) { rec.Route = target; rec.Output = clip(out) })
		u.resolve(s, func(l *link) bool { return l.to.node.ID == target || l.handle != "" && l.handle == target })
	case spec.NodeMerge:
		out := u.merge(s)
		u.settle(s, out, func(rec *StepRecord) { rec.Output = clip(out) })
		u.resolve(s, func(*link) bool { return true })
	case spec.NodeOutput:
		var out any
		if s.output != nil {
			v, err := s.output.Run(u.env())
			if err != nil {
				fail(err)
				return
			}
			out = v
		} else {
			out = u.single(s)
		}
		u.settle(s, out, func(rec *StepRecord) { rec.Output = clip(out) })
		u.done = true
	}
}

// settle records a step that finished inside the coordinator.
func (u *run) settle(s *step, out any, fill func(*StepRecord)) {
	u.outputs[s] = out
	u.steps[s.node.ID] = map[string]any{"output": out, "status": "ok"}
	u.record(s, func(rec *StepRecord) {
		rec.Status = "ok"
		rec.LatencyMs = ms(time.Since(u.x.start)) - rec.StartMs
		fill(rec)
	})
}

// complete takes the result of a step that ran in its own goroutine (or failed to start).
func (u *run) complete(res result) {
	s := res.s
	if res.err != nil {
		msg := res.err.Error()
		u.record(s, func(rec *StepRecord) {
			merge(rec, res.rec)
			rec.Status, rec.Error = "error", msg
		})
		if s.node.Data.OnError == "continue" && u.failed == nil {
			out := map[string]any{"error": msg}
			u.outputs[s] = out
			u.steps[s.node.ID] = map[string]any{"output": out, "status": "error", "error": msg}
			u.resolve(s, func(*link) bool { return true })
			return
		}
		if u.failed == nil {
			u.failed = fmt.Errorf("step %q failed: %w", s.node.ID, res.err)
			u.x.FailedStep = s.node.ID
			u.cancel()
		}
		return
	}
	u.outputs[s] = res.out
	u.steps[s.node.ID] = map[string]any{"output": res.out, "status": "ok"}
	u.record(s, func(rec *StepRecord) {
		merge(rec, res.rec)
		rec.Status, rec.Output = "ok", clip(res.out)
	})
	u.resolve(s, func(*link) bool { return true })
}

func merge(dst *StepRecord, src StepRecord) {
	dst.LatencyMs = src.LatencyMs
	dst.Input, dst.ServedBy, dst.Fallback, dst.Retries = src.Input, src.ServedBy, src.Fallback, src.Retries
	dst.InTokens, dst.OutTokens, dst.CostUSD, dst.Invocation = src.InTokens, src.OutTokens, src.CostUSD, src.Invocation
}

func (u *run) env() map[string]any { return map[string]any{"input": u.input, "steps": u.steps} }

// single is the output of s's active predecessors: one as it is, several by source id.
func (u *run) single(s *step) any {
	var outs []*link
	for _, l := range s.in {
		if u.active[l] {
			outs = append(outs, l)
		}
	}
	if len(outs) == 1 {
		return u.outputs[outs[0].from]
	}
	m := map[string]any{}
	for _, l := range outs {
		m[l.from.node.ID] = u.outputs[l.from]
	}
	return m
}

func (u *run) merge(s *step) any {
	switch s.node.Data.Mode {
	case "list":
		var list []any
		for _, l := range s.in {
			if u.active[l] {
				list = append(list, u.outputs[l.from])
			}
		}
		return list
	case "text":
		var parts []string
		for _, l := range s.in {
			if u.active[l] {
				parts = append(parts, TextOf(u.outputs[l.from]))
			}
		}
		return strings.Join(parts, "\n\n")
	}
	m := map[string]any{}
	for _, l := range s.in {
		if u.active[l] {
			m[l.from.node.ID] = u.outputs[l.from]
		}
	}
	return m
}

func (u *run) stepInput(s *step) (any, error) {
	if s.input != nil {
		return s.input.Run(u.env())
	}
	return u.single(s), nil
}

// route picks the target of a router.
func (u *run) route(s *step) (string, error) {
	d := s.node.Data
	if s.expr != nil {
		v, err := s.expr.Run(u.env())
		if err != nil {
			return "", err
		}
		return rules.Text(v), nil
	}
	route, fe := u.r.engine.Select(u.o.Key, invoke.Constraints{Capability: d.Capability, MaxLatencyMs: d.MaxLatencyMs,
		MaxCostPerToken: d.MaxCostPerToken, Prefer: d.Strategy, Op: provider.Chat, Among: s.modelIDs})
	if fe != nil {
		return "", fe
	}
	for _, l := range s.out {
		if l.to.node.Data.Model == route.ID {
			return l.to.node.ID, nil
		}
	}
	return "", fmt.Errorf("router chose model %q, which none of its targets uses", route.ID)
}

func (u *run) record(s *step, fn func(*StepRecord)) {
	u.x.mu.Lock()
	fn(&u.x.Steps[s.pos])
	u.x.mu.Unlock()
}

func (u *run) finishRun() {
	x := u.x
	x.mu.Lock()
	x.LatencyMs = ms(time.Since(x.start))
	for i := range x.Steps {
		st := &x.Steps[i]
		x.InTokens += st.InTokens
		x.OutTokens += st.OutTokens
		x.CostUSD += st.CostUSD
		if st.Status == "pending" || st.Status == "running" {
			st.Status = "canceled"
		}
	}
	x.CostUSD = roundCost(x.CostUSD)
	switch {
	case u.failed != nil:
		x.Status, x.Error = "error", u.failed.Error()
		if errors.Is(u.ctx.Err(), context.DeadlineExceeded) && x.FailedStep == "" {
			x.Error = fmt.Sprintf("the run did not finish within %s", u.plan.timeout)
		}
	case !u.done:
		x.Status = "error"
		x.Error = fmt.Sprintf("the run did not finish within %s", u.plan.timeout)
		if u.ctx.Err() == nil {
			x.Error = "no path reached the output node"
		}
	default:
		x.Status = "ok"
		x.output = u.outputs[u.plan.output]
		x.Output = clip(x.output)
	}
	x.err = u.failed
	sum := analytics.RunSummary{Pipeline: x.Pipeline, Error: x.Status != "ok", LatencyMs: x.LatencyMs,
		In: x.InTokens, Out: x.OutTokens, CostUSD: x.CostUSD}
	x.mu.Unlock()
	u.r.rec.RecordJSON(x.ID, x.start, x, sum) // x no longer changes: it is encoded off this path
	u.r.mu.Lock()
	delete(u.r.live, x.ID)
	u.r.mu.Unlock()
}

// call runs a model, tool or transform step.
func (r *Runner) call(u *run, s *step, in any) result {
	ctx, span := telemetry.Start(u.ctx, telemetry.Internal, "pipeline step", s.node.ID)
	res := r.callIn(ctx, u, s, in)
	if span.Recording() {
		span.SetString("iom.pipeline", u.plan.Pipeline.ID)
		span.SetString("iom.execution", u.x.ID)
		span.SetString("iom.step", s.node.ID)
		span.SetString("iom.step.type", string(s.node.Type))
		if res.err != nil {
			span.Fail("step_failed", res.err.Error())
		}
		span.End()
	}
	return res
}

// callIn runs a model, tool or transform step under ctx, the step's span.
func (r *Runner) callIn(ctx context.Context, u *run, s *step, in any) result {
	res := result{s: s}
	res.rec.Input = clip(in)
	d := s.node.Data
	if s.node.Type == spec.NodeTransform {
		out, err := r.plugins.Transform(ctx, d.Plugin, in, d.Config, map[string]any{
			"pipeline": u.plan.Pipeline.ID, "execution": u.x.ID, "step": s.node.ID})
		res.out, res.err = out, err
		return res
	}
	if s.node.Type == spec.NodeTool {
		return r.callTool(ctx, u, s, in, res)
	}
	route, fe := r.engine.Resolve(u.o.Key, d.Model)
	if fe != nil {
		res.err = fe
		return res
	}
	op, body := canonical(route, in, u.plan.ChatProperty())
	fields, err := rawjson.ScanObject(body, nil)
	if err != nil {
		res.err = fmt.Errorf("cannot build the request: %v", err)
		return res
	}
	now := time.Now()
	deadline, _ := u.ctx.Deadline()
	if d.TimeoutMs > 0 {
		if t := now.Add(time.Duration(d.TimeoutMs) * time.Millisecond); t.Before(deadline) {
			deadline = t
		}
	}
	req := &invoke.Request{ID: r.engine.NewID(now), Start: now, Key: u.o.Key, Op: "pipeline",
		Call:     provider.Call{Op: op, Body: body, Fields: fields, Deadline: deadline, Ctx: ctx},
		Pipeline: u.plan.Pipeline.ID, Execution: u.x.ID, Step: s.node.ID, Fallbacks: d.Fallbacks, Retries: d.Retries}
	res.rec.Invocation = req.ID
	var out *invoke.Outcome
	var text string
	var parsed any
	if s == u.plan.streamStep && u.o.Sink != nil && op == provider.Chat {
		req.Call.Stream = true
		req.Call.Body, req.Call.Fields = withStream(body)
		if out, fe = r.engine.Stream(route, req); fe != nil {
			res.err = fe
			return res
		}
		var sb strings.Builder
		var streamErr *fault.Error
		for {
			chunk, err := out.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				streamErr = fault.As(err)
				break
			}
			sb.WriteString(deltaText(chunk))
			if err := u.o.Sink(chunk); err != nil {
				streamErr = fault.As(err)
				break
			}
		}
		text = sb.String()
		parsed = map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": text}}}}
		fillUsage(&res.rec, out)
		out.Finish(200, streamErr)
		if streamErr != nil {
			res.err = streamErr
			return res
		}
	} else {
		if out, fe = r.engine.Do(route, req); fe != nil {
			res.err = fe
			return res
		}
		_ = json.Unmarshal(out.Result.Body, &parsed)
		text = answerText(parsed)
		fillUsage(&res.rec, out)
		out.Finish(200, nil)
	}
	o := map[string]any{"text": text, "model": res.rec.ServedBy,
		"usage": map[string]any{"input": res.rec.InTokens, "output": res.rec.OutTokens}}
	if op == provider.Embedding {
		o["embedding"] = embeddingOf(parsed)
		delete(o, "text")
	} else {
		o["response"] = parsed
	}
	res.out = o
	return res
}

// callTool runs a tool step: in, the arguments, must be an object (or JSON text of one).
func (r *Runner) callTool(ctx context.Context, u *run, s *step, in any, res result) result {
	d := s.node.Data
	if r.tools == nil {
		res.err = fmt.Errorf("tool %q cannot be called: MCP tools are not available here", d.Tool)
		return res
	}
	args, err := toolArguments(in)
	if err != nil {
		res.err = fmt.Errorf("the arguments of tool %q %v", d.Tool, err)
		return res
	}
	if d.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(d.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	out, record, err := r.tools.CallTool(ctx, ToolCall{Key: u.o.Key, Tool: d.Tool, Arguments: args,
		Pipeline: u.plan.Pipeline.ID, Execution: u.x.ID, Step: s.node.ID})
	res.rec.Invocation = record
	if server, _, ok := strings.Cut(d.Tool, toolSeparator); ok {
		res.rec.ServedBy = server
	}
	res.out, res.err = out, err
	return res
}

// toolArguments encodes a tool step's input as the call's arguments: an object, or a string
// holding one's JSON (a model's answer).
func toolArguments(in any) (json.RawMessage, error) {
	switch v := in.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("cannot be encoded: %v", err)
		}
		return b, nil
	case string:
		t := strings.TrimSpace(v)
		var obj map[string]any
		if strings.HasPrefix(t, "{") && json.Unmarshal([]byte(t), &obj) == nil {
			return json.RawMessage(t), nil
		}
	}
	return nil, fmt.Errorf("must be an object, not %s; map them with an arguments expression", kindOf(in))
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case float64, int, int64:
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func fillUsage(rec *StepRecord, out *invoke.Outcome) {
	u := out.Usage()
	rec.InTokens, rec.OutTokens, rec.CostUSD = u.Input, u.Output, out.Cost()
	rec.ServedBy, rec.Fallback, rec.Retries = out.Route.ID, out.Fallback, out.Retries()
}

func roundCost(c float64) float64 { return float64(int64(c*1e12+0.5)) / 1e12 }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
