package server

import (
	"io"
	"net"
	"syscall"
	"time"
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
		return &lingerConn{TCPConn: tc, raw: rawConn(tc)}, nil
	}
	return c, nil
}

type lingerConn struct {
	*net.TCPConn
	raw   syscall.RawConn
	ahead *[]byte // bytes read ahead and not handed out yet (see readahead.go)
	off   int
}

const (
	lingerTime  = 2 * time.Second
	lingerBytes = 64 << 20
)

func (c *lingerConn) Close() error {
	if err := c.CloseWrite(); err != nil {
		return c.TCPConn.Close()
	}
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.CopyN(io.Discard, c.TCPConn, lingerBytes)
		_ = c.TCPConn.Close()
	}()
	return nil
}
