package wasm

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// errCallStackExhausted is how a guest fails that nests more than maxCallDepth calls.
var errCallStackExhausted = fmt.Errorf("call stack exhausted: more than %d nested calls", maxCallDepth)

// entryGuard is a wazero function listener for interruptWazero mode (a module the rewriter cannot
// read), where wazero checks the context only at loop heads: at each guest function's entry it
// stops the call once its context is done, and bounds the call depth as the rewriter does, so
// recursion without loops cannot run away. Its trip into Go per call is acceptable in a fallback.
type entryGuard struct{ p *Plugin }

func (g entryGuard) NewFunctionListener(api.FunctionDefinition) experimental.FunctionListener {
	return g
}

// Before panics to stop the guest; wazero turns the panic into the call's error, which
// classify reads.
func (g entryGuard) Before(ctx context.Context, mod api.Module, _ api.FunctionDefinition, _ []uint64, _ experimental.StackIterator) {
	if err := ctx.Err(); err != nil {
		panic(err)
	}
	if in := g.p.instanceOf(mod); in != nil {
		if in.calls++; in.calls > maxCallDepth {
			panic(errCallStackExhausted)
		}
	}
}

func (g entryGuard) After(_ context.Context, mod api.Module, _ api.FunctionDefinition, _ []uint64) {
	if in := g.p.instanceOf(mod); in != nil {
		in.calls--
	}
}

// Abort needs nothing: an instance whose call trapped is thrown away.
func (g entryGuard) Abort(context.Context, api.Module, api.FunctionDefinition, error) {}
