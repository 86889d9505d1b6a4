package provider

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
)

// A fault a client sees names the provider and a reason, never where the upstream is: its URL
// may carry a key in its query, and its host and address are the operator's business. What
// the gateway knows beyond that goes in the fault's Detail, for its logs, with the endpoint
// redacted (where).

// transportError makes a call's transport failure a fault. budget is the time the call had.
func transportError(u *Upstream, err error, budget time.Duration) *fault.Error {
	var se *sendError
	var written, connecting bool
	if errors.As(err, &se) {
		written = se.written
		connecting = errors.As(se.err, new(*dialError))
	} else {
		connecting = unsent(err)
		written = !connecting
	}
	var fe *fault.Error
	switch {
	case se != nil && se.cancelled != nil:
		fe = cancelledFault(u, se.cancelled)
	case isRefusal(err):
		// The address goes to the log only, like every upstream address.
		fe = fault.Forbidden("upstream %s is refused by the gateway's egress policy", u.Provider)
		fe.Code = "egress_denied"
		written = false
	case connecting:
		fe = fault.Upstream(0, "cannot reach upstream %s: %s", u.Provider, reason(err, false))
	case isTimeout(err):
		fe = fault.Timeout("upstream %s did not answer within %s", u.Provider, seconds(budget))
	case !written:
		fe = fault.Upstream(0, "cannot reach upstream %s: %s", u.Provider, reason(err, false))
	default:
		fe = fault.Upstream(0, "upstream %s failed to answer: %s", u.Provider, reason(err, true))
	}
	fe.Delivered = written
	fe.Detail = u.where + ": " + err.Error()
	return fe
}

// cancelledFault is the fault of a call whose context ended: its deadline passed, or its caller
// went away.
func cancelledFault(u *Upstream, err error) *fault.Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fault.Timeout("upstream %s did not answer before the call's deadline", u.Provider)
	}
	return fault.Cancelled("the call to upstream %s was cancelled", u.Provider)
}

// unsent reports whether err, from a client other than exchange (which says), is a failure to
// connect: the request did not go out.
func unsent(err error) bool {
	var de *dialError
	var dwu *fasthttp.ErrDialWithUpstream
	var oe *net.OpError
	return errors.As(err, &de) || errors.As(err, &dwu) || errors.Is(err, fasthttp.ErrDialTimeout) ||
		errors.Is(err, fasthttp.ErrNoFreeConns) || errors.As(err, &oe) && oe.Op == "dial"
}

// reason says in a few words why a connection failed, and nothing of where it led. answering
// says whether the request was out, so that an unknown failure is the answer's.
func reason(err error, answering bool) string {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var record tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.Is(err, errUnsolicited):
		return "it sent bytes that answer no request"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "its host name does not resolve"
		}
		return "its host name cannot be resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return "connection closed"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to it"
	case errors.As(err, &cert):
		return "its TLS certificate is not trusted"
	case errors.As(err, &record):
		return "it does not speak TLS"
	case errors.As(err, &alert):
		return "the TLS handshake failed"
	case errors.Is(err, fasthttp.ErrDialTimeout), isTimeout(err):
		return "connection timed out"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "every connection to it is busy"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return "its answer is too large"
	case errors.Is(err, io.EOF), errors.Is(err, fasthttp.ErrConnectionClosed):
		if answering {
			return "it closed the connection without answering"
		}
		return "connection closed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	case answering:
		return "its answer is not valid HTTP"
	}
	return "connection failed"
}

// seconds formats a timeout the way configs write it: 60s, 1.5s, 300ms.
func seconds(d time.Duration) string {
	if d >= time.Second && d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.Round(time.Millisecond).String()
}

// where returns an endpoint for logs: its scheme, host and path, without credentials, query or
// fragment.
func where(endpoint string) string {
	pu, err := url.Parse(endpoint)
	if err != nil {
		return "(an endpoint that does not parse)"
	}
	return (&url.URL{Scheme: pu.Scheme, Host: pu.Host, Path: pu.Path}).String()
}

// upstreamError maps an upstream's error answer to a fault. A request the upstream found bad
// (400, 404, 409, 413, 422) keeps the upstream's status, and its OpenAI-style error body is passed
// through as it came when the upstream speaks OpenAI's protocol (openAIBody); so does a 429, with
// its Retry-After. Anything else (401 and 403, which mean our credentials are wrong, and 5xx)
// becomes a 502 naming the upstream's status and message; but a 508 stays a loop (LoopDetected).
func upstreamError(u *Upstream, status int, body, retryAfter []byte, openAIBody bool) *fault.Error {
	if status == http.StatusLoopDetected {
		// A gateway on the way found the request looping: so does every retry and fallback.
		fe := LoopDetected("upstream %s found the request looping back through a gateway (HTTP 508)", u.Provider)
		fe.Upstream = status
		return fe
	}
	msg, code, isOpenAI := errorMessage(body)
	e := fault.Upstream(status, "upstream %s returned HTTP %d", u.Provider, status)
	if msg != "" {
		e.Message += ": " + msg
	}
	if code != "" {
		e.Code = code
	}
	switch status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge,
		http.StatusUnprocessableEntity, http.StatusTooManyRequests:
		e.Status = status
		if isOpenAI && openAIBody {
			e.Body = append([]byte(nil), body...)
		}
		if status == http.StatusTooManyRequests {
			e.Type, e.Code = "rate_limit_error", "upstream_rate_limited"
			if n, err := strconv.Atoi(strings.TrimSpace(string(retryAfter))); err == nil && n > 0 {
				e.RetryAfter = n
			} else if t, err := http.ParseTime(string(retryAfter)); err == nil {
				if s := int(t.Sub(fastNow()).Seconds()); s > 0 {
					e.RetryAfter = s
				}
			}
		}
	}
	return e
}

// errorMessage finds the message in the common error shapes: OpenAI's {"error":{"message"}},
// {"error":"…"}, {"message":"…"} and {"detail":"…"}. It reports whether body is OpenAI's shape.
func errorMessage(body []byte) (msg, code string, isOpenAI bool) {
	var buf [8]rawjson.Field
	fields, err := rawjson.ScanObject(body, buf[:0])
	if err != nil {
		s := strings.TrimSpace(string(body))
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return s, "", false
	}
	if ev := rawjson.Get(fields, "error"); ev != nil {
		if s, ok := rawjson.String(ev); ok {
			return s, "", false
		}
		var ebuf [8]rawjson.Field
		if efs, err := rawjson.Members(ev, ebuf[:0]); err == nil {
			msg, _ = rawjson.String(rawjson.Get(efs, "message"))
			code, _ = rawjson.String(rawjson.Get(efs, "code"))
			return msg, code, true
		}
	}
	for _, k := range []string{"message", "detail"} {
		if s, ok := rawjson.String(rawjson.Get(fields, k)); ok {
			return s, "", false
		}
	}
	return "", "", false
}
