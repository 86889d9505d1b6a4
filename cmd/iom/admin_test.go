package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// TestAdminResetToken: an operator whose generated credentials are lost (the credentials file
// gone, as a crash during the first start of an earlier release left it) gets working ones back
// with `iom admin reset-token`, which refuses to touch the store while a gateway runs on it.
func TestAdminResetToken(t *testing.T) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "iom.yaml")
	os.WriteFile(cfgPath, []byte(`server:
  listen: "127.0.0.1:0"
  adminListen: "127.0.0.1:0"
  dataDir: "`+dataDir+`"
admin:
  token: ${IOM_TEST_UNSET_TOKEN}
keys:
  - name: demo-app
    key: ${IOM_TEST_UNSET_KEY}
  - name: fixed
    key: fixed-key-0123456789abcdef
`), 0o600)
	start := func() *app.Gateway {
		t.Helper()
		cfg, err := config.Load(cfgPath, app.LoadOptions())
		if err != nil {
			t.Fatal(err)
		}
		g, err := app.New(cfg, app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		gt.Do(t, "GET", "http://"+g.AdminAddr()+"/healthz", "", nil) // serving
		return g
	}
	reset := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(append([]string{"admin", "reset-token"}, args...), &out, &errOut); code != want {
			t.Fatalf("reset-token %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, want, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}
	creds := filepath.Join(dataDir, "credentials")

	g := start()
	old := gt.ReadCredentials(t, creds)
	_, stderr := reset(1, "--config", cfgPath)
	if !strings.Contains(stderr, "in use") || !strings.Contains(stderr, "Stop the gateway") {
		t.Fatalf("a running gateway's store: %s", stderr)
	}
	if now := gt.ReadCredentials(t, creds); now["IOM_ADMIN_TOKEN"] != old["IOM_ADMIN_TOKEN"] {
		t.Fatal("a refused reset changed the credentials file")
	}
	g.Shutdown(context.Background())

	os.Remove(creds) // the credentials are lost; the store has their hashes
	out, _ := reset(0, "--config", cfgPath)
	vals := gt.ReadCredentials(t, creds)
	admin := vals["IOM_ADMIN_TOKEN"]
	if admin == "" || admin == old["IOM_ADMIN_TOKEN"] || strings.Count(out, admin) != 1 {
		t.Fatalf("new admin token %q, printed:\n%s", admin, out)
	}
	out, _ = reset(0, "--data-dir", dataDir, "--key", "demo-app")
	vals = gt.ReadCredentials(t, creds)
	key := vals["IOM_KEY_DEMO_APP"]
	if key == "" || key == old["IOM_KEY_DEMO_APP"] || vals["IOM_ADMIN_TOKEN"] != admin || !strings.Contains(out, key) {
		t.Fatalf("new key %q, file %v, printed:\n%s", key, vals, out)
	}
	if _, stderr := reset(1, "--data-dir", dataDir, "--key", "fixed"); !strings.Contains(stderr, "no generated") {
		t.Fatalf("a key whose value is in the config: %s", stderr)
	}
	if st, err := os.Stat(creds); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}

	g = start()
	defer g.Shutdown(context.Background())
	adminURL, dataURL := "http://"+g.AdminAddr(), "http://"+g.DataAddr()
	if r := gt.Do(t, "GET", adminURL+"/api/status", admin, nil); r.Status != 200 {
		t.Fatalf("the new admin token is refused: %d", r.Status)
	}
	if r := gt.Do(t, "GET", dataURL+"/v1/models", key, nil); r.Status != 200 {
		t.Fatalf("the new key is refused: %d", r.Status)
	}
	if r := gt.Do(t, "GET", adminURL+"/api/status", old["IOM_ADMIN_TOKEN"], nil); r.Status != 401 {
		t.Fatalf("the old admin token still works: %d", r.Status)
	}
	if r := gt.Do(t, "GET", dataURL+"/v1/models", old["IOM_KEY_DEMO_APP"], nil); r.Status != 401 {
		t.Fatalf("the old key still works: %d", r.Status)
	}
}

func TestAdminResetTokenErrors(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "iom.yaml")
	os.WriteFile(cfgPath, []byte(`server:
  dataDir: "`+filepath.Join(dir, "data")+`"
admin:
  token: configured-token-0123456789
keys:
  - name: fixed
    key: fixed-key-0123456789abcdef
`), 0o600)
	f := func(code int, want string, args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if got := run(append([]string{"admin"}, args...), &out, &errOut); got != code || !strings.Contains(errOut.String(), want) {
			t.Errorf("admin %v: exit %d, stderr %q; want %d and %q", args, got, errOut.String(), code, want)
		}
		if out.Len() > 0 {
			t.Errorf("admin %v printed %q", args, out.String())
		}
	}
	f(2, "Usage", "frobnicate")
	f(2, "not both", "reset-token", "--config", cfgPath, "--data-dir", dir)
	f(1, "admin.token is set", "reset-token", "--config", cfgPath)
	f(1, "has its value in the config", "reset-token", "--config", cfgPath, "--key", "fixed")
	f(1, `no key named "nobody"`, "reset-token", "--config", cfgPath, "--key", "nobody")
	f(1, "no gateway store", "reset-token", "--data-dir", filepath.Join(dir, "nothing"))
	if _, err := os.Stat(filepath.Join(dir, "nothing")); err == nil {
		t.Error("a reset of a data dir with no store created it")
	}
}
