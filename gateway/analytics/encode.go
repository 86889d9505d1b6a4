package analytics

import "github.com/iomhq/iom/gateway/rawjson"

// AppendJSON appends inv as JSON, the same document encoding/json makes of it, without
// reflection or allocation: the recorder encodes every invocation.
func (inv *Invocation) AppendJSON(b []byte) []byte {
	o := rawjson.ObjectWriter{B: b}
	o.Str("id", inv.ID, false)
	o.Str("kind", inv.Kind, false)
	o.Time("time", inv.Time)
	o.Str("op", inv.Op, false)
	o.Str("model", inv.Model, false)
	o.Str("servedBy", inv.ServedBy, true)
	o.Str("provider", inv.Provider, true)
	o.Str("key", inv.Key, true)
	o.Str("keyId", inv.KeyID, true)
	o.Str("org", inv.Org, true)
	o.Str("status", inv.Status, false)
	o.Int("httpStatus", int64(inv.HTTPStatus), false)
	o.Str("errorKind", inv.ErrorKind, true)
	o.Str("error", inv.Error, true)
	o.Bool("stream", inv.Stream, true)
	o.Num("latencyMs", inv.LatencyMs, false)
	o.Num("upstreamLatencyMs", inv.UpstreamMs, false)
	o.Num("firstByteMs", inv.FirstByte, true)
	o.Int("inputTokens", inv.InTokens, false)
	o.Int("outputTokens", inv.OutTokens, false)
	o.Int("cachedInputTokens", inv.CachedTokens, true)
	o.Int("cacheWriteInputTokens", inv.CacheWriteTokens, true)
	o.Int("reasoningTokens", inv.ReasoningTokens, true)
	o.Num("costUsd", inv.CostUSD, false)
	o.Int("retries", int64(inv.Retries), true)
	o.Str("fallback", inv.Fallback, true)
	o.Str("cache", inv.Cache, true)
	o.Str("pipeline", inv.Pipeline, true)
	o.Str("execution", inv.Execution, true)
	o.Str("step", inv.Step, true)
	o.Str("traceId", inv.TraceID, true)
	o.Int("requestBytes", inv.RequestBytes, true)
	o.Int("responseBytes", inv.ResponseBytes, true)
	if len(inv.Attempts) > 0 {
		o.Key("attempts")
		o.B = append(o.B, '[')
		for i, a := range inv.Attempts {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			e := rawjson.ObjectWriter{B: o.B}
			e.Str("model", a.Model, false)
			e.Str("provider", a.Provider, true)
			e.Str("upstream", a.Upstream, true)
			e.Int("status", int64(a.Status), true)
			e.Str("error", a.Error, true)
			e.Num("latencyMs", a.LatencyMs, false)
			e.Num("startMs", a.StartMs, false)
			o.B = e.End()
		}
		o.B = append(o.B, ']')
	}
	return o.End()
}
