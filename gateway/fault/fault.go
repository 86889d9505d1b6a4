// Package fault defines the closed list of error kinds the gateway reports, grouped by who is at
// fault, and how each maps to an HTTP status, an OpenAI error type and a metrics label.
//
// Every error that reaches a client passes through this package, so the data plane, the admin API
// and the metrics agree on what went wrong. It imports nothing of the gateway but rawjson.
package fault

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/iomhq/iom/gateway/rawjson"
)

// Kind says who is at fault for an error.
type Kind uint8

const (
	// Caller: the request itself is wrong (bad JSON, unknown model, too large).
	Caller Kind = iota
	// Auth: no key, or a key the gateway does not know.
	Auth
	// Policy: a valid key that may not do this (security policy, rate limit, budget).
	Policy
	// Provider: the upstream failed, refused or timed out.
	Provider
	// Plugin: a WASM or process plugin failed.
	Plugin
	// Gateway: a bug or resource problem of our own.
	Gateway
)

var kindNames = [...]string{"caller", "auth", "policy", "provider", "plugin", "gateway"}

// String returns the kind's metrics label.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Kinds lists every kind, for metrics that are pre-registered per kind.
func Kinds() []Kind { return []Kind{Caller, Auth, Policy, Provider, Plugin, Gateway} }

// Error is an error a client sees. Its fields map directly to the OpenAI error object.
type Error struct {
	Kind    Kind
	Status  int
	Type    string // OpenAI error type, e.g. invalid_request_error
	Code    string // machine-readable code, e.g. model_not_found
	Param   string // the offending request field, if any
	Message string
	// RetryAfter, in seconds, is sent as a Retry-After header when positive.
	RetryAfter int
	// Body, when set, is an upstream's own OpenAI-style error body passed through unchanged.
	Body []byte
	// Upstream is the upstream's HTTP status, when an upstream answered.
	Upstream int
	// Delivered says the request may have reached the upstream: it failed after the request was
	// written whole (a timeout, a connection closed before or during the answer), so another
	// attempt could run it twice, and bill it twice.
	Delivered bool
	// Detail is what the gateway knows beyond Message, for its own logs only: the underlying
	// error, which may name addresses and hosts. It is never sent to a client (AppendJSON leaves
	// it out), and holds no secret (no key, no query string of an endpoint).
	Detail string
}

func (e *Error) Error() string { return e.Message }

// As returns err as an *Error, wrapping unknown errors as gateway faults.
func As(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return &Error{Kind: Gateway, Status: http.StatusInternalServerError, Type: "server_error",
		Code: "internal_error", Message: "internal error: " + err.Error()}
}

// Retryable reports whether another attempt at the same upstream may succeed, and may be made: a
// request that may have reached the upstream (Delivered) is not sent again unless the upstream
// answered with a status that says to (429, 5xx).
func (e *Error) Retryable() bool {
	if e.Kind != Provider {
		return false
	}
	if e.Upstream == http.StatusTooManyRequests || e.Upstream >= 500 {
		return true
	}
	return e.Upstream == 0 && !e.Delivered
}

// Invalid is a caller error about one request field.
func Invalid(param, format string, args ...any) *Error {
	return &Error{Kind: Caller, Status: http.StatusBadRequest, Type: "invalid_request_error",
		Code: "invalid_request", Param: param, Message: fmt.Sprintf(format, args...)}
}

// NotFound is a caller error for an unknown (or invisible) model, pipeline or object.
func NotFound(code, format string, args ...any) *Error {
	return &Error{Kind: Caller, Status: http.StatusNotFound, Type: "invalid_request_error",
		Code: code, Message: fmt.Sprintf(format, args...)}
}

// Conflict is a caller error for a write that clashes with the current state.
func Conflict(format string, args ...any) *Error {
	return &Error{Kind: Caller, Status: http.StatusConflict, Type: "invalid_request_error",
		Code: "conflict", Message: fmt.Sprintf(format, args...)}
}

// TooLarge is a caller error for a body over the configured limit.
func TooLarge(limit int) *Error {
	return &Error{Kind: Caller, Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
		Code: "request_too_large", Message: "request body is larger than the limit of " + strconv.Itoa(limit) + " bytes"}
}

// Unauthenticated is an auth error.
func Unauthenticated(format string, args ...any) *Error {
	return &Error{Kind: Auth, Status: http.StatusUnauthorized, Type: "authentication_error",
		Code: "invalid_api_key", Message: fmt.Sprintf(format, args...)}
}

// Forbidden is a policy error.
func Forbidden(format string, args ...any) *Error {
	return &Error{Kind: Policy, Status: http.StatusForbidden, Type: "permission_error",
		Code: "forbidden", Message: fmt.Sprintf(format, args...)}
}

// Limited is a policy error for a rate limit or a full queue; retryAfter is in seconds.
func Limited(retryAfter int, format string, args ...any) *Error {
	return &Error{Kind: Policy, Status: http.StatusTooManyRequests, Type: "rate_limit_error",
		Code: "rate_limit_exceeded", RetryAfter: retryAfter, Message: fmt.Sprintf(format, args...)}
}

// OverBudget is a policy error for a spend budget that is used up.
func OverBudget(format string, args ...any) *Error {
	return &Error{Kind: Policy, Status: http.StatusPaymentRequired, Type: "insufficient_quota",
		Code: "budget_exceeded", Message: fmt.Sprintf(format, args...)}
}

// Upstream is a provider error: the upstream answered with an error or could not be reached.
func Upstream(status int, format string, args ...any) *Error {
	return &Error{Kind: Provider, Status: http.StatusBadGateway, Type: "upstream_error",
		Code: "upstream_error", Upstream: status, Message: fmt.Sprintf(format, args...)}
}

// Timeout is a provider error for an upstream that did not answer in time.
func Timeout(format string, args ...any) *Error {
	return &Error{Kind: Provider, Status: http.StatusGatewayTimeout, Type: "upstream_error",
		Code: "upstream_timeout", Message: fmt.Sprintf(format, args...)}
}

// Unavailable is a provider error for a model that cannot take calls now (no key, breaker open).
func Unavailable(format string, args ...any) *Error {
	return &Error{Kind: Provider, Status: http.StatusServiceUnavailable, Type: "upstream_error",
		Code: "model_unavailable", Message: fmt.Sprintf(format, args...)}
}

// ClusterDown is a gateway error for a request that needs the cluster's shared state (in
// Redis) while it cannot be reached: nothing was changed, and a retry shortly may succeed.
func ClusterDown(format string, args ...any) *Error {
	return &Error{Kind: Gateway, Status: http.StatusServiceUnavailable, Type: "server_error",
		Code: "cluster_unavailable", RetryAfter: 1, Message: fmt.Sprintf(format, args...)}
}

// Cancelled is a caller error for a call given up because its caller went away or cancelled it:
// nobody waits for its answer, and the upstream is not at fault. The status is nginx's 499
// ("client closed request"), for logs and metrics; no client is there to read it.
func Cancelled(format string, args ...any) *Error {
	return &Error{Kind: Caller, Status: 499, Type: "client_closed", Code: "client_closed",
		Message: fmt.Sprintf(format, args...)}
}

// PluginFailed is a plugin error.
func PluginFailed(format string, args ...any) *Error {
	return &Error{Kind: Plugin, Status: http.StatusBadGateway, Type: "plugin_error",
		Code: "plugin_error", Message: fmt.Sprintf(format, args...)}
}

// Internal is a gateway error.
func Internal(format string, args ...any) *Error {
	return &Error{Kind: Gateway, Status: http.StatusInternalServerError, Type: "server_error",
		Code: "internal_error", Message: fmt.Sprintf(format, args...)}
}

// AppendJSON appends the OpenAI error object for e to dst. An upstream's own error body is
// returned as it came.
func (e *Error) AppendJSON(dst []byte) []byte {
	if len(e.Body) > 0 {
		return append(dst, e.Body...)
	}
	dst = append(dst, `{"error":{"message":`...)
	dst = rawjson.AppendString(dst, e.Message)
	dst = append(dst, `,"type":`...)
	dst = rawjson.AppendString(dst, e.Type)
	dst = append(dst, `,"code":`...)
	dst = appendNullable(dst, e.Code)
	dst = append(dst, `,"param":`...)
	dst = appendNullable(dst, e.Param)
	return append(dst, "}}"...)
}

func appendNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return rawjson.AppendString(dst, s)
}
