package plugins

import (
	"context"
	"errors"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// clientPlugin is go-plugin's view of a role on the host side. Dispense is not used: the host
// builds its clients straight on the connection (see start), so this only has to exist for
// go-plugin's plugin set, and refuses to serve.
type clientPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (clientPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("plugins: the host does not serve plugins")
}

func (clientPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

// WithTraceContext returns ctx whose plugin calls carry a W3C trace context, traceparent and
// tracestate, as gRPC metadata under those names, so that a plugin can continue the caller's
// trace. An empty traceparent leaves ctx as it is.
func WithTraceContext(ctx context.Context, traceparent, tracestate string) context.Context {
	if traceparent == "" {
		return ctx
	}
	if tracestate == "" {
		return metadata.AppendToOutgoingContext(ctx, "traceparent", traceparent)
	}
	return metadata.AppendToOutgoingContext(ctx, "traceparent", traceparent, "tracestate", tracestate)
}
