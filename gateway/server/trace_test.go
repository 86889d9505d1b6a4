package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

var (
	traceIDPattern     = regexp.MustCompile(`^[0-9a-f]{32}$`)
	traceparentPattern = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$`)
)

// With telemetry off (the default) every answer still carries x-iom-trace-id: a new random id,
// or the id of the client's traceparent, which the upstream call continues (with its
// tracestate); the records and the access log keep the id.
func TestTraceIDWithExportOff(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	g := gt.Start(t, dir, models(f, "")+"accessLog: {enabled: true, file: "+logPath+"}\n")
	chat := func(traceparent, tracestate string, stream bool) *http.Response {
		t.Helper()
		body := `{"model":"echo","messages":[{"role":"user","content":"hello"}]}`
		if stream {
			body = `{"model":"echo","stream":true,"messages":[{"role":"user","content":"hello"}]}`
		}
		req, _ := http.NewRequest("POST", g.DataURL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+gt.Key)
		req.Header.Set("Content-Type", "application/json")
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
		if tracestate != "" {
			req.Header.Set("tracestate", tracestate)
		}
		resp, err := gt.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp
	}
	upstreamTrace := func() (traceID, parent string) {
		t.Helper()
		tp := f.Last().Header["traceparent"]
		m := traceparentPattern.FindStringSubmatch(tp)
		if m == nil {
			t.Fatalf("the upstream got traceparent %q", tp)
		}
		return m[1], m[2]
	}

	// No traceparent: a fresh id, passed upstream.
	r := chat("", "", false)
	fresh := r.Header.Get("X-Iom-Trace-Id")
	if !traceIDPattern.MatchString(fresh) || fresh == strings.Repeat("0", 32) {
		t.Fatalf("x-iom-trace-id %q", fresh)
	}
	if id, _ := upstreamTrace(); id != fresh {
		t.Fatalf("the upstream's trace %s, the answer's %s", id, fresh)
	}
	if again := chat("", "", false).Header.Get("X-Iom-Trace-Id"); again == fresh {
		t.Fatalf("two requests got the same trace id %s", fresh)
	}

	// A client's traceparent is continued, its tracestate passed on.
	const client = "4bf92f3577b34da6a3ce929d0e0e4736"
	r = chat("00-"+client+"-00f067aa0ba902b7-01", "vendor=abc", false)
	if got := r.Header.Get("X-Iom-Trace-Id"); got != client {
		t.Fatalf("x-iom-trace-id %q, want the client's %s", got, client)
	}
	if id, _ := upstreamTrace(); id != client || f.Last().Header["tracestate"] != "vendor=abc" {
		t.Fatalf("the upstream got %q %q", f.Last().Header["traceparent"], f.Last().Header["tracestate"])
	}
	requestID := r.Header.Get("X-Iom-Request-Id")

	// A stream too; a malformed traceparent starts a new trace.
	r = chat("00-"+client+"-00f067aa0ba902b7-01", "", true)
	if got := r.Header.Get("X-Iom-Trace-Id"); got != client {
		t.Fatalf("stream: x-iom-trace-id %q", got)
	}
	r = chat("00-zz-00f067aa0ba902b7-01", "", false)
	if got := r.Header.Get("X-Iom-Trace-Id"); !traceIDPattern.MatchString(got) || got == client {
		t.Fatalf("malformed traceparent: x-iom-trace-id %q", got)
	}

	// A request refused before any model is called has one, too.
	bad := g.Data("POST", "/v1/chat/completions", "wrong-key-0123456789", `{"model":"echo","messages":[]}`)
	refused := bad.Header.Get("X-Iom-Trace-Id")
	if bad.Status != 401 || !traceIDPattern.MatchString(refused) {
		t.Fatalf("refused: %d %q", bad.Status, refused)
	}

	// The record and the access log keep the id.
	gt.Eventually(t, 5*time.Second, "the record's trace id", func() bool {
		rec := g.Admin("GET", "/api/executions/"+requestID, nil)
		return rec.Status == 200 && rec.JSON(t)["traceId"] == client
	})
	gt.Eventually(t, 5*time.Second, "the access log's trace ids", func() bool {
		raw, _ := os.ReadFile(logPath)
		seen := map[string]bool{}
		for line := range strings.Lines(string(raw)) {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) == nil {
				id, _ := l["traceId"].(string)
				seen[id] = true
			}
		}
		return seen[fresh] && seen[client] && seen[refused]
	})
}
