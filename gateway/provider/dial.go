package provider

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/deadline"
)

// dialTimeout bounds connecting to an upstream, TLS handshake included.
const dialTimeout = 5 * time.Second

// A dialer opens connections to one upstream for its HTTP client. For HTTPS it shakes hands
// itself, under dialTimeout, so fasthttp (which takes a connection with a Handshake method for one
// that has shaken hands) does not do it lazily on the request's first write, under whatever
// deadline that request has.
//
// A connection is layered: TLS (for HTTPS) over a deadline.Conn over a socket over the TCP
// connection. socketOf finds the socket again.
type dialer struct {
	tls  *tls.Config // nil for plain HTTP
	idle time.Duration
}

// A dialError is a failure to connect: no request was sent.
type dialError struct{ err error }

func (e *dialError) Error() string { return "cannot connect: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// dial connects, and shakes hands, on a goroutine of its own. The net package's dial path is
// deep: run on the request's goroutine, below the server, the engine and the HTTP client, it
// takes that goroutine past 8 KiB of stack, which then stays at 16 KiB while the request waits
// for its answer. In a burst of new connections every request dials, so every one of them paid
// it: through a slow upstream at 500 connections, the gateway's stacks took 8.6-9.1 MiB; dialing
// apart, 4.8-6.8 MiB (resident memory 0.6-2.9 MB less, seven rounds in turns).
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
	c, err := fasthttp.DialTimeout(addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		_ = c.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errNotTCP}
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
