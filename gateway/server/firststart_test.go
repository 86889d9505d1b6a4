package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/app"
	"github.com/iomhq/iom/gateway/config"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// firstStartConfig writes a config that leaves the admin token and the key demo-app empty, so
// both are generated, and returns its path.
func firstStartConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "iom.yaml")
	err := os.WriteFile(path, []byte(`server:
  listen: "127.0.0.1:0"
  adminListen: "127.0.0.1:0"
  dataDir: "`+filepath.Join(dir, "data")+`"
admin:
  token: ${IOM_TEST_UNSET_TOKEN}
keys:
  - name: demo-app
    key: ${IOM_TEST_UNSET_KEY}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// newGateway builds and starts a gateway on the config at path, and returns what it printed.
func newGateway(t *testing.T, path string) (*app.Gateway, string, error) {
	t.Helper()
	cfg, err := config.Load(path, app.LoadOptions())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	g, err := app.New(cfg, app.Options{Out: &out})
	if err != nil {
		return nil, out.String(), err
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	// Both listeners serve once each has answered.
	gt.Do(t, "GET", "http://"+g.AdminAddr()+"/healthz", "", nil)
	gt.Do(t, "GET", "http://"+g.DataAddr()+"/v1/models", "", nil)
	return g, out.String(), nil
}

// checkCredentials fails unless the admin token and the key work against g.
func checkCredentials(t *testing.T, g *app.Gateway, admin, key string) {
	t.Helper()
	if r := gt.Do(t, "GET", "http://"+g.DataAddr()+"/v1/models", key, nil); r.Status != 200 {
		t.Fatalf("generated key refused: %d", r.Status)
	}
	if r := gt.Do(t, "GET", "http://"+g.AdminAddr()+"/api/models", admin, nil); r.Status != 200 {
		t.Fatalf("generated admin token refused: %d", r.Status)
	}
}

// TestFirstStartGeneratesCredentials: a config with no admin token and an empty key gets both
// generated, printed once, kept (mode 0600) in the data dir, and still valid after a restart.
func TestFirstStartGeneratesCredentials(t *testing.T) {
	dir := t.TempDir()
	path := firstStartConfig(t, dir)
	g, printed, err := newGateway(t, path)
	if err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "data", "credentials")
	st, err := os.Stat(creds)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	vals := gt.ReadCredentials(t, creds)
	admin, key := vals["IOM_ADMIN_TOKEN"], vals["IOM_KEY_DEMO_APP"]
	if admin == "" || key == "" || !strings.Contains(printed, admin) || !strings.Contains(printed, key) {
		t.Fatalf("credentials %v not printed in:\n%s", vals, printed)
	}
	checkCredentials(t, g, admin, key)
	g.Shutdown(context.Background())

	g, printed, err = newGateway(t, path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	if printed != "" {
		t.Fatalf("a restart must not print or generate again: %q", printed)
	}
	checkCredentials(t, g, admin, key)
}

// TestCredentialsAreSavedBeforeTheirHashes: a first start that cannot write the credentials file
// (here, a directory is in its place; in the field, a crash before the write) must store no hash
// of a credential nobody has: it fails, and the next start generates credentials that work.
// Storing hashes first locked the operator out for good.
func TestCredentialsAreSavedBeforeTheirHashes(t *testing.T) {
	dir := t.TempDir()
	path := firstStartConfig(t, dir)
	creds := filepath.Join(dir, "data", "credentials")
	if err := os.MkdirAll(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	g, printed, err := newGateway(t, path)
	if err == nil {
		g.Shutdown(context.Background())
		t.Errorf("the first start must fail when it cannot save the credentials it generates (it printed %q)", printed)
	} else if !strings.Contains(err.Error(), "credentials") {
		t.Errorf("the error should name the credentials file: %v", err)
	}
	os.Remove(creds)

	g, printed, err = newGateway(t, path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	if _, err := os.Stat(creds); err != nil {
		t.Fatalf("the operator has no credentials (printed %q): %v", printed, err)
	}
	vals := gt.ReadCredentials(t, creds)
	if vals["IOM_ADMIN_TOKEN"] == "" || vals["IOM_KEY_DEMO_APP"] == "" {
		t.Fatalf("credentials file: %v", vals)
	}
	checkCredentials(t, g, vals["IOM_ADMIN_TOKEN"], vals["IOM_KEY_DEMO_APP"])
}

// TestLostCredentialsAreNoted: a start that finds generated credentials missing from the
// credentials file says how to replace them, and generates nothing behind the operator's back.
func TestLostCredentialsAreNoted(t *testing.T) {
	dir := t.TempDir()
	path := firstStartConfig(t, dir)
	g, _, err := newGateway(t, path)
	if err != nil {
		t.Fatal(err)
	}
	g.Shutdown(context.Background())
	creds := filepath.Join(dir, "data", "credentials")
	os.Remove(creds)

	cfg, err := config.Load(path, app.LoadOptions())
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{b: &bytes.Buffer{}}
	var out bytes.Buffer
	g, err = app.New(cfg, app.Options{Out: &out, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Shutdown(context.Background())
	for _, want := range []string{"`iom admin reset-token`", "`iom admin reset-token --key demo-app`"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %s:\n%s", want, logs.String())
		}
	}
	if out.Len() > 0 {
		t.Errorf("a restart generated credentials: %q", out.String())
	}
	if _, err := os.Stat(creds); err == nil {
		t.Error("a restart wrote a credentials file")
	}
}
