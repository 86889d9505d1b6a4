// Package telemetry owns the gateway's OpenTelemetry traces and is the one package that imports
// its SDK: the OTLP tracer provider, the W3C trace context of data-plane requests (continued from
// the client, passed to upstreams and process plugins), and spans with GenAI semantic-convention
// attributes. With export off a request still carries a trace id, but Start returns its parent's
// context and a no-op Span, so the call sites cost a branch.
package telemetry

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Settings are the telemetry block of the config (config.Telemetry), with headers revealed.
type Settings struct {
	Enabled     bool
	ServiceName string
	Endpoint    string // a URL; empty: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost
	Protocol    string // grpc or http; empty: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc
	Headers     map[string]string
	Sampling    *float64 // nil: OTEL_TRACES_SAMPLER, else every trace
	Content     bool
}

// Tracer starts the spans of data-plane requests. A nil *Tracer is valid: export is off, and
// StartRequest only sets up the request's trace context.
type Tracer struct {
	tp      *sdktrace.TracerProvider
	tracer  trace.Tracer
	content bool
}

// scope is the instrumentation scope of the gateway's spans.
const scope = "github.com/iomhq/iom/gateway"

// New returns the tracer s describes, or nil when s disables export. The exporter connects
// lazily: a collector that is down costs dropped spans, never a failed start.
func New(ctx context.Context, s Settings) (*Tracer, error) {
	if !s.Enabled {
		return nil, nil
	}
	exp, err := exporter(ctx, s)
	if err != nil {
		return nil, err
	}
	name := s.ServiceName
	if name == "" {
		name = os.Getenv("OTEL_SERVICE_NAME")
	}
	if name == "" {
		name = "iom"
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithAttributes(attribute.String("service.name", name)))
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	if s.Sampling != nil {
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*s.Sampling))))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracer{tp: tp, tracer: tp.Tracer(scope), content: s.Content}, nil
}

// exporter builds the OTLP exporter of s's protocol.
func exporter(ctx context.Context, s Settings) (sdktrace.SpanExporter, error) {
	protocol := s.Protocol
	if protocol == "" {
		protocol = cmp(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	var u *url.URL
	if s.Endpoint != "" {
		var err error
		if u, err = url.Parse(s.Endpoint); err != nil || u.Host == "" {
			return nil, fmt.Errorf("telemetry.otlp.endpoint: %q is not a URL", s.Endpoint)
		}
	}
	switch protocol {
	case "", "grpc":
		var opts []otlptracegrpc.Option
		if u != nil {
			opts = append(opts, otlptracegrpc.WithEndpoint(u.Host))
			if u.Scheme != "https" {
				opts = append(opts, otlptracegrpc.WithInsecure())
			}
		}
		if len(s.Headers) > 0 {
			opts = append(opts, otlptracegrpc.WithHeaders(s.Headers))
		}
		return otlptracegrpc.New(ctx, opts...)
	case "http", "http/protobuf":
		var opts []otlptracehttp.Option
		if u != nil {
			if u.Path == "" || u.Path == "/" {
				opts = append(opts, otlptracehttp.WithEndpoint(u.Host)) // the default path, /v1/traces
			} else {
				opts = append(opts, otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(u.Path))
			}
			if u.Scheme != "https" {
				opts = append(opts, otlptracehttp.WithInsecure())
			}
		}
		if len(s.Headers) > 0 {
			opts = append(opts, otlptracehttp.WithHeaders(s.Headers))
		}
		return otlptracehttp.New(ctx, opts...)
	}
	return nil, fmt.Errorf("telemetry.otlp.protocol: %q is not one of grpc, http", protocol)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Shutdown exports the spans still queued and stops the exporter, until ctx ends.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	err := t.tp.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("telemetry: spans still queued at the shutdown deadline were dropped: %w", err)
	}
	return err
}

// Content reports whether prompts and answers go on the spans (telemetry.content).
func (t *Tracer) Content() bool { return t != nil && t.content }

var traceContext propagation.TraceContext

// StartRequest starts the server span of a data-plane request, continuing the trace of the
// client's traceparent, if it sent a valid one. With export off it starts no span: the context
// carries the client's span context, or a new one with a random trace id, so that upstreams get
// a traceparent and the client an x-iom-trace-id all the same. A new trace's id is marked
// sampled, leaving the decision to record it to the services downstream.
func (t *Tracer) StartRequest(parent context.Context, h *fasthttp.RequestHeader, name string) (context.Context, Span) {
	ctx := parent
	if len(h.Peek("traceparent")) > 0 {
		ctx = traceContext.Extract(parent, requestCarrier{h})
	}
	if t == nil {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: randomTraceID(), SpanID: randomSpanID(), TraceFlags: trace.FlagsSampled}))
		}
		return ctx, Span{}
	}
	ctx, s := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
	return ctx, Span{s: s}
}

func randomTraceID() trace.TraceID {
	var id trace.TraceID
	for id == (trace.TraceID{}) {
		binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
		binary.LittleEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func randomSpanID() trace.SpanID {
	var id trace.SpanID
	for id == (trace.SpanID{}) {
		binary.LittleEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}

// AppendTraceID appends the hex trace id of ctx's span to dst; nothing when it has none.
func AppendTraceID(dst []byte, ctx context.Context) []byte {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return dst
	}
	id := sc.TraceID()
	return hex.AppendEncode(dst, id[:])
}

// TraceID is the hex trace id of ctx's span, or "".
func TraceID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	var buf [32]byte
	return string(AppendTraceID(buf[:0], ctx))
}

// Within returns ctx carrying the span of from (another context of the same request, say one
// a bridge to net/http did not keep), so that spans started from it are its children.
func Within(ctx, from context.Context) context.Context {
	if from == nil {
		return ctx
	}
	if sc := trace.SpanContextFromContext(from); sc.IsValid() {
		return trace.ContextWithSpan(ctx, trace.SpanFromContext(from))
	}
	return ctx
}

// Inject sets the traceparent (and tracestate) of ctx's span on an upstream request; a context
// without a trace leaves h alone.
func Inject(ctx context.Context, h *fasthttp.RequestHeader) {
	if ctx == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	traceContext.Inject(ctx, requestCarrier{h})
}

// Headers returns the traceparent and tracestate of ctx's span, for a process plugin's call.
func Headers(ctx context.Context) (traceparent, tracestate string) {
	if ctx == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return "", ""
	}
	c := propagation.MapCarrier{}
	traceContext.Inject(ctx, c)
	return c["traceparent"], c["tracestate"]
}

// requestCarrier is a fasthttp request header as the propagator's carrier.
type requestCarrier struct{ h *fasthttp.RequestHeader }

func (c requestCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c requestCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c requestCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// Kind is a span's kind.
type Kind int

const (
	Internal Kind = iota
	Client
)

// Start starts a child span of ctx's span, named name, or "name detail" when detail is not
// empty, when ctx's span is recording (export is on and the trace sampled); otherwise it returns
// ctx and a no-op Span, having built no name.
func Start(ctx context.Context, kind Kind, name, detail string) (context.Context, Span) {
	if ctx == nil {
		return ctx, Span{}
	}
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, Span{}
	}
	k := trace.SpanKindInternal
	if kind == Client {
		k = trace.SpanKindClient
	}
	if detail != "" {
		name += " " + detail
	}
	ctx, s := parent.TracerProvider().Tracer(scope).Start(ctx, name, trace.WithSpanKind(k))
	return ctx, Span{s: s}
}

// FromContext is ctx's span, when it is recording.
func FromContext(ctx context.Context) Span {
	if ctx == nil {
		return Span{}
	}
	if s := trace.SpanFromContext(ctx); s.IsRecording() {
		return Span{s: s}
	}
	return Span{}
}

// Span is a recording span, or nothing (the zero value), on which every method does nothing.
type Span struct{ s trace.Span }

// Recording reports whether the span records: whether setting attributes is worth the work.
func (s Span) Recording() bool { return s.s != nil }

// End ends the span.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// Fail marks the span failed with message, and its error type (a fault's kind, or a status).
func (s Span) Fail(errorType, message string) {
	if s.s == nil {
		return
	}
	s.s.SetAttributes(attribute.String("error.type", errorType))
	s.s.SetStatus(codes.Error, message)
}

// SetString sets a string attribute.
func (s Span) SetString(key, value string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(key, value))
	}
}

// SetInt sets an integer attribute.
func (s Span) SetInt(key string, value int64) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Int64(key, value))
	}
}

// SetName renames the span.
func (s Span) SetName(name string) {
	if s.s != nil {
		s.s.SetName(name)
	}
}

// maxContent bounds the prompt or answer put on a span.
const maxContent = 16 << 10

// SetContent sets a prompt or answer attribute (telemetry.content), cut to 16 KiB.
func (s Span) SetContent(key string, body []byte) {
	if s.s == nil {
		return
	}
	if len(body) > maxContent {
		body = body[:maxContent]
	}
	s.s.SetAttributes(attribute.String(key, strings.ToValidUTF8(string(body), "")))
}

// Call is what a span says of a model call, in the GenAI semantic conventions' terms and ours.
type Call struct {
	Op            string // the gateway's operation: chat, completion, embedding, invoke, …
	RequestModel  string
	ResponseModel string
	Provider      string
	InputTokens   int64
	OutputTokens  int64
	CostUSD       float64
	Cache         string
	KeyID, Org    string
}

// SetCall sets the attributes of a model call.
func (s Span) SetCall(c Call) {
	if s.s == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs, attribute.String("gen_ai.operation.name", Operation(c.Op)))
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, attribute.String(k, v))
		}
	}
	add("gen_ai.request.model", c.RequestModel)
	add("gen_ai.response.model", c.ResponseModel)
	add("gen_ai.provider.name", c.Provider)
	if c.InputTokens > 0 || c.OutputTokens > 0 {
		attrs = append(attrs, attribute.Int64("gen_ai.usage.input_tokens", c.InputTokens),
			attribute.Int64("gen_ai.usage.output_tokens", c.OutputTokens))
	}
	if c.CostUSD > 0 {
		attrs = append(attrs, attribute.Float64("iom.cost_usd", c.CostUSD))
	}
	add("iom.cache", c.Cache)
	add("iom.key.id", c.KeyID)
	add("iom.org", c.Org)
	s.s.SetAttributes(attrs...)
}

// Operation is the GenAI operation name of one of the gateway's operations.
func Operation(op string) string {
	switch op {
	case "chat", "messages", "responses":
		return "chat"
	case "completion":
		return "text_completion"
	case "embedding":
		return "embeddings"
	}
	return op
}
