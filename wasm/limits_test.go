package wasm

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The bounds that keep a guest from stalling the gateway, tested with the hand-written modules
// testdata/runaway.wat (its first input byte says how to misbehave) and testdata/startloop.wat.

func loadRunaway(t *testing.T, c Config) *Plugin {
	t.Helper()
	c.Binary = watModule(t, "runaway")
	return load(t, "runaway", c)
}

func callRunaway(p *Plugin, op ...byte) error {
	_, err := p.Call(context.Background(), ExportTransform, op)
	return err
}

var interruptModes = []struct {
	name string
	mode interruptMode
}{{"flag", interruptFlag}, {"wazero", interruptWazero}}

// A function that calls itself twice per level has no loop for a loop-head check to catch, yet
// runs for 2^n calls: the check at function entry stops it at its deadline.
func TestExponentialRecursionIsStopped(t *testing.T) {
	for _, m := range interruptModes {
		t.Run(m.name, func(t *testing.T) {
			p := loadRunaway(t, Config{Name: "runaway-exp-" + m.name, Timeout: 20 * time.Millisecond, PoolSize: 1, interrupt: m.mode})
			start := time.Now()
			err := callRunaway(p, 'x', 30) // 2^31 calls: seconds when nothing stops it
			d := time.Since(start)
			wantKind(t, err, KindTimeout, "did not finish within 20ms")
			if d > 20*time.Millisecond+300*time.Millisecond {
				t.Fatalf("stopped after %s", d)
			}
			if err := callRunaway(p, 'o'); err != nil {
				t.Fatalf("the call after: %v", err)
			}
		})
	}
}

// A start function runs when an instance is made, before any export can be called: one that
// never returns fails the load within InitTimeout instead of hanging it.
func TestStartFunctionIsBounded(t *testing.T) {
	bin := watModule(t, "startloop")
	for _, m := range interruptModes {
		t.Run(m.name, func(t *testing.T) {
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				p, err := testHost().Load(context.Background(), Config{Name: "startloop-" + m.name, Binary: bin,
					InitTimeout: 100 * time.Millisecond, interrupt: m.mode})
				if err == nil {
					p.Close(context.Background())
				}
				done <- err
			}()
			select {
			case err := <-done:
				wantKind(t, err, KindLoad, "the start function did not finish within 100ms")
				if d := time.Since(start); d > 100*time.Millisecond+time.Second {
					t.Fatalf("the load failed after %s", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the load still runs after 10s: the start function is unbounded")
			}
		})
	}
}

// Deep recursion fails at once with a clear error, and costs no memory worth the name, where
// running into the engine's own stack limit took most of a second and 400 MB a call.
func TestDeepRecursionFailsFast(t *testing.T) {
	p := loadRunaway(t, Config{Name: "runaway-deep", PoolSize: 1})
	if err := callRunaway(p, 'r', 90); err != nil { // 9,000 calls deep is allowed
		t.Fatalf("a recursion within the limit: %v", err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 5 {
		start := time.Now()
		err := callRunaway(p, 'd')
		d := time.Since(start)
		wantKind(t, err, KindTrap, "call stack exhausted")
		if d > 100*time.Millisecond {
			t.Errorf("the call failed after %s", d)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapSys) - int64(before.HeapSys); grew > 32<<20 {
		t.Errorf("the heap grew by %d MB", grew>>20)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("5 calls allocated %d MB", alloc>>20)
	}
	if err := callRunaway(p, 'o'); err != nil {
		t.Fatalf("the call after: %v", err)
	}
}

// By default a plugin's instances, so its concurrent calls, take at most half the cores, so
// that guests running to their deadline cannot starve the gateway.
func TestDefaultPoolSize(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tt := range []struct{ procs, want int }{{1, 1}, {2, 1}, {4, 2}, {16, 8}} {
		runtime.GOMAXPROCS(tt.procs)
		p := loadRunaway(t, Config{Name: "runaway-pool"})
		if p.cfg.PoolSize != tt.want || p.cfg.QueueSize != 64*tt.want {
			t.Errorf("GOMAXPROCS %d: pool %d, queue %d; want %d, %d", tt.procs, p.cfg.PoolSize, p.cfg.QueueSize, tt.want, 64*tt.want)
		}
		p.Close(context.Background())
	}
}

// A plugin whose calls keep running to their deadline is refused at once for a while, then
// given one trial call.
func TestQuarantine(t *testing.T) {
	const cooldown = 300 * time.Millisecond
	p := loadRunaway(t, Config{Name: "runaway-quarantine", Timeout: 20 * time.Millisecond, PoolSize: 2,
		QuarantineAfter: 3, QuarantineFor: cooldown})
	timeouts := func(n int) {
		t.Helper()
		for range n {
			wantKind(t, callRunaway(p, 'l'), KindTimeout, "did not finish within 20ms")
		}
	}
	// A call that ends by itself, even badly, breaks a run of timeouts.
	timeouts(2)
	wantKind(t, callRunaway(p, 'u'), KindTrap, "unreachable")
	timeouts(2)
	if err := callRunaway(p, 'o'); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Quarantined || s.TimeoutStreak != 0 {
		t.Fatalf("stats %+v", s)
	}

	timeouts(3)
	s := p.Stats()
	if !s.Quarantined || s.Quarantines != 1 || time.Until(s.QuarantinedUntil) <= 0 || time.Until(s.QuarantinedUntil) > cooldown {
		t.Fatalf("after 3 timeouts in a row: %+v", s)
	}
	start := time.Now()
	e := wantKind(t, callRunaway(p, 'o'), KindQuarantined, "3 calls in a row ran out of time")
	if d := time.Since(start); d > 10*time.Millisecond {
		t.Errorf("a refusal took %s", d)
	}
	if e.RetryAfter <= 0 || e.RetryAfter > cooldown {
		t.Errorf("retry after %s", e.RetryAfter)
	}

	// After the cooldown one trial call runs; the others are refused while it does. A trial
	// that times out again puts the plugin back at once.
	time.Sleep(time.Until(p.Stats().QuarantinedUntil))
	trial := make(chan error, 1)
	go func() { trial <- callRunaway(p, 'l') }()
	waitRunning(t, p)
	wantKind(t, callRunaway(p, 'o'), KindQuarantined, "a trial call is running")
	wantKind(t, <-trial, KindTimeout, "did not finish within 20ms")
	wantKind(t, callRunaway(p, 'o'), KindQuarantined, "ran out of time")
	if s := p.Stats(); !s.Quarantined || s.Quarantines != 2 || s.ErrorsByKind["quarantined"] != 3 {
		t.Fatalf("after a failed trial: %+v", s)
	}

	// A trial that succeeds ends the quarantine.
	time.Sleep(time.Until(p.Stats().QuarantinedUntil))
	if err := callRunaway(p, 'o'); err != nil {
		t.Fatalf("the trial call: %v", err)
	}
	if err := callRunaway(p, 'o'); err != nil {
		t.Fatalf("the call after the trial: %v", err)
	}
	if s := p.Stats(); s.Quarantined || !s.QuarantinedUntil.IsZero() {
		t.Fatalf("after a good trial: %+v", s)
	}
}

// Only the plugin's own timeout counts: a caller with a short deadline cannot put a plugin in
// quarantine for everyone else.
func TestCallerDeadlinesDoNotQuarantine(t *testing.T) {
	p := loadRunaway(t, Config{Name: "runaway-caller", Timeout: time.Second, PoolSize: 1, QuarantineAfter: 2})
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		_, err := p.Call(ctx, ExportTransform, []byte{'l'})
		cancel()
		wantKind(t, err, KindTimeout, "the caller's deadline passed")
	}
	if err := callRunaway(p, 'o'); err != nil {
		t.Fatal(err)
	}
}

func countLines(logs, substr string) (n, longest int) {
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, substr) {
			n++
			longest = max(longest, len(l))
		}
	}
	return n, longest
}

// A guest cannot flood the log: lines are bounded per call, per second and in length, and what
// is dropped is counted in one line.
func TestGuestLogFloodIsBounded(t *testing.T) {
	sink := newLogSink()
	host, err := NewHost(context.Background(), "", slog.New(sink))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(context.Background())
	p, err := host.Load(context.Background(), Config{Name: "flood", Binary: watModule(t, "runaway")})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, op := range []byte{'g', 's'} { // 100,000 lines through iom.log, then through stdout
		if err := callRunaway(p, op); err != nil {
			t.Fatal(err)
		}
		n, _ := countLines(sink.String(), "a line from the guest")
		if n > logLinesPerCall*2 {
			t.Fatalf("call %c: %d lines in the log", op, n)
		}
	}
	for range 5 {
		if err := callRunaway(p, 'g'); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := countLines(sink.String(), "a line from the guest")
	if limit := logBurst + int(time.Since(start).Seconds()*logLinesPerSecond) + 1; n > limit {
		t.Fatalf("7 calls in %s logged %d lines, over the %d a second (burst %d)", time.Since(start), n, logLinesPerSecond, logBurst)
	}
	if n < logLinesPerCall {
		t.Fatalf("only %d lines logged", n)
	}
	if d, _ := countLines(sink.String(), "log lines dropped"); d == 0 {
		t.Fatalf("no line counts the dropped ones:\n%s", lastLines(sink.String(), 5))
	}
	if s := p.Stats(); s.LogLinesDropped < 600_000-uint64(n) {
		t.Errorf("stats count %d dropped lines", s.LogLinesDropped)
	}

	// A 1 MiB line on stdout is cut (by a plugin of its own, whose limits are untouched).
	p, err = host.Load(context.Background(), Config{Name: "long-line", Binary: watModule(t, "runaway")})
	if err != nil {
		t.Fatal(err)
	}
	if err := callRunaway(p, 'S'); err != nil {
		t.Fatal(err)
	}
	if n, longest := countLines(sink.String(), "aaaaaaaa"); n == 0 || longest > maxLogLine+200 {
		t.Fatalf("%d long lines, the longest %d bytes", n, longest)
	}
}

// Timeouts and malformed outputs are logged at warn, as traps are, and a plugin failing
// thousands of times a second does not write thousands of lines.
func TestFailuresAreLogged(t *testing.T) {
	sink := newLogSink()
	host, err := NewHost(context.Background(), "", slog.New(sink))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(context.Background())
	p, err := host.Load(context.Background(), Config{Name: "failing", Binary: watModule(t, "runaway"), Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, callRunaway(p, 'l'), KindTimeout, "did not finish")
	for range 1000 {
		_, err := p.Transform(context.Background(), faultEnv("")) // answers text, not JSON
		wantKind(t, err, KindMalformed, "not a JSON object")
	}
	logs := sink.String()
	if n, _ := countLines(logs, "WARN wasm plugin call failed export=iom_transform kind=timeout"); n != 1 {
		t.Errorf("%d timeout lines:\n%s", n, lastLines(logs, 5))
	}
	n, _ := countLines(logs, "kind=malformed")
	if n == 0 || n > failureLogBurst+1 {
		t.Errorf("1000 malformed outputs logged %d lines:\n%s", n, lastLines(logs, 5))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
