package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestPluginEnvDefaults(t *testing.T) {
	t.Setenv("IOM_TEST_SECRET", "must-not-leak")
	env := pluginEnv([]string{"A=1"})
	if !slices.Contains(env, "GOMAXPROCS=1") || !slices.Contains(env, "A=1") || slices.Contains(env, "IOM_TEST_SECRET=must-not-leak") {
		t.Fatalf("default env %v", env)
	}
	env = pluginEnv([]string{"GOMAXPROCS=4"})
	if !slices.Contains(env, "GOMAXPROCS=4") || slices.Contains(env, "GOMAXPROCS=1") {
		t.Fatalf("a config's GOMAXPROCS must replace the default: %v", env)
	}
}

func TestCallsReachThePlugin(t *testing.T) {
	m, _ := newManager(t, Options{})
	t.Setenv("IOM_TEST_SECRET", "must-not-leak")
	load(t, m, Config{Name: "both", Path: testPluginBin, Config: json.RawMessage(`{"greeting":"hi"}`),
		Env: []string{"PLUGIN_ONLY=1"}})

	st := stat(t, m, "both")
	if st.State != "running" || st.PID == 0 || st.Role != "provider,transformer" || st.Kind != "process" {
		t.Fatalf("stats after load: %+v", st)
	}
	if !m.Serves("both", "provider") || !m.Serves("both", "transformer") || m.Serves("nope", "provider") {
		t.Fatal("Serves disagrees with the detected roles")
	}

	ctx := context.Background()
	out, err := m.Transform(ctx, "both", []byte(`{"abi":1,"stage":"request","body":{"messages":[]}}`))
	if err != nil || string(out) != `{"body":{"messages":[]}}` {
		t.Fatalf("Transform = %s, %v", out, err)
	}

	resp, err := m.Complete(ctx, "both", ProviderCall{Op: "chat", Request: []byte(`{"messages":[]}`),
		Model: Model{ID: "m", UpstreamModel: "up-model", Endpoint: "http://x"}, APIKey: "sk-1"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Model  string          `json:"model"`
		Config json.RawMessage `json:"config"`
		Key    string          `json:"key"`
		PID    int             `json:"pid"`
	}
	if err := json.Unmarshal(resp, &got); err != nil {
		t.Fatal(err)
	}
	if got.Model != "up-model" || string(got.Config) != `{"greeting":"hi"}` || got.Key != "sk-1" || got.PID != st.PID {
		t.Fatalf("the plugin saw %+v", got)
	}

	// The gateway's environment stays with the gateway; the config's Env is passed.
	resp, err = m.Complete(ctx, "both", ProviderCall{Op: "chat", Request: []byte(`"ENV"`)})
	if err != nil {
		t.Fatal(err)
	}
	// GOMAXPROCS=1 is the default a config's Env may override.
	if strings.Contains(string(resp), "must-not-leak") || !strings.Contains(string(resp), "PLUGIN_ONLY=1") ||
		!strings.Contains(string(resp), `"GOMAXPROCS=1"`) {
		t.Fatalf("plugin environment: %s", resp)
	}

	if st := stat(t, m, "both"); st.Calls != 3 || st.Errors != 0 || st.P50Ms <= 0 || st.P95Ms < st.P50Ms {
		t.Fatalf("stats after three calls: %+v", st)
	}
}

func TestPluginLogsReachTheGatewayLogger(t *testing.T) {
	m, logs := newManager(t, Options{})
	load(t, m, Config{Name: "chatty", Path: testPluginBin})
	if _, err := m.Complete(context.Background(), "chatty", ProviderCall{Op: "chat", Request: []byte(`"LOG"`)}); err != nil {
		t.Fatal(err)
	}
	// A structured line keeps its level and attributes; a plain stderr line arrives as info.
	eventually(t, 3*time.Second, "plugin log lines in the gateway's log", func() bool {
		var structured, plain bool
		for line := range strings.Lines(logs.String()) {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["plugin"] != "chatty" {
				continue
			}
			structured = structured || rec["msg"] == "asked to log" && rec["level"] == "WARN" && rec["answer"] == 42.0
			plain = plain || rec["msg"] == "a plain stderr line" && rec["level"] == "INFO"
		}
		return structured && plain
	})
}

func TestCallErrors(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m,
		Config{Name: "test", Path: testPluginBin},
		Config{Name: "capped", Path: testPluginBin, Timeout: 150 * time.Millisecond},
		Config{Name: "filter", Path: transformerBin})
	pid := stat(t, m, "test").PID

	type want struct {
		kind     ErrorKind
		is       error
		message  []string
		upstream int
	}
	for _, tc := range []struct {
		name     string
		plugin   string
		request  string
		deadline time.Duration
		want     want
	}{
		{"plugin error", "test", `"FAIL"`, 0, want{kind: Failed, message: []string{`plugin "test" failed: asked to fail`}}},
		{"panic", "test", `"PANIC"`, 0, want{kind: Failed, message: []string{"plugin panicked: asked to panic"}}},
		{"upstream error", "test", `"UPSTREAM429"`, 0, want{upstream: 429, message: []string{"HTTP 429", "slow down"}}},
		{"hang hits the caller's deadline", "test", `"HANG"`, 200 * time.Millisecond,
			want{kind: Timeout, is: context.DeadlineExceeded, message: []string{`plugin "test" did not answer within 200ms`}}},
		{"hang hits the plugin's timeout", "capped", `"HANG"`, 5 * time.Second,
			want{kind: Timeout, is: context.DeadlineExceeded, message: []string{`plugin "capped" did not answer within 150ms`}}},
		{"unknown plugin", "ghost", `{}`, 0, want{kind: Unavailable, is: ErrNotFound, message: []string{`no plugin named "ghost"`}}},
		{"wrong role", "filter", `{}`, 0,
			want{kind: Unavailable, is: ErrWrongRole, message: []string{`plugin "filter" is not a provider (it serves: transformer)`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			_, err := m.Complete(ctx, tc.plugin, ProviderCall{Op: "chat", Request: []byte(tc.request)})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("no error")
			}
			if !contains(err.Error(), tc.want.message...) {
				t.Errorf("message %q lacks %q", err, tc.want.message)
			}
			if tc.want.upstream != 0 {
				var ue *UpstreamError
				if !errors.As(err, &ue) || ue.Status != tc.want.upstream || ue.RetryAfter != 7 ||
					ue.Code != "rate_limit_exceeded" || !strings.Contains(string(ue.Body), `"rate_limit_error"`) {
					t.Fatalf("got %#v, want an UpstreamError with status %d", err, tc.want.upstream)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != tc.want.kind {
				t.Fatalf("got %#v, want an *Error of kind %s", err, tc.want.kind)
			}
			if tc.want.is != nil && !errors.Is(err, tc.want.is) {
				t.Errorf("%v is not %v", err, tc.want.is)
			}
			if tc.want.kind == Timeout && elapsed > time.Second {
				t.Errorf("the timeout took %s", elapsed)
			}
		})
	}
	// None of that took the process down: a panic is recovered, a hang is only abandoned.
	if st := stat(t, m, "test"); st.PID != pid || st.Restarts != 0 {
		t.Fatalf("the plugin was restarted: %+v", st)
	}
	if _, err := m.Complete(context.Background(), "test", ProviderCall{Op: "chat", Request: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
}

func TestWrongChecksumIsRefused(t *testing.T) {
	m, _ := newManager(t, Options{})
	wrong := strings.Repeat("ab", 32)
	sum := fileSum(t, testPluginBin)

	err := m.Load([]Config{{Name: "good", Path: testPluginBin}, {Name: "tampered", Path: testPluginBin, SHA256: wrong}})
	var ce *ChecksumError
	if !errors.As(err, &ce) {
		t.Fatalf("Load = %v, want a *ChecksumError", err)
	}
	if !contains(err.Error(), `plugin "tampered"`, wrong, sum, testPluginBin) {
		t.Fatalf("the message should name the plugin, the file and both checksums: %v", err)
	}
	// A refused load changes nothing, not even for the good entry.
	if got := m.Stats(); len(got) != 0 {
		t.Fatalf("plugins after a refused load: %+v", got)
	}

	load(t, m, Config{Name: "good", Path: testPluginBin, SHA256: strings.ToUpper(sum)})
	if st := stat(t, m, "good"); st.State != "running" {
		t.Fatalf("a plugin with the right checksum: %+v", st)
	}
}

func TestConfigErrors(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Check([]Config{
		{Path: testPluginBin},
		{Name: "a", Path: testPluginBin},
		{Name: "a", Path: testPluginBin},
		{Name: "b", Path: "/no/such/plugin"},
		{Name: "c", Path: notExec},
		{Name: "d", Path: testPluginBin, Role: "router"},
		{Name: "e", Path: testPluginBin, SHA256: "xyz"},
		{Name: "f", Path: testPluginBin, Config: json.RawMessage(`{`)},
		{Name: "g", Path: testPluginBin, MaxConcurrent: -1},
	})
	for _, want := range []string{
		"plugins[0]: name is required", `plugin "a": defined twice`, `plugin "b": cannot open executable`,
		`plugin "c": ` + notExec + " is not an executable file", `plugin "d": role "router"`,
		`plugin "e": sha256 "xyz" is not 64 hex digits`, `plugin "f": config is not valid JSON`,
		`plugin "g": maxConcurrent -1 is negative`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check error lacks %q:\n%v", want, err)
		}
	}
}

func TestRoleMismatchFailsTheLoad(t *testing.T) {
	m, _ := newManager(t, Options{})
	err := m.Load([]Config{{Name: "filter", Path: transformerBin, Role: "provider"}})
	if err == nil || !strings.Contains(err.Error(), `plugin "filter" is configured as a provider but serves: transformer`) {
		t.Fatalf("Load = %v", err)
	}
	// It stays loaded and is retried, in case the binary is fixed; calls fail fast meanwhile.
	if _, err := m.Complete(context.Background(), "filter", ProviderCall{Op: "chat"}); err == nil {
		t.Fatal("a call to a plugin that never started succeeded")
	}
}

// A caller that gives up gets its call back at once, as a Canceled error, whether the plugin
// ignores the cancellation or not; the process is not blamed.
func TestCanceledCallReturnsPromptly(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	pid := runningPID(t, m, "t")
	for _, tc := range []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"transform", func(ctx context.Context) error {
			_, err := m.Transform(ctx, "t", []byte(`{"body":"HANG"}`)) // the plugin ignores ctx
			return err
		}},
		{"complete", func(ctx context.Context) error {
			_, err := m.Complete(ctx, "t", ProviderCall{Op: "chat", Request: []byte(`"HANG"`)})
			return err
		}},
		{"stream", func(ctx context.Context) error {
			s, err := m.Stream(ctx, "t", ProviderCall{Op: "chat", Request: []byte(`"STALL"`)})
			if err != nil {
				return err
			}
			defer s.Close()
			for {
				if _, err := s.Next(); err != nil {
					return err
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var canceledAt atomic.Int64
			time.AfterFunc(50*time.Millisecond, func() {
				canceledAt.Store(time.Now().UnixNano())
				cancel()
			})
			err := tc.call(ctx)
			after := time.Since(time.Unix(0, canceledAt.Load()))
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != Canceled || !errors.Is(err, context.Canceled) ||
				!strings.Contains(err.Error(), `plugin "t": call canceled by the caller`) {
				t.Fatalf("got %#v, want a Canceled *Error", err)
			}
			if canceledAt.Load() == 0 || after > 500*time.Millisecond {
				t.Fatalf("the call returned %s after the cancellation", after)
			}
		})
	}
	if st := stat(t, m, "t"); st.PID != pid || st.Restarts != 0 || st.Errors != 0 || st.InFlight != 0 {
		t.Fatalf("after the canceled calls: %+v", st)
	}
	if out, err := m.Transform(context.Background(), "t", []byte(`{"body":{}}`)); err != nil || string(out) != `{"body":{}}` {
		t.Fatalf("a call after the canceled ones: %s, %v", out, err)
	}
}

// A call waiting for a plugin to come back is canceled as promptly as one in flight.
func TestCanceledWhileRestarting(t *testing.T) {
	m, _ := newManager(t, Options{})
	// Not a plugin: it keeps failing to start, and is "restarting", with backoff, for a second
	// or so before it is "failed".
	_ = m.Load([]Config{{Name: "dud", Path: "/bin/true", Role: "provider"}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	_, err := m.Complete(ctx, "dud", ProviderCall{Op: "chat"})
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != Canceled || !errors.Is(err, context.Canceled) ||
		!strings.Contains(err.Error(), `plugin "dud": call canceled by the caller while the plugin was restarting`) {
		t.Fatalf("got %#v, want a Canceled *Error", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("the canceled call took %s", d)
	}
}

// A plugin running as many calls as it may takes as many more into a short queue and refuses
// every call beyond at once with ErrBusy; the queued calls get ErrBusy when their wait ends.
// Canceling the calls it runs frees their places.
func TestBusyPluginRefusesABurstAtOnce(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "narrow", Path: testPluginBin, MaxConcurrent: 2})
	pid := runningPID(t, m, "narrow")

	// Two calls the plugin never answers hold both places.
	hangCtx, cancelHang := context.WithCancel(context.Background())
	defer cancelHang()
	hung := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := m.Transform(hangCtx, "narrow", []byte(`{"body":"HANG"}`))
			hung <- err
		}()
	}
	eventually(t, 3*time.Second, "two calls in flight", func() bool { return stat(t, m, "narrow").InFlight == 2 })

	type result struct {
		err     error
		elapsed time.Duration
	}
	const burst = 12
	results := make(chan result, burst)
	var wg sync.WaitGroup
	for range burst {
		wg.Go(func() {
			start := time.Now()
			_, err := m.Transform(context.Background(), "narrow", []byte(`{"body":1}`))
			results <- result{err, time.Since(start)}
		})
	}
	wg.Wait()
	close(results)
	var refused, waited int
	for r := range results {
		var pe *Error
		if !errors.As(r.err, &pe) || pe.Kind != Busy || !errors.Is(r.err, ErrBusy) {
			t.Fatalf("a call of the burst: %#v, want a Busy *Error", r.err)
		}
		switch {
		case strings.Contains(r.err.Error(), "as many more wait"):
			refused++
			if r.elapsed > QueueWait/2 {
				t.Errorf("a refused call took %s", r.elapsed)
			}
		case strings.Contains(r.err.Error(), "none ended in time"):
			waited++
			if r.elapsed < QueueWait-5*time.Millisecond {
				t.Errorf("a queued call gave up after %s, before its wait of %s", r.elapsed, QueueWait)
			}
		default:
			t.Errorf("message %q", r.err)
		}
	}
	if refused != burst-2 || waited != 2 {
		t.Fatalf("%d calls refused at once and %d after waiting; want %d and 2", refused, waited, burst-2)
	}

	cancelHang()
	for range 2 {
		var pe *Error
		if err := <-hung; !errors.As(err, &pe) || pe.Kind != Canceled {
			t.Fatalf("a canceled call: %#v", err)
		}
	}
	if out, err := m.Transform(context.Background(), "narrow", []byte(`{"body":1}`)); err != nil || string(out) != `{"body":1}` {
		t.Fatalf("a call once places are free: %s, %v", out, err)
	}
	st := stat(t, m, "narrow")
	if st.PID != pid || st.Restarts != 0 || st.Busy != burst || st.Errors != burst || st.InFlight != 0 || st.Waiting != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// A stream holds its place until it is closed, and a caller's deadline shortens the wait.
func TestStreamHoldsAPlace(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "one", Path: testPluginBin, MaxConcurrent: 1})
	s, err := m.Stream(context.Background(), "one", ProviderCall{Op: "chat", Request: []byte(`"STALL"`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = m.Transform(ctx, "one", []byte(`{"body":1}`))
	if d := time.Since(start); !errors.Is(err, ErrBusy) || d > QueueWait-10*time.Millisecond {
		t.Fatalf("a call while the stream is open: %v after %s", err, d)
	}
	s.Close()
	if _, err := m.Transform(context.Background(), "one", []byte(`{"body":1}`)); err != nil {
		t.Fatalf("a call after the stream closed: %v", err)
	}
}

// Messages larger than a flow-control window (1 MiB) go through either way.
func TestLargeMessages(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	ctx := context.Background()
	out, err := m.Transform(ctx, "t", []byte(`{"body":"BIG"}`))
	if err != nil || len(out) != 3<<20+len(`{"body":""}`) || !strings.HasPrefix(string(out), `{"body":"bbb`) {
		t.Fatalf("big answer: %d bytes, %v", len(out), err)
	}
	body := `"` + strings.Repeat("r", 3<<20) + `"`
	out, err = m.Transform(ctx, "t", []byte(`{"body":`+body+`}`))
	if err != nil || string(out) != `{"body":`+body+`}` {
		t.Fatalf("big request: %d bytes, %v", len(out), err)
	}
	if st := stat(t, m, "t"); st.Restarts != 0 || st.Errors != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestKillDuringLoad(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "victim", Path: testPluginBin})
	oldPID := runningPID(t, m, "victim")

	const workers = 4
	var (
		wg        sync.WaitGroup
		ok, fails atomic.Int64
		killed    atomic.Bool
		killedAt  time.Time
		mu        sync.Mutex
		firstOK   time.Time // first success on the new process
		failures  []error
	)
	stop := time.Now().Add(4 * time.Second)
	for range workers {
		wg.Go(func() {
			for n := 0; n < 150 && time.Now().Before(stop); n++ {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				resp, err := m.Complete(ctx, "victim", ProviderCall{Op: "chat", Request: []byte(`"SLOW"`)})
				cancel()
				if err != nil {
					fails.Add(1)
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					continue
				}
				done := ok.Add(1)
				var got struct{ PID int }
				_ = json.Unmarshal(resp, &got)
				if got.PID != oldPID {
					mu.Lock()
					if firstOK.IsZero() {
						firstOK = time.Now()
					}
					mu.Unlock()
				}
				// Kill once 40 calls succeeded (>=: two workers may pass 40 together).
				if done >= 40 && killed.CompareAndSwap(false, true) {
					mu.Lock()
					killedAt = time.Now()
					mu.Unlock()
					if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()

	if !killed.Load() {
		t.Fatal("the plugin was never killed")
	}
	t.Logf("%d calls succeeded, %d failed; the first success on the new process came %s after the kill",
		ok.Load(), fails.Load(), firstOK.Sub(killedAt).Round(time.Millisecond))
	// Only calls in flight at the kill fail: each worker had at most one.
	if n := fails.Load(); n == 0 || n > workers {
		t.Fatalf("%d calls failed (%d succeeded); want 1 to %d: %v", n, ok.Load(), workers, failures)
	}
	for _, err := range failures {
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != Crashed || !strings.Contains(err.Error(), strconv.Itoa(oldPID)) {
			t.Errorf("a failed call got %#v, want a Crashed *Error naming pid %d", err, oldPID)
		}
	}
	if firstOK.IsZero() || firstOK.Sub(killedAt) > time.Second {
		t.Fatalf("back %s after the kill; want within a second", firstOK.Sub(killedAt))
	}
	st := stat(t, m, "victim")
	if st.State != "running" || st.PID == oldPID || st.Restarts != 1 || st.Errors != fails.Load() {
		t.Fatalf("stats after the kill: %+v", st)
	}
	// The dead process's socket directory went with it.
	if dirs := socketDirs(t, m); len(dirs) != 1 {
		t.Fatalf("socket directories: %v", dirs)
	}
}

func TestCrashDuringACallAndInAStream(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "fragile", Path: testPluginBin})
	ctx := context.Background()
	for i := range 3 {
		pid := stat(t, m, "fragile").PID
		var err error
		if i == 1 {
			var s ChunkStream
			if s, err = m.Stream(ctx, "fragile", ProviderCall{Op: "chat", Request: []byte(`"CRASH"`)}); err == nil {
				_, err = s.Next()
				s.Close()
			}
		} else {
			_, err = m.Transform(ctx, "fragile", []byte(`{"body":"CRASH"}`))
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != Crashed || !strings.Contains(err.Error(), "exited during the call") {
			t.Fatalf("crash %d: got %v", i, err)
		}
		// The next call waits for the restart rather than failing.
		if _, err := m.Transform(ctx, "fragile", []byte(`{"body":1}`)); err != nil {
			t.Fatalf("after crash %d: %v", i, err)
		}
		if st := stat(t, m, "fragile"); st.PID == pid || st.Restarts != int64(i+1) {
			t.Fatalf("after crash %d: %+v", i, st)
		}
	}
	if dirs := socketDirs(t, m); len(dirs) != 1 {
		t.Fatalf("socket directories after three crashes: %v", dirs)
	}
}

func TestHungProcessIsRestarted(t *testing.T) {
	m, _ := newManager(t, Options{HealthInterval: 100 * time.Millisecond})
	load(t, m, Config{Name: "frozen", Path: testPluginBin})
	pid := runningPID(t, m, "frozen")
	// A stopped process keeps its socket open but answers nothing, not even health checks.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a new process", func() bool {
		st := stat(t, m, "frozen")
		return st.State == "running" && st.PID != pid
	})
	eventually(t, 2*time.Second, "the frozen process gone", func() bool { return !processAlive(pid) })
	if _, err := m.Transform(context.Background(), "frozen", []byte(`{"body":1}`)); err != nil {
		t.Fatal(err)
	}
}

func TestPluginThatCannotStart(t *testing.T) {
	m, _ := newManager(t, Options{})
	// Not a plugin: it exits before any handshake.
	err := m.Load([]Config{{Name: "dud", Path: "/bin/true", Role: "provider"}})
	if err == nil || !strings.Contains(err.Error(), `plugin "dud": cannot start /bin/true`) {
		t.Fatalf("Load = %v", err)
	}
	eventually(t, 5*time.Second, `state "failed" after repeated failures`, func() bool {
		return stat(t, m, "dud").State == "failed"
	})
	start := time.Now()
	_, err = m.Complete(context.Background(), "dud", ProviderCall{Op: "chat"})
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != Unavailable || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("a call to a failed plugin: %v after %s", err, time.Since(start))
	}
	// It is still retried, so a directory may come and go; none stays.
	eventually(t, 3*time.Second, "no socket directories left by failed starts", func() bool { return len(socketDirs(t, m)) == 0 })
}

func TestReload(t *testing.T) {
	m, _ := newManager(t, Options{DrainTimeout: 2 * time.Second})
	base := []Config{
		{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":1}`)},
		{Name: "change", Path: testPluginBin},
		{Name: "drop", Path: testPluginBin},
	}
	load(t, m, base...)
	pids := map[string]int{}
	for _, s := range m.Stats() {
		pids[s.Name] = s.PID
	}

	// A slow call in flight on the plugin being replaced finishes on the old process.
	slow := make(chan error, 1)
	go func() {
		_, err := m.Complete(context.Background(), "change", ProviderCall{Op: "chat", Request: []byte(`"SLOW"`)})
		slow <- err
	}()
	time.Sleep(5 * time.Millisecond)

	load(t, m,
		Config{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":2}`), Timeout: time.Second},
		Config{Name: "change", Path: testPluginBin, Args: []string{"--flavour=new"}},
		Config{Name: "add", Path: testPluginBin},
	)
	if err := <-slow; err != nil {
		t.Fatalf("the call in flight during the reload: %v", err)
	}

	got := map[string]Stats{}
	for _, s := range m.Stats() {
		got[s.Name] = s
	}
	if len(got) != 3 || got["keep"].PID != pids["keep"] || got["change"].PID == pids["change"] || got["add"].PID == 0 {
		t.Fatalf("after the reload: %+v (before: %v)", got, pids)
	}
	// The kept plugin got its new config without a restart.
	resp, err := m.Complete(context.Background(), "keep", ProviderCall{Op: "chat", Request: []byte(`{}`)})
	if err != nil || !strings.Contains(string(resp), `"config":{"v":2}`) {
		t.Fatalf("kept plugin answered %s, %v", resp, err)
	}
	// Removed and replaced processes are gone, with their sockets.
	eventually(t, 3*time.Second, "the old processes gone", func() bool {
		return !processAlive(pids["drop"]) && !processAlive(pids["change"])
	})
	eventually(t, 3*time.Second, "three socket directories", func() bool { return len(socketDirs(t, m)) == 3 })
	if _, err := m.Complete(context.Background(), "drop", ProviderCall{Op: "chat"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a call to a removed plugin: %v", err)
	}

	// A reload that fails its checks changes nothing.
	if err := m.Load([]Config{{Name: "keep", Path: "/no/such/file"}}); err == nil {
		t.Fatal("a bad reload was accepted")
	}
	if st := m.Stats(); len(st) != 3 {
		t.Fatalf("a refused reload changed the plugins: %+v", st)
	}

	// A rebuilt binary at the same path is a change: the plugin restarts on the new one.
	bin := filepath.Join(t.TempDir(), "rebuilt")
	copyFile(t, testPluginBin, bin)
	load(t, m, Config{Name: "keep", Path: bin})
	before := stat(t, m, "keep").PID
	load(t, m, Config{Name: "keep", Path: bin})
	if stat(t, m, "keep").PID != before {
		t.Fatal("an unchanged binary was restarted")
	}
	// Replaced the way a build replaces it (a running executable cannot be written to).
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "trailing bytes change the checksum, not the program"...)
	if err := os.WriteFile(bin+".new", b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(bin+".new", bin); err != nil {
		t.Fatal(err)
	}
	load(t, m, Config{Name: "keep", Path: bin})
	if stat(t, m, "keep").PID == before {
		t.Fatal("a rebuilt binary was not restarted")
	}
}

func TestNoProcessOutlivesShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir, err := os.MkdirTemp("", "iomt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	m, err := New(ctx, Options{SocketDir: dir, Logger: newDiscardLogger(), DrainTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	load(t, m,
		Config{Name: "a", Path: testPluginBin},
		Config{Name: "b", Path: providerBin},
		Config{Name: "c", Path: transformerBin})
	// One of them busy with a stream that would never end by itself.
	s, err := m.Stream(context.Background(), "a", ProviderCall{Op: "chat", Request: []byte(`"STALL"`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, st := range m.Stats() {
		pids = append(pids, st.PID)
	}
	sockets := m.dir

	cancel() // the gateway's context ends: the manager shuts down by itself
	start := time.Now()
	m.Close()
	for _, pid := range pids {
		if processAlive(pid) {
			t.Errorf("plugin process %d outlived the shutdown", pid)
		}
	}
	if _, err := os.Stat(sockets); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket directory is still there: %v", err)
	}
	// The stalled stream held the shutdown up for the drain timeout at most.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if _, err := s.Next(); err == nil {
		t.Error("the stalled stream went on after the shutdown")
	}
	s.Close()
	if err := m.Load([]Config{{Name: "a", Path: testPluginBin}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Load after Close = %v", err)
	}
	if _, err := m.Transform(context.Background(), "c", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Transform after Close = %v", err)
	}
}

func TestStaleSocketDirsAreRemoved(t *testing.T) {
	dir, err := os.MkdirTemp("", "iomt")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	// A pid that is certainly gone: a child that has exited and been waited for.
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, socketPrefix+strconv.Itoa(cmd.Process.Pid)+"-123")
	live := filepath.Join(dir, socketPrefix+strconv.Itoa(os.Getppid())+"-456") // our parent lives
	other := filepath.Join(dir, "something-else")
	for _, d := range []string{stale, live, other} {
		if err := os.MkdirAll(filepath.Join(d, "x"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := newManager(t, Options{SocketDir: dir})
	for d, want := range map[string]bool{stale: false, live: true, other: true, m.dir: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}

func TestStreamIdleTimeout(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "staller", Path: testPluginBin, Timeout: 200 * time.Millisecond})
	s, err := m.Stream(context.Background(), "staller", ProviderCall{Op: "chat", Request: []byte(`"STALL"`)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Next()
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != Timeout || !strings.Contains(err.Error(), `plugin "staller" sent nothing for 200ms`) {
		t.Fatalf("Next = %v", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > time.Second {
		t.Fatalf("the idle timeout took %s", d)
	}
	if _, again := s.Next(); again != err {
		t.Fatalf("Next after the end = %v", again)
	}
	if st := stat(t, m, "staller"); st.InFlight != 0 || st.Errors != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestStreamFromTheTestPlugin(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "streamer", Path: testPluginBin})
	s, err := m.Stream(context.Background(), "streamer", ProviderCall{Op: "chat", Request: []byte(`{"stream":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	chunks := readAll(t, s)
	if len(chunks) != 4 || !strings.Contains(chunks[3], `"usage"`) {
		t.Fatalf("chunks: %q", chunks)
	}
	// Closing a stream early stops it without counting an error.
	s, err = m.Stream(context.Background(), "streamer", ProviderCall{Op: "chat", Request: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if st := stat(t, m, "streamer"); st.Calls != 2 || st.Errors != 0 || st.InFlight != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

// runningPID is the plugin's pid, checked: a signal sent to pid 0 would hit our own process group.
func runningPID(t testing.TB, m *Manager, name string) int {
	t.Helper()
	st := stat(t, m, name)
	if st.PID <= 0 || st.State != "running" {
		t.Fatalf("plugin %q is not running: %+v", name, st)
	}
	return st.PID
}

func readAll(t testing.TB, s ChunkStream) []string {
	t.Helper()
	defer s.Close()
	var out []string
	for {
		c, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d chunks: %v", len(out), err)
		}
		out = append(out, string(c))
	}
}

func fileSum(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
