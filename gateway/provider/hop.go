package provider

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/iomhq/iom/gateway/fault"
)

// HopHeader records the IoM gateways a request went through, like Via: one entry per gateway,
// "<instance>;n=<times through it>", comma-separated. Every upstream request carries it, so a
// model whose endpoint leads back to a gateway (itself, or another that leads back) is found out
// after a few rounds instead of multiplying calls until connections run out.
const HopHeader = "X-Iom-Hop"

// MaxHops is how many times a request may come back to one gateway: one that arrives having
// gone through it MaxHops times already is refused (LoopDetected).
const MaxHops = 3

// maxHopEntries bounds the gateways one request may go through; a request that went through
// more is refused as a loop, through gateways that each saw it too few times to tell.
const maxHopEntries = 8

// newInstance returns a random gateway instance id for the hop header.
func newInstance() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NextHop reads the hop header a request arrived with (in) for gateway instance: how many times
// the request has gone through it already, and the header its upstream calls carry (in's valid
// entries, with the instance's count raised by one or added). ok is false when the request went
// through more than maxHopEntries gateways. Malformed entries are dropped.
func NextHop(instance string, in []byte) (out string, times int, ok bool) {
	var b strings.Builder
	entries := 0
	for len(in) > 0 {
		var entry []byte
		entry, in, _ = bytes.Cut(in, []byte{','})
		id, n, valid := parseHop(bytes.TrimSpace(entry))
		if !valid {
			continue
		}
		if entries++; entries > maxHopEntries {
			return "", 0, false
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.Write(id)
		b.WriteString(";n=")
		if string(id) == instance && times == 0 {
			times = n
			n++
		}
		b.WriteString(strconv.Itoa(n))
	}
	if times == 0 {
		if entries++; entries > maxHopEntries {
			return "", 0, false
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(instance)
		b.WriteString(";n=1")
	}
	return b.String(), times, true
}

// parseHop parses one entry: an id of 1 to 64 letters, digits or -._, ";n=", a count of 1 to 999.
func parseHop(e []byte) (id []byte, n int, ok bool) {
	id, count, found := bytes.Cut(e, []byte(";n="))
	if !found || len(id) == 0 || len(id) > 64 || len(count) == 0 || len(count) > 3 {
		return nil, 0, false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return nil, 0, false
		}
	}
	for _, c := range count {
		if c < '0' || c > '9' {
			return nil, 0, false
		}
		n = n*10 + int(c-'0')
	}
	return id, n, n > 0
}

type hopKey struct{}

// WithHop returns ctx carrying the hop header that calls made under it send (from NextHop).
// Calls under a context without one send the gateway's first hop.
func WithHop(ctx context.Context, header string) context.Context {
	return context.WithValue(ctx, hopKey{}, header)
}

// hopOf returns the hop header of calls under ctx, or first.
func hopOf(ctx context.Context, first string) string {
	if ctx != nil {
		if h, ok := ctx.Value(hopKey{}).(string); ok {
			return h
		}
	}
	return first
}

// LoopDetected is the fault of a request that came back to a gateway too often: 508, never
// retried, never passed to a fallback (every model would loop the same way).
func LoopDetected(format string, args ...any) *fault.Error {
	fe := fault.Forbidden(format, args...)
	fe.Status, fe.Type, fe.Code = http.StatusLoopDetected, "invalid_request_error", "loop_detected"
	return fe
}
