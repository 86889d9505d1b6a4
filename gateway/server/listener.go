package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/deadline"
	"github.com/iomhq/iom/gateway/fault"
)

// listener is a gateway listener made to hold up on a port anyone can reach. A failed accept (out
// of descriptors, an aborted connection, no buffers) is retried with backoff, where fasthttp would
// end the server and leave the gateway running without accepting; only Close ends Accept. Past
// maxPerIP connections from one address, or maxConns in all, a new one is answered at once (429
// or 503) and closed; a connection counts until its socket closes, lingering included.
type listener struct {
	net.Listener
	name         string // "data" or "admin", for logs and metrics
	log          *slog.Logger
	m            *analytics.ListenerMetrics
	maxConns     int
	maxPerIP     int
	writeTimeout time.Duration

	done      chan struct{}
	closeOnce sync.Once

	mu    sync.Mutex
	open  int
	perIP map[netip.Addr]int
	conns map[*conn]struct{}

	acceptLog, refuseLog sparseLog
}

const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
	// silentGrace is how long after the listener closes a connection may still send its first
	// byte; one that sends nothing by then is closed (see closeSilent).
	silentGrace = time.Second
)

func newListener(ln net.Listener, name string, log *slog.Logger, m *analytics.ListenerMetrics, maxConns, maxPerIP int, writeTimeout time.Duration) *listener {
	return &listener{Listener: ln, name: name, log: log, m: m, maxConns: maxConns, maxPerIP: maxPerIP,
		writeTimeout: writeTimeout, done: make(chan struct{}), perIP: map[netip.Addr]int{}, conns: map[*conn]struct{}{}}
}

func (l *listener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.closed() {
				return nil, err
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			l.m.AcceptErrors.Inc()
			if skipped, ok := l.acceptLog.allow(10 * time.Second); ok {
				l.log.Error("cannot accept connections; retrying", "listener", l.name, "err", err,
					"retryIn", backoff, "notLogged", skipped)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.done:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		backoff = 0
		if ac := l.admit(c); ac != nil {
			return ac, nil
		}
	}
}

func (l *listener) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Close stops Accept, even one waiting to retry, and soon after closes the connections that
// have sent nothing.
func (l *listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		time.AfterFunc(silentGrace, l.closeSilent)
	})
	return l.Listener.Close()
}

// closeSilent closes the connections that have not sent a byte: a client's spare connection
// would otherwise hold a shutdown up, since fasthttp counts a new connection as busy for its
// first 5 s.
func (l *listener) closeSilent() {
	l.mu.Lock()
	var silent []*conn
	for c := range l.conns {
		if !c.spoke.Load() {
			silent = append(silent, c)
		}
	}
	l.mu.Unlock()
	for _, c := range silent {
		_ = c.Close()
	}
}

// Answers to a connection over a cap, written before it is closed.
var (
	answerOverIP = refusal(&fault.Error{Kind: fault.Policy, Status: fasthttp.StatusTooManyRequests,
		Type: "rate_limit_error", Code: "too_many_connections", RetryAfter: 1,
		Message: "too many connections from your address; reuse or close some"})
	answerOverTotal = refusal(&fault.Error{Kind: fault.Gateway, Status: fasthttp.StatusServiceUnavailable,
		Type: "server_error", Code: "too_many_connections", RetryAfter: 1,
		Message: "the gateway holds as many connections as it may; retry later"})
)

func refusal(fe *fault.Error) []byte {
	body := fe.AppendJSON(nil)
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"Retry-After: %d\r\nConnection: close\r\n\r\n%s", fe.Status, fasthttp.StatusMessage(fe.Status), len(body), fe.RetryAfter, body)
}

// admit counts c in, or answers and closes it when a cap is reached.
func (l *listener) admit(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	key := clientKey(tc.RemoteAddr())
	over := ""
	l.mu.Lock()
	switch {
	case l.open >= l.maxConns:
		over = "total"
	case l.perIP[key] >= l.maxPerIP:
		over = "per_ip"
	default:
		l.open++
		l.perIP[key]++
	}
	var ac *conn
	if over == "" {
		ac = &conn{Conn: deadline.Conn{Conn: tc}, tcp: tc, l: l, key: key, writeTimeout: l.writeTimeout}
		l.conns[ac] = struct{}{}
	}
	l.mu.Unlock()
	if ac != nil {
		return ac
	}
	answer, refused := answerOverIP, l.m.ConnsOverIP
	if over == "total" {
		answer, refused = answerOverTotal, l.m.ConnsOverTotal
	}
	refused.Inc()
	if skipped, ok := l.refuseLog.allow(time.Minute); ok {
		l.log.Warn("refusing connections over a cap", "listener", l.name, "cap", over,
			"maxConns", l.maxConns, "maxConnsPerIp", l.maxPerIP, "notLogged", skipped)
	}
	// A fresh socket's send buffer is empty: the write does not wait (the deadline is a guard).
	_ = tc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = tc.Write(answer)
	_ = tc.Close()
	return nil
}

func (l *listener) release(c *conn) {
	l.mu.Lock()
	l.open--
	if n := l.perIP[c.key] - 1; n > 0 {
		l.perIP[c.key] = n
	} else {
		delete(l.perIP, c.key)
	}
	delete(l.conns, c)
	l.mu.Unlock()
}

// clientKey is what a client is counted by: its IP address, or an IPv6 client's /64 network,
// any address of which it may use.
func clientKey(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip := ta.AddrPort().Addr().Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// conn is an accepted connection, its read deadlines armed lazily (deadline.Conn). Each write, or
// writeChunk of a longer one, has writeTimeout to go out, so a client that stops reading is cut
// off however long the answer runs. Close lingers, as nginx's does, only once lingerOnClose marked
// it because the client may still be sending what will not be read (an oversized body): it stops
// writing and reads for a moment, so the client gets the error answer instead of a reset.
type conn struct {
	deadline.Conn
	tcp          *net.TCPConn
	l            *listener
	key          netip.Addr
	writeTimeout time.Duration
	write        deadline.Lazy
	linger       atomic.Bool
	closed       atomic.Bool
	spoke        atomic.Bool // a byte was read
}

const (
	writeChunk  = 64 << 10
	lingerTime  = 2 * time.Second
	lingerBytes = 64 << 20
)

func (c *conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.spoke.Load() {
		c.spoke.Store(true)
	}
	return n, err
}

func (c *conn) SetDeadline(t time.Time) error {
	c.write.Set(t)
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error {
	c.write.Set(t)
	return nil
}

func (c *conn) Write(b []byte) (int, error) {
	if c.writeTimeout <= 0 && c.write.None() {
		return c.tcp.Write(b)
	}
	n := 0
	for n < len(b) {
		if d, arm := c.write.Due(time.Now(), c.writeTimeout); arm {
			if err := c.tcp.SetWriteDeadline(d); err != nil {
				return n, err
			}
		}
		m, err := c.tcp.Write(b[n:min(len(b), n+writeChunk)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (c *conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.linger.Load() && c.tcp.CloseWrite() == nil {
		go func() {
			_ = c.tcp.SetReadDeadline(time.Now().Add(lingerTime))
			_, _ = io.CopyN(io.Discard, c.tcp, lingerBytes)
			_ = c.tcp.Close()
			c.l.release(c)
		}()
		return nil
	}
	err := c.tcp.Close()
	c.l.release(c)
	return err
}

// lingerOnClose makes the connection of ctx linger when it is closed (see conn).
func lingerOnClose(ctx *fasthttp.RequestCtx) {
	if c, ok := ctx.Conn().(*conn); ok {
		c.linger.Store(true)
	}
}

// sparseLog lets a message be logged at most once an interval, and counts the times it was not.
type sparseLog struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

func (s *sparseLog) allow(every time.Duration) (skipped int, ok bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.last.IsZero() && now.Sub(s.last) < every {
		s.skipped++
		return 0, false
	}
	skipped, s.skipped, s.last = s.skipped, 0, now
	return skipped, true
}
