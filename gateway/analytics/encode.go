package analytics

import (
	"strconv"
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
)

// AppendJSON appends inv as JSON, the same document encoding/json makes of it, without
// reflection or allocation: the recorder encodes every invocation.
func (inv *Invocation) AppendJSON(b []byte) []byte {
	str := func(name, v string, always bool) {
		if v == "" && !always {
			return
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = rawjson.AppendString(b, v)
	}
	num := func(name string, v float64, always bool) {
		if v == 0 && !always {
			return
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = appendFloat(b, v)
	}
	integer := func(name string, v int64, always bool) {
		if v == 0 && !always {
			return
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = strconv.AppendInt(b, v, 10)
	}
	b = append(b, `{"id":`...)
	b = rawjson.AppendString(b, inv.ID)
	str("kind", inv.Kind, true)
	b = append(b, `,"time":"`...)
	b = inv.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	str("op", inv.Op, true)
	str("model", inv.Model, true)
	str("servedBy", inv.ServedBy, false)
	str("provider", inv.Provider, false)
	str("key", inv.Key, false)
	str("keyId", inv.KeyID, false)
	str("org", inv.Org, false)
	str("status", inv.Status, true)
	integer("httpStatus", int64(inv.HTTPStatus), true)
	str("errorKind", inv.ErrorKind, false)
	str("error", inv.Error, false)
	if inv.Stream {
		b = append(b, `,"stream":true`...)
	}
	num("latencyMs", inv.LatencyMs, true)
	num("upstreamLatencyMs", inv.UpstreamMs, true)
	num("firstByteMs", inv.FirstByte, false)
	integer("inputTokens", inv.InTokens, true)
	integer("outputTokens", inv.OutTokens, true)
	num("costUsd", inv.CostUSD, true)
	integer("retries", int64(inv.Retries), false)
	str("fallback", inv.Fallback, false)
	str("cache", inv.Cache, false)
	str("pipeline", inv.Pipeline, false)
	str("execution", inv.Execution, false)
	str("step", inv.Step, false)
	if len(inv.Attempts) > 0 {
		b = append(b, `,"attempts":[`...)
		for i, a := range inv.Attempts {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"model":`...)
			b = rawjson.AppendString(b, a.Model)
			str("provider", a.Provider, false)
			str("upstream", a.Upstream, false)
			integer("status", int64(a.Status), false)
			str("error", a.Error, false)
			num("latencyMs", a.LatencyMs, true)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendFloat formats like encoding/json: the shortest representation, exponent only for very
// large or small values.
func appendFloat(b []byte, f float64) []byte {
	abs := f
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
