package fakeupstream

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// fake is what the fakes of Azure, Gemini and Bedrock share: a server on a free port of
// 127.0.0.1 and the requests it received.
type fake struct {
	srv      *fasthttp.Server
	n        atomic.Int64
	mu       sync.Mutex
	received []Received
}

// start serves h on a free port and returns the base URL.
func (f *fake) start(name string, h fasthttp.RequestHandler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	f.srv = &fasthttp.Server{Handler: h, Name: name, NoDefaultServerHeader: true}
	go f.srv.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// Close stops the fake.
func (f *fake) Close() { f.srv.Shutdown() }

// Last returns the last request received (its Path is the request URI, query included).
func (f *fake) Last() Received {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.received) == 0 {
		return Received{}
	}
	return f.received[len(f.received)-1]
}

// Count is the number of requests received.
func (f *fake) Count() int64 { return f.n.Load() }

// receive keeps the request of ctx and returns it with its number, counting from 1.
func (f *fake) receive(ctx *fasthttp.RequestCtx) (Received, int64) {
	r := Received{Path: string(ctx.RequestURI()), Authorization: string(ctx.Request.Header.Peek("Authorization")),
		Body: append([]byte(nil), ctx.PostBody()...), Header: map[string]string{}}
	ctx.Request.Header.VisitAll(func(k, v []byte) { r.Header[strings.ToLower(string(k))] = string(v) })
	n := f.n.Add(1)
	f.mu.Lock()
	f.received = append(f.received, r)
	f.mu.Unlock()
	return r, n
}
