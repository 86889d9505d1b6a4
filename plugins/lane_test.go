package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lanes are exercised by every unary call in these tests (TestCallErrors covers statuses,
// details, deadlines and panics through them); the tests here cover what is theirs alone.

func laneCounts(m *Manager, name string) (open, idle int) {
	ls := (*m.slots.Load())[name].proc.Load().lanes
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.open, len(ls.idle)
}

func echoEnvelope(body string) []byte {
	return []byte(`{"abi":1,"stage":"request","body":` + body + `}`)
}

func TestUnaryCallsTakeALane(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	if open, _ := laneCounts(m, "t"); open != 0 {
		t.Fatalf("%d lanes before any call", open)
	}
	for i := range 50 {
		body := fmt.Sprintf(`{"n":%d}`, i)
		out, err := m.Transform(context.Background(), "t", echoEnvelope(body))
		if err != nil || string(out) != `{"body":`+body+`}` {
			t.Fatalf("call %d: %s, %v", i, out, err)
		}
	}
	// One call at a time needs one lane, kept for the next call.
	if open, idle := laneCounts(m, "t"); open != 1 || idle != 1 {
		t.Fatalf("after 50 calls in turn: %d lanes open, %d idle; want 1, 1", open, idle)
	}
}

func TestLanesUnderConcurrentCalls(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	const callers, calls = 3 * maxLanes, 10
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for c := range callers {
		wg.Go(func() {
			for i := range calls {
				// Each answer must be the caller's own: no lane may mix up two calls.
				body := fmt.Sprintf(`{"caller":%d,"call":%d,"pad":"%s"}`, c, i, strings.Repeat("p", c*97))
				out, err := m.Transform(context.Background(), "t", echoEnvelope(body))
				if err != nil || string(out) != `{"body":`+body+`}` {
					errs <- fmt.Errorf("caller %d call %d: %.80s, %v", c, i, out, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if open, idle := laneCounts(m, "t"); open > maxLanes || open != idle || open == 0 {
		t.Fatalf("after the calls: %d lanes open, %d idle (at most %d)", open, idle, maxLanes)
	}
}

func TestLargeMessages(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	ctx := context.Background()

	// An answer of three flow-control windows: the lane gives the window back as it reads.
	out, err := m.Transform(ctx, "t", echoEnvelope(`"BIG"`))
	if err != nil || len(out) != 3<<20+len(`{"body":""}`) || !bytes.HasPrefix(out, []byte(`{"body":"bbb`)) {
		t.Fatalf("big answer: %d bytes, %v", len(out), err)
	}
	// A request over the window goes on the shared connection.
	body := `"` + strings.Repeat("r", 3<<20) + `"`
	out, err = m.Transform(ctx, "t", echoEnvelope(body))
	if err != nil || string(out) != `{"body":`+body+`}` {
		t.Fatalf("big request: %d bytes, %v", len(out), err)
	}
	for range 3 {
		if out, err := m.Transform(ctx, "t", echoEnvelope(`{}`)); err != nil || string(out) != `{"body":{}}` {
			t.Fatalf("small call after big ones: %s, %v", out, err)
		}
	}
	if open, idle := laneCounts(m, "t"); open != 1 || idle != 1 {
		t.Fatalf("%d lanes open, %d idle; want the one lane back", open, idle)
	}
	if st := stat(t, m, "t"); st.Restarts != 0 || st.Errors != 0 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestCanceledCallDropsItsLane(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	pid := stat(t, m, "t").PID
	if _, err := m.Transform(context.Background(), "t", echoEnvelope(`{}`)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(5*time.Millisecond, cancel)
	_, err := m.Transform(ctx, "t", echoEnvelope(`"SLOW"`)) // the plugin takes 20 ms
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != Canceled {
		t.Fatalf("canceled call: %#v, want an *Error of kind %s", err, Canceled)
	}
	// The lane was mid-call: it is closed, not reused. The process stays.
	if open, idle := laneCounts(m, "t"); open != 0 || idle != 0 {
		t.Fatalf("after the canceled call: %d lanes open, %d idle", open, idle)
	}
	if out, err := m.Transform(context.Background(), "t", echoEnvelope(`{}`)); err != nil || string(out) != `{"body":{}}` {
		t.Fatalf("call after the canceled one: %s, %v", out, err)
	}
	if st := stat(t, m, "t"); st.PID != pid || st.Restarts != 0 {
		t.Fatalf("the plugin was restarted: %+v", st)
	}
}

func TestIdleLaneIsReplaced(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	ctx := context.Background()
	if _, err := m.Transform(ctx, "t", echoEnvelope(`{}`)); err != nil {
		t.Fatal(err)
	}
	ls := (*m.slots.Load())["t"].proc.Load().lanes
	ls.mu.Lock()
	old := ls.idle[0]
	old.used = time.Now().Add(-laneIdle - time.Second)
	ls.mu.Unlock()
	if _, err := m.Transform(ctx, "t", echoEnvelope(`{}`)); err != nil {
		t.Fatal(err)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.open != 1 || len(ls.idle) != 1 || ls.idle[0] == old {
		t.Fatalf("%d lanes open, %d idle, reused the old one: %v", ls.open, len(ls.idle), len(ls.idle) == 1 && ls.idle[0] == old)
	}
	if _, err := old.conn.Write([]byte{0}); err == nil {
		t.Fatal("the idle lane's connection is still open")
	}
}

func TestGRPCTimeout(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "1n"},
		{0, "1n"},
		{999 * time.Nanosecond, "999n"},
		{150 * time.Millisecond, "150000u"},
		{1500 * time.Microsecond, "1500000n"},
		{90 * time.Second, "90000000u"}, {150 * time.Second, "150000m"},
		{30 * time.Hour, "108000S"},
		{200000 * time.Hour, "12000000M"}, {2000000 * time.Hour, "2000000H"},
	} {
		if got := grpcTimeout(tc.d); got != tc.want {
			t.Errorf("grpcTimeout(%s) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

func TestStaleIdleLanesAreClosed(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "t", Path: testPluginBin})
	// Two calls at once open two lanes.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := m.Transform(context.Background(), "t", echoEnvelope(`"SLOW"`)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if open, idle := laneCounts(m, "t"); open != 2 || idle != 2 {
		t.Fatalf("after two calls at once: %d lanes open, %d idle; want 2, 2", open, idle)
	}
	// Calls one at a time take the newest lane; the oldest, unused for too long, goes.
	ls := (*m.slots.Load())["t"].proc.Load().lanes
	ls.mu.Lock()
	bottom := ls.idle[0]
	bottom.used = time.Now().Add(-laneIdle - time.Second)
	ls.mu.Unlock()
	if _, err := m.Transform(context.Background(), "t", echoEnvelope(`{}`)); err != nil {
		t.Fatal(err)
	}
	if open, idle := laneCounts(m, "t"); open != 1 || idle != 1 {
		t.Fatalf("after a call: %d lanes open, %d idle; want 1, 1", open, idle)
	}
	if _, err := bottom.conn.Write([]byte{0}); err == nil {
		t.Fatal("the stale lane's connection is still open")
	}
}
