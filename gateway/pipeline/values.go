package pipeline

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/rules"
)

// Execution is a PipelineExecution: one run, with a record of every step.
type Execution struct {
	ID           string       `json:"id"`
	Kind         string       `json:"kind"` // pipeline
	Time         time.Time    `json:"time"`
	Pipeline     string       `json:"pipeline"`
	PipelineName string       `json:"pipelineName,omitempty"`
	Model        string       `json:"model"` // pipeline:<id>
	Key          string       `json:"key,omitempty"`
	KeyID        string       `json:"keyId,omitempty"`
	Org          string       `json:"org,omitempty"`
	Status       string       `json:"status"` // running, ok, error
	Error        string       `json:"error,omitempty"`
	FailedStep   string       `json:"failedStep,omitempty"`
	Async        bool         `json:"async,omitempty"`
	LatencyMs    float64      `json:"latencyMs"`
	InTokens     int64        `json:"inputTokens"`
	OutTokens    int64        `json:"outputTokens"`
	CostUSD      float64      `json:"costUsd"`
	Input        Clipped      `json:"input,omitzero"`
	Output       Clipped      `json:"output,omitzero"`
	Steps        []StepRecord `json:"steps"`
	// TraceID is the W3C trace id of the request that started the run, as hex.
	TraceID string `json:"traceId,omitempty"`

	mu     sync.Mutex
	start  time.Time
	output any
	err    error
}

// StepRecord is one step of a run. Inputs and outputs are clipped to a few kilobytes.
type StepRecord struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Label      string  `json:"label,omitempty"`
	Status     string  `json:"status"` // pending, running, ok, error, skipped, canceled
	Model      string  `json:"model,omitempty"`
	Tool       string  `json:"tool,omitempty"` // a tool step's MCP tool
	ServedBy   string  `json:"servedBy,omitempty"`
	Fallback   string  `json:"fallback,omitempty"`
	Retries    int     `json:"retries,omitempty"`
	Invocation string  `json:"invocation,omitempty"`
	StartMs    float64 `json:"startMs"`
	LatencyMs  float64 `json:"latencyMs"`
	InTokens   int64   `json:"inputTokens,omitempty"`
	OutTokens  int64   `json:"outputTokens,omitempty"`
	CostUSD    float64 `json:"costUsd,omitempty"`
	Input      Clipped `json:"input,omitzero"`
	Output     Clipped `json:"output,omitzero"`
	Error      string  `json:"error,omitempty"`
	Result     *bool   `json:"result,omitempty"` // a condition's
	Route      string  `json:"route,omitempty"`  // a router's choice
}

// JSON encodes the execution as it is now: the document encoding/json makes of it, written by
// hand because every run is recorded.
func (x *Execution) JSON() []byte {
	x.mu.Lock()
	defer x.mu.Unlock()
	o := rawjson.ObjectWriter{B: make([]byte, 0, 1024)}
	o.Str("id", x.ID, false)
	o.Str("kind", x.Kind, false)
	o.Time("time", x.Time)
	o.Str("pipeline", x.Pipeline, false)
	o.Str("pipelineName", x.PipelineName, true)
	o.Str("model", x.Model, false)
	o.Str("key", x.Key, true)
	o.Str("keyId", x.KeyID, true)
	o.Str("org", x.Org, true)
	o.Str("status", x.Status, false)
	o.Str("error", x.Error, true)
	o.Str("failedStep", x.FailedStep, true)
	o.Bool("async", x.Async, true)
	o.Num("latencyMs", x.LatencyMs, false)
	o.Int("inputTokens", x.InTokens, false)
	o.Int("outputTokens", x.OutTokens, false)
	o.Num("costUsd", x.CostUSD, false)
	o.Str("traceId", x.TraceID, true)
	x.Input.write(&o, "input")
	x.Output.write(&o, "output")
	o.Key("steps")
	if x.Steps == nil {
		o.B = append(o.B, "null"...)
	} else {
		o.B = append(o.B, '[')
		for i := range x.Steps {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			o.B = x.Steps[i].appendJSON(o.B)
		}
		o.B = append(o.B, ']')
	}
	return o.End()
}

func (r *StepRecord) appendJSON(b []byte) []byte {
	o := rawjson.ObjectWriter{B: b}
	o.Str("id", r.ID, false)
	o.Str("type", r.Type, false)
	o.Str("label", r.Label, true)
	o.Str("status", r.Status, false)
	o.Str("model", r.Model, true)
	o.Str("tool", r.Tool, true)
	o.Str("servedBy", r.ServedBy, true)
	o.Str("fallback", r.Fallback, true)
	o.Int("retries", int64(r.Retries), true)
	o.Str("invocation", r.Invocation, true)
	o.Num("startMs", r.StartMs, false)
	o.Num("latencyMs", r.LatencyMs, false)
	o.Int("inputTokens", r.InTokens, true)
	o.Int("outputTokens", r.OutTokens, true)
	o.Num("costUsd", r.CostUSD, true)
	r.Input.write(&o, "input")
	r.Output.write(&o, "output")
	o.Str("error", r.Error, true)
	if r.Result != nil {
		o.Bool("result", *r.Result, false)
	}
	o.Str("route", r.Route, true)
	return o.End()
}

// Output returns the run's output value (after it finished).
func (x *Execution) OutputValue() any {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.output
}

// Err returns why the run failed, or nil.
func (x *Execution) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

const clipBytes = 4096

// Clipped is a value in a record: encoded only when the record is, cut to a few kilobytes (then
// as a string ending in …). Values are not changed once a step made them, so holding them is
// safe and costs nothing while the run goes on.
type Clipped struct {
	v   any
	set bool
}

func clip(v any) Clipped { return Clipped{v: v, set: true} }

// IsZero reports whether no value was recorded.
func (c Clipped) IsZero() bool { return !c.set }

// MarshalJSON encodes the value, clipped.
func (c Clipped) MarshalJSON() ([]byte, error) { return c.appendJSON(nil), nil }

// appendJSON appends the value's JSON, or when that is longer than clipBytes, a string of its
// first clipBytes bytes and "…"; a value JSON cannot encode is null.
func (c Clipped) appendJSON(b []byte) []byte {
	start := len(b)
	b, err := rawjson.AppendValue(b, c.v)
	switch {
	case err != nil:
		return append(b[:start], "null"...)
	case len(b)-start <= clipBytes:
		return b
	}
	cut := string(b[start:start+clipBytes]) + "…"
	return rawjson.AppendString(b[:start], cut)
}

// write writes the value as the member name, unless none was recorded.
func (c Clipped) write(o *rawjson.ObjectWriter, name string) {
	if c.set {
		o.Key(name)
		o.B = c.appendJSON(o.B)
	}
}

// UnmarshalJSON keeps the value (records read back).
func (c *Clipped) UnmarshalJSON(b []byte) error {
	c.set = true
	return json.Unmarshal(b, &c.v)
}

// TextOf is the text of a value: a string, or the "text" of a step's output, else its JSON.
func TextOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if s, ok := t["text"].(string); ok {
			return s
		}
		if e, ok := t["error"].(string); ok {
			return e
		}
	}
	return rules.Text(v)
}

// canonical turns a step's input into a canonical request for route: an object with messages as
// a chat request (without the member named chatProp: the pipeline's chat property, which a
// chat request's last user message filled and a model would not know); a string, or an object
// holding only a prompt, text or input string, as one user message; any other value as its
// JSON text in one user message; embeddings of the text for embedding models.
func canonical(route *invoke.Route, in any, chatProp string) (provider.Op, []byte) {
	if route.ModelType == "embedding" {
		b, _ := json.Marshal(map[string]any{"model": route.ID, "input": TextOf(in)})
		return provider.Embedding, b
	}
	if m, ok := in.(map[string]any); ok {
		if _, has := m["messages"]; has {
			req := make(map[string]any, len(m)+1)
			for k, v := range m {
				if k != "stream" && k != "stream_options" && k != chatProp {
					req[k] = v
				}
			}
			req["model"] = route.ID
			b, _ := json.Marshal(req)
			return provider.Chat, b
		}
		content := rules.Text(m)
		switch {
		case isStepOutput(m):
			content = TextOf(m) // the previous model's answer
		case len(m) == 1: // {"prompt": …} alone is the prompt; with other fields, the model gets them all
			for _, k := range []string{"prompt", "text", "input"} {
				if s, ok := m[k].(string); ok {
					content = s
				}
			}
		}
		in = content
	}
	b, _ := json.Marshal(map[string]any{"model": route.ID, "messages": []any{map[string]any{"role": "user", "content": TextOf(in)}}})
	return provider.Chat, b
}

// isStepOutput reports whether m is a model step's output ({text, model, usage, …}).
func isStepOutput(m map[string]any) bool {
	_, text := m["text"].(string)
	_, model := m["model"]
	_, usage := m["usage"]
	return text && model && usage
}

// withStream sets stream (with usage) on a canonical chat body.
func withStream(body []byte) ([]byte, []rawjson.Field) {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	m["stream"] = true
	m["stream_options"] = map[string]any{"include_usage": true}
	b, _ := json.Marshal(m)
	fields, _ := rawjson.ScanObject(b, nil)
	return b, fields
}

// answerText is the text of a chat or legacy completion.
func answerText(resp any) string {
	m, _ := resp.(map[string]any)
	choices, _ := m["choices"].([]any)
	if len(choices) == 0 {
		return ""
	}
	c, _ := choices[0].(map[string]any)
	if msg, ok := c["message"].(map[string]any); ok {
		s, _ := msg["content"].(string)
		return s
	}
	s, _ := c["text"].(string)
	return s
}

// deltaText is the content a chunk adds.
func deltaText(chunk []byte) string {
	var c struct {
		Choices []struct {
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(chunk, &c) != nil || len(c.Choices) == 0 {
		return ""
	}
	return c.Choices[0].Delta.Content
}

func embeddingOf(resp any) any {
	m, _ := resp.(map[string]any)
	data, _ := m["data"].([]any)
	if len(data) == 1 {
		if d, ok := data[0].(map[string]any); ok {
			return d["embedding"]
		}
	}
	var all []any
	for _, d := range data {
		if dm, ok := d.(map[string]any); ok {
			all = append(all, dm["embedding"])
		}
	}
	return all
}
