package plugins

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// The latency a process plugin adds to a call: one gRPC round trip on go-plugin's connection (a
// unix socket with mutual TLS), with a 1 KB payload each way, through the manager (lookup, the
// plugin's gate, in-flight count, stats). The test plugin echoes the payload without parsing it,
// so the numbers are the host's and the transport's. Reported: p50 and p99 per call, in
// microseconds.

// payload1KB is a 1 KB JSON document starting with the test plugin's echo marker.
func payload1KB() []byte {
	const head = `{"ECHO":true,"stage":"request","body":{"messages":[{"role":"user","content":"`
	const tail = `"}]}}`
	return []byte(head + strings.Repeat("x", 1024-len(head)-len(tail)) + tail)
}

func BenchmarkTransform1KB(b *testing.B) {
	m := benchManager(b)
	env := payload1KB()
	ctx := context.Background()
	benchLatency(b, func() error {
		_, err := m.Transform(ctx, "bench", env)
		return err
	})
}

func BenchmarkComplete1KB(b *testing.B) {
	m := benchManager(b)
	call := ProviderCall{Op: "chat", Request: payload1KB(), Model: Model{ID: "m", UpstreamModel: "u", Endpoint: "http://127.0.0.1:1/v1"}}
	ctx := context.Background()
	benchLatency(b, func() error {
		_, err := m.Complete(ctx, "bench", call)
		return err
	})
}

// BenchmarkTransform1KBParallel is the throughput of one plugin process under concurrent calls.
func BenchmarkTransform1KBParallel(b *testing.B) {
	m := benchManager(b)
	env := payload1KB()
	ctx := context.Background()
	b.SetBytes(int64(len(env)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Transform(ctx, "bench", env); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchManager(b *testing.B) *Manager {
	m, _ := newManager(b, Options{})
	load(b, m, Config{Name: "bench", Path: testPluginBin})
	// Warm the connection up: the first calls pay for TLS session state and buffers.
	env := payload1KB()
	for range 200 {
		if _, err := m.Transform(context.Background(), "bench", env); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func benchLatency(b *testing.B, call func() error) {
	lat := make([]time.Duration, 0, b.N)
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*50/100].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkRawGRPC1KB is the same round trip on the same connection without the manager: the
// difference with BenchmarkTransform1KB is what the manager adds.
func BenchmarkRawGRPC1KB(b *testing.B) {
	m := benchManager(b)
	trans := pluginpb.NewTransformerClient((*m.slots.Load())["bench"].proc.Load().conn)
	req := &pluginpb.TransformRequest{Envelope: payload1KB()}
	ctx := context.Background()
	benchLatency(b, func() error {
		_, err := trans.Transform(ctx, req)
		return err
	})
}
