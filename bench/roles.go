package main

import (
	"bufio"
	"bytes"
	"fmt"
	"log"
	"net"

	"github.com/valyala/fasthttp"
)

// The bench runs its upstream and its bare proxy as child processes of its own binary, so the
// loader, the upstream, the proxies and the gateway each have a process (and CPU accounting) of
// their own.

// chatBody is the mock's answer to a chat completion.
var chatBody = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},` +
	`"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":10,"total_tokens":34}}`)

const streamChunks = 20

func chunk(i int) string {
	return fmt.Sprintf(`{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench",`+
		`"choices":[{"index":0,"delta":{"content":"tok%02d "},"finish_reason":null}]}`, i)
}

// runMock serves a minimal, fast OpenAI chat endpoint: a fixed answer, or a 20-chunk stream
// (plus the usage chunk when asked for it).
func runMock(addr string) {
	var chunks [][]byte
	for i := range streamChunks {
		chunks = append(chunks, []byte("data: "+chunk(i)+"\n\n"))
	}
	final := []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
	usage := []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench","choices":[],"usage":{"prompt_tokens":24,"completion_tokens":20,"total_tokens":44}}` + "\n\n")
	done := []byte("data: [DONE]\n\n")
	srv := &fasthttp.Server{Name: "mock", NoDefaultServerHeader: true, Handler: func(ctx *fasthttp.RequestCtx) {
		body := ctx.PostBody()
		if bytes.Contains(body, []byte(`"model":"fail"`)) {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString(`{"error":{"message":"overloaded","type":"server_error","code":null,"param":null}}`)
			return
		}
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			ctx.SetContentType("application/json")
			ctx.SetBody(chatBody)
			return
		}
		withUsage := bytes.Contains(body, []byte(`"include_usage":true`))
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for _, c := range chunks {
				w.Write(c)
				if w.Flush() != nil {
					return
				}
			}
			w.Write(final)
			if withUsage {
				w.Write(usage)
			}
			w.Write(done)
			w.Flush()
		})
	}}
	log.Fatal(srv.ListenAndServe(addr))
}

// runProxy is the floor: a bare fasthttp reverse proxy of a few lines, relaying streams as they
// come. Whatever the gateway costs above it is our own logic.
func runProxy(addr, upstream string) {
	hc := &fasthttp.HostClient{Addr: upstream, MaxConns: 4096}
	srv := &fasthttp.Server{Name: "proxy", NoDefaultServerHeader: true, Handler: func(ctx *fasthttp.RequestCtx) {
		if !bytes.Contains(ctx.PostBody(), []byte(`"stream":true`)) {
			if err := hc.Do(&ctx.Request, &ctx.Response); err != nil {
				ctx.Error(err.Error(), fasthttp.StatusBadGateway)
			}
			return
		}
		resp := fasthttp.AcquireResponse()
		resp.StreamBody = true
		if err := hc.Do(&ctx.Request, resp); err != nil {
			fasthttp.ReleaseResponse(resp)
			ctx.Error(err.Error(), fasthttp.StatusBadGateway)
			return
		}
		resp.Header.CopyTo(&ctx.Response.Header)
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			defer fasthttp.ReleaseResponse(resp)
			defer resp.CloseBodyStream()
			buf := make([]byte, 16<<10)
			r := resp.BodyStream()
			for {
				n, err := r.Read(buf)
				if n > 0 {
					w.Write(buf[:n])
					if w.Flush() != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}}
	log.Fatal(srv.ListenAndServe(addr))
}

func freePort() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("cannot find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
