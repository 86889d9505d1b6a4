package server

import (
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/fault"
)

// What a client is told of a failed call names the model and the reason, never an address.
func TestPublic(t *testing.T) {
	f := func(fe *fault.Error, want string) {
		t.Helper()
		got := public("m", fe)
		if got.Message != want {
			t.Fatalf("%q\n got %q\nwant %q", fe.Message, got.Message, want)
		}
		if got.Status != fe.Status || got.Code != fe.Code || got.Type != fe.Type {
			t.Fatalf("public changed more than the message: %+v", got)
		}
	}
	f(fault.Upstream(0, "cannot reach upstream openai (http://10.1.2.3:8000/v1?key=s): dial tcp 10.1.2.3:8000: connect: connection refused"),
		`model "m": cannot reach upstream openai`)
	f(fault.Upstream(0, "cannot reach upstream openai (https://gpu-3.corp.example/v1): dial tcp: lookup gpu-3.corp.example: no such host"),
		`model "m": cannot reach upstream openai`)
	f(fault.Timeout("upstream openai (http://10.1.2.3:8000/v1) did not answer within 30s"),
		`model "m": upstream openai did not answer within 30s`)
	f(fault.Upstream(0, "upstream stream failed: read tcp 10.0.0.1:5555->10.1.2.3:8000: connection reset by peer"),
		`model "m": upstream stream failed`)
	f(fault.Upstream(500, "upstream openai returned HTTP 500: backend http://10.9.9.9:9000/x failed at 10.9.9.9:9000"),
		`model "m": upstream openai returned HTTP 500: backend [upstream] failed at [address]`)
	f(fault.Upstream(401, "upstream openai returned HTTP 401: Incorrect API key provided: sk-abc***xyz"),
		`model "m": the upstream refused the gateway's credentials (HTTP 401)`)
	f(fault.Unavailable(`model "m" is unavailable: no API key is set for https://api.example.com/v1 (set the model's apiKey)`),
		`model "m": the model has no usable upstream now`)
	f(fault.Unavailable(`model "m" is unavailable: every upstream is failing (circuit open); retry later`),
		`model "m": every upstream is failing (circuit open); retry later`)
	f(fault.PluginFailed(`plugin p failed: rpc error: code = Unavailable desc = connection error: dial unix /tmp/plugin123: connect`),
		`model "m": plugin p failed (error); the call's record has the details`)
	trap := fault.PluginFailed(`plugin "x": wasm plugin "x": trap: iom_transform: wasm error: unreachable (the guest said: panic: assignment to entry in nil map)`)
	trap.Code = "plugin_trap"
	f(trap, `model "m": plugin "x" failed (trap); the call's record has the details`)
	busy := fault.PluginFailed(`plugin "x": wasm plugin "x": busy: every instance is in use`)
	busy.Code = "plugin_busy"
	f(busy, `model "m": plugin "x" is busy; retry later`)
	guest := fault.PluginFailed(`plugin "guard": the answer is not JSON matching the schema: $.score is missing`)
	guest.Code = "json_guard"
	f(guest, `model "m": plugin "guard": the answer is not JSON matching the schema: $.score is missing`)
	f(fault.Internal("internal error: open /var/lib/iom/db/000001.vlog: permission denied"),
		`model "m": internal error; the gateway logged the details`)

	// A fault of the request is told as it is; so is an upstream's own error body.
	same := func(fe *fault.Error) {
		t.Helper()
		if public("m", fe) != fe {
			t.Fatalf("%+v was rewritten", fe)
		}
	}
	same(fault.Invalid("model", "you must provide a model parameter"))
	same(fault.Unauthenticated("invalid API key"))
	same(fault.Limited(3, "slow down"))
	body := fault.Upstream(400, "upstream openai returned HTTP 400: bad")
	body.Body = []byte(`{"error":{"message":"temperature too high"}}`)
	same(body)
}

// The log keeps an upstream's address, without a URL's credentials or query string.
func TestRedact(t *testing.T) {
	got := redact("cannot reach upstream x (https://user:pw@h.example/v1?key=sk-1&b=2): Authorization: Bearer sk-2 failed")
	for _, leak := range []string{"pw", "sk-1", "sk-2", "b=2"} {
		if strings.Contains(got, leak) {
			t.Fatalf("%q keeps %q", got, leak)
		}
	}
	if !strings.Contains(got, "https://h.example/v1") {
		t.Fatalf("%q lost the upstream", got)
	}
}
