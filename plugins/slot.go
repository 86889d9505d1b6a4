package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// States of a plugin, as Stats reports them.
const (
	stateStarting   = "starting"
	stateRunning    = "running"
	stateRestarting = "restarting"
	stateFailed     = "failed"
	stateStopped    = "stopped"
)

const (
	exitPoll      = 50 * time.Millisecond // how often a supervisor looks for a silent exit
	healthTimeout = time.Second
	stableAfter   = 5 * time.Second  // a process that ran this long resets the backoff
	failedAfter   = 5                // consecutive failures before "failed"
	maxBackoff    = 30 * time.Second // between attempts to start a failing plugin
)

// slot is one configured plugin: the processes that play it over time, one at a time, and the
// supervisor goroutine (run) that starts, watches and replaces them.
type slot struct {
	m     *Manager
	cfg   checked
	log   *slog.Logger
	set   atomic.Pointer[settings]
	roles atomic.Uint32 // what the plugin serves; known once a process has started
	stats callStats
	gate  gate // bounds the calls in flight, whichever process they go to

	// proc is the process calls go to; nil while there is none.
	proc     atomic.Pointer[process]
	restarts atomic.Int64

	mu        sync.Mutex
	state     string
	lastErr   string
	up        chan struct{} // closed while calls need not wait: running, failed or stopped
	upClosed  bool
	fails     int // consecutive failed starts and early crashes; supervisor only
	kick      chan struct{}
	done      chan struct{} // closed by stop
	exited    chan struct{} // closed when the supervisor has returned
	startedAt time.Time
	stopOnce  sync.Once
}

// process is one running plugin process.
type process struct {
	client  *plugin.Client
	conn    *grpc.ClientConn // go-plugin's connection; every call goes on it
	prov    pluginpb.ProviderClient
	trans   pluginpb.TransformerClient
	health  healthpb.HealthClient
	pid     int
	dir     string // its socket directory, removed with it
	started time.Time
	active  atomic.Int64 // calls in flight
	dead    atomic.Bool  // seen dead by a call; no new calls
}

func newSlot(m *Manager, c checked) *slot {
	s := &slot{m: m, cfg: c, log: m.log.With("plugin", c.Name), state: stateStarting,
		up: make(chan struct{}), kick: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	s.set.Store(c.settings())
	s.roles.Store(roleBit(c.Role))
	return s
}

// setState moves the slot to state with p as its process (nil unless running). stopped is final.
func (s *slot) setState(state string, p *process, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateStopped {
		return
	}
	s.proc.Store(p)
	s.state = state
	if why != "" {
		s.lastErr = why
	}
	if p != nil {
		s.startedAt = p.started
	}
	wait := state == stateStarting || state == stateRestarting
	switch {
	case wait && s.upClosed:
		s.up, s.upClosed = make(chan struct{}), false
	case !wait && !s.upClosed:
		close(s.up)
		s.upClosed = true
	}
}

// crashed takes p out of service after a call found it dead, so no other call is sent to it
// while the supervisor replaces it.
func (s *slot) crashed(p *process, why string) {
	p.dead.Store(true)
	s.mu.Lock()
	current := s.proc.Load() == p
	s.mu.Unlock()
	if current {
		s.setState(stateRestarting, nil, why)
	}
	s.kickSupervisor()
}

func (s *slot) kickSupervisor() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *slot) noteError(why string) {
	s.mu.Lock()
	s.lastErr = why
	s.mu.Unlock()
	s.log.Error("plugin", "error", why)
}

func (s *slot) lastError() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// acquire returns the running process for one call, counted as in flight, waiting for a
// restart to finish if one is under way.
func (s *slot) acquire(ctx context.Context) (*process, error) {
	for {
		if p := s.proc.Load(); p != nil {
			// Count the call, then make sure p was not retired meanwhile: whoever retires it
			// clears proc first and then waits for active to reach zero.
			p.active.Add(1)
			if s.proc.Load() == p && !p.dead.Load() {
				return p, nil
			}
			p.active.Add(-1)
			// p is being taken out of service; the slot's state follows in a moment.
			runtime.Gosched()
			continue
		}
		s.mu.Lock()
		state, up, why := s.state, s.up, s.lastErr
		s.mu.Unlock()
		switch state {
		case stateStopped:
			return nil, unavailable(s.cfg.Name, ErrClosed, "plugin %q is stopped", s.cfg.Name)
		case stateFailed:
			return nil, unavailable(s.cfg.Name, nil, "plugin %q is not running (it keeps failing: %s)", s.cfg.Name, why)
		case stateRunning:
			// proc is set before the state says running; look again.
			continue
		}
		select {
		case <-up:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, &Error{Plugin: s.cfg.Name, Kind: Canceled, Err: context.Canceled,
					Message: fmt.Sprintf("plugin %q: call canceled by the caller while the plugin was %s", s.cfg.Name, state)}
			}
			return nil, unavailable(s.cfg.Name, ctx.Err(), "plugin %q is %s (%s) and was not back in time", s.cfg.Name, state, why)
		}
	}
}

// enter takes a place for one call at the slot's gate, or says why there is none.
func (s *slot) enter(ctx context.Context) error {
	limit := s.set.Load().maxConcurrent
	switch err := s.gate.enter(ctx, limit); err {
	case nil:
		return nil
	case context.Canceled:
		return &Error{Plugin: s.cfg.Name, Kind: Canceled, Err: context.Canceled,
			Message: fmt.Sprintf("plugin %q: call canceled by the caller while waiting for the busy plugin", s.cfg.Name)}
	case errQueueFull:
		return &Error{Plugin: s.cfg.Name, Kind: Busy, Err: ErrBusy,
			Message: fmt.Sprintf("plugin %q is busy: it runs as many calls as it may (%d), and as many more wait", s.cfg.Name, limit)}
	default:
		return &Error{Plugin: s.cfg.Name, Kind: Busy, Err: ErrBusy,
			Message: fmt.Sprintf("plugin %q is busy: it runs as many calls as it may (%d), and none ended in time for this one", s.cfg.Name, limit)}
	}
}

// release ends a call that acquire let through: p's count of calls in flight, and the place.
func (s *slot) release(p *process) {
	p.active.Add(-1)
	s.gate.leave(s.set.Load().maxConcurrent)
}

// run is the supervisor: it watches the process, replaces it when it dies or stops answering
// health checks, with backoff when it keeps failing, and stops it when the slot is stopped.
// first is the process Load started, or nil if it failed to start.
func (s *slot) run(first *process) {
	defer close(s.exited)
	p := first
	for {
		if p == nil {
			if !s.sleep(backoff(s.fails)) {
				s.setState(stateStopped, nil, "")
				return
			}
			var err error
			if p, err = s.start(); err != nil {
				s.fails++
				s.setState(s.downState(), nil, err.Error())
				s.log.Error("plugin failed to start", "error", err, "failures", s.fails, "retryIn", backoff(s.fails))
				continue
			}
			s.restarts.Add(1)
			s.setState(stateRunning, p, "")
		}
		why := s.watch(p)
		if why == "" {
			s.setState(stateStopped, nil, "")
			s.retire(p)
			return
		}
		p.dead.Store(true)
		if time.Since(p.started) >= stableAfter {
			s.fails = 0
		}
		s.fails++
		s.setState(s.downState(), nil, why)
		s.log.Warn("plugin is down; restarting", "pid", p.pid, "reason", why, "restartIn", backoff(s.fails))
		s.kill(p)
		p = nil
	}
}

// begin puts the slot in service with the outcome of its first start, and starts its
// supervisor. Load calls it before it returns, so a loaded plugin is running or known down.
func (s *slot) begin(first *process, err error) {
	if first != nil {
		s.setState(stateRunning, first, "")
	} else {
		s.fails = 1
		s.setState(s.downState(), nil, err.Error())
	}
	go s.run(first)
}

func (s *slot) downState() string {
	if s.fails >= failedAfter {
		return stateFailed
	}
	return stateRestarting
}

// backoff is the wait before the next start after fails consecutive failures: none after one
// crash of a process that had been running fine, then doubling from 100ms up to maxBackoff.
func backoff(fails int) time.Duration {
	if fails <= 1 {
		return 0
	}
	return min(100*time.Millisecond<<min(fails-2, 20), maxBackoff)
}

// sleep waits d, or until the slot is stopped (false).
func (s *slot) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}

// watch returns why p must be replaced, or "" when the slot is stopped.
func (s *slot) watch(p *process) string {
	poll := time.NewTicker(exitPoll)
	defer poll.Stop()
	health := time.NewTicker(s.m.opts.HealthInterval)
	defer health.Stop()
	failedChecks := 0
	for {
		select {
		case <-s.done:
			return ""
		case <-poll.C:
			if p.client.Exited() {
				return fmt.Sprintf("process %d exited", p.pid)
			}
			if p.dead.Load() {
				return fmt.Sprintf("process %d lost its connection during a call", p.pid)
			}
		case <-s.kick:
			if p.client.Exited() {
				return fmt.Sprintf("process %d exited during a call", p.pid)
			}
			if p.dead.Load() {
				// The process may live on, but its connection broke, and go-plugin cannot
				// reconnect to it: replace it.
				return fmt.Sprintf("process %d lost its connection during a call", p.pid)
			}
		case <-health.C:
			if err := p.ping(); err != nil {
				failedChecks++
				s.log.Warn("plugin failed a health check", "pid", p.pid, "error", err)
				if failedChecks >= 2 {
					return fmt.Sprintf("process %d failed two health checks in a row: %v", p.pid, err)
				}
				continue
			}
			failedChecks = 0
		}
	}
}

func (p *process) ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	resp, err := p.health.Check(ctx, &healthpb.HealthCheckRequest{Service: pluginpb.HealthService})
	if err != nil {
		return err
	}
	if resp.Status != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("health status %s", resp.Status)
	}
	return nil
}

// exitedWithin reports whether the process exits within d. A broken connection usually means
// the process died, but go-plugin notices the exit a moment after the socket closes.
func (p *process) exitedWithin(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if p.client.Exited() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

// dialOptions tune go-plugin's gRPC connection to a plugin, the one every call goes on; the
// plugin's server (sdk/plugin) sets the same window and message limits. grpc-go's read and write
// buffers stay at their default (32 KiB): 64 KiB measured no different, with 1 KB or 48 KB calls.
var dialOptions = []grpc.DialOption{
	// A fixed window turns off gRPC's bandwidth estimator and its pings (see WindowBytes).
	grpc.WithInitialWindowSize(pluginpb.WindowBytes),
	grpc.WithInitialConnWindowSize(pluginpb.WindowBytes),
	// go-plugin allows messages of up to 2 GiB; the contract's limit is lower.
	grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(pluginpb.MaxMessageBytes),
		grpc.MaxCallSendMsgSize(pluginpb.MaxMessageBytes)),
}

// start starts one process of the plugin and connects to it.
func (s *slot) start() (*process, error) {
	c := s.cfg
	dir, err := os.MkdirTemp(s.m.dir, socketName(c.Name))
	if err != nil {
		return nil, fmt.Errorf("plugin %q: cannot make its socket directory: %w", c.Name, err)
	}
	cmd := exec.Command(c.Path, c.Args...)
	// go-plugin's plugin side makes its socket in this directory, so the socket goes when the
	// directory does, whatever happened to the process.
	cmd.Env = append(pluginEnv(c.Env), plugin.EnvUnixSocketDir+"="+dir)
	var secure *plugin.SecureConfig
	if c.SHA256 != "" {
		sum, _ := hex.DecodeString(c.SHA256) // checked
		secure = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	cc := &plugin.ClientConfig{
		HandshakeConfig: pluginpb.Handshake,
		Plugins: plugin.PluginSet{
			pluginpb.RoleProvider:    clientPlugin{},
			pluginpb.RoleTransformer: clientPlugin{},
		},
		Cmd:              cmd,
		SecureConfig:     secure,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		GRPCDialOptions:  dialOptions,
		StartTimeout:     s.m.opts.StartTimeout,
		Logger:           newHCLogger(s.log),
		SyncStdout:       &lineWriter{l: s.log.With("stream", "stdout")},
		SyncStderr:       &lineWriter{l: s.log.With("stream", "stderr")},
	}
	client := plugin.NewClient(cc)
	fail := func(err error) (*process, error) {
		client.Kill()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			got, herr := fileSHA256(c.Path)
			if herr != nil {
				got = "unreadable (" + herr.Error() + ")"
			}
			return fail(&ChecksumError{Plugin: c.Name, Path: c.Path, Want: c.SHA256, Got: got})
		}
		return fail(fmt.Errorf("plugin %q: cannot start %s: %w", c.Name, c.Path, err))
	}
	gc, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		return fail(fmt.Errorf("plugin %q: not a gRPC plugin", c.Name))
	}
	p := &process{client: client, conn: gc.Conn, pid: cmd.Process.Pid, dir: dir, started: time.Now(),
		prov: pluginpb.NewProviderClient(gc.Conn), trans: pluginpb.NewTransformerClient(gc.Conn),
		health: healthpb.NewHealthClient(gc.Conn)}
	roles, err := s.detectRoles(p)
	if err != nil {
		return fail(err)
	}
	s.roles.Store(roles)
	s.log.Info("plugin running", "pid", p.pid, "role", roleNames(roles), "path", c.Path)
	return p, nil
}

// detectRoles asks the plugin, through the gRPC reflection service go-plugin registers, which
// of our services it serves, and checks that against the configured role. This is also the
// first call on the connection, so it proves the plugin answers.
func (s *slot) detectRoles(p *process) (uint32, error) {
	name, want := s.cfg.Name, roleBit(s.cfg.Role)
	ctx, cancel := context.WithTimeout(context.Background(), s.m.opts.StartTimeout)
	defer cancel()
	services, err := listServices(ctx, p.conn)
	if status.Code(err) == codes.Unimplemented && want != 0 {
		// A plugin written without go-plugin's Go server may have no reflection: trust the config.
		return want, p.ping()
	}
	if err != nil {
		return 0, fmt.Errorf("plugin %q: does not answer after starting: %w", name, err)
	}
	var roles uint32
	for _, svc := range services {
		switch svc {
		case pluginpb.Provider_ServiceDesc.ServiceName:
			roles |= roleProvider
		case pluginpb.Transformer_ServiceDesc.ServiceName:
			roles |= roleTransformer
		}
	}
	switch {
	case roles == 0:
		return 0, fmt.Errorf("plugin %q serves neither role (its services: %s)", name, strings.Join(services, ", "))
	case want != 0 && roles&want == 0:
		return 0, fmt.Errorf("plugin %q is configured as a %s but serves: %s", name, s.cfg.Role, roleNames(roles))
	case want != 0:
		return want, nil
	}
	return roles, nil
}

func listServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = stream.CloseSend() }()
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		return nil, err
	}
	resp, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	return names, nil
}

// socketName names a process's socket directory after its plugin, short enough to keep the
// socket's path under the 108 bytes unix sockets allow.
func socketName(name string) string {
	b := make([]byte, 0, 17)
	for i := 0; i < len(name) && len(b) < 16; i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' {
			b = append(b, c)
		}
	}
	return string(append(b, '-'))
}

// kill ends a process that died or stopped answering, at once: a hung process would never
// finish go-plugin's graceful shutdown.
func (s *slot) kill(p *process) {
	if !p.client.Exited() {
		if proc, err := os.FindProcess(p.pid); err == nil {
			_ = proc.Kill()
		}
	}
	p.client.Kill()
	_ = os.RemoveAll(p.dir)
}

// retire lets p finish its calls (for up to the drain timeout), then stops it gracefully.
func (s *slot) retire(p *process) {
	deadline := time.Now().Add(s.m.opts.DrainTimeout)
	for p.active.Load() > 0 && time.Now().Before(deadline) && !p.client.Exited() {
		time.Sleep(5 * time.Millisecond)
	}
	if n := p.active.Load(); n > 0 {
		s.log.Warn("stopping plugin with calls still in flight", "pid", p.pid, "calls", n)
	}
	p.client.Kill()
	_ = os.RemoveAll(p.dir)
	s.log.Info("plugin stopped", "pid", p.pid)
}

// stop stops the slot's supervisor and its process, and returns when the process is gone.
func (s *slot) stop() {
	s.stopOnce.Do(func() {
		s.setState(stateStopped, nil, "")
		close(s.done)
	})
	<-s.exited
}

func (s *slot) snapshot() Stats {
	st := Stats{Name: s.cfg.Name, Kind: "process", Path: s.cfg.Path, Restarts: s.restarts.Load()}
	if r := s.roles.Load(); r != 0 {
		st.Role = roleNames(r)
	}
	s.mu.Lock()
	st.State, st.LastError = s.state, s.lastErr
	if p := s.proc.Load(); p != nil {
		st.PID, st.StartedAt, st.InFlight = p.pid, s.startedAt, p.active.Load()
	}
	s.mu.Unlock()
	st.Waiting = int64(s.gate.waiting())
	s.stats.fill(&st)
	return st
}
