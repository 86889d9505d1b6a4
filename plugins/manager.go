// Package plugins hosts process plugins: programs that play the Transformer and Provider roles
// over gRPC through hashicorp/go-plugin. It checks, starts (handshake and mutual TLS), watches,
// restarts, reloads and stops them, and makes the calls, bounded per plugin, with the caller's
// deadline and typed errors. It must not reach under grpc-go or go-plugin: calls go on the
// connection go-plugin makes, with the options it allows. The contract is in sdk/plugin/proto.
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

	// slots is replaced whole by a reload's commit and by Close, so calls look plugins up
	// without a lock.
	slots atomic.Pointer[map[string]*slot]
	// reloadMu is held from Prepare until Commit or Discard (all through Load), so one reload
	// at a time is prepared against the running set it will replace. Close does not take it.
	reloadMu sync.Mutex
	// loadMu guards the swap of slots, closed and pending; Prepare holds it while it starts
	// plugins, so Close waits for those starts and then stops what they started.
	loadMu    sync.Mutex
	pending   *Prepared // prepared and neither committed nor discarded yet
	closed    atomic.Bool
	closeOnce sync.Once
	retiring  sync.WaitGroup
	unwatch   func() bool // stops watching New's context
}

// socketPrefix starts the name of each manager's socket directory, followed by the gateway's
// pid, so a later gateway can tell which directories were left by one that is gone.
const socketPrefix = "iom-plugins-"

// New returns a manager with no plugins; Load (or Prepare and Commit) starts them. When ctx is
// done the manager closes, stopping every plugin.
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

// Load makes the running plugins match cfgs, at boot and on every reload. If any config fails
// Check nothing changes. A plugin whose path, args, env, sha256, role and executable are unchanged
// keeps its process and takes the new Config and Timeout; one that fails to start is reported
// and retried in the background, a changed one keeping its old version meanwhile. Prepare is the
// all-or-nothing form.
func (m *Manager) Load(cfgs []Config) error {
	p, err := m.prepare(cfgs)
	if err != nil {
		return err
	}
	return p.finish(true)
}

// Prepare checks cfgs as Load does and starts the new and changed plugins beside the running
// ones without changing what is served; if any fails to start, it stops those it started and
// returns the errors. On success the caller must end the reload with Commit or Discard, as other
// reloads wait until then (Close does not: it stops what was prepared too).
func (m *Manager) Prepare(cfgs []Config) (*Prepared, error) {
	p, err := m.prepare(cfgs)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ch := range p.changes {
		if ch.err != nil {
			errs = append(errs, ch.err)
		}
	}
	if len(errs) > 0 {
		p.Discard()
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// Prepared is a reload that Prepare got ready: its new and changed plugins run beside the
// served ones, which it has not touched.
type Prepared struct {
	m       *Manager
	cur     map[string]*slot // the running set it replaces
	keep    []kept
	changes []*change
	done    atomic.Bool // Commit or Discard was called
}

// kept is a running plugin the reload keeps, with the settings it takes at the commit.
type kept struct {
	s   *slot
	set *settings
}

// change is a new or changed plugin: its new slot, and the outcome of its first start.
type change struct {
	old, new *slot
	first    *process
	err      error
}

// prepare takes the reload lock, checks cfgs and starts what they add or change, side by side:
// a start is mostly waiting for a process to hand-shake. It leaves the lock held when it returns
// a Prepared, whatever its starts did; finish releases it.
func (m *Manager) prepare(cfgs []Config) (*Prepared, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	m.reloadMu.Lock()
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	fail := func(err error) (*Prepared, error) {
		m.reloadMu.Unlock()
		return nil, err
	}
	if m.closed.Load() {
		return fail(ErrClosed)
	}
	want, err := check(cfgs)
	if err != nil {
		return fail(err)
	}
	p := &Prepared{m: m, cur: *m.slots.Load()}
	for _, c := range want {
		old := p.cur[c.Name]
		if old != nil && old.cfg.sameProcess(c) {
			p.keep = append(p.keep, kept{s: old, set: c.settings()})
			continue
		}
		p.changes = append(p.changes, &change{old: old, new: newSlot(m, c)})
	}
	var wg sync.WaitGroup
	for _, ch := range p.changes {
		wg.Go(func() { ch.first, ch.err = ch.new.start() })
	}
	wg.Wait()
	m.pending = p
	return p, nil
}

// Commit puts the prepared plugins in service in one swap: kept plugins take their new
// settings, new and changed ones serve, and removed and replaced ones are drained and stopped
// in the background. It cannot fail. If the manager was closed since Prepare, Close has stopped
// what was prepared and Commit does nothing. Commit and Discard act once: later calls of
// either do nothing.
func (p *Prepared) Commit() { _ = p.finish(true) }

// Discard stops the plugins Prepare started and leaves the running ones as they are.
func (p *Prepared) Discard() { _ = p.finish(false) }

// finish commits or discards p, once, and ends the reload. A commit reports the plugins that
// failed to start (only Load commits those): see Load for what becomes of them.
func (p *Prepared) finish(commit bool) error {
	if !p.done.CompareAndSwap(false, true) {
		return nil
	}
	m := p.m
	defer m.reloadMu.Unlock()
	m.loadMu.Lock()
	if m.pending != p {
		m.loadMu.Unlock()
		return ErrClosed // Close took it over, and stops its processes
	}
	m.pending = nil
	if !commit {
		m.loadMu.Unlock()
		p.stop()
		return nil
	}
	defer m.loadMu.Unlock()
	next := make(map[string]*slot, len(p.keep)+len(p.changes))
	for _, k := range p.keep {
		k.s.set.Store(k.set)
		next[k.s.cfg.Name] = k.s
	}
	var errs []error
	for _, ch := range p.changes {
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
	for name, s := range p.cur {
		if next[name] != s {
			m.retiring.Go(s.stop)
		}
	}
	return errors.Join(errs...)
}

// stop stops the processes p started, which never served a call, and returns when they are gone.
func (p *Prepared) stop() {
	var wg sync.WaitGroup
	for _, ch := range p.changes {
		if ch.first != nil {
			wg.Go(func() { ch.new.retire(ch.first) })
		}
	}
	wg.Wait()
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
		pending := m.pending
		m.pending = nil
		m.loadMu.Unlock()
		for _, s := range cur {
			m.retiring.Go(s.stop)
		}
		if pending != nil {
			m.retiring.Go(pending.stop)
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
