package provider

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// A socket is an upstream connection's TCP connection, watched while it waits in the pool, so
// that a connection the upstream closed or spoiled while idle is never used for a request
// (CONNECTIONS.md beside this file says how and why).
type socket struct {
	*net.TCPConn
	// state is the socket's generation, one per time it went idle (above the low 3 bits), and
	// its state (in them). The generation keeps a late watch off a later idle time's socket.
	state atomic.Uint64
	gen   uint64 // the user's: the generation of the last idle time
	// answers counts the answers read whole on this connection: with none, it is fresh.
	answers int

	// What the watch's read returned, written by the watching goroutine before it moves state
	// (or sends on woke) and read by the user after.
	buf  *[]byte
	n    int
	err  error
	woke chan struct{} // the watch's read returned after the connection was claimed

	// The user's alone: pending, claimed while the watch's read was out; held, what it read and
	// Read has not handed over yet; readDeadline, the read deadline last set.
	pending      bool
	held         []byte
	readDeadline time.Time
}

// A socket's states.
const (
	inUse   = iota // in a call, or fresh
	idle           // in the pool, not watched
	reading        // in the pool, its watch reading
	claimed        // taken for a call while the watch read: what it reads is the answer
	quiet          // the watch timed out while idle: nothing arrived
	spoiled        // the watch read something, or the end, while idle: closed
)

var (
	errNotTCP      = errors.New("not a TCP connection")
	errUnsolicited = errors.New("the upstream sent bytes that answer no request")
)

// A staleError is a kept-alive connection found closed before a request could use it.
type staleError struct{ err error }

func (e *staleError) Error() string { return "stale kept-alive connection: " + e.err.Error() }
func (e *staleError) Unwrap() error { return e.err }

// watchSize is the size of a watch's buffer: the start of an answer, usually all of it.
const watchSize = 4 << 10

var watchBufs = sync.Pool{New: func() any { b := make([]byte, watchSize); return &b }}

func newSocket(c *net.TCPConn) *socket { return &socket{TCPConn: c, woke: make(chan struct{}, 1)} }

// rest marks the socket idle; its user calls it right before the connection goes back to the
// pool, and returns the generation to watch it by.
func (s *socket) rest() uint64 {
	s.gen++
	s.state.Store(s.gen<<3 | idle)
	return s.gen << 3
}

// watch starts watching the socket, if it is still idle in generation gen.
func (s *socket) watch(gen uint64) {
	if s.state.CompareAndSwap(gen|idle, gen|reading) {
		go s.wait(gen)
	}
}

func (s *socket) wait(gen uint64) {
	buf := watchBufs.Get().(*[]byte)
	n, err := s.TCPConn.Read(*buf)
	s.n, s.err = n, err
	var end uint64 = spoiled
	if n == 0 && isTimeout(err) {
		end = quiet
	}
	if s.state.CompareAndSwap(gen|reading, gen|end) {
		if end == spoiled {
			_ = s.TCPConn.Close()
		}
		watchBufs.Put(buf)
		return
	}
	s.buf = buf
	s.woke <- struct{}{}
}

// claim takes the socket for a call, before anything is written. It fails when the watch found
// the connection closed (a staleError) or bytes that answer nothing (errUnsolicited).
func (s *socket) claim() error {
	gen := s.gen << 3
	if s.state.CompareAndSwap(gen|idle, gen|inUse) {
		return nil
	}
	if s.state.CompareAndSwap(gen|reading, gen|claimed) {
		s.pending = true
		return nil
	}
	switch s.state.Swap(gen|inUse) &^ gen {
	case spoiled:
		if s.n > 0 {
			return errUnsolicited
		}
		return &staleError{s.err}
	}
	return nil
}

// watchAfter is how long a connection waits in the pool before it is watched.
const watchAfter = 10 * time.Millisecond

// An idleWatch watches the sockets of one pool that stay idle for watchAfter. Returning a
// connection to the pool costs a call a place in a list; a goroutine goes through the list
// every watchAfter while connections come back, and watches those still idle since the turn
// before.
type idleWatch struct {
	mu      sync.Mutex
	idle    []restingSocket
	running bool
}

type restingSocket struct {
	s   *socket
	gen uint64
}

// add lists a socket that went idle in generation gen.
func (w *idleWatch) add(s *socket, gen uint64) {
	w.mu.Lock()
	w.idle = append(w.idle, restingSocket{s, gen})
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run()
	}
}

func (w *idleWatch) run() {
	t := time.NewTicker(watchAfter)
	defer t.Stop()
	var due []restingSocket
	for range t.C {
		for _, r := range due {
			r.s.watch(r.gen)
		}
		clear(due)
		w.mu.Lock()
		due, w.idle = w.idle, due[:0]
		if len(due) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

func (s *socket) Read(p []byte) (int, error) {
	if s.pending {
		s.pending = false
		<-s.woke
		s.state.Store(s.gen<<3 | inUse)
		if s.n > 0 {
			s.held = (*s.buf)[:s.n]
		} else {
			watchBufs.Put(s.buf)
			s.buf = nil
			// A timeout may be an earlier deadline's that passed while the connection was idle:
			// then this read, under its own, reads anew.
			if !isTimeout(s.err) || !s.readDeadline.IsZero() && !time.Now().Before(s.readDeadline) {
				return 0, s.err
			}
		}
	}
	if len(s.held) > 0 {
		n := copy(p, s.held)
		if s.held = s.held[n:]; len(s.held) == 0 {
			watchBufs.Put(s.buf)
			s.buf, s.held = nil, nil
		}
		return n, nil
	}
	return s.TCPConn.Read(p)
}

func (s *socket) SetReadDeadline(t time.Time) error {
	s.readDeadline = t
	return s.TCPConn.SetReadDeadline(t)
}

func (s *socket) SetDeadline(t time.Time) error {
	s.readDeadline = t
	return s.TCPConn.SetDeadline(t)
}

// abort closes the connection under whatever is reading or writing it, from any goroutine: they
// fail at once.
func (s *socket) abort() { _ = s.TCPConn.Close() }

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
