package server_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

const secretInRequest = "sk-secret-in-the-request-0123456789"

// rawAnswer sends raw on a new connection to addr and reads the one answer.
func rawAnswer(t *testing.T, addr, raw string) (int, string) {
	t.Helper()
	c := dialFrom(t, "", addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// A header of 12 KiB is read (fasthttp's default would refuse it), and one over
// server.maxHeaderBytes gets 431 with a fixed message.
func TestHeaderSize(t *testing.T) {
	g := gt.Start(t, "", "")
	big := strings.Repeat("b", 12<<10)
	for _, addr := range []string{g.DataAddr(), g.AdminAddr()} {
		path, key := "/v1/models", gt.Key
		if addr == g.AdminAddr() {
			path, key = "/api/status", gt.AdminToken
		}
		status, body := rawAnswer(t, addr, "GET "+path+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+key+
			"\r\nX-Big: "+big+"\r\n\r\n")
		if status != 200 {
			t.Fatalf("a 12 KiB header on %s: %d %s", addr, status, body)
		}
		huge := strings.Repeat("h", 20<<10)
		status, body = rawAnswer(t, addr, "GET "+path+"?token="+secretInRequest+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+
			secretInRequest+"\r\nX-Huge: "+huge+"\r\n\r\n")
		if status != 431 || errorCode(t, body) != "request_header_too_large" {
			t.Fatalf("a 20 KiB header on %s: %d %s", addr, status, body)
		}
		for _, leak := range []string{secretInRequest, "X-Huge", "hhhh", "Host", path} {
			if strings.Contains(body, leak) {
				t.Fatalf("the answer to a header too large quotes the request (%q): %s", leak, body)
			}
		}
	}
}

// Every answer to a request the gateway could not read is a fixed OpenAI error: it never quotes
// the request (its keys least of all), nor names a socket; neither does the log.
func TestReadErrorsNeverQuoteTheRequest(t *testing.T) {
	g := startServer(t, "  maxBodyBytes: 4096\n  maxHeaderBytes: 8192\n  readHeaderTimeoutMs: 300\n", "")
	auth := "Authorization: Bearer " + secretInRequest + "\r\n"
	cases := []struct {
		name, raw string
		status    int
		code      string
	}{
		{"a header value with a control byte", "GET /v1/models HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + secretInRequest + "\x01\r\n\r\n", 400, "invalid_request"},
		{"a broken request line", "GET /v1/models?key=" + secretInRequest + " HTTP/1.1 junk\r\nHost: gw\r\n" + auth + "\r\n", 400, "invalid_request"},
		{"a broken header line", "GET /v1/models HTTP/1.1\r\nHost: gw\r\n" + auth + "no colon " + secretInRequest + "\r\n\r\n", 400, "invalid_request"},
		{"a bad content length", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n" + auth + "Content-Length: x" + secretInRequest + "\r\n\r\n", 400, "invalid_request"},
		{"a bad chunk", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n" + auth + "Transfer-Encoding: chunked\r\n\r\nzz" + secretInRequest + "\r\n", 400, "invalid_request"},
		{"a header too large", "GET /v1/models HTTP/1.1\r\nHost: gw\r\n" + auth + "X-Pad: " + strings.Repeat("p", 9000) + "\r\n\r\n", 431, "request_header_too_large"},
		{"a body too large", "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n" + auth + "Content-Length: 5000\r\n\r\n" + strings.Repeat("b", 5000), 413, "request_too_large"},
		{"a header that stops arriving", "GET /v1/models HTTP/1.1\r\nHost: gw\r\n" + auth, 408, "request_timeout"},
	}
	for port, addr := range map[string]string{"data": g.DataAddr(), "admin": g.AdminAddr()} {
		for _, c := range cases {
			t.Run(port+"/"+c.name, func(t *testing.T) {
				status, body := rawAnswer(t, addr, c.raw)
				if status != c.status || errorCode(t, body) != c.code {
					t.Fatalf("%d %s, want %d %s", status, body, c.status, c.code)
				}
				for _, leak := range []string{secretInRequest, "127.0.0.1", "Bearer", "/v1/"} {
					if strings.Contains(body, leak) {
						t.Fatalf("the answer quotes the request or a socket (%q): %s", leak, body)
					}
				}
			})
		}
	}
	if strings.Contains(g.Logs(), secretInRequest) {
		t.Fatalf("the log quotes a key from a request:\n%s", g.Logs())
	}
}

// A call that fails at the upstream tells the client the model and the reason: not the
// upstream's address, nor the transport's error, in a plain answer, a stream's error event or
// the Messages API's error; the log has the details, without a query string or key.
func TestCallErrorsSayModelAndReasonOnly(t *testing.T) {
	f := startFake(t)
	f.Faults = func(_ int64, r *fakeupstream.Received) fakeupstream.Fault {
		if strings.Contains(string(r.Body), `"cut-upstream"`) {
			return fakeupstream.Fault{CutAfter: 1}
		}
		return fakeupstream.Fault{}
	}
	g := gt.Start(t, "", models(f, `  - id: dead
    name: Nothing listens here
    endpoint: http://127.0.0.1:1/v1?api_key=sk-in-the-endpoint-query-0000
    provider: openai
    retry: {attempts: 0}
  - id: cut
    name: Cut
    endpoint: `+f.URL+`
    provider: openai
    upstreamModel: cut-upstream
    retry: {attempts: 0}
`))
	leaks := []string{"127.0.0.1", "http://", "sk-in-the-endpoint-query", "dial", "tcp", "connection refused"}
	check := func(name, body string, want ...string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(body, l) {
				t.Fatalf("%s: the client is told %q: %s", name, l, body)
			}
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Fatalf("%s: the answer does not say %q: %s", name, w, body)
			}
		}
	}
	r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"dead","messages":[{"role":"user","content":"x"}]}`)
	if r.Status != 502 {
		t.Fatalf("dead upstream: %d %s", r.Status, r.Body)
	}
	check("chat", string(r.Body), `model \"dead\"`, "cannot reach upstream")
	r = g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"dead","stream":true,"messages":[{"role":"user","content":"x"}]}`)
	check("stream that cannot start", string(r.Body), `model \"dead\"`, "cannot reach upstream")
	r = g.Data("POST", "/v1/models/dead/invoke", gt.Key, `{"prompt":"x"}`)
	check("invoke", string(r.Body), `model \"dead\"`)
	r = g.Data("POST", "/v1/messages", gt.Key, `{"model":"dead","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`)
	check("messages", string(r.Body), `model \"dead\"`)
	r = g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"cut","stream":true,"messages":[{"role":"user","content":"one two three four"}]}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"error"`) {
		t.Fatalf("a cut stream should end in an error event: %d %s", r.Status, r.Body)
	}
	check("stream error event", string(r.Body), `model \"cut\"`)

	logs := g.Logs()
	if !strings.Contains(logs, "connection refused") {
		t.Fatalf("the log should have the details:\n%s", logs)
	}
	if strings.Contains(logs, "sk-in-the-endpoint-query") || strings.Contains(logs, gt.Key) {
		t.Fatalf("the log has a key:\n%s", logs)
	}
}

// An address that sends server.authFailures.limit wrong keys within the window gets 429 for the
// lockout, whatever it sends, on the data plane and the admin API alike; other addresses are
// not affected, and the address is served again when the lockout is over.
func TestAuthFailuresLockOut(t *testing.T) {
	g := startServer(t, "  authFailures: {limit: 3, windowMs: 60000, lockoutMs: 1500}\n", "")
	type port struct {
		name, addr, path, good string
	}
	for _, p := range []port{
		{"data", g.DataAddr(), "/v1/models", gt.Key},
		{"admin", g.AdminAddr(), "/api/status", gt.AdminToken},
	} {
		t.Run(p.name, func(t *testing.T) {
			send := func(from, key string) (int, http.Header, string) {
				t.Helper()
				c := dialFrom(t, from, p.addr)
				resp, body := ask(t, c, bufio.NewReader(c), "GET "+p.path+" HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+key+"\r\nConnection: close\r\n\r\n")
				c.Close()
				return resp.StatusCode, resp.Header, body
			}
			if s, _, b := send("127.0.0.1", p.good); s != 200 {
				t.Fatalf("a good key: %d %s", s, b)
			}
			for i := range 3 {
				if s, _, b := send("127.0.0.1", "wrong-key-"+strconv.Itoa(i)+"-0000000000"); s != 401 {
					t.Fatalf("wrong key %d: %d %s", i, s, b)
				}
				// Another address's success resets nothing.
				if s, _, _ := send("127.0.0.2", p.good); s != 200 {
					t.Fatalf("another address: %d", s)
				}
			}
			locked := time.Now()
			s, h, b := send("127.0.0.1", p.good)
			if s != 429 || errorCode(t, b) != "too_many_auth_failures" || h.Get("Retry-After") != "2" {
				t.Fatalf("after 3 failures, even a good key: %d %v %s", s, h, b)
			}
			if s, _, _ := send("127.0.0.2", p.good); s != 200 {
				t.Fatalf("another address during the lockout: %d", s)
			}
			gt.Eventually(t, 5*time.Second, "the lockout to end", func() bool {
				s, _, _ := send("127.0.0.1", p.good)
				return s == 200
			})
			if took := time.Since(locked); took < time.Second {
				t.Fatalf("the lockout ended after %v, want 1.5 s", took)
			}
		})
	}
	r := gt.Do(t, "GET", g.AdminURL+"/metrics", "", nil)
	for _, want := range []string{`iom_auth_failures_total{listener="data"} 3`, `iom_auth_lockouts_total{listener="data"} 1`,
		`iom_auth_failures_total{listener="admin"} 3`, `iom_auth_lockouts_total{listener="admin"} 1`} {
		if !strings.Contains(string(r.Body), want) {
			t.Fatalf("metrics lack %s:\n%s", want, r.Body)
		}
	}
}

// A client that stops reading a stream is cut off after server.writeTimeoutMs: the stream ends
// and its call is recorded, though the upstream would go on for long.
func TestStalledStreamReaderIsCut(t *testing.T) {
	chunk := `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"` +
		strings.Repeat("x", 32<<10) + `"},"finish_reason":null}]}` + "\n\n"
	upstream := serveStream(t, chunk, 4000) // 128 MB: far more than socket buffers hold
	g := startServer(t, "  writeTimeoutMs: 300\n", `models:
  - id: long
    name: Long
    endpoint: http://`+upstream+`/v1
    provider: openai
`)
	c := dialFrom(t, "", g.DataAddr())
	body := `{"model":"long","stream":true,"messages":[{"role":"user","content":"go on"}]}`
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+gt.Key+
		"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	id := resp.Header.Get("x-iom-request-id")
	// From here on the client reads nothing.
	stopped := time.Now()
	var rec map[string]any
	gt.Eventually(t, 5*time.Second, "the stalled stream to end and be recorded", func() bool {
		g.Flush()
		r := g.Admin("GET", "/api/executions/"+id, nil)
		if r.Status != 200 {
			return false
		}
		rec = r.JSON(t)
		return true
	})
	t.Logf("the stream ended and was recorded %v after the client stopped reading", time.Since(stopped).Round(time.Millisecond))
	if msg, _ := rec["error"].(string); rec["errorKind"] != "caller" || !strings.Contains(msg, "client closed") {
		t.Fatalf("the record of a stream whose client stopped reading: %v", rec)
	}
}

// serveStream starts an upstream whose chat completion streams chunk n times, as fast as it is
// read, and returns its address.
func serveStream(t *testing.T, chunk string, n int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for range n {
				if _, err := w.WriteString(chunk); err != nil || w.Flush() != nil {
					return
				}
			}
			w.WriteString("data: [DONE]\n\n")
			w.Flush()
		})
	}}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.ShutdownWithContext(ctx)
	})
	return ln.Addr().String()
}
