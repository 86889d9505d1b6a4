package server

import (
	"bufio"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/telemetry"
)

// hTraceID answers every data-plane request with its W3C trace id: the client's, when it sent a
// traceparent, else a new one. It is there whether traces are exported or not.
var hTraceID = header("X-Iom-Trace-Id")

// trace starts the trace of a data-plane request: its context (continuing the client's
// traceparent) becomes the context of the request's calls, and its trace id the x-iom-trace-id
// header. The span is recording only when export is on and the trace sampled.
func (g *Server) trace(ctx *fasthttp.RequestCtx) telemetry.Span {
	name := ""
	if g.tracer != nil {
		name = spanName(ctx)
	}
	c, span := g.tracer.StartRequest(g.callContext(ctx), &ctx.Request.Header, name)
	ctx.SetUserValue(callKey{}, c)
	var buf [32]byte
	hTraceID.setBytes(&ctx.Response.Header, telemetry.AppendTraceID(buf[:0], c))
	return span
}

// endTrace ends a request's span when its answer is written: at once, or when its stream ends.
func (g *Server) endTrace(ctx *fasthttp.RequestCtx, span telemetry.Span) {
	status := ctx.Response.StatusCode()
	span.SetInt("http.response.status_code", int64(status))
	if id := ctx.Response.Header.PeekBytes(hRequestID); len(id) > 0 {
		span.SetString("iom.request.id", string(id))
	}
	if status >= 500 {
		span.Fail(strconv.Itoa(status), "the request failed with status "+strconv.Itoa(status))
	}
	content := g.tracer.Content()
	if content {
		span.SetContent("gen_ai.input.messages", ctx.PostBody())
	}
	if sb, ok := ctx.Response.BodyStream().(*streamBody); ok {
		fn := sb.fn
		sb.fn = func(w *bufio.Writer) {
			defer span.End()
			fn(w)
		}
		return
	}
	if content {
		span.SetContent("gen_ai.output.messages", ctx.Response.Body())
	}
	span.End()
}

// spanName is the name of a data-plane request's span: its method and route.
func spanName(ctx *fasthttp.RequestCtx) string {
	post := ctx.IsPost()
	switch op := opOf(ctx.Path()); {
	case post && op == "chat":
		return "POST /v1/chat/completions"
	case post && op == "embedding":
		return "POST /v1/embeddings"
	case post && op == "completion":
		return "POST /v1/completions"
	case post && op == "messages":
		return "POST /v1/messages"
	case post && op == "responses":
		return "POST /v1/responses"
	case post && op == "invoke":
		return "POST /v1/models/{id}/invoke"
	case post && op == "pipeline":
		return "POST /v1/pipelines/{id}/run"
	default:
		return string(ctx.Method()) + " " + op
	}
}
