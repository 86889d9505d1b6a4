package fault

import (
	"strings"
	"testing"
)

func TestRetryable(t *testing.T) {
	f := func(e *Error, want bool) {
		t.Helper()
		if got := e.Retryable(); got != want {
			t.Errorf("%+v: retryable %v, want %v", e, got, want)
		}
	}
	f(Upstream(0, "cannot reach"), true)
	f(Timeout("did not answer"), true)
	f(&Error{Kind: Provider, Delivered: true}, false)
	delivered := Timeout("did not answer")
	delivered.Delivered = true
	f(delivered, false)
	f(&Error{Kind: Provider, Upstream: 503, Delivered: true}, true)
	f(&Error{Kind: Provider, Upstream: 429, Delivered: true}, true)
	f(Upstream(400, "bad request"), false)
	f(Cancelled("cancelled"), false)
	f(Invalid("x", "bad"), false)
}

// Detail stays out of what a client gets.
func TestDetailIsNotSent(t *testing.T) {
	e := Upstream(0, "cannot reach upstream openai: connection refused")
	e.Detail = "http://10.0.0.7:8000/v1: dial tcp 10.0.0.7:8000: connect: connection refused"
	if b := string(e.AppendJSON(nil)); strings.Contains(b, "10.0.0.7") {
		t.Fatalf("detail sent: %s", b)
	}
}
