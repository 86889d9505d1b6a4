package server

import (
	"io"
	"net"
	"syscall"
	"time"

	"github.com/iomhq/iom/gateway/deadline"
	"github.com/iomhq/iom/internal/rawsock"
)

// lingerListener gives every accepted connection a lingering close, as nginx does: when the
// gateway closes a connection whose client is still sending (a body over the size limit, say),
// it first stops writing and reads what is in flight for a moment, so the client receives the
// error response instead of a connection reset.
type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		lc := &lingerConn{Conn: deadline.Conn{Conn: rawsock.Wrap(tc)}, tcp: tc, raw: rawConn(tc)}
		lc.fill = lc.fillFromFD
		return lc, nil
	}
	return c, nil
}

type lingerConn struct {
	// The server sets a read deadline twice a request (idle, then read timeout); deadline.Conn
	// arms them on the socket only before a read that may block, and only when they have moved
	// enough. Its Conn is tcp, reading and writing with raw system calls (rawsock).
	deadline.Conn
	tcp   *net.TCPConn
	raw   syscall.RawConn
	ahead *[]byte // bytes read ahead and not handed out yet (see readahead.go)
	off   int
	// fill is fillFromFD, bound once; got and gotErr are what it read.
	fill   func(fd uintptr) bool
	got    *[]byte
	gotErr error
}

const (
	lingerTime  = 2 * time.Second
	lingerBytes = 64 << 20
)

func (c *lingerConn) Close() error {
	if err := c.tcp.CloseWrite(); err != nil {
		return c.tcp.Close()
	}
	go func() {
		_ = c.tcp.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.CopyN(io.Discard, c.tcp, lingerBytes)
		_ = c.tcp.Close()
	}()
	return nil
}
