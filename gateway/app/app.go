// Package app wires the gateway: it builds every part from the loaded config (store, registry,
// keys, plugins, engine, pipelines, MCP, cluster), hands them to the HTTP server, and runs their
// life: start, reload as one transaction of Components, and shutdown in reverse order of
// construction. It holds no request handling; that is the server's.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/cache"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/hub"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/mcp"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/server"
	"github.com/iomhq/iom/gateway/spec"
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

// Gateway is a running IoM: its parts, the server over them, and their life.
type Gateway struct {
	opts Options
	log  *slog.Logger
	// closers close the parts New built, in reverse: each registers as it is built, so a failed
	// New and Shutdown close the same parts in the same order.
	closers []func(ctx context.Context) error
	// life is the context of every call: Shutdown cancels it, ending the calls still running.
	life    context.Context
	endLife context.CancelFunc

	server.Parts
	srv *server.Server
	// components follow the config, in the order they prepare and commit (see reload.go).
	components []Component
	cfg        atomic.Pointer[config.File]
	// generated gathers the credentials a reload's commits generated, to be announced once.
	generated []policy.Generated

	reloadMu  sync.Mutex
	stopWatch chan struct{}
	wg        sync.WaitGroup
}

// LoadOptions are the config checks that depend on the gateway's parts.
func LoadOptions() config.Options {
	return config.Options{KnownProvider: provider.Known, CheckFiles: true, CheckPipeline: checkPipeline}
}

// checkPipeline compiles a pipeline of the config file, for its problems.
func checkPipeline(p *spec.Pipeline, cat pipeline.Catalog) spec.Problems {
	_, problems := pipeline.Compile(p, cat)
	return problems
}

// New opens the store in the config's data dir, builds every part and applies cfg. It does not
// listen yet.
func New(cfg *config.File, o Options) (*Gateway, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	g := &Gateway{opts: o, log: o.Logger, stopWatch: make(chan struct{})}
	g.life, g.endLife = context.WithCancel(context.Background())
	if err := g.build(cfg); err != nil {
		g.endLife()
		_ = g.closeAll(context.Background())
		return nil, err
	}
	return g, nil
}

// build constructs the parts in dependency order, registering each one's closer as it is built,
// then the server over them, and applies cfg.
func (g *Gateway) build(cfg *config.File) error {
	log := g.log
	if err := os.MkdirAll(cfg.Server.DataDir, 0o700); err != nil {
		return fmt.Errorf("cannot create data dir: %w", err)
	}
	st, err := openStore(cfg.Server.DataDir, log)
	if err != nil {
		return err
	}
	g.Store = st
	g.onClose(func(context.Context) error { return st.Close() })
	g.Metrics = analytics.NewMetrics()
	if g.Tracer, err = newTracer(cfg.Telemetry); err != nil {
		return err
	}
	g.onClose(g.Tracer.Shutdown)
	g.Recorder = analytics.NewRecorder(st, time.Duration(cfg.Records.RetentionHours)*time.Hour, g.Metrics, log)
	g.onClose(func(context.Context) error { g.Recorder.Close(); return nil })
	if g.Registry, err = registry.Open(st, provider.Known); err != nil {
		return err
	}
	if g.Keys, err = policy.OpenKeyring(st); err != nil {
		return err
	}
	g.Keys.SetKeep(keepCredential(cfg.Server.DataDir))
	g.Registry.SetKeyCheck(g.Keys.CheckAllowed)
	if g.Limits, err = policy.NewLimiter(st); err != nil {
		return err
	}
	g.onClose(func(context.Context) error { g.Limits.Close(); return nil })
	g.Limits.OnOverspend = g.Metrics.Overspend
	if err := g.joinCluster(cfg); err != nil {
		return err
	}
	if g.Cluster != nil {
		g.onClose(func(context.Context) error { g.Cluster.Close(); return nil })
	}
	g.newPusher(cfg)
	g.onClose(func(context.Context) error { g.Push.Close(); return nil })
	g.Cache = cache.New(st, log)
	g.onClose(func(context.Context) error { g.Cache.Close(); return nil })
	cacheDir := g.opts.WASMCacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(cfg.Server.DataDir, "wasm-cache")
	}
	if g.Hub, err = hub.New(context.Background(), cacheDir, log); err != nil {
		return err
	}
	g.onClose(func(ctx context.Context) error { g.Hub.Close(ctx); return nil })
	g.Registry.SetChecks(g.Hub.KnownProvider, g.Hub.KnownPlugin)
	g.Pool = provider.NewPool()
	g.Pool.Plugins = g.Hub.Model
	g.Registry.SetEndpointCheck(func(endpoint string) error { return g.Pool.Egress().CheckURL(endpoint) })
	live := analytics.NewLive()
	g.Engine = invoke.New(g.Pool, live, g.Metrics, g.Recorder, log)
	// The access log (the server's, opened by its Prepare) closes once the engine has, so the
	// last calls are logged.
	g.onClose(func(context.Context) error {
		if g.srv != nil {
			g.srv.CloseAccessLog()
		}
		return nil
	})
	g.onClose(func(context.Context) error { g.Engine.Close(); return nil })
	live.ShareReplicas(g.Engine.ReplicaLatencies, g.Engine.SetPeerLatencies) // least-latency sees every node's calls
	g.seedLiveStats(live)
	g.Engine.Spend = g.Limits.Spent
	g.Engine.Transforms = g.Hub
	if g.Pipes, err = pipeline.OpenSet(st, catalog{g}); err != nil {
		return err
	}
	g.Pipes.OnChange(g.Metrics.ForgetPipelines) // a deleted pipeline leaves /metrics
	g.shareState(live)
	g.Runner = pipeline.NewRunner(g.Engine, g.Hub.Steps(), g.Recorder, log, 64)
	g.MCP = mcp.New(mcp.Options{Log: log, Version: g.opts.Version, Record: g.Recorder.Record, NewID: g.Engine.NewID,
		Admit: g.Limits.Admit, Egress: g.Pool.Egress, CheckKey: g.Keys.CheckAllowed, MaxBodyBytes: int64(cfg.Server.MaxBodyBytes),
		Metrics: g.Metrics, OnChange: g.Pipes.Recompile}) // tool steps name MCP servers
	g.onClose(func(context.Context) error { g.MCP.Close(); return nil }) // its sessions and stdio servers end
	if err := g.MCP.Open(st); err != nil {
		return err
	}
	g.Runner.SetTools(pipelineTools{g.MCP})
	g.Registry.OnChange(func(s *registry.Snapshot) {
		g.Engine.SetModels(s)
		g.Pipes.Recompile()
		keep := map[string]bool{}
		for _, e := range s.All() {
			keep[e.ID] = true
		}
		g.Metrics.ForgetModels(keep) // a deleted model leaves /metrics
	})
	so := server.Options{ConfigPath: g.opts.ConfigPath, Version: g.opts.Version, Logger: log, QueryTimeout: g.opts.QueryTimeout}
	if g.opts.ConfigPath != "" {
		so.Reload = g.Reload
	}
	g.srv = server.New(g.life, cfg, g.Parts, so)
	g.components = g.reloadSet()
	if err := g.apply(cfg, true); err != nil {
		return err
	}
	return g.migrateAllowedKeys()
}

// Start listens on the data and admin addresses, starts pushing metrics and following the other
// nodes' changes, and serves in the background; with a config file it also follows the file's
// changes.
func (g *Gateway) Start() error {
	if err := g.srv.Listen(); err != nil {
		return err
	}
	// Upstream calls may not reach the listeners (a port of 0 is known only now).
	g.reloadMu.Lock()
	egressPolicy, err := g.egressPolicy(g.cfg.Load())
	if err == nil {
		g.Pool.SetEgress(egressPolicy)
	}
	g.reloadMu.Unlock()
	if err == nil && g.Push != nil {
		err = g.Push.Start()
	}
	if err != nil {
		_ = g.srv.Shutdown(context.Background())
		return err
	}
	if g.Cluster != nil {
		g.Cluster.StartSync() // the other nodes' changes apply here from now on
	}
	g.srv.Serve()
	if g.opts.ConfigPath != "" {
		g.wg.Add(1)
		go g.watchConfig()
	}
	return nil
}

// DataAddr is the data plane's listening address.
func (g *Gateway) DataAddr() string { return g.srv.DataAddr() }

// AdminAddr is the admin listener's address.
func (g *Gateway) AdminAddr() string { return g.srv.AdminAddr() }

// Flush waits until every invocation record and cache entry queued so far is written.
func (g *Gateway) Flush() {
	g.Recorder.Flush()
	g.Cache.Flush()
}

// Shutdown stops accepting, lets requests in flight finish until ctx ends, writes the queued
// records and closes every part.
func (g *Gateway) Shutdown(ctx context.Context) error {
	close(g.stopWatch)
	defer g.endLife()
	var errs []error
	if err := g.srv.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	// The config watcher and background pipeline runs end by themselves now; a run stuck past
	// the deadline is left behind rather than holding the shutdown.
	waited := make(chan struct{})
	go func() {
		g.wg.Wait()
		g.Runner.Wait()
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
