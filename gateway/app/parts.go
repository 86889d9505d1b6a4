package app

import (
	"context"
	"time"

	"github.com/iomhq/iom/gateway/analytics"
	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/mcp"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/telemetry"
)

// catalog lets pipelines see the registry, the plugins and the MCP servers.
type catalog struct{ g *Gateway }

func (c catalog) Model(id string) *spec.Entry { return c.g.Registry.Snapshot().Get(id) }
func (c catalog) HasPlugin(name string) bool  { return c.g.Hub.Has(name) }
func (c catalog) HasMCPServer(id string) bool { return c.g.MCP != nil && c.g.MCP.Has(id) }

// pipelineTools lets tool steps call MCP tools through the gateway's MCP service, under the
// run's key. The run was admitted as a whole, as its model steps are.
type pipelineTools struct{ svc *mcp.Service }

func (t pipelineTools) CallTool(ctx context.Context, c pipeline.ToolCall) (any, string, error) {
	out, record, fe := t.svc.CallTool(ctx, c.Key, c.Tool, c.Arguments,
		mcp.Origin{Pipeline: c.Pipeline, Execution: c.Execution, Step: c.Step, Admitted: true})
	if fe != nil {
		return nil, record, fe
	}
	return out, record, nil
}

// newTracer builds the tracer of c (nil when export is off).
func newTracer(c config.Telemetry) (*telemetry.Tracer, error) {
	s := telemetry.Settings{Enabled: c.Enabled, ServiceName: c.ServiceName, Endpoint: c.OTLP.Endpoint,
		Protocol: c.OTLP.Protocol, Sampling: c.Sampling, Content: c.Content}
	if len(c.OTLP.Headers) > 0 {
		s.Headers = make(map[string]string, len(c.OTLP.Headers))
		for k, v := range c.OTLP.Headers {
			s.Headers[k] = v.Reveal()
		}
	}
	return telemetry.New(context.Background(), s)
}

// seedLiveStats starts each model's live statistics (the registry's cards) from the stored
// rollups, so that a restart does not reset what analytics still shows. It reads the daily
// totals of the retained hourly rollups, a few thousand small entries at most.
func (g *Gateway) seedLiveStats(live *analytics.Live) {
	ctx, cancel := context.WithTimeout(g.life, 5*time.Second)
	defer cancel()
	now := time.Now()
	rep, err := g.Recorder.Analytics(ctx, now.Add(-analytics.MaxRange+time.Hour), now, "1d", "model")
	if err != nil {
		g.log.Warn("cannot read the stored statistics of the models", "err", err)
		return
	}
	for _, t := range rep.Totals {
		if t.Key != "unknown" {
			live.Model(t.Key).Seed(t)
		}
	}
}
