package server

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

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
		writeError(ctx, fault.Internal("cannot encode the response"))
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// callFailed answers a call to model that failed, with what the client may be told of fe (see
// public), and logs the rest.
func (g *Server) callFailed(ctx *fasthttp.RequestCtx, model, id string, fe *fault.Error) {
	g.logCallFault(model, id, fe)
	writeError(ctx, public(model, fe))
}

// logCallFault logs a call's fault that the client is not told in full.
func (g *Server) logCallFault(model, id string, fe *fault.Error) {
	switch {
	case fe == nil || fe.Kind == fault.Caller || fe.Kind == fault.Auth || fe.Kind == fault.Policy:
		return
	case fe.Kind == fault.Gateway:
		g.log.Error("call failed", "model", model, "id", id, "status", fe.Status, "err", redact(fe.Message))
	default:
		// Provider and plugin faults are in the call's record too.
		g.log.Debug("call failed", "model", model, "id", id, "status", fe.Status, "kind", fe.Kind.String(),
			"err", redact(fe.Message), "detail", redact(fe.Detail))
	}
}

// public is what a client is told of fe, a fault of a call to model. A fault of the request
// (caller, auth, policy) is told as it is, and an upstream's own OpenAI error body as it came;
// any other says the model and the reason only. The upstream's address, the transport's error
// (which names sockets and hosts) and the gateway's internals are for the log.
func public(model string, fe *fault.Error) *fault.Error {
	switch {
	case fe == nil:
		return nil
	case fe.Kind == fault.Caller || fe.Kind == fault.Auth || fe.Kind == fault.Policy || len(fe.Body) > 0:
		return fe
	}
	c := *fe
	c.Message = "model " + strconv.Quote(model) + ": " + reason(fe)
	return &c
}

// reason says why a call failed, from the fault's kind, code and upstream status, and the first
// clause of its message (up to the first ": ", where Go errors begin the cause they wrap).
func reason(fe *fault.Error) string {
	switch {
	case fe.Kind == fault.Gateway:
		return "internal error; the gateway logged the details"
	case fe.Code == "model_unavailable" && strings.Contains(fe.Message, "circuit open"):
		return "every upstream is failing (circuit open); retry later"
	case fe.Code == "model_unavailable":
		return "the model has no usable upstream now"
	case fe.Upstream == fasthttp.StatusUnauthorized || fe.Upstream == fasthttp.StatusForbidden:
		return "the upstream refused the gateway's credentials (HTTP " + strconv.Itoa(fe.Upstream) + ")"
	case fe.Upstream > 0:
		// "upstream <provider> returned HTTP <status>: <what the upstream said>"
		return scrub(cut(withoutParens(fe.Message), 300))
	case fe.Kind == fault.Plugin && fe.Code != "" && !strings.HasPrefix(fe.Code, "plugin_"):
		// "plugin <name>: <what the plugin said>", with the plugin's own code: a guest's or
		// transformer's reason (a blocked word, a schema it checks) is meant for the caller. The
		// host's own failures (codes plugin_*) can name sockets and paths, and are cut short.
		return scrub(cut(withoutParens(fe.Message), 300))
	case fe.Code == "plugin_busy" || fe.Code == "plugin_quarantined":
		return scrub(cut(firstClause(fe.Message), 200)) + " is " + strings.TrimPrefix(fe.Code, "plugin_") + "; retry later"
	case fe.Kind == fault.Plugin && strings.HasPrefix(fe.Code, "plugin_"):
		// A trap's or crash's own words (a guest's stderr, say) are for the operator only: they
		// are in the call's record.
		what := scrub(cut(firstClause(fe.Message), 200))
		if !strings.Contains(what, "fail") {
			what += " failed"
		}
		return what + " (" + strings.TrimPrefix(fe.Code, "plugin_") + "); the call's record has the details"
	}
	return scrub(cut(firstClause(fe.Message), 200))
}

// firstClause is msg without parentheses, up to its first ": ".
func firstClause(msg string) string {
	msg = withoutParens(msg)
	if i := strings.Index(msg, ": "); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

var (
	parens    = regexp.MustCompile(` \([^()]*\)`)
	urlRe     = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)
	addrRe    = regexp.MustCompile(`\[[0-9A-Fa-f:.%]+\](:\d+)?|\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\b[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+:\d{1,5}\b|\blocalhost:\d{1,5}\b`)
	quotedRe  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	queryRe   = regexp.MustCompile(`(://[^\s"'<>?#]*)[?#][^\s"'<>]*`)
	userRe    = regexp.MustCompile(`(://)[^/\s"'<>@]*@`)
	secretsRe = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[^\s"']+`)
)

// withoutParens drops parenthesised asides, where the provider names an upstream's address.
func withoutParens(s string) string { return parens.ReplaceAllString(s, "") }

// scrub replaces URLs and socket or host addresses in a client-facing message.
func scrub(s string) string {
	s = urlRe.ReplaceAllString(s, "[upstream]")
	return addrRe.ReplaceAllString(s, "[address]")
}

// redact makes a message fit for the log: URLs keep their scheme, host and path, without
// credentials or query string (which can carry a key); bearer and basic credentials go.
func redact(s string) string {
	s = userRe.ReplaceAllString(s, "$1")
	s = queryRe.ReplaceAllString(s, "$1?[redacted]")
	return secretsRe.ReplaceAllString(s, "$1 [redacted]")
}

// unquote leaves out the quoted parts of an error fasthttp reports about a request: they quote
// the request's bytes (a header value with a key, say).
func unquote(s string) string { return quotedRe.ReplaceAllString(s, `"…"`) }

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
