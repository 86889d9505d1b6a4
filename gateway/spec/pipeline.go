package spec

import (
	"encoding/json"
	"time"
)

// Node types.
const (
	NodeInput     = "input"
	NodeOutput    = "output"
	NodeModel     = "model"
	NodeTool      = "tool"
	NodeTransform = "transform"
	NodeCondition = "condition"
	NodeRouter    = "router"
	NodeMerge     = "merge"
)

// NodeTypes lists every node type.
var NodeTypes = []string{NodeInput, NodeOutput, NodeModel, NodeTool, NodeTransform, NodeCondition, NodeRouter, NodeMerge}

// Pipeline is a workflow of models: a DAG of steps (input, output, model, tool, transform,
// condition, router, merge), the same value whether it comes from the config file, the admin API
// or the console's visual builder (nodes and edges in React Flow's shape).
type Pipeline struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Nodes       []Node          `json:"nodes"`
	Edges       []Edge          `json:"edges"`
	InputSchema json.RawMessage `json:"inputSchema,omitempty"`
	// ChatInput names the inputSchema property that the last user message of a chat request
	// (model pipeline:<id>) fills; without it, the schema's one required string property does,
	// when it has exactly one (see Plan.ChatInput).
	ChatInput string `json:"chatInput,omitempty"`
	// TimeoutMs bounds a whole run (default 120000).
	TimeoutMs int       `json:"timeoutMs,omitempty"`
	ManagedBy string    `json:"managedBy,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Node is one step. Position is where the builder draws it.
type Node struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Position *Position `json:"position,omitempty"`
	Data     NodeData  `json:"data"`
}

// Position is a node's place on the builder's canvas.
type Position struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// NodeData configures a node; which fields apply depends on its type.
type NodeData struct {
	Label string `json:"label,omitempty"`
	// Model (model nodes) is a registered model id.
	Model string `json:"model,omitempty"`
	// Input (model and transform nodes) is an expression over input and steps that builds the
	// step's input; without it, the step takes its predecessor's output (for a model, its text
	// as the user message).
	Input string `json:"input,omitempty"`
	// Tool (tool nodes) is an MCP tool as clients of /mcp see it: "<server id>__<tool>".
	Tool string `json:"tool,omitempty"`
	// Arguments (tool nodes) is an expression over input and steps that builds the tool's
	// arguments, an object; without it, the step passes its predecessor's output, which must be
	// one.
	Arguments string `json:"arguments,omitempty"`
	Retries   *int   `json:"retries,omitempty"`
	// TimeoutMs bounds a model or tool step's call.
	TimeoutMs int      `json:"timeoutMs,omitempty"`
	Fallbacks []string `json:"fallbacks,omitempty"`
	// Plugin (transform nodes) names a WASM or process plugin; Config, when set, replaces the
	// plugin's own config for this step.
	Plugin string `json:"plugin,omitempty"`
	Config any    `json:"config,omitempty"`
	// Expression is a condition's test (true or false), or an expression router's choice (the id
	// of the target node, or the sourceHandle of the edge to follow).
	Expression string `json:"expression,omitempty"`
	// Strategy (router nodes) is expression, or cost, latency or quality: the best of the model
	// nodes it leads to, from the registry's live stats.
	Strategy        string  `json:"strategy,omitempty"`
	Capability      string  `json:"capability,omitempty"`
	MaxLatencyMs    float64 `json:"maxLatencyMs,omitempty"`
	MaxCostPerToken float64 `json:"maxCostPerToken,omitempty"`
	// Mode (merge nodes) is object (by source id, the default), list, or text (joined).
	Mode string `json:"mode,omitempty"`
	// Output (output nodes) is an expression for the pipeline's output.
	Output string `json:"output,omitempty"`
	// OnError is fail (the default: the run fails) or continue: the step's output becomes
	// {"error": message} and a condition downstream can handle it.
	OnError string `json:"onError,omitempty"`
}

// Edge connects two nodes. SourceHandle is true or false on a condition's edges, and optionally
// names a router's routes.
type Edge struct {
	ID           string `json:"id,omitempty"`
	Source       string `json:"source"`
	Target       string `json:"target"`
	SourceHandle string `json:"sourceHandle,omitempty"`
}

// Problem is one validation error, keyed by the node at fault so the builder can mark it.
type Problem struct {
	Node    string `json:"node,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (p Problem) Error() string {
	switch {
	case p.Node != "" && p.Field != "":
		return "nodes." + p.Node + "." + p.Field + ": " + p.Message
	case p.Node != "":
		return "nodes." + p.Node + ": " + p.Message
	case p.Field != "":
		return p.Field + ": " + p.Message
	}
	return p.Message
}

// Problems is every validation error of a pipeline.
type Problems []Problem

func (ps Problems) Error() string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "; "
		}
		s += p.Error()
	}
	return s
}

// Catalog is what a pipeline may refer to, for checking it: models, plugins and MCP servers.
type Catalog interface {
	// Model returns the registered model id, or nil.
	Model(id string) *Entry
	// HasPlugin reports whether a plugin named name is loaded.
	HasPlugin(name string) bool
	// HasMCPServer reports whether an MCP server with id is declared.
	HasMCPServer(id string) bool
}
