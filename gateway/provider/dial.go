package provider

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/deadline"
	"github.com/iomhq/iom/gateway/egress"
)

// dialTimeout bounds connecting to an upstream, TLS handshake included.
const dialTimeout = 5 * time.Second

// dialer opens connections to one upstream for its HTTP client. For HTTPS it shakes hands itself,
// under dialTimeout, so fasthttp (which skips the handshake of a conn with a Handshake method)
// does not do it on the request's first write, under that request's deadline. A connection is
// TLS (for HTTPS) over a deadline.Conn over a socket over TCP; socketOf finds the socket again.
type dialer struct {
	tls  *tls.Config // nil for plain HTTP
	idle time.Duration
	pool *Pool
}

// A dialError is a failure to connect: no request was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return "cannot connect: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// dial connects, and shakes hands, on a goroutine of its own: the net package's dial path is
// deep, and run on the request's goroutine it would leave that goroutine's stack doubled while the
// request waits for its answer, every request's in a burst of new connections (bench/README.md).
func (d dialer) dial(addr string) (net.Conn, error) {
	type dialed struct {
		conn net.Conn
		err  error
	}
	done := make(chan dialed, 1)
	go func() {
		conn, err := d.connect(addr)
		done <- dialed{conn, err}
	}()
	r := <-done
	if r.err != nil {
		return nil, &dialError{r.err}
	}
	return r.conn, nil
}

func (d dialer) connect(addr string) (net.Conn, error) {
	tcp, err := d.pool.dialTCP(addr)
	if err != nil {
		return nil, err
	}
	// Every read is bounded by the model's timeout on top of the deadline of the call, so a
	// stream (which runs without an overall deadline) fails when the upstream goes quiet. The
	// deadlines are armed lazily: a keep-alive connection's socket deadline moves once in a
	// while rather than three times a request.
	conn := &deadline.Conn{Conn: newSocket(tcp), ReadLimit: d.idle}
	if d.tls == nil {
		return conn, nil
	}
	tc := tls.Client(conn, d.tls)
	_ = conn.SetDeadline(time.Now().Add(dialTimeout))
	if err := tc.Handshake(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return tc, nil
}

// socketOf returns the socket under a connection the dialer made.
func socketOf(c net.Conn) *socket {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	return c.(*deadline.Conn).Conn.(*socket)
}

// dialTCP connects to addr (host:port) under the egress policy: it resolves the host, checks
// every address it resolves to, and dials the first allowed one that answers (IPv4 first), so
// what is checked is what is dialed, whatever the name resolves to next time. It fails with an
// *egress.Refusal when the policy refuses the name or every address.
func (p *Pool) dialTCP(addr string) (*net.TCPConn, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseUint(ps, 10, 16)
	if err != nil {
		return nil, &net.AddrError{Err: "invalid port", Addr: addr}
	}
	port := uint16(n)
	policy := p.Egress()
	if err := policy.CheckName(host, port); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	ips, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var refused, failed error
	var nd net.Dialer
	for _, ip := range ips {
		if err := policy.Check(host, ip, port); err != nil {
			refused = err
			continue
		}
		c, err := nd.DialContext(ctx, "tcp", netip.AddrPortFrom(ip, port).String())
		if err != nil {
			failed = err
			continue
		}
		tcp, ok := c.(*net.TCPConn)
		if !ok {
			_ = c.Close()
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errNotTCP}
		}
		return tcp, nil
	}
	switch {
	case failed != nil:
		return nil, failed
	case refused != nil:
		return nil, refused
	}
	return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
}

// dnsTTL is how long a name's addresses are reused before it is resolved again. Only the
// lookups are kept: every dial checks the addresses it is about to use against the policy.
const dnsTTL = 30 * time.Second

// maxNames bounds the names kept (plugins may call any host).
const maxNames = 1024

type dnsCache struct {
	mu    sync.Mutex
	names map[string]resolved
}

type resolved struct {
	addrs []netip.Addr
	until time.Time
}

// resolve returns host's addresses, IPv4 first: the address itself for a literal one.
func (p *Pool) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	now := time.Now()
	c := &p.dns
	c.mu.Lock()
	r, ok := c.names[host]
	c.mu.Unlock()
	if ok && now.Before(r.until) {
		return r.addrs, nil
	}
	var addrs []netip.Addr
	var err error
	if p.Resolve != nil {
		addrs, err = p.Resolve(ctx, host)
	} else {
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	addrs = slices.Clone(addrs)
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	slices.SortStableFunc(addrs, func(a, b netip.Addr) int { return cmp.Compare(a.BitLen(), b.BitLen()) })
	c.mu.Lock()
	if c.names == nil || len(c.names) >= maxNames {
		c.names = map[string]resolved{}
	}
	c.names[host] = resolved{addrs: addrs, until: now.Add(dnsTTL)}
	c.mu.Unlock()
	return addrs, nil
}

// isRefusal reports whether err is the egress policy's refusal.
func isRefusal(err error) bool {
	var r *egress.Refusal
	return errors.As(err, &r)
}
