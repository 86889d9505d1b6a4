package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/store"
)

type noPlugins struct{}

func (noPlugins) Transform(_ context.Context, _ string, value any, _ any, _ map[string]any) (any, error) {
	return value, nil
}

type pluginsOnly struct{}

func (pluginsOnly) Model(string) *registry.Entry { return nil }
func (pluginsOnly) HasPlugin(string) bool        { return true }

// chain is input → n transform steps → output.
func chain(n int) *Pipeline {
	p := &Pipeline{ID: "chain", Name: "Chain"}
	p.Nodes = append(p.Nodes, Node{ID: "in", Type: Input})
	prev := "in"
	for i := range n {
		id := fmt.Sprintf("t%d", i)
		p.Nodes = append(p.Nodes, Node{ID: id, Type: Transform, Data: NodeData{Plugin: "noop"}})
		p.Edges = append(p.Edges, Edge{Source: prev, Target: id})
		prev = id
	}
	p.Nodes = append(p.Nodes, Node{ID: "out", Type: Output})
	p.Edges = append(p.Edges, Edge{Source: prev, Target: "out"})
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
