package server

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/config"
)

func ctxFrom(ip string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}, nil)
	return &ctx
}

// The guard locks an address out after limit failures within the window, for the lockout, and
// no other; an IPv6 client counts by its /64.
func TestAuthGuard(t *testing.T) {
	a := newAuthGuard(config.AuthFailures{Limit: 3, WindowMs: 1000, LockoutMs: 5000}, analytics.NewMetrics().Listener("test"))
	t0 := time.Now()
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	x, y := ctxFrom("192.0.2.1"), ctxFrom("192.0.2.2")
	a.failed(x, at(0))
	a.failed(x, at(100))
	if a.check(x, at(200)) != nil {
		t.Fatal("locked out after 2 failures of 3")
	}
	a.failed(x, at(1200)) // the window of the first two has passed
	a.failed(x, at(1300))
	if a.check(x, at(1400)) != nil {
		t.Fatal("failures of an old window counted")
	}
	a.failed(x, at(1500))
	fe := a.check(x, at(1600))
	if fe == nil || fe.Status != 429 || fe.RetryAfter != 5 {
		t.Fatalf("after 3 failures in a window: %+v", fe)
	}
	if a.check(y, at(1600)) != nil {
		t.Fatal("another address is locked out")
	}
	if a.check(x, at(6600)) != nil {
		t.Fatal("still locked out after the lockout")
	}
	v6a, v6b := ctxFrom("2001:db8:1:2::1"), ctxFrom("2001:db8:1:2:ffff::9")
	for i := range 3 {
		a.failed([]*fasthttp.RequestCtx{v6a, v6b}[i%2], at(7000))
	}
	if a.check(v6b, at(7001)) == nil || a.check(ctxFrom("2001:db8:1:3::1"), at(7001)) != nil {
		t.Fatal("an IPv6 client should count by its /64")
	}
}

// The guard tracks at most its maximum of addresses, dropping the least recently failed, and
// forgets those whose window and lockout are over.
func TestAuthGuardIsBounded(t *testing.T) {
	a := newAuthGuard(config.AuthFailures{Limit: 2, WindowMs: 1000, LockoutMs: 1000}, analytics.NewMetrics().Listener("test"))
	a.max = 100
	t0 := time.Now()
	locked := ctxFrom("198.51.100.1")
	a.failed(locked, t0)
	a.failed(locked, t0)
	for i := range 500 {
		a.failed(ctxFrom(net.IPv4(10, 0, byte(i/256), byte(i)).String()), t0)
		if n := a.size(); n > 100 {
			t.Fatalf("%d addresses tracked", n)
		}
	}
	if a.check(locked, t0) != nil {
		t.Fatal("the least recently failed address should have been dropped")
	}
	a.failed(ctxFrom("203.0.113.1"), t0.Add(3*time.Second))
	if n := a.size(); n != 1 {
		t.Fatalf("%d addresses tracked once the others' windows are over", n)
	}
}
