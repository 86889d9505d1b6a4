package wasm

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
)

// benchBody is a 1 KB chat request with one e-mail address in it, so pii-redact rewrites it.
var benchBody = func() json.RawMessage {
	filler := strings.Repeat("The gateway relays this request to the model and back again. ", 13)
	b := chatRequest("system", "You are a helpful assistant that answers in one paragraph.",
		"user", filler+"Please reply to jane.doe@example.com when done.")
	if len(b) < 1000 || len(b) > 1100 {
		panic("bench body is not about 1 KB")
	}
	return b
}()

// BenchmarkTransform1KB measures the latency a request-stage transform adds to a 1 KB chat request:
// envelope encoding, the guest call on a pooled instance with the sandbox's memory cap, and the
// output's decoding. pii-redact does real work (the C, Go, AssemblyScript and Rust versions run the
// same algorithm); noop reads the envelope and answers "unchanged", which is the host's and the
// language runtime's fixed cost. The interrupt modes compare the mechanisms that stop a runaway
// guest: flag (the default: fuel counted at every loop head and function entry, a trip through Go
// and an interrupt flag check every 4096 of them, the flag raised by a timer, and the call depth
// counted; see instrument.go) and wazero (the fallback: WithCloseOnContextDone and a timeout
// context per call, and a function listener at every entry), with none (no way to stop a runaway
// guest; the floor).
func BenchmarkTransform1KB(b *testing.B) {
	modes := []struct {
		name string
		mode interruptMode
	}{{"flag", interruptFlag}, {"wazero", interruptWazero}, {"none", interruptNone}}
	for _, guest := range []struct{ name, lang string }{
		{"pii-redact", "c"}, {"pii-redact-go", "go"}, {"pii-redact-as", "as"}, {"pii-redact-rust", "rust"}, {"noop-c", "c"}, {"noop-go", "go"},
	} {
		for _, m := range modes {
			b.Run(guest.lang+"/"+guest.name+"/"+m.name, func(b *testing.B) {
				p := load(b, guest.name, Config{Name: guest.name + "-" + m.name, PoolSize: 1, MemoryLimitMB: 64,
					Timeout: time.Second, interrupt: m.mode})
				env := requestEnv(benchBody)
				ctx := context.Background()
				res, err := p.Transform(ctx, env)
				if err != nil {
					b.Fatal(err)
				}
				if strings.HasPrefix(guest.name, "pii") && !strings.Contains(string(res.Body), "[REDACTED]") {
					b.Fatalf("nothing redacted: %s", res.Body)
				}
				b.SetBytes(int64(len(benchBody)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := p.Transform(ctx, env); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				s := p.Stats()
				b.ReportMetric(float64(s.P50.Nanoseconds()), "p50-ns")
				b.ReportMetric(float64(s.P95.Nanoseconds()), "p95-ns")
			})
		}
	}
}

// BenchmarkTransform1KBParallel runs the C, Go, AssemblyScript and Rust transforms from every core
// at once on a pool of GOMAXPROCS instances (twice the default), to measure the most a plugin can
// serve.
func BenchmarkTransform1KBParallel(b *testing.B) {
	for _, guest := range []string{"pii-redact", "pii-redact-go", "pii-redact-as", "pii-redact-rust"} {
		b.Run(guest, func(b *testing.B) {
			p := load(b, guest, Config{Name: guest + "-parallel", Timeout: time.Second, PoolSize: runtime.GOMAXPROCS(0)})
			env := requestEnv(benchBody)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := p.Transform(context.Background(), env); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkInstantiate is what a call would cost with a fresh instance every time instead of a
// pool: instantiation (a Go guest's runtime start-up included) and closing.
func BenchmarkInstantiate(b *testing.B) {
	for _, guest := range []string{"pii-redact", "pii-redact-go", "pii-redact-as", "pii-redact-rust"} {
		b.Run(guest, func(b *testing.B) {
			p := load(b, guest, Config{Name: guest + "-instantiate"})
			ctx := context.Background()
			for b.Loop() {
				in, err := p.newInstance(ctx)
				if err != nil {
					b.Fatal(err)
				}
				p.untrack(in)
			}
		})
	}
}
