package plugins

import (
	"context"
	"testing"
)

// A call under WithTraceContext carries the trace context to the plugin as gRPC metadata; one
// without it, none.
func TestTraceContextReachesThePlugin(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "test", Path: testPluginBin})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	call := func(ctx context.Context) string {
		t.Helper()
		out, err := m.Transform(ctx, "test", []byte(`{"stage":"request","body":"SHOW_TRACE"}`))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	if got := call(WithTraceContext(context.Background(), tp, "k=v")); got != `{"body":{"traceparent":["`+tp+`"],"tracestate":["k=v"]}}` {
		t.Fatalf("with a trace: %s", got)
	}
	if got := call(WithTraceContext(context.Background(), "", "")); got != `{"body":{"traceparent":null,"tracestate":null}}` {
		t.Fatalf("without: %s", got)
	}
}
