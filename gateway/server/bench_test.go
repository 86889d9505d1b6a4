package server_test

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

var benchChat = []byte(`{"model":"bench","messages":[{"role":"system","content":"You are a concise assistant."},` +
	`{"role":"user","content":"Summarise the plot of a short story about a fox and a dog in one sentence, please."}],"temperature":0.2}`)

var benchAnswer = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},` +
	`"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":10,"total_tokens":34}}`)

func serve(b *testing.B, h fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// BenchmarkChatCompletion compares one sequential chat completion sent straight to an upstream,
// through a bare fasthttp proxy, and through the gateway: gateway minus proxy is what our own
// logic costs per request (key check, parsing, routing, rewriting, usage, metrics, the record).
func BenchmarkChatCompletion(b *testing.B) {
	upstream := serve(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(benchAnswer)
	})
	hc := &fasthttp.HostClient{Addr: upstream}
	proxy := serve(b, func(ctx *fasthttp.RequestCtx) {
		if err := hc.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error(err.Error(), 502)
		}
	})
	g := gt.Start(b, "", `log:
  level: error
models:
  - id: bench
    name: Bench
    endpoint: http://`+upstream+`/v1/chat/completions
    provider: openai
    costPerToken: 0.000001
`)
	for _, target := range []struct{ name, addr string }{{"direct", upstream}, {"proxy", proxy}, {"gateway", g.DataAddr()}} {
		b.Run(target.name, func(b *testing.B) {
			c := &fasthttp.HostClient{Addr: target.addr}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + target.addr + "/v1/chat/completions")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("Authorization", "Bearer "+gt.Key)
			req.SetBody(benchChat)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body())
				}
			}
		})
	}
}

// BenchmarkStream is BenchmarkChatCompletion for a 20-chunk stream, read to its end.
func BenchmarkStream(b *testing.B) {
	var chunks [][]byte
	for i := range 20 {
		chunks = append(chunks, []byte(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench","choices":[{"index":0,"delta":{"content":"tok`+strconv.Itoa(i)+` "},"finish_reason":null}]}`+"\n\n"))
	}
	upstream := serve(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/event-stream")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for _, c := range chunks {
				w.Write(c)
				w.Flush()
			}
			w.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n")
			w.WriteString(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"bench","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":20,"total_tokens":25}}` + "\n\n")
			w.WriteString("data: [DONE]\n\n")
			w.Flush()
		})
	})
	g := gt.Start(b, "", `log:
  level: error
models:
  - id: bench
    name: Bench
    endpoint: http://`+upstream+`/v1
    provider: openai
`)
	body := []byte(`{"model":"bench","stream":true,"messages":[{"role":"user","content":"Count to twenty."}]}`)
	for _, target := range []struct{ name, addr string }{{"direct", upstream}, {"gateway", g.DataAddr()}} {
		b.Run(target.name, func(b *testing.B) {
			c := &fasthttp.HostClient{Addr: target.addr, StreamResponseBody: true}
			req := fasthttp.AcquireRequest()
			req.SetRequestURI("http://" + target.addr + "/v1/chat/completions")
			req.Header.SetMethod("POST")
			req.Header.Set("Authorization", "Bearer "+gt.Key)
			req.SetBody(body)
			buf := make([]byte, 64<<10)
			b.ReportAllocs()
			for b.Loop() {
				resp := fasthttp.AcquireResponse()
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("%v %d", err, resp.StatusCode())
				}
				var got []byte
				r := resp.BodyStream()
				for {
					n, err := r.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				if !bytes.HasSuffix(got, []byte("data: [DONE]\n\n")) {
					b.Fatalf("stream %q", got)
				}
				resp.CloseBodyStream()
				fasthttp.ReleaseResponse(resp)
			}
		})
	}
}

// BenchmarkTelemetry is BenchmarkChatCompletion's gateway row with traces off (the default: a
// trace id for each request and its upstream call, no span) and on (every request sampled, its
// server and client spans exported over OTLP/HTTP to a collector that accepts and drops them).
func BenchmarkTelemetry(b *testing.B) {
	upstream := serve(b, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(benchAnswer)
	})
	var exported atomic.Int64
	collector := serve(b, func(ctx *fasthttp.RequestCtx) {
		exported.Add(1)
		ctx.SetContentType("application/x-protobuf") // an empty ExportTraceServiceResponse
	})
	model := `
log:
  level: error
models:
  - id: bench
    name: Bench
    endpoint: http://` + upstream + `/v1/chat/completions
    provider: openai
    costPerToken: 0.000001
`
	for _, target := range []struct{ name, telemetry string }{
		{"off", ""},
		{"on", "telemetry: {enabled: true, sampling: 1, otlp: {protocol: http, endpoint: \"http://" + collector + "\"}}\n"},
	} {
		b.Run(target.name, func(b *testing.B) {
			g := gt.Start(b, "", target.telemetry+model)
			c := &fasthttp.HostClient{Addr: g.DataAddr()}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI("http://" + g.DataAddr() + "/v1/chat/completions")
			req.Header.SetMethod("POST")
			req.Header.SetContentType("application/json")
			req.Header.Set("Authorization", "Bearer "+gt.Key)
			req.SetBody(benchChat)
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 || len(resp.Header.Peek("X-Iom-Trace-Id")) != 32 {
					b.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body())
				}
			}
		})
	}
	if exported.Load() == 0 {
		b.Fatal("no span reached the collector")
	}
}
