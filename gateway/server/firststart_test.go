package server_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/server"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// TestFirstStartGeneratesCredentials: a config with no admin token and an empty key gets both
// generated, printed once, kept (mode 0600) in the data dir, and still valid after a restart.
func TestFirstStartGeneratesCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "iom.yaml")
	os.WriteFile(path, []byte(`server:
  listen: "127.0.0.1:0"
  adminListen: "127.0.0.1:0"
  dataDir: "`+filepath.Join(dir, "data")+`"
admin:
  token: ${IOM_TEST_UNSET_TOKEN}
keys:
  - name: demo-app
    key: ${IOM_TEST_UNSET_KEY}
`), 0o600)
	start := func() (*server.Gateway, string) {
		cfg, err := config.Load(path, server.LoadOptions())
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		g, err := server.New(cfg, server.Options{Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		return g, out.String()
	}
	g, printed := start()
	creds := filepath.Join(dir, "data", "credentials")
	st, err := os.Stat(creds)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	vals := map[string]string{}
	b, _ := os.ReadFile(creds)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vals[k] = v
	}
	admin, key := vals["IOM_ADMIN_TOKEN"], vals["IOM_KEY_DEMO_APP"]
	if admin == "" || key == "" || !strings.Contains(printed, admin) || !strings.Contains(printed, key) {
		t.Fatalf("credentials %v not printed in:\n%s", vals, printed)
	}
	check := func(g *server.Gateway) {
		if r := gt.Do(t, "GET", "http://"+g.DataAddr()+"/v1/models", key, nil); r.Status != 200 {
			t.Fatalf("generated key refused: %d", r.Status)
		}
		if r := gt.Do(t, "GET", "http://"+g.AdminAddr()+"/api/models", admin, nil); r.Status != 200 {
			t.Fatalf("generated admin token refused: %d", r.Status)
		}
	}
	check(g)
	g.Shutdown(context.Background())

	g, printed = start()
	defer g.Shutdown(context.Background())
	if printed != "" {
		t.Fatalf("a restart must not print or generate again: %q", printed)
	}
	check(g)
}
