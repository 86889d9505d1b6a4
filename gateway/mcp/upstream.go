package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/plugins"
)

// Bounds of an upstream server's connection.
const (
	// connectTimeout bounds starting a stdio server or reaching a URL, with the initialize
	// handshake.
	connectTimeout = 20 * time.Second
	// waitForSession is how long a call waits for a server that is (re)connecting.
	waitForSession = 10 * time.Second
	// refreshEvery re-reads a server's tools even if it never says they changed.
	refreshEvery = 5 * time.Minute
	// listTimeout bounds reading a server's tools.
	listTimeout = 15 * time.Second
	// maxTools bounds the tools kept of one server; maxResources its resources, and its
	// resource templates.
	maxTools     = 1000
	maxResources = 1000
	// maxBackoff caps the wait between reconnections to a server that keeps failing.
	maxBackoff = 30 * time.Second
	// terminateAfter is how long a stdio server has to exit once its stdin closes.
	terminateAfter = 2 * time.Second
)

// processEnv is a stdio server's environment: what process plugins inherit of the gateway's
// (what programs need to run, find files, speak TLS and use a proxy; API keys and the master
// key stay with the gateway), plus the server's own env.
func processEnv(extra []string) []string {
	return append(plugins.BaseEnv(len(extra)), extra...)
}

// upstream is one MCP server the gateway is a client of: one session, kept connected by run
// (reconnecting with backoff), and its tools as last read.
type upstream struct {
	spec spec.MCPServer
	svc  *Service
	ctx  context.Context
	stop context.CancelFunc
	done chan struct{}
	// refresh asks run to read the tools again (the server said they changed).
	refresh chan struct{}

	mu        sync.Mutex
	session   *sdk.ClientSession
	ready     chan struct{} // closed while session is set
	tools     []*sdk.Tool
	prompts   []*sdk.Prompt
	resources []*sdk.Resource
	templates []*sdk.ResourceTemplate
	state     string // connecting, connected, unavailable

	// tokens gets the bearer token of a server with oauth; nil without.
	tokens *tokenSource

	// progress maps the token sent upstream with a call to where the client wants its progress.
	progress sync.Map // string → *progressTarget
	seq      atomic.Uint64
}

type progressTarget struct {
	ctx     context.Context
	session *sdk.ServerSession
	token   any
	relayed chan struct{} // a notification was passed on (cap 1)

	mu          sync.Mutex
	last, total float64
}

// Bounds of the wait for progress still being relayed when a call's result arrives (see
// settle): how long no notification must come (longer before the first), and the most.
const (
	progressQuiet      = 10 * time.Millisecond
	progressQuietFirst = 25 * time.Millisecond
	progressSettle     = 250 * time.Millisecond
)

// settle waits for the notifications that came before the result to be passed on: the SDK
// hands the result to the call at once, but notifications to a queue of their own, so the last
// may still be on its way. It returns once the progress reached its total, or (with no total)
// once none came for a while, and after progressSettle at most.
func (t *progressTarget) settle() {
	deadline := time.NewTimer(progressSettle)
	defer deadline.Stop()
	for {
		t.mu.Lock()
		seen, done := t.total > 0 || t.last > 0, t.total > 0 && t.last >= t.total
		known := t.total > 0
		t.mu.Unlock()
		if done {
			return
		}
		wait := progressQuiet
		switch {
		case known:
			wait = progressSettle // the total is coming: only the deadline ends the wait
		case !seen:
			wait = progressQuietFirst
		}
		quiet := time.NewTimer(wait)
		select {
		case <-t.relayed:
			quiet.Stop()
		case <-quiet.C:
			return
		case <-deadline.C:
			quiet.Stop()
			return
		}
	}
}

func newUpstream(svc *Service, decl spec.MCPServer) *upstream {
	u := &upstream{spec: decl, svc: svc, done: make(chan struct{}), refresh: make(chan struct{}, 1),
		ready: make(chan struct{}), state: "connecting"}
	u.ctx, u.stop = context.WithCancel(svc.life)
	if decl.OAuth != nil && decl.URL != "" {
		u.tokens = newTokenSource(decl.OAuth, u.tokenClient())
	}
	go u.run()
	return u
}

// close ends the session (a stdio server exits) and waits for run to return.
func (u *upstream) close() {
	u.stop()
	<-u.done
}

func (u *upstream) snapshot() (tools []*sdk.Tool, state string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.tools, u.state
}

func (u *upstream) promptList() []*sdk.Prompt {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.prompts
}

func (u *upstream) resourceList() ([]*sdk.Resource, []*sdk.ResourceTemplate) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.resources, u.templates
}

// problem is why the server is not connected, in words a client or an admin may read: a token
// endpoint's refusal, or "".
func (u *upstream) problem() string {
	if u.tokens != nil {
		if err := u.tokens.lastError(); err != nil {
			return err.Error()
		}
	}
	return ""
}

// run keeps a session open until the upstream is closed: it connects, reads the tools, and
// reconnects when the session ends (a crashed stdio server is started again), waiting longer
// after each failure in a row.
func (u *upstream) run() {
	defer close(u.done)
	defer func() {
		if p := recover(); p != nil {
			u.svc.log.Error("panic in an MCP server's connection", "server", u.spec.ID, "panic", p)
		}
	}()
	fails := 0
	for {
		if fails > 0 {
			wait := min(250*time.Millisecond<<min(fails-1, 8), maxBackoff)
			t := time.NewTimer(wait)
			select {
			case <-u.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if u.ctx.Err() != nil {
			return
		}
		sess, end, err := u.connect()
		if err != nil {
			fails++
			u.setState("unavailable")
			u.svc.log.Warn("cannot connect to an MCP server", "server", u.spec.ID, "attempt", fails, "err", u.redact(err))
			continue
		}
		started := time.Now()
		u.readTools(sess)
		u.setSession(sess)
		u.serve(sess)
		end()
		u.clearSession(sess)
		if u.ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			fails = 0
		} else {
			fails++
		}
		u.svc.log.Warn("an MCP server's connection ended; reconnecting", "server", u.spec.ID)
	}
}

// serve waits for the session to end, reading the tools again when asked and now and then.
func (u *upstream) serve(sess *sdk.ClientSession) {
	ended := make(chan struct{})
	go func() {
		_ = sess.Wait()
		close(ended)
	}()
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ended:
			return
		case <-u.ctx.Done():
			_ = sess.Close()
			<-ended
			return
		case <-t.C:
			u.readTools(sess)
		case <-u.refresh:
			u.readTools(sess)
		}
	}
}

func (u *upstream) setState(s string) {
	u.mu.Lock()
	u.state = s
	u.mu.Unlock()
}

func (u *upstream) setSession(sess *sdk.ClientSession) {
	u.mu.Lock()
	u.session, u.state = sess, "connected"
	close(u.ready)
	u.mu.Unlock()
}

func (u *upstream) clearSession(sess *sdk.ClientSession) {
	u.mu.Lock()
	if u.session == sess {
		u.session, u.state = nil, "connecting"
		u.ready = make(chan struct{})
	}
	u.mu.Unlock()
}

// current returns the open session, waiting a while for one being (re)connected.
func (u *upstream) current(ctx context.Context) (*sdk.ClientSession, error) {
	u.mu.Lock()
	sess, ready := u.session, u.ready
	u.mu.Unlock()
	if sess != nil {
		return sess, nil
	}
	if u.problem() != "" {
		return nil, errUnavailable // the token endpoint refused the last try: waiting would not help
	}
	t := time.NewTimer(waitForSession)
	defer t.Stop()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errUnavailable
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.session == nil {
		return nil, errUnavailable
	}
	return u.session, nil
}

var errUnavailable = errors.New("not connected")

// connect starts the server (stdio) or reaches it (HTTP) and runs the initialize handshake,
// within connectTimeout. The context it returns lives as long as the session should (an SSE
// transport's stream is bound to it): end ends it.
func (u *upstream) connect() (sess *sdk.ClientSession, end context.CancelFunc, err error) {
	ctx, cancel := context.WithCancel(u.ctx)
	timer := time.AfterFunc(connectTimeout, cancel)
	defer func() {
		if !timer.Stop() && err == nil {
			err = fmt.Errorf("no answer within %v", connectTimeout)
			_ = sess.Close()
		}
		if err != nil {
			cancel()
		}
	}()
	var t sdk.Transport
	switch {
	case len(u.spec.Command) > 0:
		cmd := exec.Command(u.spec.Command[0], u.spec.Command[1:]...)
		cmd.Env = processEnv(u.spec.Env)
		cmd.Dir = u.spec.Dir
		cmd.Stderr = &stderrLog{u: u}
		t = &sdk.CommandTransport{Command: cmd, TerminateDuration: terminateAfter}
	case u.spec.Transport == spec.MCPSSE:
		t = &sdk.SSEClientTransport{Endpoint: u.spec.URL, HTTPClient: u.httpClient()}
	default:
		t = &sdk.StreamableClientTransport{Endpoint: u.spec.URL, HTTPClient: u.httpClient(), MaxRetries: 2}
	}
	changed := func() {
		select {
		case u.refresh <- struct{}{}:
		default:
		}
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "iom", Version: u.svc.o.Version}, &sdk.ClientOptions{
		ToolListChangedHandler:      func(context.Context, *sdk.ToolListChangedRequest) { changed() },
		PromptListChangedHandler:    func(context.Context, *sdk.PromptListChangedRequest) { changed() },
		ResourceListChangedHandler:  func(context.Context, *sdk.ResourceListChangedRequest) { changed() },
		ProgressNotificationHandler: u.relayProgress,
	})
	sess, err = client.Connect(ctx, t, nil)
	return sess, cancel, err
}

// readTools reads the server's tools (and prompts and resources, if it has them) and, when
// they changed, updates what clients see.
func (u *upstream) readTools(sess *sdk.ClientSession) {
	ctx, cancel := context.WithTimeout(u.ctx, listTimeout)
	defer cancel()
	var tools []*sdk.Tool
	for t, err := range sess.Tools(ctx, nil) {
		if err != nil {
			u.svc.log.Warn("cannot list an MCP server's tools", "server", u.spec.ID, "err", u.redact(err))
			return
		}
		if len(tools) == maxTools {
			u.svc.log.Warn("an MCP server has more tools than the gateway keeps", "server", u.spec.ID, "kept", maxTools)
			break
		}
		if !objectSchema(t.InputSchema) {
			u.svc.log.Warn("an MCP server's tool has no object input schema; it is not exposed", "server", u.spec.ID, "tool", t.Name)
			continue
		}
		tools = append(tools, t)
	}
	var prompts []*sdk.Prompt
	if r := sess.InitializeResult(); r != nil && r.Capabilities != nil && r.Capabilities.Prompts != nil {
		for p, err := range sess.Prompts(ctx, nil) {
			if err != nil {
				u.svc.log.Warn("cannot list an MCP server's prompts", "server", u.spec.ID, "err", u.redact(err))
				prompts = u.promptList()
				break
			}
			if len(prompts) == maxTools {
				break
			}
			prompts = append(prompts, p)
		}
	}
	resources, templates := u.readResources(ctx, sess)
	u.mu.Lock()
	same := sameJSON(u.tools, tools) && sameJSON(u.prompts, prompts) && sameJSON(u.resources, resources) &&
		sameJSON(u.templates, templates)
	if !same {
		u.tools, u.prompts, u.resources, u.templates = tools, prompts, resources, templates
	}
	u.mu.Unlock()
	if !same {
		u.svc.sync()
	}
}

// objectSchema reports whether a tool's input schema is a JSON object of type "object", as
// the server side requires of every tool it lists.
func objectSchema(s any) bool {
	var m struct {
		Type any `json:"type"`
	}
	b, err := json.Marshal(s)
	return err == nil && json.Unmarshal(b, &m) == nil && m.Type == "object"
}

// listAtMost reads a listing of u's server, keeping at most maxResources items; ok is false when
// the listing failed. what names the items in the log.
func listAtMost[T any](u *upstream, list iter.Seq2[T, error], what string) (items []T, ok bool) {
	for item, err := range list {
		if err != nil {
			u.svc.log.Warn("cannot list an MCP server's "+what, "server", u.spec.ID, "err", u.redact(err))
			return nil, false
		}
		if len(items) == maxResources {
			u.svc.log.Warn("an MCP server has more "+what+" than the gateway keeps", "server", u.spec.ID, "kept", maxResources)
			break
		}
		items = append(items, item)
	}
	return items, true
}

// readResources reads the server's resources and resource templates, if it has them, up to
// maxResources of each. On an error it keeps what it had.
func (u *upstream) readResources(ctx context.Context, sess *sdk.ClientSession) ([]*sdk.Resource, []*sdk.ResourceTemplate) {
	r := sess.InitializeResult()
	if r == nil || r.Capabilities == nil || r.Capabilities.Resources == nil {
		return nil, nil
	}
	oldResources, oldTemplates := u.resourceList()
	resources, ok := listAtMost(u, sess.Resources(ctx, nil), "resources")
	if !ok {
		return oldResources, oldTemplates
	}
	templates, ok := listAtMost(u, sess.ResourceTemplates(ctx, nil), "resource templates")
	if !ok {
		return resources, oldTemplates
	}
	return resources, templates
}

// readResource reads the resource at uri (the server's own URI).
// ctx bounds the read (see Service.readResource).
func (u *upstream) readResource(ctx context.Context, uri string) (*sdk.ReadResourceResult, error) {
	sess, err := u.current(ctx)
	if err != nil {
		return nil, err
	}
	res, err := sess.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
	if err != nil && ctx.Err() == nil && connectionLost(err) {
		u.clearSession(sess)
		_ = sess.Close()
	}
	return res, err
}

// sameJSON reports whether two lists read from a server are the same, as JSON.
func sameJSON[T any](a, b []*T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, _ := json.Marshal(a[i])
		y, _ := json.Marshal(b[i])
		if string(x) != string(y) {
			return false
		}
	}
	return true
}

// getPrompt gets the prompt named name (the server's own name) with the arguments of req.
func (u *upstream) getPrompt(ctx context.Context, name string, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(u.spec.TimeoutMs)*time.Millisecond)
	defer cancel()
	stop := context.AfterFunc(u.ctx, cancel)
	defer stop()
	sess, err := u.current(ctx)
	if err == nil {
		var res *sdk.GetPromptResult
		if res, err = sess.GetPrompt(ctx, &sdk.GetPromptParams{Name: name, Arguments: req.Params.Arguments}); err == nil {
			return res, nil
		}
	}
	jerr, _ := u.callError(ctx, u.spec.ID+spec.ToolSeparator+name, err)
	return nil, jerr
}

// relayProgress passes a progress notification of a call on to the client that made it.
func (u *upstream) relayProgress(_ context.Context, req *sdk.ProgressNotificationClientRequest) {
	tok, ok := req.Params.ProgressToken.(string)
	if !ok {
		return
	}
	v, ok := u.progress.Load(tok)
	if !ok {
		return
	}
	t := v.(*progressTarget)
	p := *req.Params
	p.ProgressToken, p.Meta = t.token, nil
	_ = t.session.NotifyProgress(t.ctx, &p)
	t.mu.Lock()
	t.last, t.total = p.Progress, p.Total
	t.mu.Unlock()
	select {
	case t.relayed <- struct{}{}:
	default:
	}
}

// call calls the tool named tool (the server's own name) with the arguments of req, relaying
// its progress to req's session.
// ctx bounds the call (see Service.callTool).
func (u *upstream) call(ctx context.Context, tool string, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
	sess, err := u.current(ctx)
	if err != nil {
		return nil, err
	}
	params := &sdk.CallToolParams{Name: tool}
	if len(req.Params.Arguments) > 0 {
		params.Arguments = req.Params.Arguments
	}
	var target *progressTarget
	if tok := req.Params.GetProgressToken(); tok != nil && req.Session != nil {
		up := "iom-" + strconv.FormatUint(u.seq.Add(1), 10)
		target = &progressTarget{ctx: ctx, session: req.Session, token: tok, relayed: make(chan struct{}, 1)}
		u.progress.Store(up, target)
		defer u.progress.Delete(up)
		params.SetProgressToken(up)
	}
	res, err := sess.CallTool(ctx, params)
	if target != nil && err == nil {
		target.settle()
	}
	if err != nil && ctx.Err() == nil && connectionLost(err) {
		// The connection failed (a stdio server that exited, an endpoint gone): later calls wait
		// for the new session rather than fail on this one, which run replaces.
		u.clearSession(sess)
		_ = sess.Close()
	}
	return res, err
}

// redact removes the server's URL, host and command from an error's text, which the SDK and the
// network fill with them, so a log line names the server by its id only.
func (u *upstream) redact(err error) string {
	s := err.Error()
	var secrets []string
	if u.spec.URL != "" {
		secrets = append(secrets, u.spec.URL)
		if o := u.spec.Origin(); o != "" {
			secrets = append(secrets, o, strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "http://"))
		}
	}
	if o := u.spec.OAuth; o != nil && o.TokenURL != "" {
		secrets = append(secrets, o.TokenURL)
		if to := o.TokenOrigin(); to != "" {
			secrets = append(secrets, to, strings.TrimPrefix(strings.TrimPrefix(to, "https://"), "http://"))
		}
	}
	if o := u.spec.OAuth; o != nil && o.ClientSecret.IsSet() {
		secrets = append(secrets, o.ClientSecret.Reveal())
	}
	secrets = append(secrets, u.spec.Command...)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, x := range secrets {
		if len(x) > 1 {
			s = strings.ReplaceAll(s, x, "<"+u.spec.ID+">")
		}
	}
	return s
}

// stderrLog logs what a stdio server writes to its stderr, a bounded line at a time, at debug
// level (a server's own output may be anything).
type stderrLog struct {
	u   *upstream
	buf []byte
}

const maxStderrLine = 1024

func (s *stderrLog) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxStderrLine - len(s.buf)
			s.buf = append(s.buf, p[:min(len(p), max(room, 0))]...)
			break
		}
		s.buf = append(s.buf, p[:min(i, max(maxStderrLine-len(s.buf), 0))]...)
		s.u.svc.log.Debug("MCP server stderr", "server", s.u.spec.ID, "line", string(s.buf))
		s.buf = s.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

// httpClient is the client of a server with a URL: it connects only where the egress policy
// allows, sends the server's headers, and follows no redirect to another origin (which would
// carry the headers there).
func (u *upstream) httpClient() *http.Client {
	tr := &http.Transport{
		DialContext:           u.svc.dial,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Duration(u.spec.TimeoutMs) * time.Millisecond,
		IdleConnTimeout:       4 * time.Second,
		MaxIdleConnsPerHost:   8,
		ForceAttemptHTTP2:     true,
	}
	origin := u.spec.Origin()
	var rt http.RoundTripper = headerTransport{base: tr, headers: u.spec.Headers}
	if u.tokens != nil {
		rt = oauthTransport{base: rt, tokens: u.tokens}
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 || req.URL.Scheme+"://"+req.URL.Host != origin {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// tokenClient is the client of a server's token endpoint: it connects only where the egress
// policy allows and follows no redirect (which would carry the client's secret elsewhere).
func (u *upstream) tokenClient() *http.Client {
	return &http.Client{
		Timeout: tokenTimeout,
		Transport: &http.Transport{
			DialContext:         u.svc.dial,
			TLSHandshakeTimeout: 10 * time.Second,
			IdleConnTimeout:     4 * time.Second,
			MaxIdleConnsPerHost: 2,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type headerTransport struct {
	base    http.RoundTripper
	headers map[string]secret.Secret
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		r = r.Clone(r.Context())
		for k, v := range t.headers {
			r.Header.Set(k, v.Reveal())
		}
	}
	return t.base.RoundTrip(r)
}

// dial connects to addr under the egress policy: it resolves the host, checks every address,
// and dials only one it checked, as model calls do.
func (s *Service) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port64, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid port in %q", addr)
	}
	port := uint16(port64)
	p := s.o.Egress()
	if p != nil {
		if err := p.CheckName(host, port); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	var d net.Dialer
	var last error = fmt.Errorf("no address for %q", host)
	for _, ip := range ips {
		if p != nil {
			if err := p.Check(host, ip.Unmap(), port); err != nil {
				last = err
				continue
			}
		}
		c, err := d.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), port).String())
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// connectionLost reports whether err says the session's connection failed (a stdio server
// that exited, an endpoint that went away), rather than the call.
func connectionLost(err error) bool {
	var ne net.Error
	var ue *url.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sdk.ErrConnectionClosed) ||
		errors.Is(err, sdk.ErrSessionMissing) || errors.As(err, &ne) || errors.As(err, &ue)
}

// callError is what the client gets for a call that failed: a JSON-RPC error naming the tool
// and the reason, never an address, a command or a transport's words. The second value is the
// record's HTTP-like status.
func (u *upstream) callError(ctx context.Context, exposed string, err error) (*jsonrpc.Error, int) {
	return u.opError(ctx, "tool", exposed, err)
}

// opError is callError for an operation of any kind ("tool", "resource").
func (u *upstream) opError(ctx context.Context, kind, exposed string, err error) (*jsonrpc.Error, int) {
	var wire *jsonrpc.Error
	var tokErr *tokenError
	if !errors.As(err, &tokErr) && (errors.Is(err, errUnavailable) || connectionLost(err)) && u.tokens != nil {
		// The SDK may hide the token's error behind the connection's: the source kept it.
		if last, ok := u.tokens.lastError().(*tokenError); ok {
			tokErr = last
		}
	}
	if tokErr != nil {
		return &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: fmt.Sprintf("%s %q is unavailable: MCP server %q: %s", kind, exposed, u.spec.ID, tokErr.Error())}, 502
	}
	switch {
	case errors.As(err, &wire) && !connectionLost(err):
		// The server answered with an error of its own: its words are its own.
		return &jsonrpc.Error{Code: wire.Code, Message: wire.Message, Data: wire.Data}, 502
	case errors.Is(err, errUnavailable):
		return &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: fmt.Sprintf("%s %q is unavailable: MCP server %q is not connected; the gateway keeps trying", kind, exposed, u.spec.ID)}, 503
	case errors.Is(ctx.Err(), context.Canceled) && u.ctx.Err() == nil:
		return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("the call of %s %q was cancelled", kind, exposed)}, 499
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: fmt.Sprintf("%s %q did not answer within %d ms", kind, exposed, u.spec.TimeoutMs)}, 504
	case u.ctx.Err() != nil:
		return &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: fmt.Sprintf("the call of %s %q ended: the gateway is stopping or MCP server %q was changed", kind, exposed, u.spec.ID)}, 503
	case connectionLost(err):
		return &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
			Message: fmt.Sprintf("%s %q failed: MCP server %q closed the connection during the call; the gateway is reconnecting to it", kind, exposed, u.spec.ID)}, 502
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError,
		Message: fmt.Sprintf("%s %q failed: MCP server %q gave an answer the gateway cannot use", kind, exposed, u.spec.ID)}, 502
}

var _ io.Writer = (*stderrLog)(nil)
