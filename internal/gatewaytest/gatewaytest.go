// Package gatewaytest starts a real gateway for tests: real listeners on 127.0.0.1, a real
// Badger store in a temp dir, a config written as YAML and loaded the way `iom serve` loads it.
package gatewaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
)

// Fixed credentials of test gateways.
const (
	AdminToken = "test-admin-token-0123456789"
	Key        = "test-key-acme-0123456789"
	OtherKey   = "test-key-globex-0123456789"
)

// Gateway is a running test gateway.
type Gateway struct {
	*app.Gateway
	t        testing.TB
	DataURL  string // http://127.0.0.1:port
	AdminURL string
	Dir      string
	Config   string // path of the config file
	logs     *lockedWriter
}

// Logs returns what the gateway logged so far.
func (g *Gateway) Logs() string {
	g.logs.mu.Lock()
	defer g.logs.mu.Unlock()
	return g.logs.w.(*bytes.Buffer).String()
}

// Header prepends the standard parts of a test config (listeners, data dir, admin token, two
// keys: "app" in org acme and "other" in org globex) to the given YAML, which usually holds
// models.
func Header(dir string) string {
	return `server:
  listen: "127.0.0.1:0"
  adminListen: "127.0.0.1:0"
  dataDir: "` + dir + `"
admin:
  token: ` + AdminToken + `
keys:
  - name: app
    key: ` + Key + `
    org: acme
  - name: other
    key: ` + OtherKey + `
    org: globex
`
}

// Start writes Header(dir)+body as the config and starts a gateway on it. dir may be "" for a
// fresh temp dir; reuse a dir to restart on the same store.
func Start(t testing.TB, dir, body string) *Gateway {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "iom.yaml")
	if err := os.WriteFile(path, []byte(Header(filepath.Join(dir, "data"))+body), 0o600); err != nil {
		t.Fatal(err)
	}
	return StartFile(t, dir, path)
}

// StartFile starts a gateway on an existing config file.
func StartFile(t testing.TB, dir, path string) *Gateway {
	t.Helper()
	cfg, err := config.Load(path, app.LoadOptions())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := app.New(cfg, app.Options{ConfigPath: path, Version: "test", Logger: log, WASMCacheDir: wasmCache()})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := g.Start(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	tg := &Gateway{Gateway: g, t: t, Dir: dir, Config: path, logs: logs,
		DataURL: "http://" + g.DataAddr(), AdminURL: "http://" + g.AdminAddr()}
	t.Cleanup(tg.Stop)
	return tg
}

var (
	cacheOnce sync.Once
	cacheDir  string
)

// wasmCache is one compilation cache for every test gateway, kept between test runs (wazero
// keys it by module and its own version), so each WASM module is compiled once.
func wasmCache() string {
	cacheOnce.Do(func() {
		cacheDir = filepath.Join(os.TempDir(), "iom-test-wasm-cache")
		_ = os.MkdirAll(cacheDir, 0o700)
	})
	return cacheDir
}

// Stop shuts the gateway down (tests may call it early to restart on the same dir).
func (g *Gateway) Stop() {
	if g.Gateway == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		g.t.Errorf("shutdown: %v", err)
	}
	g.Gateway = nil
}

// Response is a decoded HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Do sends a request with an optional bearer token.
func Do(t testing.TB, method, url, token string, body any) Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Client bounds every call, so a gateway that never answers fails the test that asked, by name,
// instead of running into the test binary's timeout.
var Client = &http.Client{Timeout: time.Minute}

// Admin calls the admin API with the admin token.
func (g *Gateway) Admin(method, path string, body any) Response {
	g.t.Helper()
	return Do(g.t, method, g.AdminURL+path, AdminToken, body)
}

// Data calls the data plane with key.
func (g *Gateway) Data(method, path, key string, body any) Response {
	g.t.Helper()
	return Do(g.t, method, g.DataURL+path, key, body)
}

// Eventually polls cond until it holds or the deadline passes.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ReadCredentials reads the assignments of a credentials file (the data dir's credentials).
func ReadCredentials(t testing.TB, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			vals[k] = v
		}
	}
	return vals
}
