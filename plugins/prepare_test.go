package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/proctest"
)

// A reload that cannot start one of its plugins changes nothing: the running plugin keeps its
// process and its old settings, and no process the reload started is left.
func TestPrepareThatFailsChangesNothing(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":1}`)})
	pid := runningPID(t, m, "keep")
	marker := proctest.Marker(t)

	p, err := m.Prepare([]Config{
		{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":2}`)},
		{Name: "add", Path: testPluginBin, Args: []string{marker}},
		{Name: "dud", Path: "/bin/true", Args: []string{marker}, Role: "provider"}, // exits before any handshake
	})
	if err == nil || p != nil || !strings.Contains(err.Error(), `plugin "dud": cannot start /bin/true`) {
		t.Fatalf("Prepare = %v, %v; want an error naming the plugin that did not start", p, err)
	}
	if st := m.Stats(); len(st) != 1 || st[0].Name != "keep" || st[0].PID != pid || st[0].State != "running" {
		t.Fatalf("plugins after a failed Prepare: %+v", st)
	}
	if got := answeredConfig(t, m, "keep"); got != `{"v":1}` {
		t.Fatalf("the running plugin took the config of a failed reload: %s", got)
	}
	if pids := proctest.PIDs(t, marker); len(pids) != 0 {
		t.Fatalf("processes left by a failed Prepare: %v", pids)
	}
	if dirs := socketDirs(t, m); len(dirs) != 1 {
		t.Fatalf("socket directories after a failed Prepare: %v", dirs)
	}
	// The failed reload is over: the next one goes ahead.
	load(t, m, Config{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":2}`)})
	if got := answeredConfig(t, m, "keep"); got != `{"v":2}` || runningPID(t, m, "keep") != pid {
		t.Fatalf("after the next reload the plugin answers with %s, pid %d (was %d)", got, runningPID(t, m, "keep"), pid)
	}
}

// A prepared reload runs its new processes unseen; discarding it stops them and leaves the
// served plugins as they were.
func TestPrepareThenDiscard(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m,
		Config{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":1}`)},
		Config{Name: "change", Path: testPluginBin})
	before := pidsByName(m)
	served := func(when string) {
		t.Helper()
		if got := pidsByName(m); len(got) != 2 || got["keep"] != before["keep"] || got["change"] != before["change"] {
			t.Fatalf("%s: served %v, want %v", when, got, before)
		}
		if got := answeredConfig(t, m, "keep"); got != `{"v":1}` {
			t.Fatalf("%s: the kept plugin answers with config %s", when, got)
		}
		if answeredPID(t, m, "change") != before["change"] {
			t.Fatalf("%s: a call went to another process than the running one", when)
		}
		if _, err := m.Complete(context.Background(), "add", ProviderCall{Op: "chat"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: a call to the plugin being added: %v", when, err)
		}
	}
	marker := proctest.Marker(t)
	p, err := m.Prepare([]Config{
		{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":2}`)},
		{Name: "change", Path: testPluginBin, Args: []string{marker}},
		{Name: "add", Path: testPluginBin, Args: []string{marker}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if pids := proctest.PIDs(t, marker); len(pids) != 2 {
		t.Fatalf("Prepare started %v; want the changed and the new plugin", pids)
	}
	served("prepared")

	p.Discard()
	if pids := proctest.PIDs(t, marker); len(pids) != 0 {
		t.Fatalf("processes left by Discard: %v", pids)
	}
	served("discarded")
	if dirs := socketDirs(t, m); len(dirs) != 2 {
		t.Fatalf("socket directories after Discard: %v", dirs)
	}
	p.Commit() // after Discard: nothing
	served("committed after the discard")
	load(t, m, Config{Name: "keep", Path: testPluginBin})
}

// Committing a prepared reload swaps it in: the changed plugin's new process serves and the old
// one stops, the kept plugin takes its new settings on its process, and the removed one stops.
func TestPrepareThenCommit(t *testing.T) {
	m, _ := newManager(t, Options{DrainTimeout: time.Second})
	load(t, m,
		Config{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":1}`)},
		Config{Name: "change", Path: testPluginBin},
		Config{Name: "drop", Path: testPluginBin})
	before := pidsByName(m)
	marker := proctest.Marker(t)
	p, err := m.Prepare([]Config{
		{Name: "keep", Path: testPluginBin, Config: json.RawMessage(`{"v":2}`)},
		{Name: "change", Path: testPluginBin, Args: []string{marker}},
		{Name: "add", Path: testPluginBin},
	})
	if err != nil {
		t.Fatal(err)
	}
	started := proctest.PIDs(t, marker)
	if len(started) != 1 || answeredPID(t, m, "change") != before["change"] {
		t.Fatalf("prepared: started %v, and the running plugin must still serve", started)
	}

	p.Commit()
	after := pidsByName(m)
	if len(after) != 3 || after["keep"] != before["keep"] || after["change"] != started[0] || after["add"] == 0 {
		t.Fatalf("after Commit: %v (before: %v, prepared: %v)", after, before, started)
	}
	if got := answeredPID(t, m, "change"); got != started[0] {
		t.Fatalf("the changed plugin answered from pid %d, want its new process %d", got, started[0])
	}
	if got := answeredConfig(t, m, "keep"); got != `{"v":2}` {
		t.Fatalf("the kept plugin answers with config %s", got)
	}
	eventually(t, 3*time.Second, "the replaced and removed processes gone", func() bool {
		return !processAlive(before["change"]) && !processAlive(before["drop"])
	})

	p.Commit()
	p.Discard() // after Commit: nothing
	if got := pidsByName(m); len(got) != 3 || got["change"] != started[0] || !processAlive(started[0]) {
		t.Fatalf("a second Commit or a Discard changed the plugins: %v", got)
	}
}

// A second reload waits until the prepared one is committed or discarded.
func TestPreparedReloadHoldsTheNext(t *testing.T) {
	m, _ := newManager(t, Options{})
	p, err := m.Prepare([]Config{{Name: "a", Path: testPluginBin}})
	if err != nil {
		t.Fatal(err)
	}
	loaded := make(chan error, 1)
	go func() { loaded <- m.Load([]Config{{Name: "b", Path: testPluginBin}}) }()
	select {
	case err := <-loaded:
		t.Fatalf("Load went ahead of a prepared reload: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	p.Commit()
	select {
	case err := <-loaded:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load still waits after the prepared reload was committed")
	}
	if got := pidsByName(m); len(got) != 1 || got["b"] == 0 {
		t.Fatalf("after both reloads: %v", got)
	}
}

// Close stops a prepared reload's processes too, and the reload's Commit afterwards does nothing.
func TestCloseStopsAPreparedReload(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "keep", Path: testPluginBin})
	pid := runningPID(t, m, "keep")
	marker := proctest.Marker(t)
	p, err := m.Prepare([]Config{{Name: "keep", Path: testPluginBin}, {Name: "add", Path: testPluginBin, Args: []string{marker}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if pids := proctest.PIDs(t, marker); len(pids) != 0 || processAlive(pid) {
		t.Fatalf("processes left after Close: prepared %v, running %d alive: %v", pids, pid, processAlive(pid))
	}
	p.Commit()
	if st := m.Stats(); len(st) != 0 {
		t.Fatalf("a Commit after Close put plugins back: %+v", st)
	}
	if err := m.Load([]Config{{Name: "keep", Path: testPluginBin}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Load after Close = %v", err)
	}
}

func pidsByName(m *Manager) map[string]int {
	out := map[string]int{}
	for _, s := range m.Stats() {
		out[s.Name] = s.PID
	}
	return out
}

// answeredPID and answeredConfig call the test plugin, which answers with its pid and the
// config it was given.
func answeredPID(t testing.TB, m *Manager, name string) int {
	t.Helper()
	var got struct{ PID int }
	answer(t, m, name, &got)
	return got.PID
}

func answeredConfig(t testing.TB, m *Manager, name string) string {
	t.Helper()
	var got struct{ Config json.RawMessage }
	answer(t, m, name, &got)
	return string(got.Config)
}

func answer(t testing.TB, m *Manager, name string, v any) {
	t.Helper()
	resp, err := m.Complete(context.Background(), name, ProviderCall{Op: "chat", Request: []byte(`{}`)})
	if err != nil {
		t.Fatalf("a call to %q: %v", name, err)
	}
	if err := json.Unmarshal(resp, v); err != nil {
		t.Fatalf("the answer of %q: %v", name, err)
	}
}
