package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// startServer starts a gateway whose config's server section also holds server (indented YAML
// lines), followed by body.
func startServer(t *testing.T, server, body string) *gt.Gateway {
	t.Helper()
	dir := t.TempDir()
	cfg := strings.Replace(gt.Header(filepath.Join(dir, "data")), "server:\n", "server:\n"+server, 1) + body
	path := filepath.Join(dir, "iom.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return gt.StartFile(t, dir, path)
}

// dialFrom connects to addr from the loopback address from (127.0.0.x), closed with the test.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends a request on c and reads the answer. A gateway that does not answer in 10 s fails
// the test.
func ask(t *testing.T, c net.Conn, br *bufio.Reader, req string) (*http.Response, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp, string(b)
}

func getModels(key string) string {
	return "GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + key + "\r\n\r\n"
}

// errorCode is the code of an OpenAI error body.
func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("not an OpenAI error: %q", body)
	}
	return e.Error.Code
}

// A connection closed after a normal answer is closed at once, not lingered on: data sent to it
// afterwards meets a closed socket (a reset, and the client's next write fails) at once, not
// after the lingering close's time.
func TestNormalCloseDoesNotLinger(t *testing.T) {
	g := gt.Start(t, "", "")
	c := dialFrom(t, "", g.DataAddr())
	br := bufio.NewReader(c)
	resp, _ := ask(t, c, br, "GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+gt.Key+"\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("the gateway should have closed the connection: %v", err)
	}
	start := time.Now()
	for {
		if _, err := c.Write([]byte("x")); err != nil {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("the gateway's side still takes data 1 s after closing: it lingered")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A client that sends a body over the limit, all of it before reading, receives the 413: the
// gateway lingers on that connection, reading what is in flight, instead of resetting it.
func TestOversizedBodyGets413NotReset(t *testing.T) {
	g := startServer(t, "  maxBodyBytes: 65536\n", "")
	c := dialFrom(t, "", g.DataAddr())
	c.SetDeadline(time.Now().Add(20 * time.Second))
	body := strings.Repeat("x", 32<<20) // more than the sockets' buffers hold
	head := "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + gt.Key +
		"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	if _, err := io.WriteString(c, head+body); err != nil {
		t.Fatalf("writing the body: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || errorCode(t, string(b)) != "request_too_large" {
		t.Fatalf("answer %d %s", resp.StatusCode, b)
	}
}

// A client address holds at most server.maxConnsPerIp connections and the listener at most
// server.maxConns, on each port: one more is answered 429 or 503 and closed, and a connection
// closed makes room again.
func TestConnectionCaps(t *testing.T) {
	g := startServer(t, "  maxConnsPerIp: 2\n  maxConns: 3\n", "")
	for _, port := range []struct {
		name, addr, req string
	}{
		{"data", g.DataAddr(), getModels(gt.Key)},
		{"admin", g.AdminAddr(), "GET /api/status HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + gt.AdminToken + "\r\n\r\n"},
	} {
		t.Run(port.name, func(t *testing.T) {
			served := func(from string) net.Conn {
				t.Helper()
				c := dialFrom(t, from, port.addr)
				if resp, body := ask(t, c, bufio.NewReader(c), port.req); resp.StatusCode != 200 {
					t.Fatalf("from %s: %d %s", from, resp.StatusCode, body)
				}
				return c
			}
			refused := func(from string, status int) {
				t.Helper()
				c := dialFrom(t, from, port.addr)
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("from %s: no answer: %v", from, err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != status || errorCode(t, string(b)) != "too_many_connections" || resp.Header.Get("Retry-After") == "" {
					t.Fatalf("from %s: %d %v %s, want %d", from, resp.StatusCode, resp.Header, b, status)
				}
			}
			first := served("127.0.0.1")
			served("127.0.0.1")
			refused("127.0.0.1", 429)
			served("127.0.0.2")
			refused("127.0.0.3", 503)
			first.Close()
			gt.Eventually(t, 5*time.Second, "room for a connection once one is closed", func() bool {
				c := dialFrom(t, "127.0.0.1", port.addr)
				resp, _ := ask(t, c, bufio.NewReader(c), port.req)
				c.Close()
				return resp.StatusCode == 200
			})
		})
	}
}

// A connection that sends nothing is closed after server.readHeaderTimeoutMs, and so is one
// whose request header stops arriving; a body has server.readTimeoutMs, which is longer.
func TestReadHeaderTimeout(t *testing.T) {
	g := startServer(t, "  readHeaderTimeoutMs: 200\n  readTimeoutMs: 5000\n  idleTimeoutMs: 5000\n", "")
	closedWithin := func(name, addr, send string, hi time.Duration) {
		t.Helper()
		c := dialFrom(t, "", addr)
		start := time.Now()
		io.WriteString(c, send)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, c) // a 408 or nothing, then the close
		took := time.Since(start)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("%s: the gateway kept the connection open for 5 s", name)
		}
		if took < 150*time.Millisecond || took > hi {
			t.Fatalf("%s: closed after %v, want between 150ms and %v", name, took, hi)
		}
	}
	for _, addr := range []string{g.DataAddr(), g.AdminAddr()} {
		closedWithin("a connection that sends nothing", addr, "", 2*time.Second)
		closedWithin("a header that stops arriving", addr, "GET /v1/models HTTP/1.1\r\nHost: gw\r\n", 2*time.Second)
	}

	// A body that takes longer than the header timeout to arrive is read.
	c := dialFrom(t, "", g.DataAddr())
	c.SetDeadline(time.Now().Add(10 * time.Second))
	body := `{"model":"none","messages":[{"role":"user","content":"x"}]}`
	io.WriteString(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+gt.Key+
		"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n")
	time.Sleep(500 * time.Millisecond) // a slow client, past the header timeout
	io.WriteString(c, body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a slow body: %v", err)
	}
	if resp.StatusCode != 404 { // read, and the model does not exist
		t.Fatalf("a slow body: %d", resp.StatusCode)
	}
}
