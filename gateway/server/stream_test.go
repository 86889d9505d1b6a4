package server_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// A streaming client that disconnects ends the upstream call within 100 ms of the next event,
// and frees the model's concurrency slot at once.
func TestStreamClientDisconnectCancelsUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan time.Time, 4)
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		n := 500 // 10 s at most
		if strings.Contains(string(ctx.PostBody()), "short") {
			n = 2
		}
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			defer func() { ended <- time.Now() }()
			for i := range n {
				fmt.Fprintf(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"w%d "},"finish_reason":null}]}`+"\n\n", i)
				if w.Flush() != nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
		})
	}}
	go up.Serve(ln)
	t.Cleanup(func() { up.Shutdown() })
	g := gt.Start(t, "", `models:
  - id: slow
    name: Slow
    endpoint: http://`+ln.Addr().String()+`/v1
    provider: openai
    concurrency: {max: 1, queue: 0}
`)
	c := streamUntil(t, g.DataAddr(), "slow", "data: ")
	closed := time.Now()
	c.Close()
	select {
	case at := <-ended:
		if d := at.Sub(closed); d > 100*time.Millisecond+20*time.Millisecond {
			t.Fatalf("the upstream call ended %v after the client left", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream call went on after the client left")
	}
	// The slot is free: a plain call of the same model (max 1, no queue) is served, not refused.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"slow","stream":true,"messages":[{"role":"user","content":"short"}]}`)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the model's slot was not freed: %d %s", r.Status, r.Body)
		}
	}
}

// Events go out as soon as they are whole, although the upstream has already sent part of the
// next one: the part is not a reason to wait.
func TestStreamEventNotHeldForAPartialOne(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			ev := `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}`
			fmt.Fprintf(w, "data: "+ev+"\n\ndata: "+ev+"\n\ndata: "+ev[:20], "one", "two")
			w.Flush()
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			fmt.Fprintf(w, ev[20:]+"\n\ndata: [DONE]\n\n", "three")
			w.Flush()
		})
	}}
	go up.Serve(ln)
	t.Cleanup(func() { up.Shutdown() })
	g := gt.Start(t, "", `models:
  - id: halting
    name: Halting
    endpoint: http://`+ln.Addr().String()+`/v1
    provider: openai
`)
	start := time.Now()
	c := streamUntil(t, g.DataAddr(), "halting", `"two"`)
	defer c.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the second event took %v: it waited for the rest of the third", d)
	}
	close(release)
}

// streamUntil asks the gateway at addr for a streamed chat answer of model on a connection of
// its own, and reads it until a line that contains want; it returns the connection, open.
func streamUntil(t *testing.T, addr, model, want string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"` + model + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		gt.Key, len(body), body)
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			t.Fatalf("no line with %s: %v", want, err)
		}
		if strings.Contains(line, want) {
			return c
		}
	}
}
