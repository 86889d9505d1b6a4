package mcp

import "github.com/iomhq/iom/gateway/spec"

// The declared MCP server and its parts live in package spec; the gateway serves them under
// these names.
type (
	Server     = spec.MCPServer
	OAuth      = spec.MCPOAuth
	ToolFilter = spec.ToolFilter
)

// Transports of a server with a URL.
const (
	Streamable = spec.MCPStreamable
	SSE        = spec.MCPSSE
)

// Separator joins a server's id and a tool's name into the name clients see.
const Separator = spec.ToolSeparator

// DefaultTimeoutMs bounds a tool call whose server sets no timeoutMs.
const DefaultTimeoutMs = spec.MCPDefaultTimeoutMs
