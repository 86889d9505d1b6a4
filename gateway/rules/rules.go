// Package rules compiles and runs the small expressions users write in configs and pipelines:
// request templates and answer extraction for HTTP models, conditions and routes, and step input
// mappings. It is the only package that imports expr. Expressions are compiled once, when the
// config or pipeline is loaded, and checked against the variables they may use; running one
// never parses.
package rules

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Program is a compiled expression.
type Program struct {
	src string
	p   *vm.Program
}

// Compile compiles src, which may use the given variables (of any type) and expr's built-ins.
// A name that is not a variable or a built-in is a compile error.
func Compile(src string, vars ...string) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	// Variables are untyped (their values come from JSON), so the compiler is told nothing of
	// their types; names are checked against the AST instead.
	p, err := expr.Compile(src, expr.Env(map[string]any{}), expr.AllowUndefinedVariables())
	if err != nil {
		return nil, fmt.Errorf("invalid expression %q: %s", src, oneLine(err.Error()))
	}
	root := p.Node()
	c := &nameCheck{known: map[string]bool{}}
	for _, v := range vars {
		c.known[v] = true
	}
	ast.Walk(&root, &declared{c.known}) // let-bound names first: Walk visits children before parents
	ast.Walk(&root, c)
	if c.unknown != "" {
		return nil, fmt.Errorf("invalid expression %q: unknown name %q (you can use %s)", src, c.unknown, strings.Join(vars, ", "))
	}
	return &Program{src: src, p: p}, nil
}

type nameCheck struct {
	known   map[string]bool
	unknown string
}

func (c *nameCheck) Visit(n *ast.Node) {
	if v, ok := (*n).(*ast.IdentifierNode); ok && !c.known[v.Value] && c.unknown == "" {
		c.unknown = v.Value
	}
}

type declared struct{ known map[string]bool }

func (d *declared) Visit(n *ast.Node) {
	if v, ok := (*n).(*ast.VariableDeclaratorNode); ok {
		d.known[v.Name] = true
	}
}

// Source returns the expression as written.
func (p *Program) Source() string { return p.src }

// Run evaluates the program with values for its variables.
func (p *Program) Run(env map[string]any) (any, error) {
	v, err := expr.Run(p.p, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q failed: %s", p.src, oneLine(err.Error()))
	}
	return v, nil
}

// Bool evaluates the program and requires a boolean.
func (p *Program) Bool(env map[string]any) (bool, error) {
	v, err := p.Run(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q gave %T, not true or false", p.src, v)
	}
	return b, nil
}

// String evaluates the program and renders the result as text: strings as they are, nil as "",
// anything else as JSON.
func (p *Program) String(env map[string]any) (string, error) {
	v, err := p.Run(env)
	if err != nil {
		return "", err
	}
	return Text(v), nil
}

// Text renders a value as text: strings as they are, nil as "", anything else as JSON.
func Text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Number converts a result to a number, for token counts and scores.
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
