package rawsock

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// pair returns the two ends of a real connection on network ("tcp" or "unix"), the client's
// wrapped.
func pair(t *testing.T, network string) (wrapped net.Conn, peer net.Conn) {
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
	w := Wrap(c)
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

	// Close wakes a blocked Read with net.ErrClosed.
	done := make(chan error, 1)
	go func() { _, err := c.Read(buf); done <- err }()
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
