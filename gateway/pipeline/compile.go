// Package pipeline owns pipelines: multi-model workflows as a DAG of steps, validated and
// compiled once into a plan, run with independent branches in parallel under one deadline, and
// recorded as PipelineExecutions. A spec.Pipeline (React Flow's nodes and edges) is the same value from
// the config file, the admin API or the console's builder. It calls models through the invoke
// engine, plugins through the Transformer and MCP tools through the Tools it is given, and knows
// nothing of HTTP.
package pipeline

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/iomhq/iom/gateway/rules"
	"github.com/iomhq/iom/gateway/spec"
)

// Catalog answers what a pipeline refers to.
type Catalog = spec.Catalog

// Plan is a pipeline compiled for runs: checked, ordered, expressions compiled. It is immutable.
type Plan struct {
	Pipeline *spec.Pipeline
	Input    *spec.Schema
	steps    []*step // in a topological order
	byID     map[string]*step
	input    *step
	output   *step
	// streamStep is the model step whose answer is the output as it is, so a streamed chat can
	// relay it as it runs.
	streamStep *step
	// chat is the inputSchema property a chat request's last user message fills, or nil.
	chat    *chatProp
	timeout time.Duration
}

type step struct {
	node     *spec.Node
	index    int // in the pipeline's nodes
	pos      int // in the plan's order, and the execution's steps
	in, out  []*link
	input    *rules.Program // model and transform input, tool arguments
	expr     *rules.Program // condition and expression router
	output   *rules.Program // output node
	modelIDs []string       // router: the models of the targets
}

type link struct {
	from, to *step
	handle   string
}

// Variables expressions may use: the pipeline's input and the outputs of earlier steps.
var exprVars = []string{"input", "steps"}

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)
	nodeIDPattern  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)
	strategies     = []string{"expression", "cost", "latency", "quality"}
	mergeModes     = []string{"object", "list", "text"}
	onErrorChoices = []string{"fail", "continue"}
)

// toolSeparator joins an MCP server's id and a tool's name, as /mcp names tools.
const toolSeparator = "__"

// DefaultTimeout bounds runs of pipelines that set no timeoutMs.
const DefaultTimeout = 120 * time.Second

// Compile checks p against cat and builds its plan, or returns every problem found.
func Compile(p *spec.Pipeline, cat Catalog) (*Plan, spec.Problems) {
	var ps spec.Problems
	add := func(node, field, format string, args ...any) {
		ps = append(ps, spec.Problem{Node: node, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if !idPattern.MatchString(p.ID) {
		add("", "id", "%q must be 1-128 letters, digits or ._:@- and start with a letter or digit", p.ID)
	}
	if strings.TrimSpace(p.Name) == "" {
		add("", "name", "is required")
	}
	if p.TimeoutMs < 0 {
		add("", "timeoutMs", "must not be negative")
	}
	plan := &Plan{Pipeline: p, byID: map[string]*step{}, timeout: DefaultTimeout}
	if p.TimeoutMs > 0 {
		plan.timeout = time.Duration(p.TimeoutMs) * time.Millisecond
	}
	if len(p.InputSchema) > 0 {
		s, err := spec.CompileSchema(p.InputSchema)
		if err != nil {
			add("", "inputSchema", "is not a valid JSON Schema: %v", err)
		}
		plan.Input = s
	}
	if c, problem := chatProperty(p); problem != nil {
		ps = append(ps, *problem)
	} else {
		plan.chat = c
	}
	for i := range p.Nodes {
		n := &p.Nodes[i]
		switch {
		case !nodeIDPattern.MatchString(n.ID):
			add(n.ID, "id", "node id %q must be 1-64 letters, digits or ._- ", n.ID)
			continue
		case plan.byID[n.ID] != nil:
			add(n.ID, "id", "duplicate node id %q", n.ID)
			continue
		case !slices.Contains(spec.NodeTypes, n.Type):
			add(n.ID, "type", "%q is not one of %s", n.Type, strings.Join(spec.NodeTypes, ", "))
		}
		s := &step{node: n, index: i}
		plan.byID[n.ID] = s
		switch n.Type {
		case spec.NodeInput:
			if plan.input != nil {
				add(n.ID, "type", "a pipeline has one input node; %q is another", n.ID)
			}
			plan.input = s
		case spec.NodeOutput:
			if plan.output != nil {
				add(n.ID, "type", "a pipeline has one output node; %q is another", n.ID)
			}
			plan.output = s
		}
	}
	if plan.input == nil {
		add("", "nodes", "there is no input node")
	}
	if plan.output == nil {
		add("", "nodes", "there is no output node")
	}
	seen := map[[3]string]bool{}
	for i, e := range p.Edges {
		field := fmt.Sprintf("edges[%d]", i)
		from, to := plan.byID[e.Source], plan.byID[e.Target]
		switch {
		case from == nil:
			add("", field, "source %q is not a node", e.Source)
			continue
		case to == nil:
			add(e.Source, field, "target %q is not a node", e.Target)
			continue
		case from == to:
			add(e.Source, field, "an edge cannot connect a node to itself")
			continue
		case seen[[3]string{e.Source, e.Target, e.SourceHandle}]:
			add(e.Source, field, "duplicate edge to %q", e.Target)
			continue
		}
		seen[[3]string{e.Source, e.Target, e.SourceHandle}] = true
		l := &link{from: from, to: to, handle: e.SourceHandle}
		from.out = append(from.out, l)
		to.in = append(to.in, l)
	}
	for _, s := range plan.byID {
		ps = append(ps, checkNode(s, cat)...)
	}
	if len(ps) > 0 {
		return nil, sortProblems(ps, p)
	}
	ps = append(ps, plan.order()...)
	if len(ps) == 0 {
		ps = append(ps, plan.reachability()...)
	}
	if len(ps) == 0 {
		ps = append(ps, plan.schemas(cat)...)
	}
	if len(ps) > 0 {
		return nil, sortProblems(ps, p)
	}
	if o := plan.output; len(o.in) == 1 && o.in[0].from.node.Type == spec.NodeModel {
		// The output is the step's answer as it is, or its text: what its chunks spell out.
		if from := o.in[0].from.node.ID; o.node.Data.Output == "" || strings.TrimSpace(o.node.Data.Output) == "steps."+from+".output.text" {
			plan.streamStep = o.in[0].from
		}
	}
	return plan, nil
}

func sortProblems(ps spec.Problems, p *spec.Pipeline) spec.Problems {
	order := map[string]int{}
	for i, n := range p.Nodes {
		order[n.ID] = i + 1
	}
	slices.SortStableFunc(ps, func(a, b spec.Problem) int { return order[a.Node] - order[b.Node] })
	return ps
}

func checkNode(s *step, cat Catalog) spec.Problems {
	var ps spec.Problems
	n := s.node
	add := func(field, format string, args ...any) {
		ps = append(ps, spec.Problem{Node: n.ID, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	compile := func(field, src string) *rules.Program {
		if src == "" {
			return nil
		}
		p, err := rules.Compile(src, exprVars...)
		if err != nil {
			add(field, "%v", err)
		}
		return p
	}
	d := &n.Data
	if d.OnError != "" && !slices.Contains(onErrorChoices, d.OnError) {
		add("data.onError", "%q is not one of fail, continue", d.OnError)
	}
	switch n.Type {
	case spec.NodeInput:
		if len(s.in) > 0 {
			add("", "the input node cannot have incoming edges")
		}
	case spec.NodeOutput:
		if len(s.out) > 0 {
			add("", "the output node cannot have outgoing edges")
		}
		s.output = compile("data.output", d.Output)
	case spec.NodeModel:
		switch {
		case d.Model == "":
			add("data.model", "is required")
		case cat.Model(d.Model) == nil:
			add("data.model", "unknown model %q", d.Model)
		}
		for i, fb := range d.Fallbacks {
			if cat.Model(fb) == nil {
				add(fmt.Sprintf("data.fallbacks[%d]", i), "unknown model %q", fb)
			}
		}
		if d.Retries != nil && (*d.Retries < 0 || *d.Retries > 10) {
			add("data.retries", "must be between 0 and 10")
		}
		if d.TimeoutMs < 0 {
			add("data.timeoutMs", "must not be negative")
		}
		s.input = compile("data.input", d.Input)
	case spec.NodeTool:
		server, tool, ok := strings.Cut(d.Tool, toolSeparator)
		switch {
		case d.Tool == "":
			add("data.tool", "is required")
		case !ok || server == "" || tool == "":
			add("data.tool", "%q must be <server id>__<tool name>, as /mcp lists it", d.Tool)
		case !cat.HasMCPServer(server):
			add("data.tool", "unknown MCP server %q", server)
		}
		if d.TimeoutMs < 0 {
			add("data.timeoutMs", "must not be negative")
		}
		s.input = compile("data.arguments", d.Arguments)
	case spec.NodeTransform:
		switch {
		case d.Plugin == "":
			add("data.plugin", "is required")
		case !cat.HasPlugin(d.Plugin):
			add("data.plugin", "unknown plugin %q", d.Plugin)
		}
		s.input = compile("data.input", d.Input)
	case spec.NodeCondition:
		if d.Expression == "" {
			add("data.expression", "is required")
		}
		s.expr = compile("data.expression", d.Expression)
		if len(s.out) == 0 {
			add("", "a condition needs an edge with sourceHandle true or false")
		}
		for _, l := range s.out {
			if l.handle != "true" && l.handle != "false" {
				add("", "the edge to %q must have sourceHandle true or false, not %q", l.to.node.ID, l.handle)
			}
		}
	case spec.NodeRouter:
		strategy := d.Strategy
		if strategy == "" {
			strategy = "expression"
		}
		if !slices.Contains(strategies, strategy) {
			add("data.strategy", "%q is not one of %s", d.Strategy, strings.Join(strategies, ", "))
		}
		if len(s.out) == 0 {
			add("", "a router needs at least one outgoing edge")
		}
		if strategy == "expression" {
			if d.Expression == "" {
				add("data.expression", "is required for the expression strategy")
			}
			s.expr = compile("data.expression", d.Expression)
		} else {
			for _, l := range s.out {
				if l.to.node.Type != spec.NodeModel {
					add("", "a %s router leads to model nodes; %q is a %s node", strategy, l.to.node.ID, l.to.node.Type)
					continue
				}
				s.modelIDs = append(s.modelIDs, l.to.node.Data.Model)
			}
		}
	case spec.NodeMerge:
		if d.Mode != "" && !slices.Contains(mergeModes, d.Mode) {
			add("data.mode", "%q is not one of object, list, text", d.Mode)
		}
		if len(s.in) == 0 {
			add("", "a merge needs incoming edges")
		}
	}
	return ps
}

// order sorts the steps topologically, reporting the nodes of any cycle.
func (p *Plan) order() spec.Problems {
	pending := make(map[*step]int, len(p.byID))
	var queue []*step
	for _, s := range p.byID {
		pending[s] = len(s.in)
		if len(s.in) == 0 {
			queue = append(queue, s)
		}
	}
	slices.SortFunc(queue, func(a, b *step) int { return a.index - b.index })
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		s.pos = len(p.steps)
		p.steps = append(p.steps, s)
		for _, l := range s.out {
			if pending[l.to]--; pending[l.to] == 0 {
				queue = append(queue, l.to)
			}
		}
	}
	var ps spec.Problems
	for _, s := range p.byID {
		if pending[s] > 0 {
			ps = append(ps, spec.Problem{Node: s.node.ID, Message: "is part of a cycle"})
		}
	}
	return ps
}

// reachability reports nodes the input does not reach, and nodes that do not reach the output.
func (p *Plan) reachability() spec.Problems {
	walk := func(start *step, next func(*step) []*step) map[*step]bool {
		seen := map[*step]bool{start: true}
		stack := []*step{start}
		for len(stack) > 0 {
			s := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, n := range next(s) {
				if !seen[n] {
					seen[n] = true
					stack = append(stack, n)
				}
			}
		}
		return seen
	}
	fromInput := walk(p.input, func(s *step) []*step {
		var out []*step
		for _, l := range s.out {
			out = append(out, l.to)
		}
		return out
	})
	toOutput := walk(p.output, func(s *step) []*step {
		var out []*step
		for _, l := range s.in {
			out = append(out, l.from)
		}
		return out
	})
	var ps spec.Problems
	for _, s := range p.steps {
		if !fromInput[s] {
			ps = append(ps, spec.Problem{Node: s.node.ID, Message: "is not reachable from the input node"})
		} else if !toOutput[s] {
			ps = append(ps, spec.Problem{Node: s.node.ID, Message: "has no path to the output node"})
		}
	}
	return ps
}

// schemas checks, where a model step after another model step takes the default input (the
// previous answer's text as a user message), that its model's inputSchema accepts that input.
func (p *Plan) schemas(cat Catalog) spec.Problems {
	var ps spec.Problems
	sample, _ := json.Marshal(map[string]any{"messages": []any{map[string]string{"role": "user", "content": "text"}}})
	for _, s := range p.steps {
		if s.node.Type != spec.NodeModel || s.input != nil || len(s.in) != 1 || s.in[0].from.node.Type != spec.NodeModel {
			continue
		}
		prev, cur := cat.Model(s.in[0].from.node.Data.Model), cat.Model(s.node.Data.Model)
		if prev == nil || cur == nil || prev.Output == nil || cur.Input == nil {
			continue
		}
		if err := cur.Input.Validate(sample); err != nil {
			ps = append(ps, spec.Problem{Node: s.node.ID, Field: "data.input", Message: fmt.Sprintf(
				"the output of step %q (model %q) becomes a user message, which model %q's inputSchema does not accept (%v); map it with an input expression",
				s.in[0].from.node.ID, prev.ID, cur.ID, err)})
		}
	}
	return ps
}

// Models lists the models a plan uses (model steps and their fallbacks).
func (p *Plan) Models() []string {
	var ids []string
	for _, s := range p.steps {
		if s.node.Type != spec.NodeModel {
			continue
		}
		for _, id := range append([]string{s.node.Data.Model}, s.node.Data.Fallbacks...) {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Streams reports whether the plan's output is one model step's answer, which a streamed chat
// can relay as it comes.
func (p *Plan) Streams() bool { return p.streamStep != nil }
