package server

import (
	"io"
	"net"
	"syscall"
	"time"

	"github.com/iomhq/iom/gateway/deadline"
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
		lc := &lingerConn{TCPConn: tc, raw: rawConn(tc)}
		lc.fill = lc.fillFromFD
		return lc, nil
	}
	return c, nil
}

type lingerConn struct {
	*net.TCPConn
	raw   syscall.RawConn
	ahead *[]byte // bytes read ahead and not handed out yet (see readahead.go)
	off   int
	// fill is fillFromFD, bound once; got and gotErr are what it read.
	fill   func(fd uintptr) bool
	got    *[]byte
	gotErr error
	// The server sets a read deadline twice a request (idle, then read timeout); they are armed
	// on the socket only before a read that may block, and only when they have moved enough.
	rd, wd deadline.Lazy
}

func (c *lingerConn) SetDeadline(t time.Time) error {
	c.rd.Set(t)
	c.wd.Set(t)
	return nil
}

func (c *lingerConn) SetReadDeadline(t time.Time) error {
	c.rd.Set(t)
	return nil
}

func (c *lingerConn) SetWriteDeadline(t time.Time) error {
	c.wd.Set(t)
	return nil
}

func (c *lingerConn) Write(b []byte) (int, error) {
	if c.wd.None() {
		return c.TCPConn.Write(b)
	}
	if d, arm := c.wd.Due(time.Now(), 0); arm {
		if err := c.TCPConn.SetWriteDeadline(d); err != nil {
			return 0, err
		}
	}
	return c.TCPConn.Write(b)
}

// armRead arms the read deadline before a read that may block.
func (c *lingerConn) armRead() error {
	if d, arm := c.rd.Due(time.Now(), 0); arm {
		return c.TCPConn.SetReadDeadline(d)
	}
	return nil
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
		_ = c.TCPConn.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.CopyN(io.Discard, c.TCPConn, lingerBytes)
		_ = c.TCPConn.Close()
	}()
	return nil
}
