package server

import (
	"container/list"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/fault"
)

// authGuard locks out a client address that keeps failing to authenticate on one listener, so
// keys and the admin token cannot be guessed at network speed: after limit wrong credentials
// within window, its requests get 429 for lockout without their credentials being checked, and a
// success resets nothing. It tracks at most authGuardMax addresses (the least recent failure is
// dropped first), each until its window and lockout are over.
type authGuard struct {
	limit           int
	window, lockout time.Duration
	max             int
	m               *analytics.ListenerMetrics

	// lockedUntil is when the last lockout to end ends (Unix ns): while none runs, checking a
	// request costs one atomic load.
	lockedUntil atomic.Int64

	mu    sync.Mutex
	addrs map[netip.Addr]*list.Element // of *authRecord
	order list.List                    // least recently failed first
}

type authRecord struct {
	addr     netip.Addr
	start    time.Time // of the current window
	failures int       // in the current window
	until    time.Time // end of the lockout; zero: none
}

const authGuardMax = 10000

func newAuthGuard(c config.AuthFailures, m *analytics.ListenerMetrics) *authGuard {
	return &authGuard{limit: c.Limit, window: time.Duration(c.WindowMs) * time.Millisecond,
		lockout: time.Duration(c.LockoutMs) * time.Millisecond, max: authGuardMax, m: m,
		addrs: map[netip.Addr]*list.Element{}}
}

// check refuses a request from a locked-out address.
func (a *authGuard) check(ctx *fasthttp.RequestCtx, now time.Time) *fault.Error {
	if now.UnixNano() >= a.lockedUntil.Load() {
		return nil
	}
	key := clientKey(ctx.RemoteAddr())
	a.mu.Lock()
	var wait time.Duration
	if e, ok := a.addrs[key]; ok {
		wait = e.Value.(*authRecord).until.Sub(now)
	}
	a.mu.Unlock()
	if wait <= 0 {
		return nil
	}
	a.m.AuthLocked.Inc()
	secs := int((wait + time.Second - 1) / time.Second)
	fe := fault.Limited(secs, "too many failed authentication attempts from your address; retry in %d s", secs)
	fe.Code = "too_many_auth_failures"
	return fe
}

// failed counts a wrong credential from the address of ctx.
func (a *authGuard) failed(ctx *fasthttp.RequestCtx, now time.Time) {
	a.m.AuthFailures.Inc()
	key := clientKey(ctx.RemoteAddr())
	a.mu.Lock()
	defer a.mu.Unlock()
	for e := a.order.Front(); e != nil && a.over(e.Value.(*authRecord), now); e = a.order.Front() {
		a.drop(e)
	}
	var r *authRecord
	if e, ok := a.addrs[key]; ok {
		r = e.Value.(*authRecord)
		a.order.MoveToBack(e)
	} else {
		if a.order.Len() >= a.max {
			a.drop(a.order.Front())
		}
		r = &authRecord{addr: key, start: now}
		a.addrs[key] = a.order.PushBack(r)
	}
	if now.Sub(r.start) >= a.window {
		r.start, r.failures = now, 0
	}
	r.failures++
	if r.failures < a.limit || now.Before(r.until) {
		return
	}
	// Locked out; counting starts afresh when the lockout ends.
	r.until = now.Add(a.lockout)
	r.start, r.failures = r.until, 0
	a.m.AuthLockouts.Inc()
	if u := r.until.UnixNano(); u > a.lockedUntil.Load() {
		a.lockedUntil.Store(u)
	}
}

// over reports whether r no longer matters: its window and its lockout have passed.
func (a *authGuard) over(r *authRecord, now time.Time) bool {
	return now.Sub(r.start) >= a.window && !now.Before(r.until)
}

func (a *authGuard) drop(e *list.Element) {
	delete(a.addrs, e.Value.(*authRecord).addr)
	a.order.Remove(e)
}

// size is the number of addresses tracked.
func (a *authGuard) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.addrs)
}
