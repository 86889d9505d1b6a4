package server

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// A 1-byte read on an accepted data-plane connection takes in everything that has arrived, and
// the next reads are served from it; deadlines and the peer's close behave as on the socket.
func TestLingerConnReadAhead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := lingerListener{ln}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := accepted.(*lingerConn)
	defer c.tcp.Close()

	if _, err := client.Write([]byte("POST /v1/chat/completions HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if n, err := c.Read(one); n != 1 || err != nil || one[0] != 'P' {
		t.Fatalf("first byte: %d %q %v", n, one[:n], err)
	}
	if c.ahead == nil {
		t.Fatal("the rest of what arrived should be held after the 1-byte read")
	}
	rest := make([]byte, 4096)
	n, err := c.Read(rest[:10])
	if err != nil || string(rest[:n]) != "OST /v1/ch" {
		t.Fatalf("second read: %q %v", rest[:n], err)
	}
	n, err = c.Read(rest)
	if err != nil || string(rest[:n]) != "at/completions HTTP/1.1\r\n" || c.ahead != nil {
		t.Fatalf("third read: %q %v (buffer still held: %v)", rest[:n], err, c.ahead != nil)
	}

	// Nothing more has arrived: a small read waits, under the read deadline.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(one); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %d %v", n, err)
	}
	c.SetReadDeadline(time.Time{})

	// Data that arrives while a small read waits wakes it.
	go func() {
		time.Sleep(20 * time.Millisecond)
		client.Write([]byte("xyz"))
	}()
	if n, err := c.Read(one); n != 1 || err != nil || one[0] != 'x' {
		t.Fatalf("read after a wait: %d %q %v", n, one[:n], err)
	}
	if n, err := c.Read(rest); err != nil || string(rest[:n]) != "yz" {
		t.Fatalf("rest after a wait: %q %v", rest[:n], err)
	}

	client.Close()
	if n, err := c.Read(one); n != 0 || err != io.EOF {
		t.Fatalf("after the peer closed: %d %v", n, err)
	}
}
