// Package iomplugin is the author kit for IoM process plugins: programs the gateway starts and
// talks to over gRPC (hashicorp/go-plugin), for transforms and providers that need native
// libraries or their own network access, which a WASM module cannot have.
//
// A plugin is a type with the methods of its role and one call in main:
//
//	type shout struct{}
//
//	func (shout) Transform(ctx context.Context, envelope []byte) ([]byte, error) { … }
//
//	func main() { iomplugin.ServeTransformer(shout{}) }
//
// The gateway starts the binary itself (running it by hand only prints a notice), restarts it if
// it crashes, and stops it on shutdown or when it is removed from the config. A plugin should
// log through Logger, so its lines reach the gateway's log with their level and attributes;
// anything else it prints to stdout or stderr arrives line by line at info level.
//
// The gateway and the plugin speak go-plugin's standard protocol: its handshake line on stdout,
// then gRPC over a unix socket with its automatic mutual TLS, each side trusting only the
// certificate the other made for this one process.
//
// The package imports go-plugin, gRPC and the contract (package pluginpb, in proto), nothing
// else of IoM. It is a Go module of its own, so a plugin needs only
//
//	go get github.com/iomhq/iom/sdk/plugin
//
// and none of the gateway's dependencies.
package iomplugin

import (
	"context"
	"encoding/json"
	"fmt"
)

// Transformer rewrites requests, responses and stream chunks, as a WASM transform does.
type Transformer interface {
	// Transform gets a WASM ABI v1 envelope (JSON: abi, stage, body, config, metadata) and
	// returns the result (JSON: {"body": the new body}, {"drop":true} for a chunk, or
	// {"error":{"message","code"}} to fail the request with that message). Returning an error
	// instead means the plugin itself broke: the gateway reports a plugin fault.
	Transform(ctx context.Context, envelope []byte) ([]byte, error)
}

// Provider answers model calls in the canonical format, OpenAI's JSON.
type Provider interface {
	// Complete answers a call with the canonical response, which should carry "usage".
	Complete(ctx context.Context, call Call) ([]byte, error)
	// Stream answers a streaming chat call by sending canonical chat.completion.chunk JSON, one
	// chunk per send, and should end with a usage chunk ("choices":[] and "usage"), as OpenAI
	// does with include_usage. send copies the chunk, so its buffer may be reused after send
	// returns; an error from send means the gateway stopped listening, and should be returned.
	Stream(ctx context.Context, call Call, send func(chunk []byte) error) error
}

// Call is one model call.
type Call struct {
	// Op is "chat", "completion", "embedding" or "invoke".
	Op string
	// Request is the canonical request: OpenAI's JSON for Op, or the model's own input for
	// "invoke". A streaming chat request has "stream":true.
	Request []byte
	// Model is the model being called, from the gateway's registry.
	Model Model
	// Config is the plugin's config from the gateway's config file, or nil.
	Config json.RawMessage
	// APIKey is the upstream key configured for the model, if any. Never log it.
	APIKey string
}

// Model is what a provider is told about the model it answers for.
type Model struct {
	ID            string `json:"id"`
	UpstreamModel string `json:"upstreamModel"`
	Endpoint      string `json:"endpoint"`
}

// UpstreamError reports a failure of the provider's upstream. Returned (or wrapped) by Complete
// or Stream, it reaches the gateway as such, and the gateway treats it as it treats a failing
// built-in upstream: retries on 429, 5xx and unreachable upstreams, passes 4xx answers on to the
// client, and falls back to another model where one is configured. Any other error is a
// failure of the plugin itself.
type UpstreamError struct {
	// Status is the upstream's HTTP status, or 0 when it could not be reached or timed out.
	Status int
	// Message says what went wrong, e.g. the upstream's own error message.
	Message string
	// Code is a machine-readable code, e.g. the upstream's error code.
	Code string
	// Body is the upstream's error body, when it is an OpenAI error object: the gateway then
	// passes it on to the client unchanged.
	Body []byte
	// RetryAfter is the upstream's Retry-After in seconds, or 0.
	RetryAfter int
}

func (e *UpstreamError) Error() string {
	if e.Status == 0 {
		return "upstream unreachable: " + e.Message
	}
	return fmt.Sprintf("upstream returned HTTP %d: %s", e.Status, e.Message)
}

// Plugin is what one plugin process serves: a provider, a transformer, or both.
type Plugin struct {
	Provider    Provider
	Transformer Transformer
}

// ServeProvider serves p until the gateway stops the plugin. Call it last in main.
func ServeProvider(p Provider) { Serve(Plugin{Provider: p}) }

// ServeTransformer serves t until the gateway stops the plugin. Call it last in main.
func ServeTransformer(t Transformer) { Serve(Plugin{Transformer: t}) }
