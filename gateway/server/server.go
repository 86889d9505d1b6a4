// Package server runs the gateway: it builds every part from a loaded config (store, registry,
// keys, engine, recorder), serves the OpenAI-compatible data plane and the admin API on fasthttp,
// and reloads the config on SIGHUP or when the file changes.
//
// Handlers only translate between HTTP and the parts; calling models belongs to invoke,
// validation to registry and config, storage to store.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/accesslog"
	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/cache"
	"github.com/iomhq/iom/gateway/cluster"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/hub"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/mcp"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/store"
	"github.com/iomhq/iom/gateway/telemetry"
)

// Options are what the command line adds to the config.
type Options struct {
	// ConfigPath is the file reloads read; empty disables reloading.
	ConfigPath string
	Version    string
	Logger     *slog.Logger
	// LogLevel, when set, follows the config's log.level across reloads.
	LogLevel *slog.LevelVar
	// Out receives the credentials generated on first start; nil discards them.
	Out io.Writer
	// Overrides applies command-line overrides to every loaded config.
	Overrides func(*config.File)
	// WASMCacheDir keeps compiled WASM modules (default: the data dir's wasm-cache).
	WASMCacheDir string
	// QueryTimeout bounds one admin query that reads the store (default 10s).
	QueryTimeout time.Duration
}

// Gateway is a running IoM.
type Gateway struct {
	opts Options
	// closers close the parts New built, in reverse: each registers as it is built, so a failed
	// New and Shutdown close the same parts in the same order.
	closers []func(ctx context.Context) error
	// life is the context of every call: Shutdown cancels it, ending the calls still running.
	life    context.Context
	endLife context.CancelFunc
	log     *slog.Logger
	st      *store.Store
	reg     *registry.Registry
	keys    *policy.Keyring
	engine  *invoke.Engine
	pool    *provider.Pool
	rec     *analytics.Recorder
	metrics *analytics.Metrics
	limits  *policy.Limiter
	// cluster is the connection to the other nodes; nil when the gateway stands alone.
	cluster *cluster.Cluster
	// push sends metrics to VictoriaMetrics; nil when it is not configured.
	push   *analytics.Pusher
	cache  *cache.Cache
	cors   atomic.Pointer[cors]
	hub    *hub.Hub
	pipes  *pipeline.Set
	runner *pipeline.Runner
	// access is the access log; nil while it is off.
	access atomic.Pointer[accesslog.Log]
	// tracer exports traces (telemetry in the config, read at start); nil while export is off.
	tracer *telemetry.Tracer
	// mcp fronts the MCP servers at /mcp; mcpHandler bridges it onto the data plane.
	mcp        *mcp.Service
	mcpHandler fasthttp.RequestHandler

	cfg          atomic.Pointer[config.File]
	adminHash    atomic.Pointer[[32]byte]
	data         *router
	admin        *router
	consoleFiles *consoleFiles

	dataSrv, adminSrv *fasthttp.Server
	dataLn, adminLn   net.Listener
	started           time.Time

	// dataAuth and adminAuth lock out client addresses that keep failing to authenticate.
	dataAuth, adminAuth *authGuard

	reloadMu   sync.Mutex
	lastReload *ReloadStatus
	stopWatch  chan struct{}
	wg         sync.WaitGroup
}

// ReloadStatus says how the last reload went.
type ReloadStatus struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// LoadOptions are the config checks that depend on the gateway's parts.
func LoadOptions() config.Options {
	return config.Options{KnownProvider: provider.Known, CheckFiles: true, CheckPipeline: checkPipeline}
}

// checkPipeline compiles a pipeline of the config file, for its problems.
func checkPipeline(p *pipeline.Pipeline, cat pipeline.Catalog) pipeline.Problems {
	_, problems := pipeline.Compile(p, cat)
	return problems
}

// New opens the store in the config's data dir and builds every part. It does not listen yet.
func New(cfg *config.File, o Options) (*Gateway, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data dir: %w", err)
	}
	st, err := openStore(cfg.Server.DataDir, log)
	if err != nil {
		return nil, err
	}
	g := &Gateway{opts: o, log: log, st: st, metrics: analytics.NewMetrics(), stopWatch: make(chan struct{})}
	g.life, g.endLife = context.WithCancel(context.Background())
	ok := false
	defer func() {
		if !ok {
			g.endLife()
			_ = g.closeAll(context.Background())
		}
	}()
	g.onClose(func(context.Context) error { return st.Close() })
	if g.tracer, err = newTracer(cfg.Telemetry); err != nil {
		return nil, err
	}
	g.onClose(g.tracer.Shutdown)
	g.rec = analytics.NewRecorder(st, time.Duration(cfg.Records.RetentionHours)*time.Hour, g.metrics, log)
	g.onClose(func(context.Context) error { g.rec.Close(); return nil })
	if g.reg, err = registry.Open(st, provider.Known); err != nil {
		return nil, err
	}
	if g.keys, err = policy.OpenKeyring(st); err != nil {
		return nil, err
	}
	g.keys.SetKeep(keepCredential(cfg.Server.DataDir))
	g.reg.SetKeyCheck(g.keys.CheckAllowed)
	if g.limits, err = policy.NewLimiter(st); err != nil {
		return nil, err
	}
	g.onClose(func(context.Context) error { g.limits.Close(); return nil })
	g.limits.OnOverspend = g.metrics.Overspend
	if err := g.joinCluster(cfg); err != nil {
		return nil, err
	}
	if g.cluster != nil {
		g.onClose(func(context.Context) error { g.cluster.Close(); return nil })
	}
	if err := g.startPush(cfg); err != nil {
		return nil, err
	}
	g.onClose(func(context.Context) error { g.push.Close(); return nil })
	g.cache = cache.New(st, log)
	g.onClose(func(context.Context) error { g.cache.Close(); return nil })
	cacheDir := o.WASMCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(cfg.Server.DataDir, "wasm-cache")
	}
	if g.hub, err = hub.New(context.Background(), cacheDir, log); err != nil {
		return nil, err
	}
	g.onClose(func(ctx context.Context) error { g.hub.Close(ctx); return nil })
	g.reg.SetChecks(g.hub.KnownProvider, g.hub.KnownPlugin)
	g.pool = provider.NewPool()
	g.pool.Plugins = g.hub.Model
	g.reg.SetEndpointCheck(func(endpoint string) error { return g.pool.Egress().CheckURL(endpoint) })
	live := analytics.NewLive()
	g.engine = invoke.New(g.pool, live, g.metrics, g.rec, log)
	// The access log (apply opens it) closes once the engine has, so the last calls are logged.
	g.onClose(func(context.Context) error { g.setAccessLog(nil); return nil })
	g.onClose(func(context.Context) error { g.engine.Close(); return nil })
	live.ShareReplicas(g.engine.ReplicaLatencies, g.engine.SetPeerLatencies) // least-latency sees every node's calls
	g.seedLiveStats(live)
	g.engine.Spend = g.limits.Spent
	g.engine.Transforms = g.hub
	if g.pipes, err = pipeline.OpenSet(st, catalog{g}); err != nil {
		return nil, err
	}
	g.shareState(live)
	g.runner = pipeline.NewRunner(g.engine, g.hub.Steps(), g.rec, log, 64)
	g.mcp = mcp.New(mcp.Options{Log: log, Version: o.Version, Record: g.rec.Record, NewID: g.engine.NewID,
		Admit: g.limits.Admit, Egress: g.pool.Egress, CheckKey: g.keys.CheckAllowed, MaxBodyBytes: int64(cfg.Server.MaxBodyBytes),
		Metrics: g.metrics, OnChange: g.pipes.Recompile}) // tool steps name MCP servers
	g.onClose(func(context.Context) error { g.mcp.Close(); return nil }) // its sessions and stdio servers end
	if err := g.mcp.Open(st); err != nil {
		return nil, err
	}
	g.runner.SetTools(pipelineTools{g.mcp})
	g.mcpHandler = newMCPHandler(g.mcp)
	g.reg.OnChange(func(s *registry.Snapshot) {
		g.engine.SetModels(s)
		g.pipes.Recompile()
		keep := map[string]bool{}
		for _, e := range s.All() {
			keep[e.ID] = true
		}
		g.metrics.ForgetModels(keep) // a deleted model leaves /metrics
	})
	if err := g.apply(cfg, true); err != nil {
		return nil, err
	}
	if err := g.migrateAllowedKeys(); err != nil {
		return nil, err
	}
	g.dataAuth = newAuthGuard(cfg.Server.AuthFailures, g.metrics.Listener("data"))
	g.adminAuth = newAuthGuard(cfg.Server.AuthFailures, g.metrics.Listener("admin"))
	g.data, g.admin = g.dataRoutes(), g.adminRoutes()
	g.consoleFiles = newConsoleFiles()
	ok = true
	return g, nil
}

// apply makes cfg the running config, as one transaction: first every step that can fail,
// none of which changes what the gateway serves (the plugins last, which load side by side and
// swap only when all loaded); then each part takes its new state, which cannot fail. At first
// start it also reports generated credentials.
func (g *Gateway) apply(cfg *config.File, first bool) (err error) {
	if !first && clusterChanged(g.cfg.Load(), cfg) {
		g.log.Warn("cluster settings changed; they take effect when the gateway restarts")
	}
	// The access log's file is opened first, so a reload that cannot open it changes nothing.
	access, err := accesslog.Open(cfg.AccessLog, g.access.Load())
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = access.Close(g.access.Load())
		}
	}()
	egressPolicy, err := g.egressPolicy(cfg)
	if err != nil {
		return err
	}
	models, err := g.reg.PrepareConfig(cfg.Models)
	if err != nil {
		return err
	}
	keys, generated, err := g.keys.PrepareConfig(cfg.Keys)
	if err != nil {
		return err
	}
	hash, adminValue, err := policy.AdminToken(g.st, cfg.Admin.Token, keepCredential(cfg.Server.DataDir))
	if err != nil {
		return err
	}
	if err := g.hub.Apply(context.Background(), cfg.Plugins); err != nil {
		return err
	}

	// Nothing below fails.
	g.pipes.Recompile()
	defaults := make(map[string]provider.Defaults, len(cfg.Providers))
	for name, p := range cfg.Providers {
		defaults[name] = provider.Defaults{APIKey: p.APIKey, KeyHosts: p.KeyHosts, Headers: p.Headers}
	}
	g.engine.SetProviders(defaults)
	g.reg.CommitConfig(models)
	g.pipes.SetConfig(cfg.Pipelines)
	g.forgetPipelines()
	for _, id := range g.reg.ConfigShadowed() {
		g.log.Warn("a config model hides the API-registered model with the same id", "model", id)
	}
	g.keys.CommitConfig(keys)
	g.adminHash.Store(&hash)
	if adminValue != "" {
		generated = append([]policy.Generated{{Name: "admin", Admin: true, Value: adminValue}}, generated...)
	}
	if len(generated) > 0 {
		g.announce(cfg, generated)
	}
	if first {
		g.noteMissingCredentials(cfg)
	}
	var budgets []policy.OrgBudget
	for _, o := range cfg.Orgs {
		if o.Budget != nil {
			budgets = append(budgets, policy.OrgBudget{Org: o.Name, Budget: *o.Budget})
		}
	}
	g.limits.SetOrgBudgets(budgets)
	g.cors.Store(newCORS(cfg.Server.CORS))
	g.pool.SetEgress(egressPolicy)
	if g.opts.LogLevel != nil {
		g.opts.LogLevel.Set(parseLevel(cfg.Log.Level))
	}
	g.rec.SetRetention(time.Duration(cfg.Records.RetentionHours) * time.Hour)
	g.setAccessLog(access)
	g.mcp.SetConfig(cfg.MCPServers)
	// Checked once the MCP servers are set: tool steps name them.
	for _, e := range g.pipes.List() {
		if e.Plan == nil {
			g.log.Warn("pipeline cannot run", "pipeline", e.ID, "problems", e.Summary())
		}
	}
	g.cfg.Store(cfg)
	return nil
}

// egressPolicy compiles cfg's egress policy, refusing the gateway's listeners: those it listens
// on once started, those cfg names before.
func (g *Gateway) egressPolicy(cfg *config.File) (*egress.Policy, error) {
	p, err := cfg.EgressPolicy()
	if err != nil || g.dataLn == nil || g.adminLn == nil {
		return p, err
	}
	return p.WithListeners(egress.ListenerAddrs(g.dataLn.Addr().String(), g.adminLn.Addr().String()), egress.LocalAddrs()), nil
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(s))
	return l
}

// Start listens on the data and admin addresses and serves in the background.
//
// The server settings (listeners, caps, timeouts, sizes) take effect here: a reload changes none.
func (g *Gateway) Start() error {
	cfg := g.cfg.Load()
	sc := cfg.Server
	var err error
	if g.dataLn, err = net.Listen("tcp", sc.Listen); err != nil {
		return fmt.Errorf("cannot listen on %s (server.listen): %w", sc.Listen, err)
	}
	if g.adminLn, err = net.Listen("tcp", sc.AdminListen); err != nil {
		g.dataLn.Close()
		return fmt.Errorf("cannot listen on %s (server.adminListen): %w", sc.AdminListen, err)
	}
	// Upstream calls may not reach the listeners (a port of 0 is known only now).
	g.reloadMu.Lock()
	egressPolicy, err := g.egressPolicy(g.cfg.Load())
	if err == nil {
		g.pool.SetEgress(egressPolicy)
	}
	g.reloadMu.Unlock()
	if err != nil {
		g.dataLn.Close()
		g.adminLn.Close()
		return err
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	readTimeout := ms(sc.ReadTimeoutMs)
	g.dataSrv = &fasthttp.Server{
		Handler:                       g.serveData,
		ErrorHandler:                  g.readError("data", sc),
		Name:                          "iom",
		MaxRequestBodySize:            sc.MaxBodyBytes,
		ReadBufferSize:                sc.MaxHeaderBytes,
		Concurrency:                   max(sc.MaxConns, fasthttp.DefaultConcurrency), // the listener caps connections
		IdleTimeout:                   ms(sc.IdleTimeoutMs),
		NoDefaultServerHeader:         true,
		NoDefaultDate:                 false,
		DisableHeaderNamesNormalizing: false,
		SecureErrorLogMessage:         true,
		// An idle keep-alive connection gives its buffers and request context back to the pools
		// while it waits: a client that keeps hundreds of connections open (an open-loop load, a
		// fleet of apps) costs a few KB each instead of ~25 KB.
		ReduceMemoryUsage: true,
		// The server reads the clock for a request only when the handler asks (ctx.Time), which
		// the completion handlers do first thing.
		LazyRequestTime: true,
		Logger:          fasthttpLogger{g.log},
	}
	setReadTimeouts(g.dataSrv, ms(sc.ReadHeaderTimeoutMs), readTimeout)
	g.adminSrv = &fasthttp.Server{
		Handler:               g.serveAdmin,
		ErrorHandler:          g.readError("admin", sc),
		Name:                  "iom-admin",
		MaxRequestBodySize:    sc.MaxBodyBytes,
		ReadBufferSize:        sc.MaxHeaderBytes,
		Concurrency:           max(sc.MaxConns, fasthttp.DefaultConcurrency),
		IdleTimeout:           2 * time.Minute,
		NoDefaultServerHeader: true,
		SecureErrorLogMessage: true,
		Logger:                fasthttpLogger{g.log},
	}
	setReadTimeouts(g.adminSrv, ms(sc.ReadHeaderTimeoutMs), 30*time.Second)
	g.started = time.Now().UTC()
	for _, s := range []struct {
		name string
		srv  *fasthttp.Server
		ln   net.Listener
	}{{"data", g.dataSrv, g.dataLn}, {"admin", g.adminSrv, g.adminLn}} {
		ln := newListener(s.ln, s.name, g.log, g.metrics.Listener(s.name), sc.MaxConns, sc.MaxConnsPerIP, ms(sc.WriteTimeoutMs))
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			if err := s.srv.Serve(ln); err != nil {
				g.log.Error("server stopped", "listener", s.name, "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
	if g.opts.ConfigPath != "" {
		g.wg.Add(1)
		go g.watchConfig()
	}
	return nil
}

// setReadTimeouts makes srv wait readHeader (at most read) for a new connection's first byte
// and for a request's header from its first byte, then read for its body. fasthttp's
// ReadTimeout covers the first byte and the header; HeaderReceived rearms the deadline for the
// body. A keep-alive connection waits IdleTimeout for its next request's first byte.
func setReadTimeouts(srv *fasthttp.Server, readHeader, read time.Duration) {
	srv.ReadTimeout = min(readHeader, read)
	if read > srv.ReadTimeout {
		srv.HeaderReceived = func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: read}
		}
	}
}

// readError answers a request the server could not read (ErrorHandler), with a fixed message
// for each cause: never the error's text, which can quote the request (its header values, keys
// among them) or name the sockets. The log gets the error, its quoted parts left out.
func (g *Gateway) readError(listener string, sc config.Server) func(*fasthttp.RequestCtx, error) {
	return func(ctx *fasthttp.RequestCtx, err error) {
		fe := readFault(err, sc)
		if fe.Status != fasthttp.StatusRequestTimeout {
			// The client may still be sending what the server did not read.
			lingerOnClose(ctx)
		}
		g.log.Debug("cannot read a request", "listener", listener, "status", fe.Status,
			"client", ctx.RemoteIP().String(), "err", unquote(err.Error()))
		if listener == "admin" {
			ctx.Response.Header.Set("Cache-Control", "no-store")
		} else {
			g.count(ctx, fe, nil, "")
		}
		writeError(ctx, fe)
	}
}

// readFault is the client's answer to err, from reading a request.
func readFault(err error, sc config.Server) *fault.Error {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fault.TooLarge(sc.MaxBodyBytes)
	case errors.As(err, &small):
		return &fault.Error{Kind: fault.Caller, Status: fasthttp.StatusRequestHeaderFieldsTooLarge,
			Type: "invalid_request_error", Code: "request_header_too_large",
			Message: "the request line and header are larger than the limit of " + strconv.Itoa(sc.MaxHeaderBytes) + " bytes"}
	case errors.As(err, &ne) && ne.Timeout():
		return &fault.Error{Kind: fault.Caller, Status: fasthttp.StatusRequestTimeout,
			Type: "invalid_request_error", Code: "request_timeout", Message: "the request did not arrive in time"}
	}
	return fault.Invalid("", "cannot read the request: it is not valid HTTP/1.1")
}

// DataAddr is the data plane's listening address.
func (g *Gateway) DataAddr() string {
	if g.dataLn == nil {
		return ""
	}
	return g.dataLn.Addr().String()
}

// AdminAddr is the admin listener's address.
func (g *Gateway) AdminAddr() string {
	if g.adminLn == nil {
		return ""
	}
	return g.adminLn.Addr().String()
}

// Shutdown stops accepting, lets requests in flight finish until ctx ends, writes the queued
// records and closes the store.
func (g *Gateway) Shutdown(ctx context.Context) error {
	close(g.stopWatch)
	defer g.endLife()
	var errs []error
	for _, s := range []*fasthttp.Server{g.dataSrv, g.adminSrv} {
		if s != nil {
			if err := s.ShutdownWithContext(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// A server whose Serve had not begun (a Shutdown right after Start) would then serve on, its
	// listener unknown to ShutdownWithContext: closing the listener ends it.
	for _, ln := range []net.Listener{g.dataLn, g.adminLn} {
		if ln != nil {
			_ = ln.Close()
		}
	}
	// The servers' goroutines, the config watcher and background pipeline runs end by themselves
	// now; a run stuck past the deadline is left behind rather than holding the shutdown.
	waited := make(chan struct{})
	go func() {
		g.wg.Wait()
		g.runner.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("background work still running at the shutdown deadline: %w", ctx.Err()))
	}
	if err := g.closeAll(ctx); err != nil { // calls still running fail
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// onClose registers how a part New built is closed.
func (g *Gateway) onClose(close func(ctx context.Context) error) {
	g.closers = append(g.closers, close)
}

// closeAll closes the parts New built, the last built first.
func (g *Gateway) closeAll(ctx context.Context) error {
	var errs []error
	for i := len(g.closers) - 1; i >= 0; i-- {
		if err := g.closers[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	g.closers = nil
	return errors.Join(errs...)
}

// Reload reads the config file again and applies it; on any error the running config stays.
func (g *Gateway) Reload() error {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	g.metrics.Reloads.Inc()
	err := g.reloadLocked()
	st := &ReloadStatus{At: time.Now().UTC(), OK: err == nil}
	if err != nil {
		st.Error = err.Error()
		g.metrics.ReloadErrors.Inc()
		g.log.Error("config reload failed; keeping the running config", "config", g.opts.ConfigPath, "err", err)
	} else {
		g.log.Info("config reloaded", "config", g.opts.ConfigPath)
	}
	g.lastReload = st
	return err
}

func (g *Gateway) reloadLocked() error {
	cfg, err := config.Load(g.opts.ConfigPath, LoadOptions())
	if err != nil {
		return err
	}
	if g.opts.Overrides != nil {
		g.opts.Overrides(cfg)
	}
	old := g.cfg.Load()
	if cfg.Server.Listen != old.Server.Listen || cfg.Server.AdminListen != old.Server.AdminListen || cfg.Server.DataDir != old.Server.DataDir {
		g.log.Warn("listen addresses and the data dir change only on restart")
		cfg.Server.Listen, cfg.Server.AdminListen, cfg.Server.DataDir = old.Server.Listen, old.Server.AdminListen, old.Server.DataDir
	}
	return g.apply(cfg, false)
}

// watchConfig reloads when the config file's size or modification time changes.
func (g *Gateway) watchConfig() {
	defer g.wg.Done()
	stamp := func() string {
		st, err := os.Stat(g.opts.ConfigPath)
		if err != nil {
			return ""
		}
		return fmt.Sprint(st.Size(), st.ModTime().UnixNano())
	}
	last := stamp()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-g.stopWatch:
			return
		case <-t.C:
			if s := stamp(); s != last && s != "" {
				last = s
				_ = g.Reload()
			}
		}
	}
}

type fasthttpLogger struct{ l *slog.Logger }

// Printf logs what fasthttp reports, without its quoted parts, which can be request bytes.
func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(unquote(strings.TrimSpace(fmt.Sprintf(format, args...))), "component", "fasthttp")
}

// Flush waits until every invocation record and cache entry queued so far is written.
func (g *Gateway) Flush() {
	g.rec.Flush()
	g.cache.Flush()
}

// seedLiveStats starts each model's live statistics (the registry's cards) from the stored
// rollups, so that a restart does not reset what analytics still shows. It reads the daily
// totals of the retained hourly rollups, a few thousand small entries at most.
func (g *Gateway) seedLiveStats(live *analytics.Live) {
	ctx, cancel := context.WithTimeout(g.life, 5*time.Second)
	defer cancel()
	now := time.Now()
	rep, err := g.rec.Analytics(ctx, now.Add(-analytics.MaxRange+time.Hour), now, "1d", "model")
	if err != nil {
		g.log.Warn("cannot read the stored statistics of the models", "err", err)
		return
	}
	for _, t := range rep.Totals {
		if t.Key != "unknown" {
			live.Model(t.Key).Seed(t)
		}
	}
}

// forgetPipelines drops the metrics of pipelines that no longer exist.
func (g *Gateway) forgetPipelines() {
	keep := map[string]bool{}
	for _, e := range g.pipes.List() {
		keep[e.ID] = true
	}
	g.metrics.ForgetPipelines(keep)
}
