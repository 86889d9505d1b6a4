package config

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func opts() Options {
	return Options{KnownProvider: provider.Known, CheckPipeline: func(p *spec.Pipeline, cat spec.Catalog) spec.Problems {
		_, problems := pipeline.Compile(p, cat)
		return problems
	}}
}

// TestErrorsGolden checks the messages `iom validate` prints for each broken file in testdata.
func TestErrorsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, err := Load(path, opts())
			if err == nil {
				t.Fatal("want errors")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, _ := os.ReadFile(golden)
			if got != string(want) {
				t.Errorf("errors differ from %s (go test -update rewrites it)\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestDefaultConfigIsValid(t *testing.T) {
	f, err := Load("../../configs/iom.yaml", opts())
	if err != nil {
		t.Fatal(err)
	}
	if f.Server.Listen != ":8080" || f.Server.AdminListen != "127.0.0.1:8081" || len(f.Models) == 0 {
		t.Fatalf("defaults: %+v", f.Server)
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("IOM_TEST_TOKEN", "token-from-env-123456")
	t.Setenv("IOM_TEST_WEIRD", "a: b # not yaml")
	f, err := Parse([]byte(`
admin:
  token: ${IOM_TEST_TOKEN}
models:
  - id: m
    name: ${IOM_TEST_WEIRD}
    description: "${IOM_TEST_UNSET:-fallback text} and ${IOM_TEST_UNSET}! $${LITERAL}"
    endpoint: http://localhost:8000/v1
`), opts())
	if err != nil {
		t.Fatal(err)
	}
	if f.Admin.Token.Reveal() != "token-from-env-123456" {
		t.Fatalf("token %q", f.Admin.Token.Reveal())
	}
	if f.Models[0].Name != "a: b # not yaml" {
		t.Fatalf("a value from the environment must stay one string: %q", f.Models[0].Name)
	}
	if f.Models[0].Description != "fallback text and ! ${LITERAL}" {
		t.Fatalf("description %q", f.Models[0].Description)
	}
}

func TestDefaultsAndInference(t *testing.T) {
	f, err := Parse([]byte(`
models:
  - name: GPT-4 Turbo
    endpoint: https://api.openai.com/v1/chat/completions
  - id: local
    name: Local vLLM
    endpoint: http://10.0.0.5:8000/v1
`), opts())
	if err != nil {
		t.Fatal(err)
	}
	m := f.Models[0]
	if m.ID != "gpt-4-turbo" || m.Provider != "openai" || m.SecurityPolicy != "public" || m.UpstreamModel != "gpt-4-turbo" || m.ModelType != "llm" {
		t.Fatalf("defaults: %+v", m)
	}
	if f.Server.DataDir != "./data" || f.Server.MaxBodyBytes != 4<<20 || f.Records.RetentionHours != 168 {
		t.Fatalf("server defaults: %+v", f.Server)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, "../../configs/iom.yaml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse(src, opts())
		if err == nil && cfg == nil {
			t.Fatal("nil config without an error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("an error must say something")
		}
	})
}

// TestJSONSchemaFile keeps configs/iom.schema.json equal to the schema of the config types, and
// checks the default config against it.
func TestJSONSchemaFile(t *testing.T) {
	got, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	const path = "../../configs/iom.schema.json"
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, _ := os.ReadFile(path)
	if string(got) != string(want) {
		t.Fatalf("%s is out of date: go test ./gateway/config -update", path)
	}
	schema, err := spec.CompileSchema(got)
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	src, _ := os.ReadFile("../../configs/iom.yaml")
	var tree any
	if err := yaml.Unmarshal(src, &tree); err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(expandEnv(tree))
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("the default config does not match the schema: %v", err)
	}
	bad, _ := json.Marshal(map[string]any{"server": map[string]any{"lisen": ":1"}})
	if schema.Validate(bad) == nil {
		t.Fatal("the schema should refuse unknown fields")
	}
}

// The server's connection limits and timeouts have defaults, and take what the file sets.
func TestServerLimits(t *testing.T) {
	f, err := Parse([]byte("{}"), opts())
	if err != nil {
		t.Fatal(err)
	}
	want := Server{Listen: ":8080", AdminListen: "127.0.0.1:8081", DataDir: "./data", MaxBodyBytes: 4 << 20,
		IdleTimeoutMs: 120_000, ReadTimeoutMs: 30_000, ReadHeaderTimeoutMs: 10_000, WriteTimeoutMs: 30_000,
		MaxHeaderBytes: 16 << 10, MaxConns: 16384, MaxConnsPerIP: 1024,
		AuthFailures: AuthFailures{Limit: 20, WindowMs: 60_000, LockoutMs: 60_000}}
	if !reflect.DeepEqual(f.Server, want) {
		t.Fatalf("defaults:\n got %+v\nwant %+v", f.Server, want)
	}
	f, err = Parse([]byte(`server:
  readHeaderTimeoutMs: 500
  writeTimeoutMs: 700
  maxHeaderBytes: 65536
  maxConns: 10
  maxConnsPerIp: 2
  authFailures: {limit: 5, windowMs: 1000, lockoutMs: 2000}
`), opts())
	if err != nil {
		t.Fatal(err)
	}
	s := f.Server
	if s.ReadHeaderTimeoutMs != 500 || s.WriteTimeoutMs != 700 || s.MaxHeaderBytes != 65536 || s.MaxConns != 10 ||
		s.MaxConnsPerIP != 2 || s.AuthFailures != (AuthFailures{Limit: 5, WindowMs: 1000, LockoutMs: 2000}) {
		t.Fatalf("set: %+v", s)
	}
	if _, err := Parse([]byte("server:\n  maxHeaderBytes: 2000000\n"), opts()); err == nil ||
		err.Error() != "server.maxHeaderBytes: must be at most 1048576, got 2000000" {
		t.Fatalf("a header limit too large: %v", err)
	}
}

// A model's allowedKeys names keys of the file; loading turns the names into the keys' ids.
func TestAllowedKeysBecomeKeyIDs(t *testing.T) {
	f, err := Parse([]byte(`
keys:
  - {name: app, key: test-key-0123456789abcdef, org: acme}
  - {name: other, key: test-key-abcdef0123456789}
models:
  - id: vault
    name: Vault
    endpoint: http://localhost:8000/v1
    securityPolicy: private
    allowedKeys: [app, "config:other"]
`), opts())
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Models[0].AllowedKeys; !reflect.DeepEqual(got, []string{"config:app", "config:other"}) {
		t.Fatalf("allowedKeys %q", got)
	}
}
