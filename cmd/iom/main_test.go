package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/config"
)

func TestValidateDefaultConfig(t *testing.T) {
	t.Chdir("../..") // the config names its plugins relative to the repository, as make run does
	if _, err := os.Stat("bin/plugins/local-models.wasm"); err != nil && os.Getenv("IOM_PLUGINS_DIR") == "" {
		t.Skip("the example plugins are not built (make plugins)")
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "--config", "configs/iom.yaml"}, &out, &errOut); code != 0 {
		t.Fatalf("the default config: exit %d: %s", code, errOut.String())
	}
}

func TestValidate(t *testing.T) {
	var out, errOut bytes.Buffer
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(`models:
  - id: a
    name: A
    endpoint: http://localhost:8000/v1
  - id: b
    name: B
    endpoint: http://localhost:8000/v1
  - id: c
    name: C
    endpoint: http://localhost:8000/v1
    fallbacks: [gpt-5]
    latency: -1
`), 0o600)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"validate", "--config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("a bad config: exit %d", code)
	}
	for _, want := range []string{`models[2].fallbacks[0]: unknown model "gpt-5"`, "models[2].latency: must not be negative", "2 error(s)"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut.String())
		}
	}
	if code := run([]string{"serve", "--config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("serve must refuse a bad config: exit %d", code)
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if run([]string{"version"}, &out, &errOut) != 0 || !strings.HasPrefix(out.String(), "iom ") {
		t.Fatalf("version: %q", out.String())
	}
	if run([]string{"frobnicate"}, &out, &errOut) != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: %q", errOut.String())
	}
}

// validate loads every plugin as serve would: it names each that cannot load and why, and
// each model or pipeline that needs a role its plugin lacks. serve refuses the same config and
// names the plugin.
func TestValidateLoadsPlugins(t *testing.T) {
	testdata, err := filepath.Abs("../../wasm/testdata")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.yaml", `server: {dataDir: `+filepath.Join(dir, "data")+`}
plugins:
  - {name: guard, path: `+testdata+`/sizeguard.wasm}
models:
  - {id: m, name: M, endpoint: "http://127.0.0.1:9/v1", transforms: {request: [guard]}}
`)
	var out, errOut bytes.Buffer
	if code := run([]string{"validate", "--config", good}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "valid") {
		t.Fatalf("a config whose plugins load: exit %d: %s%s", code, out.String(), errOut.String())
	}

	bad := write("bad.yaml", `server: {dataDir: `+filepath.Join(dir, "data")+`, listen: "127.0.0.1:0", adminListen: "127.0.0.1:0"}
plugins:
  - {name: guard, path: `+testdata+`/sizeguard.wasm}
  - {name: future, path: `+testdata+`/future.wasm}
  - {name: needs-env, path: `+testdata+`/envimport.wasm}
  - {name: greedy, path: `+testdata+`/bigmemory.wasm}
models:
  - {id: m, name: M, endpoint: "http://127.0.0.1:9/v1", transforms: {request: [guard]}}
`)
	out.Reset()
	errOut.Reset()
	if code := run([]string{"validate", "--config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("broken plugins: exit %d: %s", code, out.String())
	}
	for _, want := range []string{
		"3 error(s)",
		`plugins[1]: cannot load "future"`, "module speaks ABI version 2; this host speaks version 1",
		`plugins[2]: cannot load "needs-env"`, "imports env.abort, which the host does not provide",
		`plugins[3]: cannot load "greedy"`, "memory maximum of 128 MB, over the plugin's cap of 64 MB",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("validate output lacks %q:\n%s", want, errOut.String())
		}
	}

	roles := write("roles.yaml", `plugins:
  - {name: guard, path: `+testdata+`/sizeguard.wasm}
models:
  - {id: m, name: M, endpoint: "http://127.0.0.1:9/v1", provider: "wasm:guard"}
`)
	errOut.Reset()
	if code := run([]string{"validate", "--config", roles}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), `models[0].provider: WASM plugin "guard" serves no models`) {
		t.Fatalf("a model served by a transform: exit %d: %s", code, errOut.String())
	}

	errOut.Reset()
	if code := run([]string{"serve", "--config", bad}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "future") || !strings.Contains(errOut.String(), "ABI version 2") {
		t.Fatalf("serve with a broken plugin: exit %d: %s", code, errOut.String())
	}
}

// serve's --log-level and --log-format override the config's log settings, on every reload
// too; a value the config would refuse is refused before anything starts.
func TestLogFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "--log-level", "loud"}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), `--log-level: "loud" is not one of debug, info, warn, error`) {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"serve", "--log-format", "xml"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--log-format") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	f := serveFlags{logLevel: "debug", logFormat: "json"}
	var c config.File
	f.apply(&c)
	if c.Log.Level != "debug" || c.Log.Format != "json" {
		t.Fatalf("log = %+v", c.Log)
	}
}
