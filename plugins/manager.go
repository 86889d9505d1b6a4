// Package plugins is the gateway's host for process plugins: programs that implement the
// Transformer and Provider roles (the same two WASM plugins play) over gRPC, through
// hashicorp/go-plugin. It owns their whole life: checking their executables, starting them with
// a handshake and mutual TLS, health checks, restarts with backoff after a crash, reloads that
// keep unchanged plugins running, shutdown that leaves no process behind, and the calls
// themselves, bounded per plugin, with the caller's deadline and cancellation, and typed errors
// the gateway maps to its fault kinds. It must not reach under grpc-go or go-plugin: calls go on
// the connection go-plugin makes, with the options it allows.
//
// The contract with plugins is in sdk/plugin/proto; authors write plugins with sdk/plugin.
package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// Options tune a Manager. The zero value is fine.
type Options struct {
	// Logger receives the manager's logs and the plugins' own, each with a "plugin" attribute.
	// Default: slog.Default().
	Logger *slog.Logger
	// SocketDir is where the manager makes its directory for the plugins' unix sockets.
	// Default: os.TempDir().
	SocketDir string
	// StartTimeout bounds a plugin's start, up to the end of its handshake. Default: 10s.
	StartTimeout time.Duration
	// HealthInterval is how often a running plugin is health-checked; two failed checks in a row
	// get it restarted. Default: 2s.
	HealthInterval time.Duration
	// DrainTimeout is how long a plugin that is removed, replaced by a reload or shut down may
	// finish the calls it has in flight before it is stopped. Default: 5s.
	DrainTimeout time.Duration
}

// Manager runs the process plugins. It is safe for concurrent use.
type Manager struct {
	opts Options
	log  *slog.Logger
	dir  string // this manager's socket directory; every plugin process gets one inside

	// slots is replaced whole by Load and Close, so calls look plugins up without a lock.
	slots     atomic.Pointer[map[string]*slot]
	loadMu    sync.Mutex
	closed    atomic.Bool
	closeOnce sync.Once
	retiring  sync.WaitGroup
	unwatch   func() bool // stops watching New's context
}

// socketPrefix starts the name of each manager's socket directory, followed by the gateway's
// pid, so a later gateway can tell which directories were left by one that is gone.
const socketPrefix = "iom-plugins-"

// New returns a manager with no plugins; Load starts them. When ctx is done the manager closes,
// stopping every plugin.
func New(ctx context.Context, opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SocketDir == "" {
		opts.SocketDir = os.TempDir()
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = 2 * time.Second
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	removeStaleDirs(opts.SocketDir, opts.Logger)
	dir, err := os.MkdirTemp(opts.SocketDir, socketPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("plugins: cannot make the socket directory: %w", err)
	}
	m := &Manager{opts: opts, log: opts.Logger, dir: dir}
	m.slots.Store(&map[string]*slot{})
	m.unwatch = context.AfterFunc(ctx, func() { _ = m.Close() })
	return m, nil
}

// removeStaleDirs deletes the socket directories of gateways that died without cleaning up
// (killed, or crashed): their plugins' sockets are useless to anyone.
func removeStaleDirs(base string, log *slog.Logger) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), socketPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(base, e.Name())); err == nil {
			log.Info("removed a stale plugin socket directory", "dir", e.Name(), "pid", pid)
		}
	}
}

// Load makes the running plugins match cfgs, at boot and on every reload.
//
// Every config is checked first (see Check); if any is wrong, nothing changes and the error
// names each bad plugin. Then a plugin whose process-level config (path, args, env, sha256,
// role) and executable are unchanged keeps its running process, with the new Config and
// Timeout; new and changed plugins are started; removed and replaced ones are drained and
// stopped. A new plugin that fails to start stays loaded, in state "restarting" then "failed",
// and is retried in the background; a changed plugin whose new version fails to start keeps its
// old version running. Either way Load reports the failures.
func (m *Manager) Load(cfgs []Config) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if m.closed.Load() {
		return ErrClosed
	}
	want, err := check(cfgs)
	if err != nil {
		return err
	}
	cur := *m.slots.Load()
	next := make(map[string]*slot, len(want))
	type change struct {
		old, new *slot
		first    *process
		err      error
	}
	var changes []*change
	for _, c := range want {
		old := cur[c.Name]
		if old != nil && old.cfg.sameProcess(c) {
			old.set.Store(c.settings())
			next[c.Name] = old
			continue
		}
		changes = append(changes, &change{old: old, new: newSlot(m, c)})
	}
	// Start side by side: a start is mostly waiting for a process to hand-shake.
	var wg sync.WaitGroup
	for _, ch := range changes {
		wg.Go(func() { ch.first, ch.err = ch.new.start() })
	}
	wg.Wait()

	var errs []error
	for _, ch := range changes {
		name := ch.new.cfg.Name
		if ch.err != nil && ch.old != nil {
			ch.old.noteError("its new version failed to start: " + ch.err.Error())
			next[name] = ch.old
			errs = append(errs, fmt.Errorf("%w (the running version stays)", ch.err))
			continue
		}
		if ch.err != nil {
			errs = append(errs, ch.err)
		}
		next[name] = ch.new
		ch.new.begin(ch.first, ch.err)
	}
	m.slots.Store(&next)
	for name, s := range cur {
		if next[name] != s {
			m.retiring.Go(s.stop)
		}
	}
	return errors.Join(errs...)
}

// Close stops every plugin, letting calls in flight finish for up to the drain timeout, and
// returns when no plugin process is left. It is safe to call more than once.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.unwatch()
		m.loadMu.Lock()
		m.closed.Store(true)
		cur := *m.slots.Load()
		m.slots.Store(&map[string]*slot{})
		m.loadMu.Unlock()
		for _, s := range cur {
			m.retiring.Go(s.stop)
		}
		m.retiring.Wait()
		_ = os.RemoveAll(m.dir)
	})
	return nil
}

// Serves reports whether the named plugin is loaded and plays role ("provider" or
// "transformer"). A plugin that has never started, and whose config names no role, serves
// nothing yet.
func (m *Manager) Serves(name, role string) bool {
	s := (*m.slots.Load())[name]
	return s != nil && s.roles.Load()&roleBit(role) != 0
}

// Stats describes every loaded plugin, sorted by name.
func (m *Manager) Stats() []Stats {
	cur := *m.slots.Load()
	out := make([]Stats, 0, len(cur))
	for _, s := range cur {
		out = append(out, s.snapshot())
	}
	slices.SortFunc(out, func(a, b Stats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// acquire finds the plugin, takes a place among its calls in flight (see Config.MaxConcurrent),
// and finds a running process of it for one call, waiting (up to ctx) for one that is
// restarting. The caller must give both back with s.release(p).
func (m *Manager) acquire(ctx context.Context, name string, role uint32) (*slot, *process, error) {
	for attempt := 0; ; attempt++ {
		s := (*m.slots.Load())[name]
		if s == nil {
			if m.closed.Load() {
				return nil, nil, unavailable(name, ErrClosed, "plugin %q: the plugin manager is shut down", name)
			}
			return nil, nil, unavailable(name, ErrNotFound, "no plugin named %q is loaded", name)
		}
		if roles := s.roles.Load(); roles&role == 0 {
			err := unavailable(name, ErrWrongRole, "plugin %q is not a %s (it serves: %s)", name, roleNames(role), roleNames(roles))
			if roles == 0 {
				err.Message = fmt.Sprintf("plugin %q has not started yet, so it serves no role: %s", name, s.lastError())
			}
			return nil, nil, err
		}
		if err := s.enter(ctx); err != nil {
			s.stats.reject(err)
			return nil, nil, err
		}
		p, err := s.acquire(ctx)
		if err == nil {
			return s, p, nil
		}
		s.gate.leave(s.set.Load().maxConcurrent)
		// A reload replaced the plugin between the lookup and now: go to the new one.
		if attempt == 0 && errors.Is(err, ErrClosed) && (*m.slots.Load())[name] != s {
			continue
		}
		s.stats.reject(err)
		return nil, nil, err
	}
}

const (
	roleProvider    uint32 = 1
	roleTransformer uint32 = 2
)

func roleBit(role string) uint32 {
	switch role {
	case pluginpb.RoleProvider:
		return roleProvider
	case pluginpb.RoleTransformer:
		return roleTransformer
	}
	return 0
}

func roleNames(roles uint32) string {
	var names []string
	if roles&roleProvider != 0 {
		names = append(names, pluginpb.RoleProvider)
	}
	if roles&roleTransformer != 0 {
		names = append(names, pluginpb.RoleTransformer)
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ",")
}
