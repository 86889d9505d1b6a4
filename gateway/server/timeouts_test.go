package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// The client connection's timeouts hold although the gateway arms its deadlines lazily: an idle
// keep-alive connection is closed after server.idleTimeoutMs, and a request that stops arriving
// after server.readTimeoutMs, on a fresh connection and on one that has served requests.
func TestClientTimeouts(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.Replace(gt.Header(filepath.Join(dir, "data")), "server:\n",
		"server:\n  readTimeoutMs: 300\n  idleTimeoutMs: 600\n", 1)
	path := filepath.Join(dir, "iom.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	g := gt.StartFile(t, dir, path)
	get := "GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + gt.Key + "\r\n\r\n"

	// closedWithin sends what, reads until the gateway closes the connection, and checks when.
	closedWithin := func(name string, c net.Conn, what string, lo, hi time.Duration) {
		t.Helper()
		start := time.Now()
		if what != "" {
			if _, err := io.WriteString(c, what); err != nil {
				t.Fatal(err)
			}
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, c) // a 408 or nothing, then the close
		took := time.Since(start)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: the gateway kept the connection open for 5 s", name)
		}
		if took < lo || took > hi {
			t.Fatalf("%s: closed after %v, want between %v and %v", name, took, lo, hi)
		}
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", g.DataAddr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	serve := func(c net.Conn, br *bufio.Reader) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(time.Minute))
		defer c.SetReadDeadline(time.Time{})
		if _, err := io.WriteString(c, get); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("response %v %v", resp, err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	closedWithin("a request that stalls on a fresh connection", dial(),
		"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n", 250*time.Millisecond, 2*time.Second)

	c := dial()
	br := bufio.NewReader(c)
	for range 3 {
		serve(c, br)
	}
	closedWithin("an idle keep-alive connection", c, "", 500*time.Millisecond, 3*time.Second)

	c = dial()
	br = bufio.NewReader(c)
	for range 3 {
		serve(c, br)
	}
	closedWithin("a request that stalls on a used connection", c,
		"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n", 250*time.Millisecond, 550*time.Millisecond)
}
