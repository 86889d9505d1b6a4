package provider

import (
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/internal/fakeupstream"
)

// TestHTTPSUpstream calls an upstream over TLS, plain and streamed, on one kept-alive
// connection: the client's dialer shakes hands itself, and fasthttp must take that connection as
// it is (a second handshake inside the first would fail every call).
func TestHTTPSUpstream(t *testing.T) {
	// The standard library's test certificate (127.0.0.1, localhost), taken from an HTTPS test
	// server that never serves.
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert, roots := ts.TLS.Certificates[0], x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	ts.Close()

	up, err := fakeupstream.StartOpenAITLS(cert)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	if !strings.HasPrefix(up.URL, "https://") {
		t.Fatalf("fake URL %q", up.URL)
	}
	m := &registry.Model{ID: "m", Provider: "openai", Endpoint: up.URL, UpstreamModel: "gpt-x"}

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

// The dial runs on a goroutine of its own: the caller's stack does not grow (a goroutine's first
// stack is 2 KiB, and the net package's dial path alone is deeper). A stack that grows is copied
// elsewhere, which moves the address of a variable on it.
func TestDialKeepsTheCallersStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation deepens every stack")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	type result struct {
		moved bool
		err   error
	}
	done := make(chan result)
	go func() { // a fresh goroutine, with the smallest stack
		var marker byte
		before := uintptr(unsafe.Pointer(&marker))
		conn, err := dialer{}.dial(ln.Addr().String())
		if err == nil {
			conn.Close()
		}
		done <- result{uintptr(unsafe.Pointer(&marker)) != before, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.moved {
		t.Error("the caller's stack grew during the dial")
	}
}
