package plugins

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The plugins the tests run, built once by TestMain into a temporary directory.
var (
	testPluginBin  string // testdata/testplugin: both roles, misbehaves on request
	providerBin    string // examples/plugins/process-provider
	transformerBin string // examples/plugins/process-transformer
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iom-plugin-bins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
			"./testdata/testplugin", "../examples/plugins/process-provider", "../examples/plugins/process-transformer")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the test plugins:", err)
			return 1
		}
		testPluginBin = filepath.Join(dir, "testplugin")
		providerBin = filepath.Join(dir, "process-provider")
		transformerBin = filepath.Join(dir, "process-transformer")
		return m.Run()
	}()
	os.Exit(code)
}

// touchSources reads the sources of the plugins TestMain builds. go test caches a package's
// result by what the test binary is made of and the files its tests read; the plugins are built
// by a separate command, so without this a change to them would not rerun cached tests. Reads
// count only once the tests run, not in TestMain: newManager does it.
var touchSources = sync.OnceFunc(func() {
	for _, dir := range []string{"testdata/testplugin", "../sdk/plugin", "../sdk/plugin/proto",
		"../examples/plugins/process-provider", "../examples/plugins/process-transformer"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			_, _ = os.ReadFile(f)
		}
	}
})

// logBuffer collects a manager's logs; a failed test prints them.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newManager starts a manager for one test, with its logs in the returned buffer, and closes it
// when the test ends. The socket directory is short on purpose: unix socket paths are limited to
// 108 bytes, which a test's own TempDir nearly uses up.
func newManager(t testing.TB, opts Options) (*Manager, *logBuffer) {
	t.Helper()
	touchSources()
	logs := &logBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.SocketDir == "" {
		dir, err := os.MkdirTemp("", "iomt")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		opts.SocketDir = dir
	}
	m, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		if t.Failed() {
			t.Logf("manager logs:\n%s", logs.String())
		}
	})
	return m, logs
}

func load(t testing.TB, m *Manager, cfgs ...Config) {
	t.Helper()
	if err := m.Load(cfgs); err != nil {
		t.Fatalf("Load: %v", err)
	}
}

func stat(t testing.TB, m *Manager, name string) Stats {
	t.Helper()
	for _, s := range m.Stats() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stats for plugin %q", name)
	return Stats{}
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func socketDirs(t testing.TB, m *Manager) []string {
	t.Helper()
	entries, err := os.ReadDir(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func newDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
