// Package deadline arms a connection's deadlines lazily. fasthttp sets a deadline on every
// connection for every request, each a trip through the runtime's poller and timer heap under
// locks; a Lazy records the deadline asked for and arms the socket only before an operation that
// may block, and only when the armed one is not close enough: never later, and earlier by at most
// an eighth of the time left. A keep-alive connection's deadline then moves once in a while
// instead of several times a request.
package deadline

import (
	"net"
	"time"
)

// Lazy is one direction (read or write) of a connection's deadline. The zero value has none.
type Lazy struct {
	want  time.Time // asked for; zero: none
	armed time.Time // on the socket; zero: none
}

// Set records the deadline asked for, as net.Conn's SetReadDeadline would set it.
func (l *Lazy) Set(t time.Time) { l.want = t }

// Due returns the deadline the socket needs before an operation that may block at now, bounded
// by now+limit when limit > 0, and whether the socket must be armed with it (the caller does,
// right away). When it need not, the deadline already armed does.
func (l *Lazy) Due(now time.Time, limit time.Duration) (time.Time, bool) {
	want := l.want
	if limit > 0 {
		if b := now.Add(limit); want.IsZero() || b.Before(want) {
			want = b
		}
	}
	if !stale(l.armed, want, now) {
		return l.armed, false
	}
	l.armed = want
	return want, true
}

// None reports whether no deadline is asked for or armed, so an operation needs no Due (nor the
// clock reading it takes).
func (l *Lazy) None() bool { return l.want.IsZero() && l.armed.IsZero() }

// stale reports whether a socket armed with armed must be re-armed to honour want at now. A want
// cleared, earlier or past always re-arms; a later one keeps armed while it falls short by at most
// an eighth of the time left, so the operation times out after no less than 7/8 of its time.
func stale(armed, want, now time.Time) bool {
	switch {
	case want.IsZero():
		return !armed.IsZero()
	case armed.IsZero() || armed.After(want):
		return true
	}
	return want.Sub(armed) > want.Sub(now)/8
}

// Conn is a net.Conn whose deadlines are armed lazily: its setters only record, and Read and
// Write arm the socket when they must, so an operation may time out early, never late. Timeouts
// wrap os.ErrDeadlineExceeded, as on net.Conn. The read side (SetReadDeadline, ArmRead, Read) and
// the write side (SetWriteDeadline, Write) are each for one goroutine at a time.
type Conn struct {
	net.Conn
	// ReadLimit, when > 0, bounds every read on top of the read deadline: an idle timeout, for a
	// stream that runs without a deadline. A silent Read fails after between 7/8 of ReadLimit and
	// ReadLimit.
	ReadLimit   time.Duration
	read, write Lazy
}

// SetDeadline records t for both sides, as SetReadDeadline and SetWriteDeadline do.
func (c *Conn) SetDeadline(t time.Time) error {
	c.read.Set(t)
	c.write.Set(t)
	return nil
}

// SetReadDeadline records t for the next Read to arm. Unlike net.Conn's, it does not reach a Read
// already blocked, even with t past: close the connection to stop one.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.read.Set(t)
	return nil
}

// SetWriteDeadline records t for the next Write to arm.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.write.Set(t)
	return nil
}

// ArmRead arms the socket's read deadline, if it must be, before a read that may block.
func (c *Conn) ArmRead() error {
	if c.ReadLimit <= 0 && c.read.None() {
		return nil
	}
	if d, arm := c.read.Due(time.Now(), c.ReadLimit); arm {
		return c.Conn.SetReadDeadline(d)
	}
	return nil
}

func (c *Conn) Read(b []byte) (int, error) {
	if err := c.ArmRead(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *Conn) Write(b []byte) (int, error) {
	if !c.write.None() {
		if d, arm := c.write.Due(time.Now(), 0); arm {
			if err := c.Conn.SetWriteDeadline(d); err != nil {
				return 0, err
			}
		}
	}
	return c.Conn.Write(b)
}
