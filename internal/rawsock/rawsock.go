// Package rawsock reads and writes sockets without telling the Go scheduler about it.
//
// A read or write on a net.Conn is a system call made through the runtime's syscall entry,
// which marks the calling thread as blocked in the kernel. That costs two things on a busy
// gateway: the runtime's monitor thread (sysmon), asleep while the process is idle, is woken
// by the first system call after the pause; and while it runs, any processor it finds in a
// system call is handed to another thread, which must be woken for it. Neither is of use for a
// non-blocking socket: the call returns at once, with data or EAGAIN. A Conn makes such calls
// raw, and waits for readiness in the runtime's poller as net.Conn does, so deadlines and Close
// behave as before.
package rawsock

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// Conn is a net.Conn whose Read and Write are raw system calls on its non-blocking socket.
// Everything else is the wrapped connection's. As on a net.Conn, any goroutine may call any
// method at any time; Reads wait for each other, and so do Writes.
type Conn struct {
	net.Conn
	raw syscall.RawConn

	// The state of the Read and of the Write in progress, for the callbacks, which are bound
	// once so that a call allocates nothing.
	rmu, wmu        sync.Mutex
	rbuf, wbuf      []byte
	rn              int
	rerr, werr      error
	readFn, writeFn func(fd uintptr) bool

	// A client Conn's request held for the next Read (client.go).
	client *held

	// The addresses, kept here: fasthttp's client asks for them on every request, and the
	// socket's own copies sit in memory that the raw reads and writes never touch.
	laddr, raddr net.Addr
}

// Wrap returns c as a Conn when it is a socket, else c itself.
func Wrap(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	rc := &Conn{Conn: c, raw: raw, laddr: c.LocalAddr(), raddr: c.RemoteAddr()}
	rc.readFn, rc.writeFn = rc.readFD, rc.writeFD
	return rc
}

func (c *Conn) LocalAddr() net.Addr  { return c.laddr }
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf, c.rn, c.rerr = b, 0, nil
	if c.client != nil {
		c.beginRead()
	}
	err := c.raw.Read(c.readFn)
	c.rbuf = nil
	op := "read"
	if c.client != nil {
		op = c.endRead()
	}
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case c.rerr != nil && c.rerr != io.EOF:
		return 0, c.opError(op, c.rerr)
	}
	return c.rn, c.rerr
}

// readFD reads once into rbuf; false: nothing to read yet, wait.
func (c *Conn) readFD(fd uintptr) bool {
	n, err := ReadFD(fd, c.rbuf)
	switch err {
	case nil:
		if n == 0 {
			c.rerr = io.EOF
		}
		c.rn = n
	case syscall.EAGAIN:
		return false
	default:
		c.rerr = os.NewSyscallError("read", err)
	}
	return true
}

func (c *Conn) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.client != nil {
		return c.clientWrite(b)
	}
	return c.write(b)
}

// write writes all of b, waiting for room as it must; the caller holds wmu.
func (c *Conn) write(b []byte) (int, error) {
	c.wbuf, c.werr = b, nil
	err := c.raw.Write(c.writeFn)
	n := len(b) - len(c.wbuf)
	c.wbuf = nil
	if err == nil {
		err = c.werr
	}
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

// writeFD writes what is left of wbuf; false: the socket is full, wait.
func (c *Conn) writeFD(fd uintptr) bool {
	for len(c.wbuf) > 0 {
		n, err := WriteFD(fd, c.wbuf)
		switch {
		case err == nil && n > 0:
			c.wbuf = c.wbuf[n:]
			continue
		case err == nil || err == syscall.EAGAIN:
			return false
		}
		c.werr = os.NewSyscallError("write", err)
		return true
	}
	return true
}

// opError makes err what net.Conn's methods return, so callers that look for a timeout, a
// closed connection or a reset find them where they would. The poller's errors come from
// RawConn already wrapped, as a "raw-read" or "raw-write".
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		e := *oe
		e.Op = op
		return &e
	}
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
