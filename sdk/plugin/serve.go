package iomplugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// Serve serves p until the gateway stops the plugin, then returns; main should then return too.
// Run by hand rather than by the gateway, it prints a notice and exits with status 1.
func Serve(p Plugin) {
	set := plugin.PluginSet{}
	if p.Provider != nil {
		set[pluginpb.RoleProvider] = &providerPlugin{impl: p.Provider}
	}
	if p.Transformer != nil {
		set[pluginpb.RoleTransformer] = &transformerPlugin{impl: p.Transformer}
	}
	if len(set) == 0 {
		fmt.Fprintln(os.Stderr, "iomplugin: Serve needs a Provider or a Transformer")
		os.Exit(1)
	}
	go exitWithParent(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: pluginpb.Handshake,
		Plugins:         set,
		// go-plugin passes the credentials of its automatic mutual TLS in opts: started by the
		// gateway, the plugin serves TLS with a certificate of its own and accepts only the
		// gateway's (PLUGIN_CLIENT_CERT).
		GRPCServer: newServer,
	})
}

func newServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts,
		grpc.MaxRecvMsgSize(pluginpb.MaxMessageBytes),
		grpc.MaxSendMsgSize(pluginpb.MaxMessageBytes),
		grpc.InitialWindowSize(pluginpb.WindowBytes),
		grpc.InitialConnWindowSize(pluginpb.WindowBytes),
		// Calls run on long-lived workers, one per thread, rather than each on a new goroutine
		// whose stack grows from scratch (a call finding them all busy still gets one).
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))))...)
}

// exitWithParent ends the plugin when the process that started it is gone. The gateway stops
// its plugins when it shuts down, but if it is killed outright nobody does, and a plugin that
// never writes to its (now broken) stdout or stderr would live on as an orphan.
func exitWithParent(ppid int, every time.Duration) {
	for range time.Tick(every) {
		if os.Getppid() != ppid {
			Logger().Warn("the gateway that started this plugin is gone; exiting")
			os.Exit(0)
		}
	}
}

// The go-plugin halves that register our servers. The client halves live in the host.

type providerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Provider
}

func (p *providerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterProviderServer(s, &providerServer{impl: p.impl})
	return nil
}

func (p *providerPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("iomplugin: the author kit has no client side")
}

type transformerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Transformer
}

func (p *transformerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterTransformerServer(s, &transformerServer{impl: p.impl})
	return nil
}

func (p *transformerPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("iomplugin: the author kit has no client side")
}

type transformerServer struct {
	pluginpb.UnimplementedTransformerServer
	impl Transformer
}

func (s *transformerServer) Transform(ctx context.Context, r *pluginpb.TransformRequest) (_ *pluginpb.TransformResponse, err error) {
	defer recoverTo(&err)
	out, err := s.impl.Transform(ctx, r.Envelope)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	return &pluginpb.TransformResponse{Result: out}, nil
}

type providerServer struct {
	pluginpb.UnimplementedProviderServer
	impl Provider
}

func (s *providerServer) Complete(ctx context.Context, r *pluginpb.ProviderRequest) (_ *pluginpb.ProviderResponse, err error) {
	defer recoverTo(&err)
	call, err := decodeCall(r)
	if err != nil {
		return nil, err
	}
	out, err := s.impl.Complete(ctx, call)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	return &pluginpb.ProviderResponse{Response: out}, nil
}

func (s *providerServer) Stream(r *pluginpb.ProviderRequest, srv pluginpb.Provider_StreamServer) (err error) {
	defer recoverTo(&err)
	call, err := decodeCall(r)
	if err != nil {
		return err
	}
	// One message for the whole stream: Send marshals it before returning, so reusing it saves
	// an allocation per chunk.
	var msg pluginpb.Chunk
	err = s.impl.Stream(srv.Context(), call, func(chunk []byte) error {
		msg.Chunk = chunk
		return srv.Send(&msg)
	})
	if err != nil {
		return toStatus(srv.Context(), err)
	}
	return nil
}

func decodeCall(r *pluginpb.ProviderRequest) (Call, error) {
	c := Call{Op: r.Op, Request: r.Request, APIKey: r.ApiKey}
	if len(r.Config) > 0 {
		c.Config = r.Config
	}
	if len(r.Model) > 0 {
		if err := json.Unmarshal(r.Model, &c.Model); err != nil {
			return c, status.Errorf(codes.InvalidArgument, "bad model description from the gateway: %v", err)
		}
	}
	return c, nil
}

// recoverTo turns a panic in the plugin's code into an error for this call, so one bad request
// does not take the process, and every call in flight on it, down.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		Logger().Error("panic in plugin", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = status.Errorf(codes.Internal, "plugin panicked: %v", r)
	}
}

// toStatus encodes an error of the plugin's code for the host (see UpstreamError in
// plugin.proto): an UpstreamError as a status carrying it in its details, a status the code
// made itself as it is (but for the transport's two codes), and anything else as an Unknown
// status with the error's text.
func toStatus(ctx context.Context, err error) error {
	var ue *UpstreamError
	if errors.As(err, &ue) {
		st := status.New(httpCode(ue.Status), ue.Error())
		if d, derr := st.WithDetails(&pluginpb.UpstreamError{
			Status: int32(ue.Status), Message: ue.Message, Code: ue.Code,
			Body: ue.Body, RetryAfterSeconds: int32(ue.RetryAfter),
		}); derr == nil {
			st = d
		}
		return st.Err()
	}
	if st, ok := status.FromError(err); ok {
		// The host reads these two codes as a broken connection and restarts the plugin; a
		// plugin's own failure must not look like one.
		if c := st.Code(); (c == codes.Unavailable || c == codes.Canceled) && ctx.Err() == nil {
			return status.Error(codes.Unknown, st.Message())
		}
		return st.Err()
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

// httpCode picks the gRPC code closest to an upstream's HTTP status. The host reads the
// details, not the code; the code is for people reading gRPC logs.
func httpCode(s int) codes.Code {
	switch {
	case s == 0:
		return codes.Unavailable
	case s == http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case s == http.StatusUnauthorized:
		return codes.Unauthenticated
	case s == http.StatusForbidden:
		return codes.PermissionDenied
	case s == http.StatusNotFound:
		return codes.NotFound
	case s >= 400 && s < 500:
		return codes.InvalidArgument
	default:
		return codes.Unavailable
	}
}
