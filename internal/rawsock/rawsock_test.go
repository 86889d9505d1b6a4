package rawsock

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pair returns the two ends of a real connection on network ("tcp" or "unix"), the client's
// wrapped.
func pair(t *testing.T, network string) (wrapped net.Conn, peer net.Conn) {
	t.Helper()
	return pairWith(t, network, Wrap)
}

// pairWith is pair with the client's end wrapped by wrap.
func pairWith(t *testing.T, network string, wrap func(net.Conn) net.Conn) (wrapped net.Conn, peer net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	w := wrap(c)
	if _, ok := w.(*Conn); !ok {
		t.Fatalf("Wrap(%T) = %T, want a *Conn", c, w)
	}
	p := <-accepted
	t.Cleanup(func() { w.Close(); p.Close() })
	return w, p
}

func TestBytesBothWays(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			c, peer := pair(t, network)
			// More than the socket buffers hold, so writes wait for the reader, both ways.
			up, down := make([]byte, 8<<20), make([]byte, 8<<20)
			rand.Read(up)
			rand.Read(down)
			var wg sync.WaitGroup
			var gotUp []byte
			wg.Go(func() { gotUp, _ = io.ReadAll(io.LimitReader(peer, int64(len(up)))) })
			wg.Go(func() {
				if _, err := peer.Write(down); err != nil {
					t.Error(err)
				}
			})
			n, err := c.Write(up)
			if err != nil || n != len(up) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			gotDown := make([]byte, len(down))
			if _, err := io.ReadFull(c, gotDown); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			if !bytes.Equal(gotUp, up) || !bytes.Equal(gotDown, down) {
				t.Fatal("the bytes differ")
			}
			// The peer closes: EOF, as from a net.Conn.
			peer.Close()
			if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Fatalf("Read after the peer closed = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func TestDeadlinesAndClose(t *testing.T) {
	c, peer := pair(t, "tcp")
	buf := make([]byte, 10)

	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(buf)
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read past the deadline: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("the read timed out after %s", d)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("error %#v is not a read's *net.OpError", err)
	}

	// A deadline cleared lets the read wait for data again.
	c.SetReadDeadline(time.Time{})
	go func() { time.Sleep(20 * time.Millisecond); peer.Write([]byte("hello")) }()
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}

	// Writes time out when nobody reads (having written what the socket buffers took, unless
	// a busy machine let the deadline pass first).
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= 64<<20 {
		t.Fatalf("Write to a peer that does not read = %d, %v; want a timeout", n, err)
	}

	closeWakesRead(t, c)
}

// closeWakesRead checks that Close wakes a blocked Read of c with net.ErrClosed.
func closeWakesRead(t *testing.T, c net.Conn) {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := c.Read(make([]byte, 10)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read on a closed conn: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake the Read")
	}
}

func TestWriteToAResetConnection(t *testing.T) {
	c, peer := pair(t, "tcp")
	peer.(*net.TCPConn).SetLinger(0) // close with a reset
	peer.Close()
	time.Sleep(20 * time.Millisecond)
	var err error
	for range 10 {
		if _, err = c.Write([]byte("data")); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var oe *net.OpError
	var se *os.SyscallError
	if !errors.As(err, &oe) || oe.Op != "write" || !errors.As(err, &se) {
		t.Fatalf("Write after a reset: %#v, want a write's *net.OpError around a system call error", err)
	}
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if w := Wrap(a); w != a {
		t.Fatalf("Wrap(net.Pipe end) = %T, want it unchanged", w)
	}
}

func TestConcurrentReads(t *testing.T) {
	c, peer := pair(t, "unix")
	const readers, each = 4, 1000
	go func() {
		for range readers * each {
			peer.Write([]byte{1})
		}
	}()
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range readers {
		wg.Go(func() {
			buf := make([]byte, 64)
			for {
				c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				n, err := c.Read(buf)
				mu.Lock()
				total += n
				done := total >= readers*each
				mu.Unlock()
				if err != nil || done {
					return
				}
			}
		})
	}
	wg.Wait()
	if total != readers*each {
		t.Fatalf("read %d bytes of %d", total, readers*each)
	}
}

// clientPair returns a client Conn and the peer's end of a real TCP connection.
func clientPair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	c, p := pairWith(t, "tcp", WrapClient)
	return c.(*Conn), p
}

// nothingWithin reports whether the peer receives nothing for d.
func nothingWithin(t *testing.T, peer net.Conn, d time.Duration) bool {
	t.Helper()
	peer.SetReadDeadline(time.Now().Add(d))
	n, err := peer.Read(make([]byte, 1))
	peer.SetReadDeadline(time.Time{})
	return n == 0 && errors.Is(err, os.ErrDeadlineExceeded)
}

// A client Conn holds a request until the Read of its answer, which sends it and, on a
// connection fresh from an exchange, waits for the answer before reading.
func TestClientExchanges(t *testing.T) {
	c, peer := clientPair(t)
	go func() { // the peer answers each request ("ask N") with "answer N"
		buf := make([]byte, 64)
		for {
			n, err := peer.Read(buf)
			if err != nil {
				return
			}
			peer.Write([]byte(strings.Replace(string(buf[:n]), "ask", "answer", 1)))
		}
	}()
	const rounds = 50
	buf := make([]byte, 64)
	for i := range rounds {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("ask " + strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if want := "answer " + strconv.Itoa(i); err != nil || string(buf[:n]) != want {
			t.Fatalf("round %d: %q, %v; want %q", i, buf[:n], err, want)
		}
	}
	// Each request after the first went out on a fresh connection, whole: its Read waited first.
	if got := c.client.waited; got != rounds-1 {
		t.Fatalf("%d of %d Reads waited before reading, want %d", got, rounds, rounds-1)
	}
	// After a pause longer than freshFor, the Read reads first: the server may have closed.
	c.client.sentAt -= freshFor
	c.Write([]byte("ask again"))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "answer again" {
		t.Fatalf("after a pause: %q, %v", buf[:n], err)
	}
	if got := c.client.waited; got != rounds-1 {
		t.Fatal("the Read after a pause waited before reading")
	}
}

func TestClientHoldsUntilRead(t *testing.T) {
	c, peer := clientPair(t)
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	if !nothingWithin(t, peer, 50*time.Millisecond) {
		t.Fatal("the request went out before the Read of its answer")
	}
	// A Read whose deadline has passed sends nothing and keeps the request for the next one.
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v", err)
	}
	if !nothingWithin(t, peer, 20*time.Millisecond) {
		t.Fatal("a refused Read sent the request")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 8)
		n, _ := io.ReadFull(peer, b[:4])
		got <- string(b[:n])
		peer.Write([]byte("ok"))
	}()
	b := make([]byte, 8)
	if n, err := c.Read(b); err != nil || string(b[:n]) != "ok" {
		t.Fatalf("Read = %q, %v", b[:n], err)
	}
	if s := <-got; s != "held" {
		t.Fatalf("the peer received %q", s)
	}

	// A write larger than the hold goes out as it is written. The server may answer that part of
	// a request at once (a 413 to its headers, say), before the rest is sent: the Read that sends
	// the rest reads first.
	big := make([]byte, holdMax+1)
	go func() {
		io.ReadFull(peer, big)
		peer.Write([]byte("early"))
	}()
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the answer arrives before the Read begins
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(b); err != nil || string(b[:n]) != "early" {
		t.Fatalf("Read = %q, %v", b[:n], err)
	}
}

// A server that closed a kept-alive connection, with a FIN or a reset, does not leave the Read
// of the next request's answer waiting: it ends at once, with the end of the connection or the
// reset, as fasthttp's client expects of a stale connection (it retries the request).
func TestClientStaleConnection(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(map[bool]string{false: "closed", true: "reset"}[reset], func(t *testing.T) {
			c, peer := clientPair(t)
			b := make([]byte, 8)
			go func() {
				pb := make([]byte, 8)
				n, _ := peer.Read(pb)
				peer.Write(pb[:n])
				if reset {
					peer.(*net.TCPConn).SetLinger(0)
				}
				peer.Close()
			}()
			c.Write([]byte("one"))
			if n, err := c.Read(b); err != nil || string(b[:n]) != "one" {
				t.Fatalf("first exchange: %q, %v", b[:n], err)
			}
			time.Sleep(50 * time.Millisecond) // the close arrives while the connection is idle
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("two"))
			start := time.Now()
			_, err := c.Read(b)
			var ne net.Error
			if err == nil || errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("Read on a connection the server closed: %v after %s", err, time.Since(start))
			}
			if !reset && err != io.EOF {
				t.Fatalf("Read after a FIN: %v, want EOF", err)
			}
		})
	}
}

// The Read of a request's answer waits under its deadline, and Close wakes it.
func TestClientWaitEnds(t *testing.T) {
	c, peer := clientPair(t)
	go func() { // answers the first request only
		b := make([]byte, 8)
		n, _ := peer.Read(b)
		peer.Write(b[:n])
		io.Copy(io.Discard, peer)
	}()
	b := make([]byte, 8)
	c.Write([]byte("one"))
	if _, err := c.Read(b); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("two"))
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if _, err := c.Read(b); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read of an answer that does not come: %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	c.Write([]byte("three"))
	closeWakesRead(t, c)
}

// A request held while the socket is full waits for room when the Read sends it, and all the
// bytes arrive in order.
func TestClientSendsIntoAFullSocket(t *testing.T) {
	c, peer := clientPair(t)
	// Fill the socket: the peer does not read yet.
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	fill := bytes.Repeat([]byte{'x'}, 64<<20)
	n, err := c.Write(fill)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("filling the socket: %d, %v", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	tail := []byte("the end")
	if _, err := c.Write(tail); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		all, _ := io.ReadAll(io.LimitReader(peer, int64(n+len(tail))))
		got <- all
		peer.Write([]byte("ok"))
	}()
	b := make([]byte, 8)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if m, err := c.Read(b); err != nil || string(b[:m]) != "ok" {
		t.Fatalf("Read = %q, %v", b[:m], err)
	}
	all := <-got
	if len(all) != n+len(tail) || !bytes.Equal(all[n:], tail) || bytes.IndexByte(all[:n], 't') >= 0 {
		t.Fatalf("the peer received %d bytes, want %d ending in %q", len(all), n+len(tail), tail)
	}
}

// A WrapCaller Conn holds only what is written after Ask, until the next Read.
func TestCallerAsks(t *testing.T) {
	w, p := pairWith(t, "tcp", WrapCaller)
	c := w.(*Conn)
	go func() {
		b := make([]byte, 64)
		for { // answers "ask N" with "answer N", and anything else with "got" it
			n, err := p.Read(b)
			if err != nil {
				return
			}
			if s := string(b[:n]); strings.HasPrefix(s, "ask") {
				p.Write([]byte(strings.Replace(s, "ask", "answer", 1)))
			} else {
				p.Write([]byte("got " + s))
			}
		}
	}()
	buf := make([]byte, 64)
	read := func(want string) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != want {
			t.Fatalf("Read = %q, %v; want %q", buf[:n], err, want)
		}
	}
	const rounds = 10
	for i := range rounds {
		// Not asked: sent as written.
		c.Write([]byte("ping"))
		if c.client.buf != nil {
			t.Fatal("a write not asked was held")
		}
		read("got ping")
		c.Ask()
		c.Write([]byte("ask " + strconv.Itoa(i)))
		read("answer " + strconv.Itoa(i))
	}
	// The asked requests after the first went out with a Read that waited first.
	if got := c.client.waited; got != rounds-1 {
		t.Fatalf("%d of %d Reads of answers waited before reading, want %d", got, rounds, rounds-1)
	}
	// What is written after Ask is held until the Read.
	c.Ask()
	c.Write([]byte("ask held"))
	if c.client.buf == nil {
		t.Fatal("an asked write was not held")
	}
	read("answer held")
}
