package accesslog

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/config"
)

func entry(status int) *Entry {
	return &Entry{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), RequestID: "18e0000000000000000000a1", KeyID: "config:app",
		Org: "acme", Model: "gpt-x", ServedBy: "gpt-x", Provider: "openai", Status: status, LatencyMs: 12.5, InputTokens: 10,
		OutputTokens: 20, CostUSD: 0.0004, Cache: "miss", ClientIP: "10.1.2.3", Op: "chat", Path: "/v1/chat/completions"}
}

func open(t testing.TB, c config.AccessLog) (*Log, string) {
	t.Helper()
	if c.File == "" {
		c.File = filepath.Join(t.TempDir(), "sub", "access.log")
	}
	c.Enabled = true
	if c.Format == "" {
		c.Format = "json"
	}
	if c.MaxSizeMB == 0 {
		c.MaxSizeMB = 100
	}
	l, err := Open(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(nil) })
	return l, c.File
}

func lines(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestJSONLine(t *testing.T) {
	l, path := open(t, config.AccessLog{})
	l.Write(entry(200))
	var got map[string]any
	if err := json.Unmarshal([]byte(lines(t, path)[0]), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(config.AccessLogFields)+2 || got["time"] != "2025-01-02T03:04:05Z" || got["msg"] != "access" ||
		got["status"] != 200.0 || got["costUsd"] != 0.0004 || got["clientIp"] != "10.1.2.3" || got["stream"] != false {
		t.Fatalf("line %v", got)
	}
	for _, f := range config.AccessLogFields {
		if _, ok := got[f]; !ok {
			t.Errorf("no field %s", f)
		}
	}
}

// fields keeps the fields listed, in the log's order; text writes key=value pairs.
func TestTextAndFields(t *testing.T) {
	l, path := open(t, config.AccessLog{Format: "text", Fields: []string{"op", "status", "requestId"}})
	l.Write(entry(502))
	if got, want := lines(t, path)[0], "level=INFO msg=access requestId=18e0000000000000000000a1 status=502 op=chat"; got != want {
		t.Fatalf("line\n got %s\nwant %s", got, want)
	}
}

// With sample s, about s of the successful requests are written, and every failure.
func TestSample(t *testing.T) {
	half := 0.5
	l, path := open(t, config.AccessLog{Sample: &half})
	for range 2000 {
		l.Write(entry(200))
	}
	for range 10 {
		l.Write(entry(429))
	}
	failing := entry(200)
	failing.ErrorKind = "provider" // a stream that broke after its 200
	l.Write(failing)
	got := lines(t, path)
	if n := len(got); n < 850+11 || n > 1150+11 {
		t.Fatalf("%d lines of 2000 successes sampled at 0.5, and 11 failures", n)
	}
	if f := strings.Count(strings.Join(got, "\n"), `"status":429`); f != 10 {
		t.Fatalf("%d failures of 10 written", f)
	}
	zero := 0.0
	l, path = open(t, config.AccessLog{Sample: &zero})
	l.Write(entry(200))
	l.Write(failing)
	if got := lines(t, path); len(got) != 1 || !strings.Contains(got[0], `"errorKind":"provider"`) {
		t.Fatalf("sample 0: %v", got)
	}
}

func TestExcluded(t *testing.T) {
	l, _ := open(t, config.AccessLog{Exclude: []string{"/v1/models", "/v1/responses/*"}})
	for path, want := range map[string]bool{"/v1/models": true, "/v1/models/gpt-x": false, "/v1/responses/resp_1": true,
		"/v1/responses": false, "/v1/chat/completions": false} {
		if got := l.Excluded([]byte(path)); got != want {
			t.Errorf("Excluded(%s) = %v", path, got)
		}
	}
}

// The file rotates past maxSizeMB, the rotated files named after the time of the rotation.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	l, path := open(t, config.AccessLog{File: filepath.Join(dir, "access.log"), MaxSizeMB: 1})
	e := entry(200)
	e.Path = "/v1/chat/completions" + strings.Repeat("x", 700) // ~1 KB a line
	for range 2500 {
		l.Write(e)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "access-*.log"))
	if len(files) < 2 {
		t.Fatalf("rotated files: %v", files)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() > 1<<20 {
		t.Fatalf("the current file: %v %v", st, err)
	}
}

// A log opened on the file of the one it replaces, with the same rotation, shares its file;
// Close closes the file only when the next log does not use it, and a closed file takes no more
// lines (nor reopens).
func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	c := config.AccessLog{Enabled: true, Format: "json", File: path, MaxSizeMB: 10}
	a, err := Open(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Format = "text"
	b, err := Open(c, a)
	if err != nil || b.out != a.out {
		t.Fatalf("shared: %v %v", err, b.out == a.out)
	}
	a.Close(b)
	b.Write(entry(200))
	c.MaxSizeMB = 20
	n, err := Open(c, b)
	if err != nil || n.out == b.out {
		t.Fatalf("not shared: %v", err)
	}
	b.Close(n)
	b.Write(entry(201))
	n.Write(entry(202))
	n.Close(nil)
	got := lines(t, path)
	if len(got) != 2 || !strings.Contains(got[0], "status=200") || !strings.Contains(got[1], "status=202") {
		t.Fatalf("lines %q", got)
	}
	if off, err := Open(config.AccessLog{}, n); off != nil || err != nil {
		t.Fatalf("disabled: %v %v", off, err)
	}
	var none *Log
	if none.Close(nil) != nil {
		t.Fatal("closing no log")
	}
}

func TestOpenError(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	_, err := Open(config.AccessLog{Enabled: true, File: filepath.Join(blocker, "access.log"), MaxSizeMB: 1}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "accessLog.file: cannot create the directory of") {
		t.Fatalf("error %v", err)
	}
}

// BenchmarkWrite is the cost of a line: sampled out, as JSON or text to a file.
func BenchmarkWrite(b *testing.B) {
	zero := 0.0
	for _, c := range []struct {
		name string
		cfg  config.AccessLog
	}{{"sampled-out", config.AccessLog{Sample: &zero}}, {"json", config.AccessLog{}}, {"text", config.AccessLog{Format: "text"}}} {
		b.Run(c.name, func(b *testing.B) {
			l, _ := open(b, c.cfg)
			e := entry(200)
			b.ReportAllocs()
			for b.Loop() {
				l.Write(e)
			}
		})
	}
}
