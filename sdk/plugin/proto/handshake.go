// Package pluginpb is the contract between IoM and its process plugins: the gRPC services and
// messages generated from plugin.proto, and the go-plugin handshake both sides must agree on.
//
// The host (package plugins) and the author kit (package iomplugin) both import it, and nothing
// else of ours, so a plugin built against one release keeps working with the next as long as
// this package stays compatible. It lives in the kit's module (github.com/iomhq/iom/sdk/plugin),
// so a host or plugin in Go needs nothing of the gateway's module to speak the contract.
package pluginpb

import plugin "github.com/hashicorp/go-plugin"

// Handshake is what host and plugin check before talking. The magic cookie is not a secret: it
// only stops a plugin binary from being run by hand, or by another go-plugin host, by mistake.
// ProtocolVersion changes only with an incompatible change of the services.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "IOM_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "iom-process-plugin-v1-7d1c9a4e2b",
}

// The names under which the roles are registered in go-plugin's plugin set. They name the
// roles in config files too.
const (
	RoleProvider    = "provider"
	RoleTransformer = "transformer"
)

// HealthService is the service name of the gRPC health check that go-plugin registers for
// every plugin (plugin.GRPCServiceName), repeated here for hosts in other languages.
const HealthService = plugin.GRPCServiceName

// MaxMessageBytes bounds one gRPC message either way. Request bodies are capped by the gateway
// (maxBodyBytes, 4 MiB by default) but an envelope wraps a body with headers and metadata, and
// responses are not capped there, so both sides allow well over gRPC's 4 MiB default.
const MaxMessageBytes = 64 << 20

// WindowBytes is the HTTP/2 flow-control window both sides set, per stream and per connection.
// Setting it turns off gRPC's bandwidth-delay estimator, whose pings would otherwise ride along
// with the calls and cost each side extra reads, writes and thread wake-ups.
const WindowBytes = 1 << 20
