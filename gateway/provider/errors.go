package provider

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
)

// upstreamError maps an upstream's error answer to a fault. A request the upstream found bad
// (400, 404, 409, 413, 422) keeps the upstream's status, and its OpenAI-style error body is passed
// through as it came when the upstream speaks OpenAI's protocol (openAIBody); so does a 429, with
// its Retry-After. Anything else (401 and 403, which mean our credentials are wrong, and 5xx)
// becomes a 502 naming the upstream's status and message.
func upstreamError(u *Upstream, status int, body, retryAfter []byte, openAIBody bool) *fault.Error {
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
