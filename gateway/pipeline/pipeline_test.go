package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
)

type noPlugins struct{}

func (noPlugins) Transform(_ context.Context, _ string, value any, _ any, _ map[string]any) (any, error) {
	return value, nil
}

type pluginsOnly struct{}

func (pluginsOnly) Model(string) *spec.Entry { return nil }
func (pluginsOnly) HasPlugin(string) bool    { return true }
func (pluginsOnly) HasMCPServer(string) bool { return false }

// chain is input → n transform steps → output.
func chain(n int) *spec.Pipeline {
	p := &spec.Pipeline{ID: "chain", Name: "Chain"}
	p.Nodes = append(p.Nodes, spec.Node{ID: "in", Type: spec.NodeInput})
	prev := "in"
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		p.Nodes = append(p.Nodes, spec.Node{ID: id, Type: spec.NodeTransform, Data: spec.NodeData{Plugin: "noop"}})
		p.Edges = append(p.Edges, spec.Edge{Source: prev, Target: id})
		prev = id
	}
	p.Nodes = append(p.Nodes, spec.Node{ID: "out", Type: spec.NodeOutput})
	p.Edges = append(p.Edges, spec.Edge{Source: prev, Target: "out"})
	return p
}

func runner(tb testing.TB) *Runner {
	st, err := store.Open(store.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	m := analytics.NewMetrics()
	rec := analytics.NewRecorder(st, 0, m, slog.Default())
	e := invoke.New(provider.NewPool(), analytics.NewLive(), m, rec, slog.Default())
	tb.Cleanup(func() { e.Close(); rec.Close(); st.Close() })
	return NewRunner(e, noPlugins{}, rec, slog.Default(), 4)
}

func TestChainRuns(t *testing.T) {
	plan, ps := Compile(chain(5), pluginsOnly{})
	if ps != nil {
		t.Fatal(ps)
	}
	x := runner(t).Run(context.Background(), plan, map[string]any{"v": 1.0}, Options{})
	if x.Status != "ok" || TextOf(x.OutputValue()) != `{"v":1}` || len(x.Steps) != 7 {
		t.Fatalf("%s %v %d", x.Status, x.OutputValue(), len(x.Steps))
	}
}

// BenchmarkStepOverhead is the engine's own cost per step: scheduling, records, expressions,
// with steps that do nothing.
func BenchmarkStepOverhead(b *testing.B) {
	const steps = 50
	plan, ps := Compile(chain(steps), pluginsOnly{})
	if ps != nil {
		b.Fatal(ps)
	}
	r := runner(b)
	input := map[string]any{"text": "hello"}
	b.ReportAllocs()
	for b.Loop() {
		if x := r.Run(context.Background(), plan, input, Options{}); x.Status != "ok" {
			b.Fatal(x.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/steps/1000, "µs/step")
}

// BenchmarkExecutionJSON encodes the record of a one-step chat run, as the recorder does.
func BenchmarkExecutionJSON(b *testing.B) {
	x := sampleExecution()
	b.ReportAllocs()
	for b.Loop() {
		if len(x.JSON()) == 0 {
			b.Fatal("empty")
		}
	}
}

// sampleExecution is the record of a one-step chat run with generic JSON values.
func sampleExecution() *Execution {
	var in, req, out any
	json.Unmarshal([]byte(`{"messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Summarise the plot of a short story about a fox and a dog in one sentence, please."}],"temperature":0.2}`), &in)
	json.Unmarshal([]byte(`{"model":"bench-step","messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Summarise the plot of a short story about a fox and a dog in one sentence, please."}],"temperature":0.2}`), &req)
	json.Unmarshal([]byte(`{"text":"A quick brown fox outwits a lazy dog, and they become unlikely friends.","model":"bench-step","usage":{"prompt_tokens":31,"completion_tokens":17,"total_tokens":48},"finish_reason":"stop"}`), &out)
	ok := true
	return &Execution{ID: "exec_0123456789", Kind: "pipeline", Time: time.Unix(1790000000, 0).UTC(), Pipeline: "bench-pipe",
		PipelineName: "One \"model\" step", Model: "pipeline:bench-pipe", Key: "bench", KeyID: "key_1", Org: "acme", Status: "ok",
		LatencyMs: 1.25, InTokens: 31, OutTokens: 17, CostUSD: 0.000048, Input: clip(in), Output: clip("A quick brown fox…\n"),
		Steps: []StepRecord{
			{ID: "in", Type: "input", Status: "ok", Output: clip(in)},
			{ID: "m", Type: "model", Label: "Model", Status: "ok", Model: "bench-step", ServedBy: "bench-step", Invocation: "req_1",
				StartMs: 0.01, LatencyMs: 1.2, InTokens: 31, OutTokens: 17, CostUSD: 0.000048, Input: clip(req), Output: clip(out), Result: &ok},
			{ID: "out", Type: "output", Status: "ok", Output: clip(map[string]any{"n": 1e300, "small": 1e-9, "neg": -3.0, "list": []any{true, nil, "x"}})},
		}}
}

// The hand-written record is the document encoding/json makes of the same execution.
func TestExecutionJSONMatchesEncodingJSON(t *testing.T) {
	type plain Execution // the same fields and tags, without the JSON method
	for _, x := range []*Execution{sampleExecution(), {ID: "e", Kind: "pipeline", Status: "running"}} {
		want, err := json.Marshal((*plain)(x))
		if err != nil {
			t.Fatal(err)
		}
		if got := x.JSON(); string(got) != string(want) {
			t.Fatalf("hand-written:\n%s\nencoding/json:\n%s", got, want)
		}
	}
	long := strings.Repeat("é", clipBytes)
	c := string(clip(map[string]any{"a": long}).appendJSON(nil))
	var s string
	if err := json.Unmarshal([]byte(c), &s); err != nil || !strings.HasSuffix(s, "…") || len(s) > clipBytes+len("…") {
		t.Fatalf("a long value is clipped into a string: %.80s… (%v)", c, err)
	}
	if got := string(clip(math.NaN()).appendJSON(nil)); got != "null" {
		t.Fatalf("a value JSON cannot hold: %s", got)
	}
}
