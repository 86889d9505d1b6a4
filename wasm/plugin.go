package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// Plugin is one loaded module with its pool of instances. It is safe for concurrent use; each
// call takes an instance of its own (an instance is not goroutine-safe).
type Plugin struct {
	host     *Host
	cfg      Config
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	log      *slog.Logger
	limit    uint64 // memory cap in bytes
	mode     interruptMode

	exports map[string]bool
	roles   []string
	desc    Description

	// sem holds one token per instance in use or being made, so at most PoolSize exist; idle
	// holds the instances ready for a call.
	sem       chan struct{}
	idle      chan *instance
	waiting   atomic.Int32 // calls waiting for a token, at most cfg.QueueSize
	closeOnce sync.Once
	closed    atomic.Bool
	done      chan struct{}

	// live holds every instance, for Close to interrupt the ones still running; byModule maps
	// each instance's module to it, for the host functions and listeners, which get the module.
	liveMu   sync.Mutex
	live     map[*instance]struct{}
	byModule sync.Map // api.Module → *instance

	quarantine quarantine
	// guestLog bounds what guests write to the log; failLog the host's warnings about calls.
	guestLog, failLog *lineLimiter

	calls, errs, discarded, latencyTotal atomic.Uint64
	instances                            atomic.Int64
	kindErrs                             [len(kindNames)]atomic.Uint64
	latency                              [latencyWindow]atomic.Int64
}

// latencyWindow is how many recent calls the percentiles in Stats cover.
const latencyWindow = 1024

// Description is what iom_describe answers; all of it is informational.
type Description struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Roles    []string `json:"roles"`
	Version  string   `json:"version"`
}

// Name returns the plugin's configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// Language returns the configured language, else the one iom_describe gave, else "".
func (p *Plugin) Language() string {
	if p.cfg.Language != "" {
		return p.cfg.Language
	}
	return p.desc.Language
}

// Description returns what the module's iom_describe answered (zero when it exports none).
func (p *Plugin) Description() Description { return p.desc }

// Roles returns the roles the module exports (RoleTransform, RoleTransformChunk, RoleAdapter,
// RoleInfer), in that order.
func (p *Plugin) Roles() []string { return slices.Clone(p.roles) }

// Has reports whether the module exports role.
func (p *Plugin) Has(role string) bool { return slices.Contains(p.roles, role) }

// checkModule checks the module's imports and exports against ABI v1 and records its roles.
func (p *Plugin) checkModule() error {
	name := p.cfg.Name
	abiErr := func(format string, args ...any) error { return newError(name, "", KindABI, format, args...) }
	fns := p.compiled.ExportedFunctions()
	if _, ok := fns[exportABIVersion]; !ok {
		return abiErr("does not export %s; this host speaks ABI version %d", exportABIVersion, ABIVersion)
	}
	for _, def := range p.compiled.ImportedFunctions() {
		mod, fn, _ := def.Import()
		switch {
		case mod == "wasi_snapshot_preview1":
		case mod == "iom" && fn == "log":
			if !sameSig(def, []api.ValueType{i32, i32, i32}, nil) {
				return abiErr("imports iom.log with the wrong signature (want (i32, i32, i32) -> ())")
			}
		default:
			return abiErr("imports %s.%s, which the host does not provide (ABI v1 offers iom.log and WASI preview 1)", mod, fn)
		}
	}
	if len(p.compiled.ImportedMemories()) > 0 {
		return abiErr("imports its memory; ABI v1 modules export one named \"memory\"")
	}
	if _, ok := p.compiled.ExportedMemories()["memory"]; !ok {
		return abiErr("does not export its memory as \"memory\"")
	}
	p.exports = make(map[string]bool)
	want := func(export string, params, results []api.ValueType, required bool) error {
		def, ok := fns[export]
		if !ok {
			if required {
				return abiErr("does not export %s, which ABI v%d requires", export, ABIVersion)
			}
			return nil
		}
		if !sameSig(def, params, results) {
			return abiErr("exports %s with signature %s; ABI v%d wants %s", export, sigString(def.ParamTypes(), def.ResultTypes()), ABIVersion, sigString(params, results))
		}
		p.exports[export] = true
		return nil
	}
	checks := []error{
		want(exportABIVersion, nil, []api.ValueType{i32}, true),
		want(exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}, true),
		want(exportFree, []api.ValueType{i32, i32}, nil, true),
		want(exportDescribe, nil, []api.ValueType{i64}, false),
	}
	for _, e := range roleExports {
		checks = append(checks, want(e, []api.ValueType{i32, i32}, []api.ValueType{i64}, false))
	}
	if err := errors.Join(checks...); err != nil {
		return err
	}
	if p.exports[ExportAdapterRequest] != p.exports[ExportAdapterResponse] {
		return abiErr("a provider adapter exports both %s and %s", ExportAdapterRequest, ExportAdapterResponse)
	}
	for _, r := range allRoles {
		if p.exports[r.export] {
			p.roles = append(p.roles, r.role)
		}
	}
	if len(p.roles) == 0 {
		return abiErr("exports no role function (%s, %s, %s/%s or %s)", ExportTransform, ExportTransformChunk, ExportAdapterRequest, ExportAdapterResponse, ExportInfer)
	}
	return nil
}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func sameSig(def api.FunctionDefinition, params, results []api.ValueType) bool {
	return bytes.Equal(def.ParamTypes(), params) && bytes.Equal(def.ResultTypes(), results)
}

func sigString(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}

func (p *Plugin) checkVersion(ctx context.Context, in *instance) error {
	stack := in.stack[:]
	err := p.guard(ctx, in, p.cfg.Timeout, func(ctx context.Context) error {
		return wrapCall(exportABIVersion, in.version.CallWithStack(ctx, stack))
	})
	if err != nil {
		return err
	}
	if v := int32(stack[0]); v != ABIVersion {
		return newError(p.cfg.Name, "", KindABI, "module speaks ABI version %d; this host speaks version %d", v, ABIVersion)
	}
	return nil
}

// describe reads iom_describe's answer. It is informational, so a failure is only logged; it
// reports whether the instance is still fit for calls.
func (p *Plugin) describe(ctx context.Context, in *instance) bool {
	out, err := p.run(ctx, in, exportDescribe, in.describe, nil)
	if err != nil {
		p.log.Warn("wasm plugin: iom_describe failed", "error", err)
		return fit(err)
	}
	if len(out) > 0 {
		if err := json.Unmarshal(out, &p.desc); err != nil {
			p.log.Warn("wasm plugin: iom_describe answered malformed JSON", "error", err)
		}
	}
	return true
}

// instance is one instantiated module.
type instance struct {
	mod         api.Module
	mem         api.Memory
	version     api.Function
	alloc, free api.Function
	describe    api.Function
	roles       [len(roleExports)]api.Function
	stack       [2]uint64
	stderr      *streamWriter
	stdout      *streamWriter
	lines       int // log lines written during the current call

	// The interrupt flag and call depth (interruptFlag mode) and the timer that raises the
	// flag. mu orders the timer's goroutine against the call's start and end.
	flag    api.MutableGlobal
	depth   api.Global
	timer   *time.Timer
	mu      sync.Mutex
	busy    bool
	plugin  *Plugin
	timeout time.Duration // this call's, to name in the error if the timer fires
	caller  bool          // whether the timeout is the caller's deadline rather than ours
	raised  *Error        // why the flag was raised during this call

	// calls is the call depth in interruptWazero mode, which entryGuard keeps.
	calls int
}

func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{plugin: p}
	in.stderr = &streamWriter{in: in, level: slog.LevelWarn, prefix: "wasm plugin stderr: ", keepHead: true}
	in.stdout = &streamWriter{in: in, level: slog.LevelInfo, prefix: "wasm plugin stdout: "}
	cfg := p.modCfg.WithStderr(in.stderr).WithStdout(in.stdout)
	if p.cfg.AllowClock {
		cfg = cfg.WithNanosleep(in.sleep)
	}
	// Instantiating runs nothing of the guest's in interruptFlag mode, where the rewriter took
	// the start function out. Otherwise wazero runs it here, and only a deadline on the
	// context stops it.
	ictx := experimental.WithMemoryAllocator(context.WithoutCancel(ctx), memoryAllocator)
	if p.mode == interruptWazero {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ictx, p.cfg.InitTimeout)
		defer cancel()
	}
	mod, err := p.rt.InstantiateModule(ictx, p.compiled, cfg)
	if err != nil {
		if ictx.Err() != nil {
			e := newError(p.cfg.Name, "", KindLoad, "instantiate: the start function did not finish within %s and was stopped", p.cfg.InitTimeout)
			e.ranOut = true
			return nil, e
		}
		return nil, newError(p.cfg.Name, "", KindLoad, "instantiate: %s", firstLine(err.Error()))
	}
	in.mod = mod
	in.mem = mod.ExportedMemory("memory")
	in.version = mod.ExportedFunction(exportABIVersion)
	in.alloc = mod.ExportedFunction(exportAlloc)
	in.free = mod.ExportedFunction(exportFree)
	in.describe = mod.ExportedFunction(exportDescribe)
	for i, e := range roleExports {
		in.roles[i] = mod.ExportedFunction(e)
	}
	if p.mode == interruptFlag {
		flag, ok := mod.ExportedGlobal(interruptGlobal).(api.MutableGlobal)
		in.depth = mod.ExportedGlobal(depthGlobal)
		if !ok || in.depth == nil {
			_ = mod.Close(context.Background())
			return nil, newError(p.cfg.Name, "", KindLoad, "instantiate: the instrumented module lacks its interrupt flag")
		}
		in.flag = flag
		in.timer = time.AfterFunc(time.Hour, in.onDeadline)
		in.timer.Stop()
	}
	p.track(in)
	// The start function, then _initialize, set up the guest's runtime (the Go runtime, C
	// constructors, an AssemblyScript module's top-level code). They run under a deadline of
	// their own: a Go runtime takes a few milliseconds to start.
	for _, f := range []struct{ export, name string }{{startExport, "the start function"}, {"_initialize", "_initialize"}} {
		fn := mod.ExportedFunction(f.export)
		if fn == nil {
			continue
		}
		err := p.guard(context.WithoutCancel(ctx), in, p.cfg.InitTimeout, func(ctx context.Context) error {
			return wrapCall(f.name, fn.CallWithStack(ctx, in.stack[:]))
		})
		p.reportDropped(false)
		if err != nil {
			p.untrack(in)
			e := err.(*Error)
			if e.Kind == KindTimeout {
				e.Message = fmt.Sprintf("instantiate: %s did not finish within %s and was stopped", f.name, p.cfg.InitTimeout)
			} else {
				e.Message = "instantiate: " + f.name + " failed: " + e.Message
			}
			e.Kind = KindLoad
			return nil, e
		}
	}
	return in, nil
}

// instanceOf returns the instance whose module mod is, nil when it is not (yet) known.
func (p *Plugin) instanceOf(mod api.Module) *instance {
	if v, ok := p.byModule.Load(mod); ok {
		return v.(*instance)
	}
	return nil
}

func (p *Plugin) track(in *instance) {
	p.liveMu.Lock()
	if p.live == nil {
		p.live = map[*instance]struct{}{}
	}
	p.live[in] = struct{}{}
	p.liveMu.Unlock()
	p.byModule.Store(in.mod, in)
	p.instances.Add(1)
}

// untrack closes an instance and forgets it.
func (p *Plugin) untrack(in *instance) {
	in.close()
	p.liveMu.Lock()
	delete(p.live, in)
	p.liveMu.Unlock()
	p.byModule.Delete(in.mod)
	p.instances.Add(-1)
}

func (in *instance) close() {
	_ = in.mod.Close(context.Background())
	if in.timer != nil {
		in.timer.Stop()
	}
}

// arm starts a call that must end within d, the caller's deadline if caller is set.
func (in *instance) arm(d time.Duration, caller bool) {
	in.mu.Lock()
	in.busy, in.raised, in.timeout, in.caller = true, nil, d, caller
	in.mu.Unlock()
	in.timer.Reset(d)
}

// disarm ends a call and returns why the flag was raised during it, if it was. A flag raised
// after the guest had already finished is lowered, so the instance can serve again.
func (in *instance) disarm() *Error {
	in.timer.Stop()
	in.mu.Lock()
	defer in.mu.Unlock()
	raised := in.raised
	if raised != nil {
		in.flag.Set(0)
	}
	in.busy, in.raised = false, nil
	return raised
}

func (in *instance) onDeadline() {
	in.mu.Lock()
	d, caller := in.timeout, in.caller
	in.mu.Unlock()
	name := in.plugin.cfg.Name
	if caller {
		in.raise(newError(name, "", KindTimeout, "the caller's deadline passed while the guest ran"))
	} else {
		e := newError(name, "", KindTimeout, "the guest did not finish within %s and was stopped", d)
		e.ranOut = true
		in.raise(e)
	}
}

// raise sets the interrupt flag, so the guest traps at its next loop head.
func (in *instance) raise(why *Error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.busy && in.raised == nil {
		in.raised = why
		in.flag.Set(1)
	}
}

// sleep is the guest's WASI sleep when it may use the clock: real, but cut short when the call
// is interrupted.
func (in *instance) sleep(ns int64) {
	end := time.Now().Add(time.Duration(ns))
	for {
		in.mu.Lock()
		raised := in.raised != nil
		in.mu.Unlock()
		left := time.Until(end)
		if raised || left <= 0 {
			return
		}
		time.Sleep(min(left, 5*time.Millisecond))
	}
}

// acquire takes an instance for one call, waiting while PoolSize calls are in flight, in a
// queue of at most QueueSize calls.
func (p *Plugin) acquire(ctx context.Context, export string) (*instance, error) {
	select {
	case p.sem <- struct{}{}:
	default:
		if p.waiting.Add(1) > int32(p.cfg.QueueSize) {
			p.waiting.Add(-1)
			return nil, newError(p.cfg.Name, export, KindBusy, "all %d instances are busy and %d calls are waiting", p.cfg.PoolSize, p.cfg.QueueSize)
		}
		defer p.waiting.Add(-1)
		var expired <-chan time.Time // a context with a deadline but no Done channel (see begin)
		if dl, ok := ctx.Deadline(); ok && ctx.Done() == nil {
			t := time.NewTimer(time.Until(dl))
			defer t.Stop()
			expired = t.C
		}
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, p.ctxError(ctx, export, "while waiting for a free instance")
		case <-expired:
			return nil, p.ctxError(ctx, export, "while waiting for a free instance")
		case <-p.done:
			return nil, newError(p.cfg.Name, export, KindClosed, "the plugin is closed")
		}
	}
	if p.closed.Load() {
		<-p.sem
		return nil, newError(p.cfg.Name, export, KindClosed, "the plugin is closed")
	}
	select {
	case in := <-p.idle:
		return in, nil
	default:
	}
	in, err := p.newInstance(ctx)
	if err != nil {
		<-p.sem
		err.(*Error).Export = export
		return nil, err
	}
	return in, nil
}

// release returns a healthy instance to the pool, or throws a faulted one away: wazero leaves a
// module open after a trap, and later calls on it would misbehave.
func (p *Plugin) release(in *instance, healthy bool) {
	if healthy && !in.mod.IsClosed() {
		select {
		case p.idle <- in:
		default: // never expected, as instances never outnumber idle's capacity; do not block
			p.untrack(in)
		}
	} else {
		p.untrack(in)
		p.discarded.Add(1)
	}
	<-p.sem
}

func (p *Plugin) ctxError(ctx context.Context, export, when string) *Error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return newError(p.cfg.Name, export, KindTimeout, "the caller's deadline passed %s", when)
	}
	return newError(p.cfg.Name, export, KindCanceled, "the call was canceled %s", when)
}

// Call runs one role export (ptr, len) -> i64 with input on a pooled instance and returns a copy
// of its output, nil when the guest returned none. It does not interpret the output: the typed
// helpers do. Errors are *Error.
func (p *Plugin) Call(ctx context.Context, export string, input []byte) ([]byte, error) {
	idx := slices.Index(roleExports[:], export)
	if idx < 0 {
		return nil, newError(p.cfg.Name, export, KindABI, "%s is not a role export of ABI v%d", export, ABIVersion)
	}
	if !p.exports[export] {
		return nil, newError(p.cfg.Name, export, KindABI, "the module does not export %s", export)
	}
	start := time.Now()
	trial, refusal := p.quarantine.admit(p, export)
	if refusal != nil {
		p.record(start, refusal)
		return nil, refusal
	}
	in, err := p.acquire(ctx, export)
	if err != nil {
		p.quarantine.settle(p, trial, err)
		p.record(start, err)
		return nil, err
	}
	out, err := p.run(ctx, in, export, in.roles[idx], input)
	p.release(in, fit(err))
	p.quarantine.settle(p, trial, err)
	p.record(start, err)
	p.reportDropped(false)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// run writes input into the guest, calls fn and copies the output out. input nil calls a
// () -> i64 export (iom_describe). Errors are *Error; after one whose kind is not guest or
// malformed, the instance is unfit for reuse.
func (p *Plugin) run(ctx context.Context, in *instance, export string, fn api.Function, input []byte) ([]byte, error) {
	in.stderr.reset()
	cctx, stop := p.begin(ctx, in, p.cfg.Timeout)
	out, err := p.exchange(cctx, in, export, fn, input)
	if err = p.end(ctx, in, stop, err); err != nil {
		if e := err.(*Error); e.Export == "" {
			e.Export = export
		}
		return nil, err
	}
	return out, nil
}

// exchange is run's guest calls. A failed call comes back as a *callError for guard to classify.
func (p *Plugin) exchange(ctx context.Context, in *instance, export string, fn api.Function, input []byte) ([]byte, error) {
	stack := in.stack[:]
	if input != nil {
		size := uint64(len(input))
		if size > uint64(^uint32(0)) {
			return nil, newError(p.cfg.Name, export, KindMemory, "input of %d bytes does not fit a 32-bit guest", len(input))
		}
		stack[0] = size
		if err := in.alloc.CallWithStack(ctx, stack); err != nil {
			return nil, wrapCall(exportAlloc, err)
		}
		ptr := uint32(stack[0])
		if ptr == 0 || !in.mem.Write(ptr, input) {
			return nil, newError(p.cfg.Name, export, KindMemory, "iom_alloc(%d) returned %#x, no room for the input", len(input), ptr)
		}
		stack[0], stack[1] = uint64(ptr), size
	}
	if err := fn.CallWithStack(ctx, stack); err != nil {
		return nil, wrapCall(export, err)
	}
	res := stack[0]
	ptr, n := uint32(res>>32), uint32(res)
	if n == 0 {
		return nil, nil
	}
	view, ok := in.mem.Read(ptr, n)
	if !ok {
		return nil, newError(p.cfg.Name, export, KindMalformed, "output (ptr %#x, len %d) lies outside the guest's %d bytes of memory", ptr, n, in.mem.Size())
	}
	out := append([]byte(nil), view...)
	stack[0], stack[1] = uint64(ptr), uint64(n)
	if err := in.free.CallWithStack(ctx, stack); err != nil {
		return nil, wrapCall(exportFree, err)
	}
	return out, nil
}

// callError is a guest call that failed, before classification.
type callError struct {
	export string
	err    error
}

func (e *callError) Error() string { return e.export + ": " + e.err.Error() }

func wrapCall(export string, err error) error {
	if err == nil {
		return nil
	}
	return &callError{export, err}
}

// guard runs f, which calls into the guest, within the call's deadline and the caller's
// context, and returns its failure as an *Error.
func (p *Plugin) guard(ctx context.Context, in *instance, timeout time.Duration, f func(ctx context.Context) error) error {
	cctx, stop := p.begin(ctx, in, timeout)
	return p.end(ctx, in, stop, f(cctx))
}

// begin bounds the guest calls that follow by timeout and the caller's context: it returns the
// context to call them with, and a function for end to call (nil when there is none). A caller's
// context may have a deadline and no Done channel, when nothing but its deadline ends it: the
// deadline is enforced all the same.
func (p *Plugin) begin(ctx context.Context, in *instance, timeout time.Duration) (context.Context, func() bool) {
	in.lines = 0
	switch p.mode {
	case interruptFlag:
		d, caller := timeout, false
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl); left < d {
				d, caller = left, true
			}
		}
		in.arm(d, caller)
		if ctx.Done() != nil {
			return ctx, context.AfterFunc(ctx, func() { in.raise(p.ctxError(ctx, "", "while the guest ran")) })
		}
	case interruptWazero:
		// wazero watches this context from a goroutine of its own and closes the module when it
		// is done; the compiled code checks for that at every loop head and function entry. The
		// caller's deadline is set again, not inherited: a caller's context may have a deadline
		// and no Done channel (a chain of transforms in the gateway), and
		// context.WithTimeout does not time a child whose parent's deadline comes first.
		d := time.Now().Add(timeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(d) {
			d = dl
		}
		cctx, cancel := context.WithDeadline(ctx, d)
		return cctx, func() bool { cancel(); return true }
	}
	return ctx, nil
}

// end closes what begin opened and turns err, the guest calls' failure, into an *Error: the
// reason the call was interrupted, if it was, else err classified.
func (p *Plugin) end(ctx context.Context, in *instance, stop func() bool, err error) error {
	if stop != nil {
		stop()
	}
	if p.mode == interruptFlag {
		if raised := in.disarm(); raised != nil && err != nil {
			return raised
		}
	}
	if err == nil {
		return nil
	}
	var ce *callError
	if errors.As(err, &ce) {
		return p.classify(ctx, ce.export, in, ce.err)
	}
	return err
}

// fit reports whether an instance whose call ended with err may serve again: a guest that
// answered badly is intact, one that trapped, overran or ran out of memory is not.
func fit(err error) bool {
	if err == nil {
		return true // before e, which escapes to errors.As: a call that went well allocates nothing
	}
	var e *Error
	return errors.As(err, &e) && (e.Kind == KindGuest || e.Kind == KindMalformed)
}

// classify turns a failed guest call into an *Error, logging the details a client should not see.
func (p *Plugin) classify(ctx context.Context, export string, in *instance, err error) *Error {
	var exit *sys.ExitError
	deadline := errors.Is(err, context.DeadlineExceeded) // entryGuard's way of stopping a guest
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			deadline = true
		case sys.ExitCodeContextCanceled:
			return newError(p.cfg.Name, export, KindCanceled, "the call was canceled while the guest ran")
		}
	}
	switch {
	case deadline && errors.Is(ctx.Err(), context.Canceled), errors.Is(err, context.Canceled):
		return newError(p.cfg.Name, export, KindCanceled, "the call was canceled while the guest ran")
	case deadline && ctx.Err() != nil:
		return newError(p.cfg.Name, export, KindTimeout, "the caller's deadline passed while the guest ran")
	case deadline:
		e := newError(p.cfg.Name, export, KindTimeout, "the guest did not finish within %s and was stopped", p.cfg.Timeout)
		e.ranOut = true
		return e
	case errors.Is(err, errCallStackExhausted) || in.depth != nil && in.depth.Get() > maxCallDepth:
		p.warnFailure(export, KindTrap, err)
		return newError(p.cfg.Name, export, KindTrap, "%s", errCallStackExhausted)
	}
	msg := firstLine(err.Error())
	if exit != nil {
		msg = fmt.Sprintf("the guest exited with code %d", exit.ExitCode())
	}
	guestSaid := in.stderr.message()
	if guestSaid != "" {
		msg += ": " + guestSaid
	}
	kind := KindTrap
	headroom := max(p.limit/16, 4<<20)
	if strings.Contains(guestSaid, "out of memory") || uint64(in.mem.Size())+headroom >= p.limit {
		kind = KindMemory
		msg = fmt.Sprintf("the guest ran out of memory (cap %d MB, using %d MB): %s", p.limit>>20, in.mem.Size()>>20, msg)
	}
	p.warnFailure(export, kind, err)
	return newError(p.cfg.Name, export, kind, "%s", msg)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// record counts one call and its latency.
func (p *Plugin) record(start time.Time, err error) {
	d := time.Since(start)
	n := p.calls.Add(1)
	p.latency[(n-1)%latencyWindow].Store(int64(d))
	p.latencyTotal.Add(uint64(d))
	if err != nil {
		p.countError(err)
	}
}

// countError counts a failed call, and logs those the guest's own log may not explain: traps
// and memory faults are logged where they are classified, with wazero's details.
func (p *Plugin) countError(err error) {
	p.errs.Add(1)
	var e *Error
	if errors.As(err, &e) && int(e.Kind) < len(p.kindErrs) {
		p.kindErrs[e.Kind].Add(1)
		if e.Kind == KindTimeout || e.Kind == KindMalformed {
			p.warnFailure(e.Export, e.Kind, e)
		}
	}
}

// Stats is a snapshot of a plugin's calls.
type Stats struct {
	Calls  uint64 `json:"calls"`
	Errors uint64 `json:"errors"`
	// ErrorsByKind counts errors by Kind label ("timeout", "guest"…), only kinds seen.
	ErrorsByKind map[string]uint64 `json:"errorsByKind,omitempty"`
	// Mean covers every call; P50 and P95 the last 1024.
	Mean time.Duration `json:"meanNs"`
	P50  time.Duration `json:"p50Ns"`
	P95  time.Duration `json:"p95Ns"`
	// Instances is how many instances are alive; Discarded how many were thrown away after a
	// trap, timeout or out-of-memory.
	Instances int    `json:"instances"`
	Discarded uint64 `json:"discarded"`
	// Quarantined says the plugin refuses calls (KindQuarantined) because too many in a row ran
	// out of time; QuarantinedUntil is when its cooldown ends and one trial call is let
	// through, and stays set, in the past, while the plugin waits for that call. Quarantines
	// counts the times it was quarantined, TimeoutStreak the calls in a row that ran out of
	// time since the last call that ended by itself.
	Quarantined      bool      `json:"quarantined"`
	QuarantinedUntil time.Time `json:"quarantinedUntil,omitzero"`
	Quarantines      uint64    `json:"quarantines"`
	TimeoutStreak    int       `json:"timeoutStreak"`
	// LogLinesDropped counts the guest's log lines the limits dropped (ABI.md §4).
	LogLinesDropped uint64 `json:"logLinesDropped"`
}

// Stats returns the plugin's counters and latency percentiles.
func (p *Plugin) Stats() Stats {
	s := Stats{
		Calls:           p.calls.Load(),
		Errors:          p.errs.Load(),
		Instances:       int(p.instances.Load()),
		Discarded:       p.discarded.Load(),
		Quarantines:     p.quarantine.count.Load(),
		TimeoutStreak:   int(p.quarantine.streak.Load()),
		LogLinesDropped: p.guestLog.total.Load(),
	}
	if until := p.quarantine.until.Load(); until != 0 {
		s.Quarantined, s.QuarantinedUntil = true, time.Unix(0, until)
	}
	for k := range p.kindErrs {
		if n := p.kindErrs[k].Load(); n > 0 {
			if s.ErrorsByKind == nil {
				s.ErrorsByKind = map[string]uint64{}
			}
			s.ErrorsByKind[Kind(k).String()] = n
		}
	}
	if s.Calls == 0 {
		return s
	}
	s.Mean = time.Duration(p.latencyTotal.Load() / s.Calls)
	n := min(s.Calls, latencyWindow)
	lat := make([]int64, n)
	for i := range lat {
		lat[i] = p.latency[i].Load()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s.P50 = time.Duration(lat[(len(lat)-1)*50/100])
	s.P95 = time.Duration(lat[(len(lat)-1)*95/100])
	return s
}

// Close stops the plugin: new calls fail with KindClosed, calls in flight may finish until ctx
// is done; those still running then are interrupted (they fail with KindClosed), and every
// instance is closed.
func (p *Plugin) Close(ctx context.Context) error {
	var err error
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.done)
		p.host.forget(p)
		taken := 0
		acquire := func(ctx context.Context) {
			for ; taken < cap(p.sem); taken++ {
				select {
				case p.sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
		acquire(ctx)
		if taken < cap(p.sem) && p.mode == interruptFlag {
			p.liveMu.Lock()
			for in := range p.live {
				in.raise(newError(p.cfg.Name, "", KindClosed, "the plugin was closed while the guest ran"))
			}
			p.liveMu.Unlock()
			// An interrupted guest stops at its next loop head, within microseconds.
			wctx, cancel := context.WithTimeout(context.Background(), time.Second)
			acquire(wctx)
			cancel()
		}
		for {
			select {
			case in := <-p.idle:
				p.untrack(in)
				continue
			default:
			}
			break
		}
		err = p.rt.Close(context.WithoutCancel(ctx))
		p.reportDropped(true)
	})
	return err
}
