// Package wasm owns the gateway's WebAssembly plugin host: it loads modules that follow ABI v1
// (ABI.md), compiles each once, and calls their role exports (transforms, provider adapters,
// local models) on a pool of sandboxed instances, each call under a memory cap and a deadline.
// Plugin.Call is the raw JSON transport; the typed helpers build a role's envelope and check the
// guest's output. Every failure is an *Error with a Kind; SANDBOX.md says how a guest is bounded.
// The package imports nothing of the gateway.
package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// ABIVersion is the version of the ABI this host speaks; iom_abi_version must return it.
const ABIVersion = 1

// Defaults for the Config fields left zero.
const (
	DefaultMemoryLimitMB = 64
	DefaultTimeout       = time.Second
)

// DefaultPoolSize is the PoolSize of a plugin that sets none: half of GOMAXPROCS, at least 1.
// A pool of one instance per core let two clients whose requests make a transform loop until
// its deadline take every core; with half, the gateway keeps the other half. (On one core the
// pool is still 1: quarantine and the queue bound are what is left there.)
func DefaultPoolSize() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// Config describes one plugin.
type Config struct {
	// Name identifies the plugin in errors, logs and stats.
	Name string
	// Path is the .wasm file. Binary, when set, is used instead.
	Path   string
	Binary []byte
	// Config is the plugin's own configuration, passed to every call as the envelope's
	// "config" (null when empty). It must be valid JSON.
	Config []byte
	// Language is informational ("go", "c", "rust"…); when empty, iom_describe's is used.
	Language string
	// MemoryLimitMB caps each instance's linear memory (default 64).
	MemoryLimitMB int
	// Timeout bounds each call; a guest still running then is stopped (default 1s).
	Timeout time.Duration
	// InitTimeout bounds each of a new instance's start-up calls: the module's start function,
	// then _initialize (default: the larger of Timeout and 10s).
	InitTimeout time.Duration
	// PoolSize is the most instances, and so concurrent calls, of this plugin (default half
	// of GOMAXPROCS, at least 1, so that guests running to their deadline leave cores to the
	// rest of the gateway). Further calls wait for a free instance.
	PoolSize int
	// QueueSize is the most calls waiting for a free instance (default 64 per instance); a call
	// beyond it fails at once with KindBusy.
	QueueSize int
	// AllowClock gives the guest the real wall clock and monotonic clock instead of fake ones.
	AllowClock bool
	// AllowRandom gives the guest crypto/rand instead of a deterministic source.
	AllowRandom bool
	// QuarantineAfter is how many calls in a row stopped at Timeout put the plugin in
	// quarantine, where it refuses calls at once with KindQuarantined (default 5; negative:
	// never). QuarantineFor is how long, before one trial call is let through (default 10s).
	QuarantineAfter int
	QuarantineFor   time.Duration

	// interrupt chooses how a runaway guest is stopped. Only the benchmarks change it, to
	// measure what stopping costs.
	interrupt interruptMode
}

// interruptMode is how a runaway guest is stopped (instrument.go says why the flag).
type interruptMode uint8

const (
	// interruptFlag: the module is rewritten to check an interrupt flag at every loop head and
	// function entry, and a timer per call raises the flag. The default.
	interruptFlag interruptMode = iota
	// interruptWazero: wazero's WithCloseOnContextDone, with the timeout in each call's
	// context, and entryGuard at function entries. The fallback for modules the rewriter cannot
	// read.
	interruptWazero
	// interruptNone: nothing; a runaway guest runs forever. Only for the benchmarks.
	interruptNone
)

// Host loads plugins and holds the compilation cache they share. It is safe for concurrent use.
type Host struct {
	log   *slog.Logger
	cache wazero.CompilationCache

	mu      sync.Mutex
	plugins map[*Plugin]struct{}
	closed  bool
}

// NewHost returns a host whose compiled modules are cached on disk in cacheDir, so a restart
// skips compilation (a Go guest takes a second or more to compile). An empty cacheDir caches in
// memory only.
func NewHost(ctx context.Context, cacheDir string, log *slog.Logger) (*Host, error) {
	if log == nil {
		log = slog.Default()
	}
	var cache wazero.CompilationCache
	if cacheDir == "" {
		cache = wazero.NewCompilationCache()
	} else {
		if err := os.MkdirAll(cacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("wasm compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(cacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm compilation cache: %w", err)
		}
		cache = c
	}
	return &Host{log: log, cache: cache, plugins: map[*Plugin]struct{}{}}, nil
}

// Load compiles the module, checks that it speaks ABI v1, detects its roles from its exports
// and starts its first instance. Errors are *Error of kind load or abi.
func (h *Host) Load(ctx context.Context, c Config) (*Plugin, error) {
	if c.Name == "" {
		return nil, newError("", "", KindLoad, "a plugin needs a name")
	}
	bin := c.Binary
	if bin == nil {
		if c.Path == "" {
			return nil, newError(c.Name, "", KindLoad, "no module: set a path")
		}
		b, err := os.ReadFile(c.Path)
		if err != nil {
			return nil, newError(c.Name, "", KindLoad, "%v", err)
		}
		bin = b
	}
	if len(c.Config) > 0 {
		v, err := rawjson.Document(c.Config)
		if err != nil {
			return nil, newError(c.Name, "", KindLoad, "config is not valid JSON: %v", err)
		}
		c.Config = append([]byte(nil), v...)
	}
	if c.MemoryLimitMB <= 0 {
		c.MemoryLimitMB = DefaultMemoryLimitMB
	}
	if c.MemoryLimitMB > 4096 {
		return nil, newError(c.Name, "", KindLoad, "memoryLimitMB %d is over the 4096 MB a 32-bit module can address", c.MemoryLimitMB)
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = max(c.Timeout, 10*time.Second)
	}
	if c.PoolSize <= 0 {
		c.PoolSize = DefaultPoolSize()
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 64 * c.PoolSize
	}
	if c.QuarantineAfter == 0 {
		c.QuarantineAfter = DefaultQuarantineAfter
	}
	if c.QuarantineFor <= 0 {
		c.QuarantineFor = DefaultQuarantineFor
	}

	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, newError(c.Name, "", KindClosed, "the host is closed")
	}

	p := &Plugin{
		host:     h,
		cfg:      c,
		log:      h.log.With("plugin", c.Name),
		sem:      make(chan struct{}, c.PoolSize),
		idle:     make(chan *instance, c.PoolSize),
		limit:    uint64(c.MemoryLimitMB) << 20,
		done:     make(chan struct{}),
		guestLog: newLineLimiter(logLinesPerSecond, logBurst),
		failLog:  newLineLimiter(failureLogsPerSec, failureLogBurst),
	}
	p.quarantine.after = int32(max(c.QuarantineAfter, -1))
	p.quarantine.cooldown = c.QuarantineFor
	if err := p.init(ctx, bin); err != nil {
		if p.rt != nil {
			_ = p.rt.Close(context.WithoutCancel(ctx))
		}
		return nil, err
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		_ = p.rt.Close(context.WithoutCancel(ctx))
		return nil, newError(c.Name, "", KindClosed, "the host is closed")
	}
	h.plugins[p] = struct{}{}
	return p, nil
}

// init instruments and compiles the module, checks its imports and exports and starts the
// first instance.
func (p *Plugin) init(ctx context.Context, bin []byte) error {
	name := p.cfg.Name
	if err := precheck(bin); err != nil {
		return newError(name, "", KindLoad, "invalid module: %v", err)
	}
	// A module this cannot read fails to compile below, with wazero's reason.
	if pages, ok, err := declaredMemoryMax(bin); err == nil && ok && pages > uint64(p.cfg.MemoryLimitMB)*16 {
		return newError(name, "", KindLoad, "the module declares a memory maximum of %d MB, over the plugin's cap of %d MB (limits.memoryMB)",
			pages/16, p.cfg.MemoryLimitMB)
	}
	p.mode = p.cfg.interrupt
	if p.mode == interruptFlag {
		if ib, err := instrument(bin); errors.Is(err, errReservedName) {
			return newError(name, "", KindABI, "%v", err)
		} else if err != nil {
			p.log.Warn("wasm plugin: cannot add interrupt checks, using wazero's slower ones", "error", err)
			p.mode = interruptWazero
		} else {
			bin = ib
		}
	}
	// One runtime per plugin: the memory cap is a runtime setting, and the iom.log import
	// closes over the plugin's logger. Runtimes share the compilation cache.
	rc := wazero.NewRuntimeConfig().
		WithCompilationCache(p.host.cache).
		WithMemoryLimitPages(uint32(p.cfg.MemoryLimitMB) * 16).
		WithCloseOnContextDone(p.mode == interruptWazero)
	p.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return newError(name, "", KindLoad, "wasi: %v", err)
	}
	if _, err := p.rt.NewHostModuleBuilder("iom").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(p.hostLog), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log").
		Instantiate(ctx); err != nil {
		return newError(name, "", KindLoad, "host module: %v", err)
	}
	cctx := ctx
	if p.mode == interruptWazero {
		cctx = experimental.WithFunctionListenerFactory(ctx, entryGuard{p})
	}
	compiled, err := p.rt.CompileModule(cctx, bin)
	if err != nil {
		return newError(name, "", KindLoad, "compile: %v", err)
	}
	p.compiled = compiled
	if err := p.checkModule(); err != nil {
		return err
	}

	// The host calls _initialize itself, under the same deadline as a call (newInstance).
	p.modCfg = wazero.NewModuleConfig().
		WithName(""). // several instances of one module live side by side
		WithStartFunctions()
	if p.cfg.AllowClock {
		p.modCfg = p.modCfg.WithSysWalltime().WithSysNanotime()
	}
	if p.cfg.AllowRandom {
		p.modCfg = p.modCfg.WithRandSource(rand.Reader)
	}

	inst, err := p.newInstance(ctx)
	if err != nil {
		return err
	}
	if err := p.checkVersion(ctx, inst); err != nil {
		p.untrack(inst)
		return err
	}
	if p.exports[exportDescribe] && !p.describe(ctx, inst) {
		p.untrack(inst)
		return nil
	}
	p.idle <- inst
	return nil
}

// Close closes every plugin, waiting for their calls in flight until ctx is done.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	plugins := make([]*Plugin, 0, len(h.plugins))
	for p := range h.plugins {
		plugins = append(plugins, p)
	}
	h.mu.Unlock()
	var first error
	for _, p := range plugins {
		if err := p.Close(ctx); err != nil && first == nil {
			first = err
		}
	}
	if err := h.cache.Close(context.WithoutCancel(ctx)); err != nil && first == nil {
		first = fmt.Errorf("wasm compilation cache: %w", err)
	}
	return first
}

func (h *Host) forget(p *Plugin) {
	h.mu.Lock()
	delete(h.plugins, p)
	h.mu.Unlock()
}
