package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/internal/proctest"
	"github.com/iomhq/iom/wasm"
)

// transformerBin is the example process transformer, built once by TestMain.
var transformerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iom-hub-bins-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		transformerBin = filepath.Join(dir, "process-transformer")
		cmd := exec.Command("go", "build", "-o", transformerBin, "../../examples/plugins/process-transformer")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the process transformer:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

const guardWASM = "../../wasm/testdata/sizeguard.wasm"

// A WASM transform's refusal keeps its 4xx status and code, as a plugin fault: the ABI's own
// example refuses a large request with 413.
func TestWASMRefusal(t *testing.T) {
	ctx := context.Background()
	h, err := New(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	if err := h.Apply(ctx, []config.Plugin{{Name: "guard", Path: "../../wasm/testdata/sizeguard.wasm"}}); err != nil {
		t.Fatal(err)
	}
	if !h.Has("guard") || h.KnownPlugin("guard") != nil || h.KnownProvider("wasm:guard") == nil {
		t.Fatal("a transform is a known plugin and serves no models")
	}
	big := make([]byte, 0, 5000)
	big = append(big, `{"model":"m","messages":[{"role":"user","content":"`...)
	for len(big) < 4900 {
		big = append(big, "word "...)
	}
	big = append(big, `"}]}`...)
	_, _, err = h.Transform(ctx, "guard", "request", big, invoke.TransformMeta{Op: "chat"})
	fe, ok := err.(*fault.Error)
	if !ok || fe.Kind != fault.Plugin || fe.Status != 413 || fe.Code != "too_large" {
		t.Fatalf("refusal: %#v", err)
	}
}

// A process transformer's answer: a body, a drop, an error with its code and status, and no
// headers, which transforms cannot set.
func TestProcTransformResult(t *testing.T) {
	if body, drop, err := procTransformResult("p", []byte(`{"body":{"a":1}}`)); err != nil || drop || string(body) != `{"a":1}` {
		t.Fatalf("body: %s %v %v", body, drop, err)
	}
	if _, drop, err := procTransformResult("p", []byte(` {"drop":true} `)); err != nil || !drop {
		t.Fatalf("drop: %v %v", drop, err)
	}
	for out, status := range map[string]int{
		`{"error":{"message":"no","code":"blocked","status":429}}`: 429,
		`{"error":{"message":"no","code":"blocked","status":503}}`: 502,
		`{"error":{"message":"no","code":"blocked"}}`:              502,
	} {
		_, _, err := procTransformResult("p", []byte(out))
		if fe, ok := err.(*fault.Error); !ok || fe.Status != status || fe.Code != "blocked" {
			t.Errorf("%s: %#v, want status %d", out, err, status)
		}
	}
	if _, _, err := procTransformResult("p", []byte(`{"headers":{"x":"1"}}`)); err == nil {
		t.Fatal("a transform that sets headers must fail")
	}
}

// A reload whose process plugins fail to prepare changes nothing: not the WASM set (a WASM
// plugin it adds is not served), not the process plugins, and no process it started is left.
func TestPrepareThatFailsInProcessPluginsChangesNothing(t *testing.T) {
	ctx := context.Background()
	h := newHub(t)
	apply(t, h, basePlugins())
	guard, pid := h.wasmPlugin("guard"), procPID(t, h, "filter")
	marker := proctest.Marker(t)

	c, err := h.Prepare(ctx, []config.Plugin{
		{Name: "guard", Path: guardWASM, Config: map[string]any{"v": 2}},
		{Name: "guard2", Path: guardWASM},
		{Name: "filter", Process: transformerBin, Args: []string{marker}},
		{Name: "dud", Process: "/bin/true", Args: []string{marker}}, // exits before any handshake
	})
	if err == nil || c != nil || !strings.Contains(err.Error(), `plugin "dud": cannot start /bin/true`) {
		t.Fatalf("Prepare = %v, %v; want an error naming the plugin that did not start", c, err)
	}
	if h.Has("guard2") || h.Has("dud") || h.wasmPlugin("guard") != guard || procPID(t, h, "filter") != pid {
		t.Fatal("a failed Prepare changed the served plugins")
	}
	if got := listed(h); !slices.Equal(got, []string{"filter", "guard"}) {
		t.Fatalf("plugins after a failed Prepare: %v", got)
	}
	if pids := proctest.PIDs(t, marker); len(pids) != 0 {
		t.Fatalf("processes left by a failed Prepare: %v", pids)
	}
	transforms(t, h, "guard", "filter")
}

// A prepared change serves nothing until it is committed; discarding it serves the old set and
// drops what it loaded and started.
func TestPrepareThenDiscard(t *testing.T) {
	ctx := context.Background()
	h := newHub(t)
	apply(t, h, basePlugins())
	guard, pid := h.wasmPlugin("guard"), procPID(t, h, "filter")
	served := func(when string) {
		t.Helper()
		if h.Has("guard2") || h.Has("add") || h.wasmPlugin("guard") != guard || procPID(t, h, "filter") != pid {
			t.Fatalf("%s: the served plugins changed", when)
		}
		if got := listed(h); !slices.Equal(got, []string{"filter", "guard"}) {
			t.Fatalf("%s: plugins %v", when, got)
		}
		transforms(t, h, "guard", "filter")
	}
	marker := proctest.Marker(t)
	c, err := h.Prepare(ctx, changedPlugins(marker))
	if err != nil {
		t.Fatal(err)
	}
	if pids := proctest.PIDs(t, marker); len(pids) != 2 || len(c.loaded) != 2 {
		t.Fatalf("Prepare started %v and loaded %d WASM plugins; want 2 of each", pids, len(c.loaded))
	}
	served("prepared")

	c.Discard()
	served("discarded")
	if pids := proctest.PIDs(t, marker); len(pids) != 0 {
		t.Fatalf("processes left by Discard: %v", pids)
	}
	for _, p := range c.loaded {
		if _, err := p.Transform(ctx, wasm.Envelope{Stage: wasm.StageRequest, Body: []byte(`{}`)}); !isClosed(err) {
			t.Fatalf("a WASM plugin loaded by a discarded change: %v, want it closed", err)
		}
	}
	c.Commit() // after Discard: nothing
	served("committed after the discard")
	apply(t, h, basePlugins()) // the discarded change ended the reload
}

// Committing a prepared change serves the new set: new plugins, the changed WASM plugin's new
// module and the changed process plugin's new process; the replaced ones are closed and stopped.
func TestPrepareThenCommit(t *testing.T) {
	ctx := context.Background()
	h := newHub(t)
	apply(t, h, basePlugins())
	guard, pid := h.wasmPlugin("guard"), procPID(t, h, "filter")
	marker := proctest.Marker(t)
	c, err := h.Prepare(ctx, changedPlugins(marker))
	if err != nil {
		t.Fatal(err)
	}
	started := proctest.PIDs(t, marker)

	c.Commit()
	if got := listed(h); !slices.Equal(got, []string{"add", "filter", "guard", "guard2"}) {
		t.Fatalf("plugins after Commit: %v", got)
	}
	if h.wasmPlugin("guard") == guard || !slices.Contains(started, procPID(t, h, "filter")) || !slices.Contains(started, procPID(t, h, "add")) {
		t.Fatalf("after Commit the changed plugins are not the prepared ones (started %v)", started)
	}
	transforms(t, h, "guard", "guard2", "filter", "add")
	if _, err := guard.Transform(ctx, wasm.Envelope{Stage: wasm.StageRequest, Body: []byte(`{}`)}); !isClosed(err) {
		t.Fatalf("the replaced WASM plugin: %v, want it closed", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the replaced process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Discard() // after Commit: nothing
	if !h.Has("guard2") || !h.Has("add") {
		t.Fatal("a Discard after Commit changed the plugins")
	}
	transforms(t, h, "guard2", "add")
}

// basePlugins is a WASM and a process transformer; changedPlugins changes both and adds one of
// each, its processes marked with marker.
func basePlugins() []config.Plugin {
	return []config.Plugin{{Name: "guard", Path: guardWASM}, {Name: "filter", Process: transformerBin}}
}

func changedPlugins(marker string) []config.Plugin {
	return []config.Plugin{
		{Name: "guard", Path: guardWASM, Config: map[string]any{"v": 2}},
		{Name: "guard2", Path: guardWASM},
		{Name: "filter", Process: transformerBin, Args: []string{marker}},
		{Name: "add", Process: transformerBin, Args: []string{marker}},
	}
}

func newHub(t testing.TB) *Hub {
	t.Helper()
	ctx := context.Background()
	h, err := New(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(ctx) })
	return h
}

func apply(t testing.TB, h *Hub, cfgs []config.Plugin) {
	t.Helper()
	if err := h.Apply(context.Background(), cfgs); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

// procPID is the pid of a running process plugin.
func procPID(t testing.TB, h *Hub, name string) int {
	t.Helper()
	for _, p := range h.List() {
		if p.Name == name && p.Kind == "process" && p.State == "running" && p.PID > 0 {
			return p.PID
		}
	}
	t.Fatalf("process plugin %q is not running: %+v", name, h.List())
	return 0
}

func listed(h *Hub) []string {
	var names []string
	for _, p := range h.List() {
		names = append(names, p.Name)
	}
	return names
}

// transforms checks that each named plugin transforms a small request.
func transforms(t testing.TB, h *Hub, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, _, err := h.Transform(context.Background(), name, "request", []byte(`{"messages":[]}`), invoke.TransformMeta{Op: "chat"}); err != nil {
			t.Fatalf("a transform by %q: %v", name, err)
		}
	}
}

func isClosed(err error) bool {
	var we *wasm.Error
	return errors.As(err, &we) && we.Kind == wasm.KindClosed
}
