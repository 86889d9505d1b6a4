// Package pipeline owns pipelines: multi-model workflows as a DAG of steps, validated and
// compiled once into a plan, run with independent branches in parallel under one deadline, and
// recorded as PipelineExecutions. A Pipeline (React Flow's nodes and edges) is the same value from
// the config file, the admin API or the console's builder. It calls models through the invoke
// engine, plugins through the Transformer and MCP tools through the Tools it is given, and knows
// nothing of HTTP.
package pipeline

import "github.com/iomhq/iom/gateway/spec"

// Node types, as spec declares them.
const (
	Input     = spec.NodeInput
	Output    = spec.NodeOutput
	Model     = spec.NodeModel
	Tool      = spec.NodeTool
	Transform = spec.NodeTransform
	Condition = spec.NodeCondition
	Router    = spec.NodeRouter
	Merge     = spec.NodeMerge
)

// The declared pipeline and its parts live in package spec; pipelines run them under these names.
type (
	Pipeline = spec.Pipeline
	Node     = spec.Node
	Position = spec.Position
	NodeData = spec.NodeData
	Edge     = spec.Edge
	Problem  = spec.Problem
	Problems = spec.Problems
)

// NodeTypes lists every node type.
var NodeTypes = spec.NodeTypes
