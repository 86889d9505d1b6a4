package server

import (
	"strings"

	"github.com/valyala/fasthttp"
)

// Route is one registered endpoint. The table of routes is also what the API reference is
// checked against.
type Route struct {
	Method  string
	Pattern string // segments in braces are parameters: /api/models/{id}
	Summary string
	handler func(ctx *fasthttp.RequestCtx, params []string)
	parts   []string
}

type router struct{ routes []Route }

func (rt *router) add(method, pattern, summary string, h func(*fasthttp.RequestCtx, []string)) {
	rt.routes = append(rt.routes, Route{Method: method, Pattern: pattern, Summary: summary, handler: h,
		parts: strings.Split(strings.Trim(pattern, "/"), "/")})
}

// match finds the route for method and path. It reports whether the path exists under another
// method, so the caller can answer 405 instead of 404.
func (rt *router) match(method, path string) (r *Route, params []string, otherMethod bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range rt.routes {
		cand := &rt.routes[i]
		p, ok := matchParts(cand.parts, segs)
		if !ok {
			continue
		}
		if cand.Method != method && !(method == fasthttp.MethodHead && cand.Method == fasthttp.MethodGet) {
			otherMethod = true
			continue
		}
		return cand, p, false
	}
	return nil, nil, otherMethod
}

func matchParts(parts, segs []string) ([]string, bool) {
	if len(parts) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range parts {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, false
			}
			params = append(params, segs[i])
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return params, true
}
