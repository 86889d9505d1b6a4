package invoke

import (
	"context"
	"encoding/json"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
)

// Transformer runs transform plugins on canonical bodies. The server supplies it; WASM and
// process plugins look the same from here.
type Transformer interface {
	// Transform runs plugin at stage (request, response or chunk) on body. Drop, for chunks,
	// leaves the chunk out of the stream. out, when not nil, is valid JSON (checked by the
	// implementation, which reads the plugin's answer anyway). ctx carries the chain's
	// deadline and the request's cancellation.
	Transform(ctx context.Context, plugin, stage string, body []byte, meta TransformMeta) (out []byte, drop bool, err error)
	// Chunks reports whether plugin transforms stream chunks.
	Chunks(plugin string) bool
}

// TransformMeta tells a transform about the request it sees.
type TransformMeta struct {
	RequestID, Model, Provider, Key, Org, Op string
	Stream                                   bool
	OutputSchema                             json.RawMessage // the model's, when it declares one
	// Config, when set, replaces the plugin's config for this call (a pipeline node's).
	Config json.RawMessage
}

// transformTimeout bounds a chain of transforms when the request sets no deadline.
const transformTimeout = 30 * time.Second

func (o *Outcome) meta(r *Route) TransformMeta {
	m := TransformMeta{RequestID: o.req.ID, Model: r.ID, Provider: r.Provider, Op: o.req.Op, Stream: o.req.Call.Stream,
		OutputSchema: r.OutputSchema}
	if k := o.req.Key; k != nil {
		m.Key, m.Org = k.Name, k.Org
	}
	return m
}

// transformContext is the context of a chain of transforms: the call's context, bounded by the
// request's deadline or transformTimeout from now. The caller cancels it when the chain is done.
func (o *Outcome) transformContext() (context.Context, context.CancelFunc) {
	at := o.req.Call.Deadline
	if at.IsZero() {
		at = time.Now().Add(transformTimeout)
	}
	return context.WithDeadline(o.req.Call.Context(), at)
}

// chain runs plugins in order on body at stage.
func (e *Engine) chain(o *Outcome, r *Route, stage string, plugins []string, body []byte) ([]byte, *fault.Error) {
	if e.Transforms == nil {
		return nil, fault.PluginFailed("model %q has transforms, but no plugins are loaded", r.ID)
	}
	ctx, cancel := o.transformContext()
	defer cancel()
	meta := o.meta(r)
	for _, p := range plugins {
		out, _, err := e.Transforms.Transform(ctx, p, stage, body, meta)
		if err != nil {
			return nil, pluginFault(p, stage, err)
		}
		if out != nil {
			body = out
		}
	}
	return body, nil
}

func pluginFault(plugin, stage string, err error) *fault.Error {
	if fe, ok := err.(*fault.Error); ok {
		return fe
	}
	return fault.PluginFailed("the %s transform %q failed: %v", stage, plugin, err)
}

// requestFor applies r's request transforms to the original request, for an attempt on r.
func (e *Engine) requestFor(o *Outcome, r *Route, orig *requestBody) *fault.Error {
	o.req.Call.Body, o.req.Call.Fields = orig.body, orig.fields
	t := r.Transforms
	if t == nil || len(t.Request) == 0 {
		return nil
	}
	body, fe := e.chain(o, r, "request", t.Request, orig.body)
	if fe != nil {
		return fe
	}
	if len(body) == len(orig.body) && (len(body) == 0 || &body[0] == &orig.body[0]) {
		return nil // no transform changed it
	}
	fields, err := rawjson.Members(body, o.fields[:0]) // valid JSON: see Transformer
	o.fields = fields
	if err != nil {
		return fault.PluginFailed("the request transforms of model %q made a body that is not a JSON object: %v", r.ID, err)
	}
	o.req.Call.Body, o.req.Call.Fields = body, fields
	return nil
}

type requestBody struct {
	body   []byte
	fields []rawjson.Field
}

// respond applies the answering route's response transforms to a non-streaming answer, and
// readies its chunk transforms for a stream.
func (e *Engine) respond(o *Outcome) *fault.Error {
	t := o.Route.Transforms
	if t == nil || len(t.Response) == 0 {
		return nil
	}
	if o.Result != nil {
		body, fe := e.chain(o, o.Route, "response", t.Response, o.Result.Body)
		if fe != nil {
			return fe
		}
		o.Result.Body = body
		return nil
	}
	for _, p := range t.Response {
		if e.Transforms != nil && e.Transforms.Chunks(p) {
			o.chunkPlugins = append(o.chunkPlugins, p)
		}
	}
	return nil
}

// transformChunk runs the chunk transforms; a nil chunk means dropped.
func (o *Outcome) transformChunk(chunk []byte) ([]byte, error) {
	ctx, cancel := o.transformContext()
	defer cancel()
	meta := o.meta(o.Route)
	for _, p := range o.chunkPlugins {
		out, drop, err := o.e.Transforms.Transform(ctx, p, "chunk", chunk, meta)
		if err != nil {
			return nil, pluginFault(p, "chunk", err)
		}
		if drop {
			return nil, nil
		}
		if out != nil {
			chunk = out
		}
	}
	return chunk, nil
}
