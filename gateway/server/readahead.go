package server

import (
	"io"
	"sync"
	"syscall"

	"github.com/iomhq/iom/internal/rawsock"
)

// The data plane's server gives an idle keep-alive connection's buffers back while it waits for
// the next request (fasthttp's ReduceMemoryUsage), and waits with a 1-byte read: the byte that
// arrives first is read alone, and the rest of the request with a second system call. A
// lingerConn serves that small read from a buffer taken from a pool only once the request is
// there: it waits for the socket to be readable, reads everything that arrived in one call, and
// hands the bytes out until they are gone, when the buffer goes back to the pool. An idle
// connection holds no buffer, and a request costs the system calls it would without the saving.

// readAheadMax is the largest read served through the pool; fasthttp's buffered reads are larger
// and go straight to the socket.
const readAheadMax = 16

var readAheadPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (c *lingerConn) Read(b []byte) (int, error) {
	if c.ahead != nil {
		n := copy(b, (*c.ahead)[c.off:])
		c.off += n
		if c.off == len(*c.ahead) {
			readAheadPool.Put(c.ahead)
			c.ahead = nil
		}
		return n, nil
	}
	if err := c.ArmRead(); err != nil {
		return 0, err
	}
	if len(b) > readAheadMax || c.raw == nil {
		return c.Conn.Conn.Read(b)
	}
	c.got, c.gotErr = nil, nil
	if err := c.raw.Read(c.fill); err != nil { // the deadline passed or the connection was closed
		return 0, err
	}
	if c.gotErr != nil {
		return 0, c.gotErr
	}
	c.ahead, c.off = c.got, 0
	c.got = nil
	return c.Read(b)
}

// fillFromFD is the callback of raw.Read (made once per connection as c.fill, so a read
// allocates nothing): it reads what has arrived into a pooled buffer, leaving it in c.got, or
// reports that the socket is not readable yet.
func (c *lingerConn) fillFromFD(fd uintptr) bool {
	buf := readAheadPool.Get().(*[]byte)
	n, err := rawsock.ReadFD(fd, (*buf)[:cap(*buf)])
	switch {
	case err == syscall.EAGAIN:
		readAheadPool.Put(buf)
		return false // not readable yet: wait in the poller (under the read deadline)
	case err != nil:
		readAheadPool.Put(buf)
		c.gotErr = err
	case n <= 0:
		readAheadPool.Put(buf)
		c.gotErr = io.EOF
	default:
		*buf = (*buf)[:n]
		c.got = buf
	}
	return true
}

// rawConn is the syscall view of a TCP connection, or nil if it has none.
func rawConn(c interface {
	SyscallConn() (syscall.RawConn, error)
}) syscall.RawConn {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
