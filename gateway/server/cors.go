package server

import (
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/config"
)

// cors is the compiled CORS policy of the data plane.
type cors struct {
	any     bool
	origins map[string]bool
	headers string // empty: echo what the browser asks for
	methods string
	maxAge  string
}

func newCORS(c *config.CORS) *cors {
	if c == nil || len(c.AllowedOrigins) == 0 {
		return nil
	}
	p := &cors{origins: map[string]bool{}, methods: "GET, POST", maxAge: "600"}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			p.any = true
		}
		p.origins[o] = true
	}
	if len(c.AllowedHeaders) > 0 && !slices.Contains(c.AllowedHeaders, "*") {
		p.headers = strings.Join(c.AllowedHeaders, ", ")
	}
	if len(c.AllowedMethods) > 0 {
		p.methods = strings.Join(c.AllowedMethods, ", ")
	}
	if c.MaxAgeSeconds > 0 {
		p.maxAge = strconv.Itoa(c.MaxAgeSeconds)
	}
	return p
}

// exposed are the response headers a browser app may read.
const exposed = "x-iom-request-id, x-iom-model, x-iom-latency-ms, x-iom-cost-usd, x-iom-cache, x-iom-fallback, retry-after"

// apply adds the CORS headers for an allowed origin, and answers a preflight itself. It reports
// whether the request is fully answered.
func (p *cors) apply(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.Peek("Origin")
	preflight := ctx.IsOptions() && len(ctx.Request.Header.Peek("Access-Control-Request-Method")) > 0
	if p == nil || len(origin) == 0 {
		if preflight {
			ctx.SetStatusCode(fasthttp.StatusNoContent) // no CORS headers: the browser refuses
			return true
		}
		return false
	}
	allowed := p.any || p.origins[string(origin)]
	h := &ctx.Response.Header
	h.Add("Vary", "Origin")
	if allowed {
		if p.any {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.SetBytesV("Access-Control-Allow-Origin", origin)
		}
		h.Set("Access-Control-Expose-Headers", exposed)
	}
	if !preflight {
		return false
	}
	if allowed {
		h.Set("Access-Control-Allow-Methods", p.methods)
		if p.headers != "" {
			h.Set("Access-Control-Allow-Headers", p.headers)
		} else if req := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(req) > 0 {
			h.SetBytesV("Access-Control-Allow-Headers", req)
		}
		h.Set("Access-Control-Max-Age", p.maxAge)
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return true
}
