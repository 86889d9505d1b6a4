package provider

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/internal/fakeupstream"
)

// TestHTTPSUpstream calls an upstream over TLS, plain and streamed, on one kept-alive
// connection: the client's dialer shakes hands itself, and fasthttp must take that connection as
// it is (a second handshake inside the first would fail every call).
func TestHTTPSUpstream(t *testing.T) {
	cert, roots := testCert()
	up, err := fakeupstream.StartOpenAITLS(cert)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if !strings.HasPrefix(up.URL, "https://") {
		t.Fatalf("fake URL %q", up.URL)
	}
	m := &spec.Model{ID: "m", Provider: "openai", Endpoint: up.URL, UpstreamModel: "gpt-x"}

	pool := NewPool()
	pool.RootCAs = roots
	u, err := pool.Upstream(m, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	call := func(stream bool) *Call {
		body := []byte(`{"model":"m","messages":[{"role":"user","content":"over tls"}],"stream":` +
			strconv.FormatBool(stream) + `}`)
		fields, err := rawjson.ScanObject(body, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &Call{Op: Chat, Body: body, Fields: fields, Stream: stream}
	}
	for i := range 2 {
		res, err := u.Do(call(false))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !strings.Contains(string(res.Body), "over tls") || res.Usage.Output == 0 {
			t.Errorf("call %d: answer %s, usage %+v", i, res.Body, res.Usage)
		}
		res.Release()
	}
	s, err := u.Stream(call(true))
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for {
		chunk, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		text.Write(chunk)
	}
	s.Close()
	if !strings.Contains(text.String(), `"finish_reason":"stop"`) || s.Usage().Output == 0 {
		t.Errorf("stream: %s, usage %+v", text.String(), s.Usage())
	}
	if got := string(up.Last().Body); !strings.Contains(got, `"model":"gpt-x"`) {
		t.Errorf("upstream was asked %s", got)
	}
	if n := up.Conns(); n != 1 {
		t.Errorf("%d connections for three calls in a row, want 1", n)
	}

	// An upstream whose certificate the roots do not vouch for is refused, with the reason.
	strict := NewPool()
	strict.RootCAs = x509.NewCertPool()
	u, err = strict.Upstream(m, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Do(call(false)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted upstream: %v", err)
	}
}

// testCert returns the standard library's test certificate (127.0.0.1, localhost), taken from an
// HTTPS test server that never serves, and roots that vouch for it.
func testCert() (tls.Certificate, *x509.CertPool) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	defer ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return ts.TLS.Certificates[0], roots
}

// closingUpstream is an OpenAI-style upstream that answers one chat call per connection and then
// closes it, as servers close kept-alive connections: without a "Connection: close" header, at
// once or after a pause (idle), with a FIN or a reset; over TLS when cert is not nil.
func closingUpstream(t *testing.T, idle time.Duration, reset bool, cert *tls.Certificate) (url string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	url = "http://" + ln.Addr().String() + "/v1"
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}})
		url = "https" + url[4:]
	}
	conns = new(atomic.Int64)
	answer := `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				length := 0
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
						length, _ = strconv.Atoi(strings.TrimSpace(v))
					}
					if line == "\r\n" {
						break
					}
				}
				if _, err := io.CopyN(io.Discard, r, int64(length)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
					strconv.Itoa(len(answer))+"\r\n\r\n"+answer)
				time.Sleep(idle)
				if reset {
					tcp := c
					if tc, ok := c.(*tls.Conn); ok {
						tcp = tc.NetConn()
					}
					tcp.(*net.TCPConn).SetLinger(0)
				}
			}()
		}
	}()
	return url, conns
}

// A kept-alive connection the upstream has closed is found closed on the next call, which goes
// again on a new connection: the caller sees the answer, not the stale connection.
func TestStaleKeptAliveConnections(t *testing.T) {
	cert, roots := testCert()
	cases := []struct {
		name  string
		idle  time.Duration
		reset bool
		pause time.Duration // between calls
	}{
		{"closed at once", 0, false, 0},
		{"closed when idle", 20 * time.Millisecond, false, 80 * time.Millisecond},
		{"reset when idle", 20 * time.Millisecond, true, 80 * time.Millisecond},
	}
	for _, tc := range cases {
		for _, overTLS := range []bool{false, true} {
			name := tc.name
			if overTLS {
				name += " over TLS"
			}
			t.Run(name, func(t *testing.T) {
				var c *tls.Certificate
				if overTLS {
					c = &cert
				}
				url, conns := closingUpstream(t, tc.idle, tc.reset, c)
				staleConnections(t, url, conns, roots, tc.pause)
			})
		}
	}
}

// staleConnections makes five calls to url, pause apart, and checks that each one is answered
// on a connection of its own.
func staleConnections(t *testing.T, url string, conns *atomic.Int64, roots *x509.CertPool, pause time.Duration) {
	t.Helper()
	m := &spec.Model{ID: "m", Provider: "openai", Endpoint: url, TimeoutMs: 10000}
	pool := NewPool()
	pool.RootCAs = roots
	u, err := pool.Upstream(m, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	fields, err := rawjson.ScanObject(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	const calls = 5
	for i := range calls {
		res, err := u.Do(&Call{Op: Chat, Body: body, Fields: fields})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !strings.Contains(string(res.Body), "hello") {
			t.Fatalf("call %d: %s", i, res.Body)
		}
		res.Release()
		time.Sleep(pause)
	}
	if n := conns.Load(); n != calls {
		t.Errorf("%d connections for %d calls, want one each", n, calls)
	}
}

// The package reads and writes its connections through the net package only: no raw system
// calls, no unsafe, in its code or in its tests (nor in the deadline package under them).
func TestPlainSockets(t *testing.T) {
	for _, dir := range []string{".", "../deadline"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, name := range files {
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				switch p, _ := strconv.Unquote(imp.Path.Value); p {
				case "unsafe", "syscall/js", "golang.org/x/sys/unix", "github.com/iomhq/iom/internal/rawsock":
					t.Errorf("%s imports %s", name, p)
				}
			}
		}
	}
}
