package provider

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
)

type serveFunc = func(c net.Conn, req *http.Request, content string) bool

// rawUpstream is an OpenAI-style upstream written on TCP directly, so that a test can have it
// misbehave as servers do: close, restart, hang, answer more than asked. serve answers one
// request on a connection and reports whether to read the next one; the default answers a chat
// completion whose content is the request's last message.
type rawUpstream struct {
	t     testing.TB
	addr  string
	serve atomic.Pointer[serveFunc]

	conns    atomic.Int64 // connections accepted
	requests atomic.Int64 // requests read whole
	closed   atomic.Int64 // connections ended

	mu   sync.Mutex
	ln   net.Listener
	open map[net.Conn]bool
}

func startRaw(t testing.TB) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{t: t, addr: ln.Addr().String(), open: map[net.Conn]bool{}}
	u.set(func(c net.Conn, _ *http.Request, content string) bool {
		return answer(c, chatAnswer(content)) == nil
	})
	u.listen(ln)
	t.Cleanup(func() { u.stop() })
	return u
}

func (u *rawUpstream) listen(ln net.Listener) {
	u.mu.Lock()
	u.ln = ln
	u.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns.Add(1)
			u.mu.Lock()
			u.open[c] = true
			u.mu.Unlock()
			go u.handle(c)
		}
	}()
}

func (u *rawUpstream) handle(c net.Conn) {
	defer func() {
		c.Close()
		u.mu.Lock()
		delete(u.open, c)
		u.mu.Unlock()
		u.closed.Add(1)
	}()
	r := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(r)
		if err != nil {
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return
		}
		u.requests.Add(1)
		if !u.get()(c, req, lastContent(body)) {
			return
		}
	}
}

func (u *rawUpstream) set(f serveFunc) { u.serve.Store(&f) }
func (u *rawUpstream) get() serveFunc  { return *u.serve.Load() }

// stop closes the listener and every connection, as an upstream that exits.
func (u *rawUpstream) stop() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ln.Close()
	for c := range u.open {
		c.Close()
	}
}

// restart stops the upstream and listens again on the same address.
func (u *rawUpstream) restart() {
	u.t.Helper()
	u.stop()
	ln, err := net.Listen("tcp", u.addr)
	if err != nil {
		u.t.Fatal(err)
	}
	u.listen(ln)
}

func (u *rawUpstream) endpoint() string { return "http://" + u.addr + "/v1" }

func (u *rawUpstream) model(timeout time.Duration) *spec.Model {
	return &spec.Model{ID: "m", Provider: "openai", Endpoint: u.endpoint(), UpstreamModel: "up",
		TimeoutMs: int(timeout / time.Millisecond)}
}

// answer writes a 200 answer with a JSON body.
func answer(c net.Conn, body string) error {
	_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
	return err
}

func chatAnswer(content string) string {
	b, _ := json.Marshal(content)
	return `{"id":"c","object":"chat.completion","created":1,"model":"up","choices":[{"index":0,` +
		`"message":{"role":"assistant","content":` + string(b) + `},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
}

func lastContent(body []byte) string {
	var req struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.Messages) == 0 {
		return ""
	}
	return req.Messages[len(req.Messages)-1].Content
}

// chat makes a chat call whose message is content.
func chat(t testing.TB, content string, stream bool) *Call {
	t.Helper()
	body := []byte(`{"model":"m","messages":[{"role":"user","content":` + strconv.Quote(content) +
		`}],"stream":` + strconv.FormatBool(stream) + `}`)
	fields, err := rawjson.ScanObject(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Call{Op: Chat, Body: body, Fields: fields, Stream: stream}
}

func upstreamOf(t testing.TB, m *spec.Model) *Upstream {
	t.Helper()
	u, err := NewPool().Upstream(m, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ask makes a plain call and returns the answer's content.
func ask(u *Upstream, content string, t testing.TB) (string, error) {
	res, err := u.Do(chat(t, content, false))
	if err != nil {
		return "", err
	}
	defer res.Release()
	var out struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(res.Body, &out); err != nil || len(out.Choices) == 0 {
		return "", errors.New("answer is not a chat completion: " + string(res.Body))
	}
	return out.Choices[0].Message.Content, nil
}

// settled checks that the pool holds no connection for a call: every one was returned or closed.
func settled(t *testing.T, u *Upstream) {
	t.Helper()
	if n, idle := u.client.ConnsCount(), u.client.IdleConnsCount(); n != idle {
		t.Errorf("%d connections counted, %d of them idle: one was neither returned nor closed", n, idle)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, cond func() bool) bool {
	t.Helper()
	for end := time.Now().Add(within); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// holdUntil makes the upstream hold each answer until n requests are in flight, so that n
// concurrent calls leave n connections in the pool.
func holdUntil(u *rawUpstream, n int64) (release func()) {
	all := make(chan struct{})
	var waiting atomic.Int64
	serve := u.get()
	u.set(func(c net.Conn, req *http.Request, content string) bool {
		if waiting.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
		return serve(c, req, content)
	})
	return func() { u.set(serve) }
}

// concurrently runs f n times at once and returns the first error.
func concurrently(n int, f func(i int) error) error {
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- f(i) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// fillPool makes n concurrent calls, which leave n kept-alive connections in the pool.
func fillPool(t *testing.T, raw *rawUpstream, u *Upstream, n int) {
	t.Helper()
	done := holdUntil(raw, int64(n))
	err := concurrently(n, func(i int) error {
		want := "warm " + strconv.Itoa(i)
		got, err := ask(u, want, t)
		if err == nil && got != want {
			err = errors.New("answer " + got + " to " + want)
		}
		return err
	})
	done()
	if err != nil {
		t.Fatal(err)
	}
	if got := u.client.IdleConnsCount(); got != n {
		t.Fatalf("%d connections in the pool after %d concurrent calls", got, n)
	}
}

// callsSucceed makes n calls in a row, then n at once, each of which must get its own answer.
func callsSucceed(t *testing.T, u *Upstream, n int) {
	t.Helper()
	call := func(i int) error {
		want := "call " + strconv.Itoa(i)
		got, err := ask(u, want, t)
		if err == nil && got != want {
			err = errors.New("answer " + got + " to " + want)
		}
		return err
	}
	for i := range n {
		if err := call(i); err != nil {
			t.Fatalf("call %d in a row: %v", i, err)
		}
	}
	if err := concurrently(n, func(i int) error { return call(n + i) }); err != nil {
		t.Fatalf("concurrent call: %v", err)
	}
}

// An upstream that restarts closes every kept-alive connection in the pool. The calls after it
// find them stale, and go on new connections without failing, one at a time or all at once.
func TestUpstreamRestart(t *testing.T) {
	const n = 8
	raw := startRaw(t)
	u := upstreamOf(t, raw.model(10*time.Second))
	fillPool(t, raw, u, n)
	raw.restart()
	callsSucceed(t, u, n)

	fillPool(t, raw, u, n)
	raw.restart()
	if err := concurrently(n, func(i int) error {
		want := "after the second restart " + strconv.Itoa(i)
		got, err := ask(u, want, t)
		if err == nil && got != want {
			err = errors.New("answer " + got + " to " + want)
		}
		return err
	}); err != nil {
		t.Fatalf("concurrent calls after a restart: %v", err)
	}
	settled(t, u)
}

// An upstream whose keep-alive is shorter than the pool's closes the idle connections; calls
// after the pause go on new ones.
func TestUpstreamKeepAliveRunsOut(t *testing.T) {
	const n = 4
	raw := startRaw(t)
	serve := raw.get()
	raw.set(func(c net.Conn, req *http.Request, content string) bool {
		if !serve(c, req, content) {
			return false
		}
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)) // the upstream's keep-alive
		return true
	})
	u := upstreamOf(t, raw.model(10*time.Second))
	fillPool(t, raw, u, n)
	if !eventually(t, 2*time.Second, func() bool { return raw.closed.Load() == n }) {
		t.Fatalf("the upstream closed %d of %d idle connections", raw.closed.Load(), n)
	}
	callsSucceed(t, u, n)
	settled(t, u)
}

// A request that reached the upstream is not sent again: an upstream that reads it whole and
// closes the connection without answering sees it once, and the fault says not to retry.
func TestDeliveredRequestIsNotRetried(t *testing.T) {
	raw := startRaw(t)
	raw.set(func(net.Conn, *http.Request, string) bool { return false })
	u := upstreamOf(t, raw.model(10*time.Second))
	const calls = 3
	for i := range calls {
		_, err := ask(u, "once", t)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Retryable() {
			t.Fatalf("call %d: %v is retryable, or not a fault", i, err)
		}
	}
	if got := raw.requests.Load(); got != calls {
		t.Errorf("the upstream got %d requests for %d calls", got, calls)
	}
	settled(t, u)
}

// A refused connection sent nothing: it may be retried.
func TestRefusedIsRetryable(t *testing.T) {
	raw := startRaw(t)
	raw.stop()
	u := upstreamOf(t, raw.model(10*time.Second))
	_, err := ask(u, "anyone?", t)
	var fe *fault.Error
	if !errors.As(err, &fe) || !fe.Retryable() || !strings.Contains(fe.Message, "cannot reach upstream openai: connection refused") {
		t.Fatalf("refused: %v", err)
	}
}

// An upstream that takes the request and never answers times out once, after the model's
// timeout, and the fault says not to retry (it may be running the request still).
func TestHangingUpstreamIsNotRetried(t *testing.T) {
	raw := startRaw(t)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	raw.set(func(net.Conn, *http.Request, string) bool { <-hold; return false })
	u := upstreamOf(t, raw.model(300*time.Millisecond))
	t0 := time.Now()
	_, err := ask(u, "hello?", t)
	took := time.Since(t0)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != "upstream_timeout" || fe.Retryable() {
		t.Fatalf("hanging upstream: %v (%+v)", err, fe)
	}
	if took > 2*time.Second {
		t.Errorf("timed out after %s, want about 300ms", took)
	}
	if got := raw.requests.Load(); got != 1 {
		t.Errorf("the upstream got %d requests, want 1", got)
	}
}

// An upstream that writes past the end of its answer (a second answer, later or right after) has
// that taken for no request's answer: the connection is closed, and the next call gets the answer
// the upstream gives it. Both for a plain answer and for a stream.
func TestBytesPastTheAnswer(t *testing.T) {
	smuggled := chatAnswer("smuggled")
	cases := []struct {
		name   string
		stream bool
		later  time.Duration // between the answer and the bytes past it
	}{
		{"plain, later", false, 20 * time.Millisecond},
		{"streamed, later", true, 20 * time.Millisecond},
		{"plain, at once", false, 0},
		{"streamed, at once", true, 0},
	}
	for _, tc := range cases {
		stream := tc.stream
		t.Run(tc.name, func(t *testing.T) {
			raw := startRaw(t)
			var served atomic.Bool
			wrote := make(chan struct{})
			raw.set(func(c net.Conn, req *http.Request, content string) bool {
				if served.Swap(true) {
					return answer(c, chatAnswer(content)) == nil
				}
				if stream {
					body := "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: "+
						strconv.Itoa(len(body))+"\r\n\r\n"+body)
				} else {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\nhi")
				}
				time.Sleep(tc.later)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
					strconv.Itoa(len(smuggled))+"\r\n\r\n"+smuggled)
				close(wrote)
				return true
			})
			u := upstreamOf(t, raw.model(10*time.Second))
			if stream {
				s, err := u.Stream(chat(t, "first", true))
				if err != nil {
					t.Fatal(err)
				}
				chunks, err := drain(t, s)
				if !errors.Is(err, io.EOF) || len(chunks) != 1 || !strings.Contains(chunks[0], `"hi"`) {
					t.Fatalf("first stream: %q, %v", chunks, err)
				}
			} else {
				res, err := u.Do(chat(t, "first", false))
				if err != nil {
					t.Fatal(err)
				}
				if string(res.Body) != "hi" {
					t.Fatalf("first call: %q", res.Body)
				}
				res.Release()
			}
			<-wrote
			// The connection is closed once the bytes are seen; wait for that, within reason.
			eventually(t, time.Second, func() bool { return raw.closed.Load() == 1 })
			got, err := ask(u, "second", t)
			if err != nil || got != "second" {
				t.Fatalf("second call: %q, %v", got, err)
			}
			settled(t, u)
		})
	}
}

// An upstream that keeps its connection alive, and answers as it should, keeps it: calls in a
// row, plain and streamed, take one connection.
func TestKeepAliveConnectionIsReused(t *testing.T) {
	raw := startRaw(t)
	serve := raw.get()
	raw.set(func(c net.Conn, req *http.Request, content string) bool {
		if !strings.Contains(req.Header.Get("Accept"), "event-stream") {
			return serve(c, req, content)
		}
		var b strings.Builder
		for _, ev := range []string{
			`{"choices":[{"delta":{"content":` + strconv.Quote(content) + `}}]}`,
			`{"choices":[{"delta":{},"finish_reason":"stop"}]}`,
			`{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
			`[DONE]`,
		} {
			chunk := "data: " + ev + "\n\n"
			b.WriteString(strconv.FormatInt(int64(len(chunk)), 16) + "\r\n" + chunk + "\r\n")
		}
		b.WriteString("0\r\n\r\n")
		_, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+b.String())
		return err == nil
	})
	u := upstreamOf(t, raw.model(10*time.Second))
	for i := range 6 {
		want := "in a row " + strconv.Itoa(i)
		if i%2 == 0 {
			if got, err := ask(u, want, t); err != nil || got != want {
				t.Fatalf("call %d: %q, %v", i, got, err)
			}
			continue
		}
		s, err := u.Stream(chat(t, want, true))
		if err != nil {
			t.Fatal(err)
		}
		chunks, err := drain(t, s)
		if !errors.Is(err, io.EOF) || len(chunks) != 2 || !strings.Contains(chunks[0], want) {
			t.Fatalf("stream %d: %q, %v", i, chunks, err)
		}
	}
	if n := raw.conns.Load(); n != 1 {
		t.Errorf("%d connections for six calls in a row, want 1", n)
	}
	settled(t, u)
}

// The defaults: a model call has a minute; an idle connection is closed before the common
// upstreams' five-second keep-alive closes it.
func TestDefaults(t *testing.T) {
	u := upstreamOf(t, &spec.Model{ID: "m", Provider: "openai", Endpoint: "http://127.0.0.1:1/v1"})
	if u.Timeout != time.Minute {
		t.Errorf("model timeout %s, want 1m", u.Timeout)
	}
	if d := u.client.MaxIdleConnDuration; d != 4*time.Second {
		t.Errorf("pooled connections idle for %s, want 4s (below upstreams' 5s keep-alive)", d)
	}
	if dialTimeout != 5*time.Second {
		t.Errorf("connect timeout %s, want 5s", dialTimeout)
	}
}

// BenchmarkKeptAliveCall is a plain call over a kept-alive connection: what exchange and the
// watch cost a call, beyond the upstream's time.
func BenchmarkKeptAliveCall(b *testing.B) {
	raw := startRaw(b)
	u := upstreamOf(b, raw.model(10*time.Second))
	call := chat(b, "bench", false)
	b.ReportAllocs()
	for b.Loop() {
		res, err := u.Do(call)
		if err != nil {
			b.Fatal(err)
		}
		res.Release()
	}
}

// OpenAI's usage details give the cached and reasoning parts, never more than their totals.
func TestParseUsageDetails(t *testing.T) {
	for body, want := range map[string]Usage{
		`{"usage":{"prompt_tokens":10,"completion_tokens":20}}`: {Input: 10, Output: 20},
		`{"usage":{"prompt_tokens":10,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},
			"completion_tokens_details":{"reasoning_tokens":12}}}`: {Input: 10, Output: 20, CachedInput: 4, Reasoning: 12},
		`{"usage":{"prompt_tokens":10,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":99},
			"completion_tokens_details":null}}`: {Input: 10, Output: 20, CachedInput: 10},
		`{"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":-3}}}`: {Input: 10},
	} {
		if got := ParseUsage([]byte(body)); got != want {
			t.Errorf("%s: %+v, want %+v", body, got, want)
		}
	}
}
