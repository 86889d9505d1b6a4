package server

import (
	"encoding/json"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
)

// writeError answers with the OpenAI error object for fe.
func writeError(ctx *fasthttp.RequestCtx, fe *fault.Error) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(fe.Status)
	ctx.SetContentType("application/json")
	if fe.RetryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(fe.RetryAfter))
	}
	ctx.SetBody(fe.AppendJSON(make([]byte, 0, 256)))
}

// writeJSON answers with v encoded as JSON.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, fault.Internal("cannot encode response: %v", err))
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func faultTooLarge(limit int) *fault.Error { return fault.TooLarge(limit) }

func badRequest(err error) *fault.Error {
	return fault.Invalid("", "cannot read the request: %v", err)
}
