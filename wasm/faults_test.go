package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func faultEnv(fault string) Envelope {
	return Envelope{
		Stage:    StageRequest,
		Body:     json.RawMessage(`{"fault":"` + fault + `","model":"m"}`),
		Metadata: Metadata{RequestID: "req-1", Model: "m", Provider: "openai", Key: "demo-app", Org: "acme", Op: OpChat},
	}
}

func wantKind(t *testing.T, err error, kind Kind, contains string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v (%T), want a *wasm.Error of kind %s", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("got kind %s (%v), want %s", e.Kind, e, kind)
	}
	if !strings.Contains(e.Error(), contains) {
		t.Fatalf("error %q does not contain %q", e.Error(), contains)
	}
	return e
}

// checkHealthy asserts the plugin still answers after a fault.
func checkHealthy(t *testing.T, p *Plugin) {
	t.Helper()
	res, err := p.Transform(context.Background(), faultEnv("echo"))
	if err != nil {
		t.Fatalf("the call after the fault failed: %v", err)
	}
	if !strings.Contains(string(res.Body), `"requestId":"req-1"`) {
		t.Fatalf("the call after the fault answered %s", res.Body)
	}
}

// Each guest fault costs only its own call: the instance is thrown away when it is unfit and
// the next call gets a working one.
func TestGuestFaults(t *testing.T) {
	tests := []struct {
		fault    string
		kind     Kind
		contains string
		discards bool
	}{
		{"loop", KindTimeout, "did not finish within 200ms", true},
		{"oom", KindMemory, "ran out of memory (cap 32 MB", true},
		{"trap", KindTrap, "unreachable", true},
		{"panic", KindTrap, "assignment to entry in nil map", true},
		{"badjson", KindMalformed, "output is not a JSON object", false},
		{"badptr", KindMalformed, "outside the guest's", false},
		{"badheaders", KindMalformed, "a transform cannot set headers", false},
		{"drop", KindMalformed, "only chunk transforms may drop", false},
		{"error", KindGuest, "refused: req-1 (code nope)", false},
	}
	// The loop gets a short deadline; the rest a long one, as running out of memory takes the
	// Go runtime a few hundred milliseconds of garbage collection.
	quick := load(t, "faults", Config{Name: "faults-quick", Timeout: 200 * time.Millisecond, MemoryLimitMB: 32, PoolSize: 1})
	slow := load(t, "faults", Config{Timeout: 10 * time.Second, MemoryLimitMB: 32, PoolSize: 1})
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			p := slow
			if tt.fault == "loop" {
				p = quick
			}
			before := p.Stats()
			start := time.Now()
			_, err := p.Transform(context.Background(), faultEnv(tt.fault))
			e := wantKind(t, err, tt.kind, tt.contains)
			if e.Plugin != p.Name() || e.Export != ExportTransform {
				t.Errorf("error names plugin %q export %q", e.Plugin, e.Export)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the fault took %s", d)
			}
			after := p.Stats()
			if got := after.Discarded - before.Discarded; (got == 1) != tt.discards {
				t.Errorf("discarded %d instances, want discard=%v", got, tt.discards)
			}
			if after.Errors != before.Errors+1 || after.ErrorsByKind[tt.kind.String()] != before.ErrorsByKind[tt.kind.String()]+1 {
				t.Errorf("stats before %+v after %+v", before, after)
			}
			checkHealthy(t, p)
		})
	}
	for _, p := range []*Plugin{quick, slow} {
		if s := p.Stats(); s.Instances != 1 {
			t.Errorf("%d instances alive, want 1 (pool size 1)", s.Instances)
		}
	}
}

// The envelope the guest sees is the documented one, with abi, config and metadata.
func TestEnvelopeReachesGuest(t *testing.T) {
	p := load(t, "faults", Config{Config: []byte(` {"k": [1, 2]} `)})
	res, err := p.Transform(context.Background(), faultEnv("echo"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(res.Body, &got); err != nil {
		t.Fatalf("echo is not JSON: %v: %s", err, res.Body)
	}
	want := map[string]any{
		"abi":    1.0,
		"stage":  "request",
		"body":   map[string]any{"fault": "echo", "model": "m"},
		"config": map[string]any{"k": []any{1.0, 2.0}},
		"metadata": map[string]any{"requestId": "req-1", "model": "m", "provider": "openai", "key": "demo-app",
			"org": "acme", "op": "chat", "stream": false},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("guest saw\n%v\nwant\n%v", got, want)
	}

	// With no config the guest gets null; an unchanged answer is a zero result.
	p2 := load(t, "faults", Config{Name: "faults-noconfig"})
	res, err = p2.Transform(context.Background(), faultEnv("none"))
	if err != nil || res.Body != nil || res.Drop {
		t.Fatalf("unchanged: %+v, %v", res, err)
	}
}

func TestInferChecksUsage(t *testing.T) {
	p := load(t, "faults", Config{})
	call := ModelCall{Op: OpChat, Request: json.RawMessage(`{"usage":true,"messages":[]}`), Model: ModelInfo{ID: "local"}}
	resp, err := p.Infer(context.Background(), call)
	if err != nil || !strings.Contains(string(resp), `"usage":{"prompt_tokens":1`) {
		t.Fatalf("infer: %s, %v", resp, err)
	}
	call.Request = json.RawMessage(`{"messages":[]}`)
	_, err = p.Infer(context.Background(), call)
	wantKind(t, err, KindMalformed, "response has no usage object")
}

func TestLoadRefusesBadModules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		c        Config
		kind     Kind
		contains string
	}{
		{"wrong abi version", Config{Name: "future", Path: guestPath(t, "abi2")}, KindABI,
			`wasm plugin "future": abi: module speaks ABI version 2; this host speaks version 1`},
		{"not wasm", Config{Name: "junk", Binary: []byte("not a module")}, KindLoad, `wasm plugin "junk": load: compile:`},
		{"missing file", Config{Name: "gone", Path: "/nonexistent/x.wasm"}, KindLoad, "no such file"},
		{"bad config", Config{Name: "cfg", Path: guestPath(t, "faults"), Config: []byte(`{"a":`)}, KindLoad, "config is not valid JSON"},
		{"no name", Config{Path: guestPath(t, "faults")}, KindLoad, "needs a name"},
		{"reserved name", Config{Name: "reserved", Binary: bytes.Replace(countdown, []byte{0x07, 0x09, 0x01, 0x05, 'c', 'o', 'u', 'n', 't'},
			[]byte{0x07, 0x0a, 0x01, 0x06, '_', '_', 'i', 'o', 'm', '_'}, 1)}, KindABI,
			`wasm plugin "reserved": abi: export names starting with __iom_ are reserved: it exports __iom_`},
		// A module with no exports at all: just the 8-byte header.
		{"no version", Config{Name: "bare", Binary: []byte("\x00asm\x01\x00\x00\x00")}, KindABI,
			"does not export iom_abi_version; this host speaks ABI version 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := testHost().Load(ctx, tt.c)
			if err == nil {
				p.Close(ctx)
				t.Fatal("loaded")
			}
			wantKind(t, err, tt.kind, tt.contains)
		})
	}
}

func TestCallErrors(t *testing.T) {
	ctx := context.Background()
	p := load(t, "faults", Config{PoolSize: 1})
	if !p.Has(RoleTransform) || !p.Has(RoleInfer) || p.Has(RoleAdapter) {
		t.Fatalf("roles %v", p.Roles())
	}
	_, err := p.AdapterRequest(ctx, ModelCall{Op: OpChat})
	wantKind(t, err, KindABI, "the module does not export iom_adapter_request")
	_, err = p.Call(ctx, "main", nil)
	wantKind(t, err, KindABI, "main is not a role export")

	// A caller whose context ends while it waits for the only instance gets a clear error.
	hold := make(chan struct{})
	in, err := p.acquire(ctx, ExportTransform)
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-hold; p.release(in, true) }()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = p.Transform(cctx, faultEnv("echo"))
	wantKind(t, err, KindTimeout, "caller's deadline passed while waiting for a free instance")
	close(hold)
	checkHealthy(t, p)

	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = p.Transform(ctx, faultEnv("echo"))
	wantKind(t, err, KindClosed, "closed")
}

// Many goroutines share a small pool; faults in some calls do not disturb the others.
func TestConcurrentCalls(t *testing.T) {
	p := load(t, "faults", Config{PoolSize: 3, Timeout: 2 * time.Second})
	const workers, calls = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				env := faultEnv("echo")
				env.Metadata.RequestID = fmt.Sprintf("w%d-%d", w, i)
				if i%10 == 3 {
					_, err := p.Transform(context.Background(), faultEnv("trap"))
					if err == nil || err.(*Error).Kind != KindTrap {
						errs <- fmt.Errorf("trap call: %v", err)
					}
					continue
				}
				res, err := p.Transform(context.Background(), env)
				if err != nil {
					errs <- err
					continue
				}
				if !strings.Contains(string(res.Body), `"requestId":"`+env.Metadata.RequestID+`"`) {
					errs <- fmt.Errorf("call %s got %s", env.Metadata.RequestID, res.Body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := p.Stats()
	if s.Calls != workers*calls || s.Instances > 3 || s.Discarded != workers*3 {
		t.Errorf("stats %+v", s)
	}
	if s.P50 <= 0 || s.P95 < s.P50 || s.Mean <= 0 {
		t.Errorf("latencies %+v", s)
	}
}

// logSink is a slog handler that keeps every record, with its attributes, as a line.
type logSink struct {
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

func newLogSink() logSink { return logSink{mu: &sync.Mutex{}, lines: new([]string)} }

func (h logSink) Enabled(context.Context, slog.Level) bool { return true }
func (h logSink) Handle(_ context.Context, r slog.Record) error {
	s := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	for _, a := range h.attrs {
		s += " " + a.String()
	}
	h.mu.Lock()
	*h.lines = append(*h.lines, s)
	h.mu.Unlock()
	return nil
}
func (h logSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return h
}
func (h logSink) WithGroup(string) slog.Handler { return h }

func (h logSink) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(*h.lines, "\n")
}

func TestGuestLogs(t *testing.T) {
	sink := newLogSink()
	// The test host compiled the module into the shared cache; this host loads it from disk.
	cache := testCacheDir()
	load(t, "faults", Config{})
	host, err := NewHost(context.Background(), cache, slog.New(sink))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(context.Background())
	p, err := host.Load(context.Background(), Config{Name: "chatty", Path: guestPath(t, "faults")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Transform(context.Background(), faultEnv("log")); err != nil {
		t.Fatal(err)
	}
	_, _ = p.Transform(context.Background(), faultEnv("panic"))
	logs := sink.String()
	for _, want := range []string{"WARN hello from the guest plugin=chatty", "WARN wasm plugin stderr: panic: assignment to entry in nil map plugin=chatty"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if entries, _ := os.ReadDir(cache); len(entries) == 0 {
		t.Error("compilation cache is empty")
	}
}

// The C guest's faults: the same guarantees for a module built by clang against wasi-libc.
func TestGuestFaultsC(t *testing.T) {
	tests := []struct {
		fault    string
		kind     Kind
		contains string
	}{
		{"loop", KindTimeout, "did not finish within 200ms"},
		{"trap", KindTrap, "unreachable"},
		{"oob", KindTrap, "out of bounds memory access"},
		{"oom", KindMemory, "ran out of memory (cap 16 MB"},
		{"error", KindGuest, "refused by C (code nope)"},
	}
	p := load(t, "faults-c", Config{Timeout: 200 * time.Millisecond, MemoryLimitMB: 16, PoolSize: 1})
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			_, err := p.Transform(context.Background(), faultEnv(tt.fault))
			wantKind(t, err, tt.kind, tt.contains)
			res, err := p.Transform(context.Background(), faultEnv("echo"))
			if err != nil || !strings.Contains(string(res.Body), `"requestId":"req-1"`) {
				t.Fatalf("the call after the fault: %s, %v", res.Body, err)
			}
		})
	}
}

// A caller that gives up stops the guest: a canceled context or a deadline shorter than the
// plugin's timeout interrupts a running call.
func TestCallerStopsGuest(t *testing.T) {
	p := load(t, "faults", Config{Timeout: 10 * time.Second, PoolSize: 1})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Transform(ctx, faultEnv("loop"))
	wantKind(t, err, KindCanceled, "canceled while the guest ran")
	dctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	_, err = p.Transform(dctx, faultEnv("loop"))
	wantKind(t, err, KindTimeout, "the caller's deadline passed while the guest ran")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stopping took %s", d)
	}
	checkHealthy(t, p)
}

// Closing a plugin interrupts a guest still running once the close's context is done.
func TestCloseInterruptsRunningGuest(t *testing.T) {
	p := load(t, "faults", Config{Name: "faults-closing", Timeout: time.Minute, PoolSize: 1})
	errc := make(chan error, 1)
	go func() {
		_, err := p.Transform(context.Background(), faultEnv("loop"))
		errc <- err
	}()
	waitRunning(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wantKind(t, <-errc, KindClosed, "the plugin was closed while the guest ran")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("closing took %s", d)
	}
	if s := p.Stats(); s.Instances != 0 {
		t.Fatalf("%d instances left", s.Instances)
	}
}

// A guest spinning in native code must not hold up the Go runtime: garbage collections (which
// stop the world) go on while it runs, and the timer that stops it still fires. Without the
// periodic trips through Go at loop heads, this test hangs.
func TestRunawayGuestDoesNotStallGC(t *testing.T) {
	for _, guest := range []string{"faults", "faults-c"} {
		t.Run(guest, func(t *testing.T) {
			p := load(t, guest, Config{Name: guest + "-gc", Timeout: 300 * time.Millisecond, PoolSize: 1})
			stop := make(chan struct{})
			gcs := make(chan int)
			go func() {
				n := 0
				for {
					select {
					case <-stop:
						gcs <- n
						return
					default:
						runtime.GC()
						n++
					}
				}
			}()
			start := time.Now()
			_, err := p.Transform(context.Background(), faultEnv("loop"))
			close(stop)
			n := <-gcs
			wantKind(t, err, KindTimeout, "did not finish within 300ms")
			if d := time.Since(start); d > 3*time.Second || n < 2 {
				t.Fatalf("the call took %s and %d collections ran alongside", d, n)
			}
		})
	}
}

// A guest granted the clock sleeps for real, but no longer than its deadline; without the grant
// it sees a fake clock.
func TestClockGrant(t *testing.T) {
	real := load(t, "faults", Config{Name: "faults-clock", AllowClock: true, Timeout: 200 * time.Millisecond, PoolSize: 1})
	start := time.Now()
	_, err := real.Transform(context.Background(), faultEnv("sleep"))
	wantKind(t, err, KindTimeout, "did not finish within 200ms")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the sleeping guest was stopped after %s", d)
	}
	year := func(p *Plugin) int {
		res, err := p.Transform(context.Background(), faultEnv("clock"))
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Year int }
		json.Unmarshal(res.Body, &v)
		return v.Year
	}
	if y := year(real); y != time.Now().Year() {
		t.Errorf("with the clock granted the guest sees year %d", y)
	}
	fake := load(t, "faults", Config{Name: "faults-fake-clock", PoolSize: 1})
	if y := year(fake); y == time.Now().Year() || y == 0 {
		t.Errorf("without the grant the guest sees year %d, the real one", y)
	}
}

// waitRunning waits until one of p's instances is running a call.
func waitRunning(t *testing.T, p *Plugin) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		p.liveMu.Lock()
		busy := false
		for in := range p.live {
			in.mu.Lock()
			busy = busy || in.busy
			in.mu.Unlock()
		}
		p.liveMu.Unlock()
		if busy {
			return
		}
	}
	t.Fatal("no call started")
}

func TestTransformChunk(t *testing.T) {
	p := load(t, "faults", Config{Name: "faults-chunks"})
	if !p.Has(RoleTransformChunk) {
		t.Fatalf("roles %v", p.Roles())
	}
	chunk := func(content string) Envelope {
		env := faultEnv("")
		env.Body = json.RawMessage(`{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":` + strconv.Quote(content) + `}}]}`)
		env.Metadata.Stream = true
		return env
	}
	res, err := p.TransformChunk(context.Background(), chunk("hello"))
	if err != nil || string(res.Body) != `{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hello"}}]}` {
		t.Fatalf("%s %v", res.Body, err)
	}
	res, err = p.TransformChunk(context.Background(), chunk(""))
	if err != nil || !res.Drop || res.Body != nil {
		t.Fatalf("empty chunk: %+v %v", res, err)
	}
}

// deadlineOnly is a context that ends only at its deadline and has no Done channel, as the
// gateway's chains of transforms pass: the host must enforce the deadline by itself.
type deadlineOnly struct{ at time.Time }

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.at, true }
func (c deadlineOnly) Done() <-chan struct{}       { return nil }
func (c deadlineOnly) Value(any) any               { return nil }
func (c deadlineOnly) Err() error {
	if time.Now().Before(c.at) {
		return nil
	}
	return context.DeadlineExceeded
}

// A caller's deadline without a Done channel bounds a running guest, in both ways of
// interrupting one, and a wait for a free instance.
func TestDeadlineWithoutDone(t *testing.T) {
	for _, mode := range []struct {
		name string
		mode interruptMode
	}{{"flag", interruptFlag}, {"wazero", interruptWazero}} {
		t.Run(mode.name, func(t *testing.T) {
			p := load(t, "faults", Config{Timeout: 10 * time.Second, PoolSize: 1, interrupt: mode.mode})
			start := time.Now()
			_, err := p.Transform(deadlineOnly{start.Add(100 * time.Millisecond)}, faultEnv("loop"))
			wantKind(t, err, KindTimeout, "the caller's deadline passed while the guest ran")
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("stopping took %s", d)
			}

			in, err := p.acquire(context.Background(), ExportTransform)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Transform(deadlineOnly{time.Now().Add(20 * time.Millisecond)}, faultEnv("echo"))
			wantKind(t, err, KindTimeout, "caller's deadline passed while waiting for a free instance")
			p.release(in, true)
			checkHealthy(t, p)
		})
	}
}

// The queue of calls waiting for an instance is bounded: past it a call fails at once with
// KindBusy rather than waiting.
func TestQueueBound(t *testing.T) {
	ctx := context.Background()
	p := load(t, "faults", Config{Name: "faults-queue", PoolSize: 1, QueueSize: 1})
	in, err := p.acquire(ctx, ExportTransform)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := p.Transform(ctx, faultEnv("echo"))
		waited <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); p.waiting.Load() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first caller never queued")
		}
	}
	t0 := time.Now()
	_, err = p.Transform(ctx, faultEnv("echo"))
	wantKind(t, err, KindBusy, "calls are waiting")
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("a call past the queue waited %v", d)
	}
	p.release(in, true)
	if err := <-waited; err != nil {
		t.Fatalf("the queued call: %v", err)
	}
	checkHealthy(t, p)
}
