package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const clientParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func header(traceparent, tracestate string) *fasthttp.RequestHeader {
	var h fasthttp.RequestHeader
	if traceparent != "" {
		h.Set("traceparent", traceparent)
	}
	if tracestate != "" {
		h.Set("tracestate", tracestate)
	}
	return &h
}

// Off (a nil tracer), a request gets the client's trace or a new random one, sampled, and no
// span: children are no-ops that leave the context as it is.
func TestStartRequestWithExportOff(t *testing.T) {
	var off *Tracer
	ctx, span := off.StartRequest(context.Background(), header(clientParent, "k=v"), "")
	if span.Recording() || TraceID(ctx) != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("continued: recording %v, trace %q", span.Recording(), TraceID(ctx))
	}
	var up fasthttp.RequestHeader
	Inject(ctx, &up)
	if got := string(up.Peek("traceparent")); got != clientParent || string(up.Peek("tracestate")) != "k=v" {
		t.Fatalf("upstream traceparent %q tracestate %q", got, up.Peek("tracestate"))
	}
	if tp, ts := Headers(ctx); tp != clientParent || ts != "k=v" {
		t.Fatalf("plugin headers %q %q", tp, ts)
	}
	child, s := Start(ctx, Client, "chat", "gpt")
	if s.Recording() || child != ctx {
		t.Fatal("a child of a span that does not record must be a no-op")
	}

	seen := map[string]bool{}
	for _, bad := range []string{"", "00-zz-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"} {
		ctx, _ := off.StartRequest(context.Background(), header(bad, ""), "")
		id := TraceID(ctx)
		if len(id) != 32 || id == strings.Repeat("0", 32) || id == "4bf92f3577b34da6a3ce929d0e0e4736" || seen[id] {
			t.Fatalf("traceparent %q: new trace id %q", bad, id)
		}
		seen[id] = true
		var up fasthttp.RequestHeader
		Inject(ctx, &up)
		if tp := string(up.Peek("traceparent")); !strings.HasPrefix(tp, "00-"+id+"-") || !strings.HasSuffix(tp, "-01") {
			t.Fatalf("traceparent %q: upstream got %q", bad, tp)
		}
	}
	// A context without a trace (an admin call) sends none.
	var none fasthttp.RequestHeader
	Inject(context.Background(), &none)
	if len(none.Peek("traceparent")) != 0 || TraceID(context.Background()) != "" || TraceID(nil) != "" {
		t.Fatal("no trace, no traceparent")
	}
}

// On, the request's span records, its children are its own, and the upstream's traceparent names
// the child; the spans reach the collector by Shutdown.
func TestStartRequestWithExportOn(t *testing.T) {
	var posts atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" && r.Header.Get("X-Token") == "secret-0" {
			posts.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	tr, err := New(context.Background(), Settings{Enabled: true, Endpoint: collector.URL, Protocol: "http",
		Headers: map[string]string{"X-Token": "secret-0"}, Sampling: new(1.0)})
	if err != nil || tr == nil {
		t.Fatalf("New: %v %v", tr, err)
	}
	ctx, span := tr.StartRequest(context.Background(), header(clientParent, ""), "POST /v1/chat/completions")
	if !span.Recording() || TraceID(ctx) != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("server span: recording %v, trace %q", span.Recording(), TraceID(ctx))
	}
	child, attempt := Start(ctx, Client, "chat", "gpt")
	if !attempt.Recording() {
		t.Fatal("the attempt's span must record")
	}
	attempt.SetCall(Call{Op: "chat", RequestModel: "gpt", InputTokens: 3, OutputTokens: 4, CostUSD: 0.1})
	var up fasthttp.RequestHeader
	Inject(child, &up)
	tp := string(up.Peek("traceparent"))
	if !strings.HasPrefix(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || tp == clientParent {
		t.Fatalf("the upstream's traceparent %q must name the attempt's span", tp)
	}
	attempt.End()
	span.End()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Fatal("no export reached the collector")
	}
}

func TestNewRefusesWhatItCannotExport(t *testing.T) {
	if tr, err := New(context.Background(), Settings{}); tr != nil || err != nil {
		t.Fatalf("off: %v %v", tr, err)
	}
	if _, err := New(context.Background(), Settings{Enabled: true, Protocol: "thrift"}); err == nil ||
		err.Error() != `telemetry.otlp.protocol: "thrift" is not one of grpc, http` {
		t.Fatalf("protocol: %v", err)
	}
	if _, err := New(context.Background(), Settings{Enabled: true, Endpoint: "127.0.0.1:4317"}); err == nil {
		t.Fatal("an endpoint that is not a URL must be refused")
	}
}

func TestOperation(t *testing.T) {
	for op, want := range map[string]string{"chat": "chat", "messages": "chat", "completion": "text_completion",
		"embedding": "embeddings", "invoke": "invoke"} {
		if got := Operation(op); got != want {
			t.Errorf("Operation(%q) = %q, want %q", op, got, want)
		}
	}
}
