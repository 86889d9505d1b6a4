package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// TestAdminQueriesEndAtTheDeadline: a query that reads the store past the admin query timeout
// ends there, with 503 and a message that says so, and the gateway goes on answering.
func TestAdminQueriesEndAtTheDeadline(t *testing.T) {
	f := startFake(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "iom.yaml")
	if err := os.WriteFile(path, []byte(gt.Header(filepath.Join(dir, "data"))+models(f, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, app.LoadOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Every query that reads anything is over time.
	g, err := app.New(cfg, app.Options{QueryTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	data, admin := "http://"+g.DataAddr(), "http://"+g.AdminAddr()
	if r := gt.Do(t, "POST", data+"/v1/chat/completions", gt.Key, `{"model":"echo","messages":[{"role":"user","content":"x"}]}`); r.Status != 200 {
		t.Fatalf("chat: %d %s", r.Status, r.Body)
	}
	g.Flush()
	for _, p := range []string{"/api/analytics?range=1h", "/api/executions", "/api/executions?model=nothing-matches"} {
		r := gt.Do(t, "GET", admin+p, gt.AdminToken, nil)
		if r.Status != 503 || !strings.Contains(string(r.Body), "query_timeout") || !strings.Contains(string(r.Body), "did not finish within") {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	if r := gt.Do(t, "GET", admin+"/api/status", gt.AdminToken, nil); r.Status != 200 {
		t.Fatalf("status after timeouts: %d", r.Status)
	}
}
