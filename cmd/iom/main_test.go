package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
