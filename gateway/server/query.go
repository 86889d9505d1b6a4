package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/fault"
)

// Admin queries (analytics, executions, listings) are bounded so that one request cannot hold
// the gateway's memory or CPU: answers are paged or capped (see analytics.MaxPoints and
// maxPage), and a query that reads the store ends at a deadline. fasthttp does not tell a
// handler that its client left, so the deadline is what stops an abandoned query.

// defaultQueryTimeout bounds one admin query that reads the store.
const defaultQueryTimeout = 10 * time.Second

// maxPage is the most items one page of a listing holds.
const maxPage = analytics.MaxLimit

// queryContext is the context of an admin query: the gateway's life, ended at the deadline. Not
// the request's: fasthttp recycles a RequestCtx when its handler returns, and a context derived
// from it would read the recycled request if the server shut down just then (the race detector
// saw it).
func (g *Server) queryContext(*fasthttp.RequestCtx) (context.Context, context.CancelFunc) {
	return context.WithTimeout(g.life, g.queryTimeout())
}

func (g *Server) queryTimeout() time.Duration {
	if g.opts.QueryTimeout > 0 {
		return g.opts.QueryTimeout
	}
	return defaultQueryTimeout
}

// queryFault is the answer to an admin query (what names it) that failed with err.
func (g *Server) queryFault(what string, err error) *fault.Error {
	var qe *analytics.QueryError
	switch {
	case errors.As(err, &qe):
		return fault.Invalid(qe.Param, "%s", qe.Message)
	case errors.Is(err, context.DeadlineExceeded):
		return &fault.Error{Kind: fault.Gateway, Status: fasthttp.StatusServiceUnavailable, Type: "server_error",
			Code:    "query_timeout",
			Message: fmt.Sprintf("the %s query did not finish within %s; ask for a shorter range or a narrower filter", what, g.queryTimeout())}
	case errors.Is(err, context.Canceled):
		return &fault.Error{Kind: fault.Gateway, Status: fasthttp.StatusServiceUnavailable, Type: "server_error",
			Code: "shutting_down", Message: "the gateway is shutting down"}
	}
	return fault.Internal("cannot read %s: %v", what, err)
}

// page reads ?limit (1 to maxPage, default maxPage) and ?offset of a listing.
func page(a *fasthttp.Args) (limit, offset int, fe *fault.Error) {
	limit = maxPage
	if v := a.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxPage {
			return 0, 0, fault.Invalid("limit", "limit must be between 1 and %d, got %q", maxPage, v)
		}
		limit = n
	}
	if v := a.Peek("offset"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 {
			return 0, 0, fault.Invalid("offset", "offset must be a non-negative integer, got %q", v)
		}
		offset = n
	}
	return limit, offset, nil
}

// pageOf answers one page of items: data, the total, and next, the offset of the next page
// (absent on the last).
func pageOf[T any](items []T, limit, offset int) map[string]any {
	total := len(items)
	offset = min(offset, total)
	end := min(offset+limit, total)
	data := items[offset:end]
	if data == nil {
		data = []T{}
	}
	out := map[string]any{"data": data, "total": total}
	if end < total {
		out["next"] = end
	}
	return out
}
