package rawsock

import (
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// A client's connection (an HTTP/1.1 client's, a lane's to a plugin) spends a system call on
// every answer for nothing: it writes the request, reads, finds nothing yet (EAGAIN), waits in
// the poller and reads again. Waiting first would be wrong in general: a read begins by clearing
// the readiness the runtime has seen (it may be stale), so a waiter must look at the socket after
// that point or it may sleep through data that arrived before it. A client Conn moves that point
// before the request is sent: Write holds the request's bytes, and the Read that follows sends
// them from inside its wait, where the readiness is already cleared. The answer then arrives
// after that point and wakes the Read, which reads it with one system call.
//
// What arrived before the request was sent does not wake the Read, and need not while an answer
// is to come: the Read then reads both. What matters is something arriving after the request.
// An answer does; so does a reset, when the server has closed the connection while it was idle
// (the Read then finds the end one round trip later than a read first would have). Only a server
// that stopped sending but keeps reading and never answers would leave the Read waiting for its
// deadline instead of finding the end at once. Both cases are kept rare: a Read waits first only
// on a connection that sent a request within freshFor (servers close idle connections after
// seconds), and only when the whole request was held (a server may answer part of a request
// early, a 413 to the headers, before the rest is sent).

const (
	// holdMax is the most a client Conn holds; a request that does not fit goes out as it is
	// written, as on any Conn.
	holdMax = 16 << 10
	// holdKeep is the size of the pooled hold buffers (a larger request grows its own).
	holdKeep = 4 << 10
	// freshFor is how recently a connection must have sent a request for a Read to wait first.
	freshFor = time.Second
)

var holdPool = sync.Pool{New: func() any { b := make([]byte, 0, holdKeep); return &b }}

// epoch is where a client Conn's clock starts.
var epoch = time.Now()

// held is a client Conn's state.
type held struct {
	buf    []byte  // written and not sent yet (under wmu)
	pooled *[]byte // the pooled buffer buf began in; nil: none (under wmu)
	early  bool    // bytes went out as written since the last Read began (under wmu)
	// every: every write is (part of) a request; else those after Ask are, until a Read sends
	// them (asked). Both under wmu.
	every, asked bool
	// sending: the Read in progress holds wmu until its callback has sent buf. sendErr: the Read
	// failed sending. sentAt: when the last request was sent. (All three under rmu.)
	sending, sendErr bool
	sentAt           time.Duration // since epoch
	waited           int           // Reads that waited before reading (for the tests)
}

// WrapClient returns c as a client Conn when it is a socket, else c itself. It is for the client
// side of a connection on which every write begins or continues a request that the server
// answers, and the client reads the answer next: plain HTTP/1.1 as fasthttp's client speaks it.
// Not TLS, which writes on its own while it reads (a key update): such a write, held and then
// sent by a Read that waits for an answer, would have none.
//
// A Write returns before its bytes are sent: they go out with the Read that follows, within
// holdMax, and an error in sending them is that Read's.
func WrapClient(c net.Conn) net.Conn { return wrapClient(c, true) }

// WrapCaller returns c as a client Conn whose caller marks its requests (Ask), for a protocol
// whose client writes more than requests (an HTTP/2 client answers pings and returns flow
// control windows as it reads), or that runs under TLS. What is written after Ask is held until
// the next Read, and must be a request that the server answers; other writes go out as they are
// written.
func WrapCaller(c net.Conn) net.Conn { return wrapClient(c, false) }

func wrapClient(c net.Conn, every bool) net.Conn {
	w := Wrap(c)
	if rc, ok := w.(*Conn); ok {
		rc.client = &held{every: every}
		rc.readFn = rc.clientReadFD
	}
	return w
}

// Ask marks what is written from now until the next Read as a request on a client Conn (a
// WrapCaller's; on a WrapClient's every write is one): it is held, and sent by that Read.
func (c *Conn) Ask() {
	if c.client == nil {
		return
	}
	c.wmu.Lock()
	c.client.asked = true
	c.wmu.Unlock()
}

// clientWrite holds b for the next Read when it fits, else sends what is held and b at once. The
// caller holds wmu.
func (c *Conn) clientWrite(b []byte) (int, error) {
	h := c.client
	if !h.every && !h.asked {
		return c.write(b)
	}
	if len(h.buf)+len(b) <= holdMax {
		if h.pooled == nil {
			h.pooled = holdPool.Get().(*[]byte)
			h.buf = (*h.pooled)[:0]
		}
		h.buf = append(h.buf, b...)
		return len(b), nil
	}
	h.early = true
	if len(h.buf) > 0 {
		_, err := c.write(h.buf)
		h.release()
		if err != nil {
			return 0, err
		}
	}
	return c.write(b)
}

// beginRead has a Read send what is held (clientReadFD does, and unlocks wmu). The caller
// holds rmu.
func (c *Conn) beginRead() {
	h := c.client
	c.wmu.Lock()
	if len(h.buf) > 0 {
		h.sending = true
		return
	}
	h.early, h.asked = false, false
	c.wmu.Unlock()
}

// endRead ends a Read begun with beginRead and names the operation its error is from. When the
// poller refused the Read before its callback ran (deadline passed, connection closed), the
// bytes held stay held for a later Read.
func (c *Conn) endRead() string {
	h := c.client
	if h.sending {
		h.sending = false
		c.wmu.Unlock()
	}
	if h.sendErr {
		h.sendErr = false
		return "write"
	}
	return "read"
}

// clientReadFD is readFD for a client Conn: it first sends what is held, and then waits for the
// answer before reading when that is safe (see send).
func (c *Conn) clientReadFD(fd uintptr) bool {
	h := c.client
	if !h.sending {
		return c.readFD(fd)
	}
	h.sending = false
	wait, err := c.send(fd)
	c.wmu.Unlock()
	switch {
	case err != nil:
		c.rerr, h.sendErr = err, true
		return true
	case wait:
		h.waited++
		return false
	}
	return c.readFD(fd)
}

// send writes the bytes held and reports whether the Read may wait for the answer without
// reading first: when the whole request went out here on a connection fresh from an exchange.
// A socket too full to take it all makes send wait for room, as a Write does. The caller holds
// wmu.
func (c *Conn) send(fd uintptr) (wait bool, err error) {
	h := c.client
	wait = !h.early
	for b := h.buf; len(b) > 0; {
		n, werr := WriteFD(fd, b)
		switch {
		case werr == nil && n > 0:
			b = b[n:]
			continue
		case werr != nil && werr != syscall.EAGAIN:
			err = os.NewSyscallError("write", werr)
		default: // full: wait for room (readiness that arrives meanwhile is kept for the Read)
			_, err = c.write(b)
		}
		break
	}
	now := time.Since(epoch) // the monotonic clock alone: half the cost of time.Now
	wait = wait && err == nil && h.sentAt > 0 && now-h.sentAt < freshFor
	h.sentAt = now
	h.early, h.asked = false, false
	h.release()
	return wait, err
}

// release gives the hold buffer back: an idle connection holds none.
func (h *held) release() {
	if h.pooled != nil {
		holdPool.Put(h.pooled)
	}
	h.pooled, h.buf = nil, nil
}
