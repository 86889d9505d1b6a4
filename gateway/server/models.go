package server

import (
	"bytes"
	"context"
	"runtime/debug"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/mcp"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
)

func stack() string { return string(debug.Stack()) }

// openAIModel is a model in OpenAI's list format, with IoM's metadata beside it.
type openAIModel struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Created   int64  `json:"created"`
	OwnedBy   string `json:"owned_by"`
	Name      string `json:"name,omitempty"`
	ModelType string `json:"model_type,omitempty"`
	Status    string `json:"status,omitempty"`
}

func toOpenAIModel(r *invoke.Route) openAIModel {
	owner := r.Owner
	if owner == "" {
		owner = "iom"
	}
	var created int64
	if !r.CreatedAt.IsZero() {
		created = r.CreatedAt.Unix()
	}
	return openAIModel{ID: r.ID, Object: "model", Created: created, OwnedBy: owner, Name: r.Name, ModelType: r.ModelType, Status: r.Status()}
}

func (g *Server) listModels(ctx *fasthttp.RequestCtx, _ []string) {
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return
	}
	routes := g.engine.Visible(key)
	data := make([]openAIModel, 0, len(routes))
	for _, r := range routes {
		data = append(data, toOpenAIModel(r))
	}
	for _, e := range g.pipes.List() {
		if g.mayRun(key, e) {
			data = append(data, openAIModel{ID: spec.PipelinePrefix + e.ID, Object: "model", Created: e.CreatedAt.Unix(),
				OwnedBy: "iom-pipeline", Name: e.Name, ModelType: "pipeline", Status: spec.StatusAvailable})
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"object": "list", "data": data})
}

// mayCallTools reports whether key may call every MCP tool e's tool steps name: the tool's
// server admits the key (its security policy and the key's allowlist) and its filter shows the
// tool. A key that could not run a step does not see the pipeline, as for its models.
func (g *Server) mayCallTools(key *policy.Key, e *pipeline.Entry) bool {
	if e.Pipeline == nil {
		return true
	}
	for _, n := range e.Nodes {
		if n.Type != spec.NodeTool {
			continue
		}
		server, tool, ok := mcp.SplitName(n.Data.Tool)
		if !ok {
			return false
		}
		v, found := g.mcp.View(server)
		if !found || !mcp.Allows(key, &v.MCPServer) || !v.Tools.Allows(tool) {
			return false
		}
	}
	return true
}

func (g *Server) getModel(ctx *fasthttp.RequestCtx, params []string) {
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return
	}
	r, fe := g.engine.Resolve(key, params[0])
	if fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, toOpenAIModel(r))
}

// invokeModel takes any JSON input, checks it against the model's inputSchema, and calls the
// model with it: messages or a prompt for language models, input for embedding models.
func (g *Server) invokeModel(ctx *fasthttp.RequestCtx, params []string) {
	start := time.Now()
	id := g.engine.NewID(start)
	hRequestID.set(&ctx.Response.Header, id)
	key, fe := g.authenticate(ctx)
	if fe != nil {
		g.reject(ctx, fe, nil, "")
		return
	}
	r, fe := g.engine.Resolve(key, params[0])
	if fe != nil {
		g.reject(ctx, fe, key, "")
		return
	}
	if fe := g.limits.Admit(key); fe != nil {
		g.reject(ctx, fe, key, r.ID)
		return
	}
	out, fe := g.callWithInput(g.callContext(ctx), r, key, id, start, "invoke", ctx.PostBody())
	if fe != nil {
		g.callFailed(ctx, r.ID, id, fe)
		return
	}
	g.answerHeaders(ctx, out, start)
	ctx.SetContentType("application/json")
	ctx.SetBody(out.Result.Body)
	out.Finish(fasthttp.StatusOK, nil)
}

// callWithInput validates input against r's inputSchema, maps it to a canonical call, makes it,
// and checks the answer against r's outputSchema. The caller must Finish the outcome.
func (g *Server) callWithInput(life context.Context, r *invoke.Route, key *policy.Key, id string, start time.Time, op string, input []byte) (*invoke.Outcome, *fault.Error) {
	if r.Input != nil {
		if err := r.Input.Validate(input); err != nil {
			return nil, fault.Invalid("", "input does not match the inputSchema of model %q: %v", r.ID, err)
		}
	}
	pop, body, fe := canonicalInput(r, input)
	if fe != nil {
		return nil, fe
	}
	fields, err := rawjson.ScanObject(body, nil)
	if err != nil {
		return nil, fault.Invalid("", "input is not a JSON object")
	}
	req := &invoke.Request{ID: id, Start: start, Key: key, Op: op, Call: provider.Call{Op: pop, Body: body, Fields: fields, Ctx: life}}
	out, fe := g.engine.Do(r, req)
	if fe != nil {
		return nil, fe
	}
	if out.Route.Output != nil {
		if err := out.Route.Output.Validate(out.Result.Body); err != nil {
			fe := fault.Upstream(0, "the answer of model %q does not match its outputSchema: %v", out.Route.ID, err)
			out.Finish(fe.Status, fe)
			return nil, fe
		}
	}
	return out, nil
}

// canonicalInput maps free-form input to an OpenAI request for r: embedding models take
// "input"; language models take "messages", or a "prompt" (or string "input") as one user message.
func canonicalInput(r *invoke.Route, input []byte) (provider.Op, []byte, *fault.Error) {
	fields, err := rawjson.ScanObject(input, nil)
	if err != nil {
		return 0, nil, fault.Invalid("", "input must be a JSON object: %v", err)
	}
	body := []byte(`{"model":`)
	body = rawjson.AppendString(body, r.ID)
	add := func(skip ...string) {
	next:
		for _, f := range fields {
			for _, s := range skip {
				if string(f.Key) == s {
					continue next
				}
			}
			body = append(body, ',')
			body = rawjson.AppendString(body, string(f.Key))
			body = append(body, ':')
			body = append(body, f.Value...)
		}
	}
	if r.ModelType == "embedding" {
		if rawjson.Get(fields, "input") == nil {
			return 0, nil, fault.Invalid("input", "embedding model %q needs an \"input\"", r.ID)
		}
		add("model", "stream")
		return provider.Embedding, append(body, '}'), nil
	}
	if rawjson.Get(fields, "messages") != nil {
		add("model", "stream")
		return provider.Chat, append(body, '}'), nil
	}
	for _, name := range []string{"prompt", "input"} {
		if v, ok := rawjson.String(rawjson.Get(fields, name)); ok {
			body = append(body, `,"messages":[{"role":"user","content":`...)
			body = rawjson.AppendString(body, v)
			body = append(body, "}]"...)
			add("model", "stream", name)
			return provider.Chat, append(body, '}'), nil
		}
	}
	return 0, nil, fault.Invalid("", "cannot call model %q with this input: give \"messages\", or a \"prompt\" string", r.ID)
}

// textOf extracts the answer text of a chat completion, or the first embedding's size.
func textOf(body []byte) string {
	var buf [8]rawjson.Field
	fields, err := rawjson.ScanObject(body, buf[:0])
	if err != nil {
		return ""
	}
	var text string
	_ = rawjson.Elements(rawjson.Get(fields, "choices"), func(c []byte) error {
		var cb [8]rawjson.Field
		cf, _ := rawjson.Members(c, cb[:0])
		if msg := rawjson.Get(cf, "message"); msg != nil {
			var mb [8]rawjson.Field
			mf, _ := rawjson.Members(msg, mb[:0])
			text, _ = rawjson.String(rawjson.Get(mf, "content"))
		} else {
			text, _ = rawjson.String(rawjson.Get(cf, "text"))
		}
		return errStop
	})
	return text
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop = stopErr{}

var _ = bytes.Equal
var _ = spec.Public
