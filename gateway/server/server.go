// Package server serves the gateway over HTTP: the OpenAI- and Anthropic-compatible data plane,
// the admin API and the console, on fasthttp. Handlers only translate between HTTP and the
// gateway's parts, which the app package builds and hands over; calling models belongs to
// invoke, validation to registry and config, storage to store.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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

// Options are what the HTTP server needs besides its parts.
type Options struct {
	// ConfigPath is shown in the status; empty means the gateway has no file to reload.
	ConfigPath string
	Version    string
	Logger     *slog.Logger
	// QueryTimeout bounds one admin query that reads the store (default 10s).
	QueryTimeout time.Duration
	// Reload reloads the config file, for POST /api/reload.
	Reload func() error
}

// Parts are the gateway's components the handlers route to. Cluster, Push and Tracer are nil
// when the config does not use them.
type Parts struct {
	Store    *store.Store
	Registry *registry.Registry
	Keys     *policy.Keyring
	Engine   *invoke.Engine
	Pool     *provider.Pool
	Recorder *analytics.Recorder
	Metrics  *analytics.Metrics
	Limits   *policy.Limiter
	Cluster  *cluster.Cluster
	Push     *analytics.Pusher
	Cache    *cache.Cache
	Hub      *hub.Hub
	Pipes    *pipeline.Set
	Runner   *pipeline.Runner
	Tracer   *telemetry.Tracer
	MCP      *mcp.Service
}

// Server serves the data plane and the admin API over the gateway's parts.
type Server struct {
	opts Options
	// life is the context of every call: the gateway cancels it at shutdown, ending the calls
	// still running.
	life    context.Context
	log     *slog.Logger
	st      *store.Store
	reg     *registry.Registry
	keys    *policy.Keyring
	engine  *invoke.Engine
	pool    *provider.Pool
	rec     *analytics.Recorder
	metrics *analytics.Metrics
	limits  *policy.Limiter
	cluster *cluster.Cluster
	push    *analytics.Pusher
	cache   *cache.Cache
	hub     *hub.Hub
	pipes   *pipeline.Set
	runner  *pipeline.Runner
	tracer  *telemetry.Tracer
	// mcp fronts the MCP servers at /mcp; mcpHandler bridges it onto the data plane.
	mcp        *mcp.Service
	mcpHandler fasthttp.RequestHandler

	// What follows the config: Prepare builds it, its Commit swaps it in.
	cfg       atomic.Pointer[config.File]
	cors      atomic.Pointer[cors]
	adminHash atomic.Pointer[[32]byte]
	// access is the access log; nil while it is off.
	access atomic.Pointer[accesslog.Log]

	data         *router
	admin        *router
	consoleFiles *consoleFiles

	dataSrv, adminSrv *fasthttp.Server
	dataLn, adminLn   net.Listener
	started           time.Time
	wg                sync.WaitGroup

	// dataAuth and adminAuth lock out client addresses that keep failing to authenticate.
	dataAuth, adminAuth *authGuard

	lastReload atomic.Pointer[ReloadStatus]
}

// ReloadStatus says how the last reload went.
type ReloadStatus struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// New builds the routes over p, for the server settings of cfg (read once: a reload changes
// none). life is the context of every call. It does not listen yet, and serves nothing until a
// config is committed (Prepare).
func New(life context.Context, cfg *config.File, p Parts, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	g := &Server{opts: o, life: life, log: o.Logger, st: p.Store, reg: p.Registry, keys: p.Keys, engine: p.Engine,
		pool: p.Pool, rec: p.Recorder, metrics: p.Metrics, limits: p.Limits, cluster: p.Cluster, push: p.Push,
		cache: p.Cache, hub: p.Hub, pipes: p.Pipes, runner: p.Runner, tracer: p.Tracer, mcp: p.MCP}
	g.mcpHandler = newMCPHandler(g.mcp)
	g.dataAuth = newAuthGuard(cfg.Server.AuthFailures, g.metrics.Listener("data"))
	g.adminAuth = newAuthGuard(cfg.Server.AuthFailures, g.metrics.Listener("admin"))
	g.data, g.admin = g.dataRoutes(), g.adminRoutes()
	g.consoleFiles = newConsoleFiles()
	return g
}

// Prepare opens cfg's access log, the one part of the server's config that can fail; the
// change's Commit makes cfg the server's config.
func (g *Server) Prepare(cfg *config.File) (*Change, error) {
	access, err := accesslog.Open(cfg.AccessLog, g.access.Load())
	if err != nil {
		return nil, err
	}
	return &Change{g: g, cfg: cfg, access: access}, nil
}

// Change is a prepared config of the server.
type Change struct {
	g      *Server
	cfg    *config.File
	access *accesslog.Log
}

// Commit serves the prepared config and closes the access log it replaces.
func (c *Change) Commit() {
	g := c.g
	g.cors.Store(newCORS(c.cfg.Server.CORS))
	g.setAccessLog(c.access)
	g.cfg.Store(c.cfg)
}

// Discard closes what Prepare opened.
func (c *Change) Discard() { _ = c.access.Close(c.g.access.Load()) }

// SetAdminHash sets the hash of the admin token.
func (g *Server) SetAdminHash(hash [32]byte) { g.adminHash.Store(&hash) }

// NoteReload records how a reload went, for the status.
func (g *Server) NoteReload(st *ReloadStatus) { g.lastReload.Store(st) }

// Listen binds the data and admin addresses of the committed config; Serve then serves them.
// The server settings (listeners, caps, timeouts, sizes) take effect here: a reload changes none.
func (g *Server) Listen() error {
	sc := g.cfg.Load().Server
	var err error
	if g.dataLn, err = net.Listen("tcp", sc.Listen); err != nil {
		return fmt.Errorf("cannot listen on %s (server.listen): %w", sc.Listen, err)
	}
	if g.adminLn, err = net.Listen("tcp", sc.AdminListen); err != nil {
		g.dataLn.Close()
		g.dataLn = nil
		return fmt.Errorf("cannot listen on %s (server.adminListen): %w", sc.AdminListen, err)
	}
	return nil
}

// Serve serves the bound listeners in the background.
func (g *Server) Serve() {
	sc := g.cfg.Load().Server
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
func (g *Server) readError(listener string, sc config.Server) func(*fasthttp.RequestCtx, error) {
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
func (g *Server) DataAddr() string {
	if g.dataLn == nil {
		return ""
	}
	return g.dataLn.Addr().String()
}

// AdminAddr is the admin listener's address.
func (g *Server) AdminAddr() string {
	if g.adminLn == nil {
		return ""
	}
	return g.adminLn.Addr().String()
}

// Shutdown stops accepting and lets requests in flight finish until ctx ends.
func (g *Server) Shutdown(ctx context.Context) error {
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
	waited := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("listeners still serving at the shutdown deadline: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

type fasthttpLogger struct{ l *slog.Logger }

// Printf logs what fasthttp reports, without its quoted parts, which can be request bytes.
func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(unquote(strings.TrimSpace(fmt.Sprintf(format, args...))), "component", "fasthttp")
}
