package server

import (
	"io"
	"sync"
	"syscall"
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
	if len(b) > readAheadMax || c.raw == nil {
		return c.TCPConn.Read(b)
	}
	var buf *[]byte
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		buf = readAheadPool.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), (*buf)[:cap(*buf)])
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			readAheadPool.Put(buf)
			return false // not readable yet: wait in the poller (under the read deadline)
		}
		return true
	})
	switch {
	case err != nil: // the deadline passed or the connection was closed
		return 0, err
	case rerr != nil:
		readAheadPool.Put(buf)
		return 0, rerr
	case n <= 0:
		readAheadPool.Put(buf)
		return 0, io.EOF
	}
	*buf = (*buf)[:n]
	c.ahead, c.off = buf, 0
	return c.Read(b)
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
