package provider

import (
	"crypto/tls"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/deadline"
	"github.com/iomhq/iom/internal/rawsock"
)

// dialTimeout bounds connecting to an upstream, TLS handshake included.
const dialTimeout = 10 * time.Second

// A dialer opens connections to one upstream for its HTTP client. For HTTPS it shakes hands
// itself, under dialTimeout, so fasthttp (which takes a connection with a Handshake method for one
// that has shaken hands) does not do it lazily on the request's first write, under whatever
// deadline that request has.
type dialer struct {
	tls  *tls.Config // nil for plain HTTP
	idle time.Duration
}

func (d dialer) dial(addr string) (net.Conn, error) {
	tcp, err := fasthttp.DialTimeout(addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	// Every read is bounded by the model's timeout on top of the deadline fasthttp sets, so a
	// stream (which runs without an overall deadline) fails when the upstream goes quiet. The
	// deadlines are armed lazily: a keep-alive connection's socket deadline moves once in a
	// while rather than three times a request.
	conn := &deadline.Conn{Conn: rawsock.Wrap(tcp), ReadLimit: d.idle}
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
