package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iomhq/iom/internal/fakeupstream"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// nodeScript runs a script of e2e/node against g. Without node_modules (npm ci not run) the test
// is skipped, unless IOM_REQUIRE_NODE=1, which `make test` sets.
func nodeScript(t *testing.T, g *gt.Gateway, script string, env ...string) string {
	t.Helper()
	if _, err := os.Stat("node/node_modules"); err != nil {
		if os.Getenv("IOM_REQUIRE_NODE") == "1" {
			t.Fatal("e2e/node/node_modules is missing: run npm ci in e2e/node")
		}
		t.Skip("e2e/node/node_modules is missing (npm ci in e2e/node)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join("node", script))
	cmd.Env = append(os.Environ(), append([]string{"IOM_BASE_URL=" + g.DataURL + "/v1", "IOM_ANTHROPIC_BASE_URL=" + g.DataURL,
		"IOM_KEY=" + gt.Key}, env...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	return string(out)
}

func TestOpenAINodeSDK(t *testing.T) {
	g, _ := setup(t)
	out := nodeScript(t, g, "openai.mjs")
	for _, want := range []string{"models ok", "chat ok", "stream ok", "embeddings ok", "completions ok", "errors ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}

func TestResponsesNodeSDK(t *testing.T) {
	g, _ := setup(t)
	out := nodeScript(t, g, "responses.mjs")
	for _, want := range []string{"create ok", "stream ok", "previous ok", "tools ok", "errors ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}

func TestAnthropicNodeSDK(t *testing.T) {
	g, _ := setup(t)
	out := nodeScript(t, g, "anthropic.mjs")
	for _, want := range []string{"message ok", "count ok", "stream ok", "tools ok", "errors ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}

// The official SDK's default base64 embeddings match float ones for an OpenAI upstream (which
// honours encoding_format), an Ollama upstream and a local WASM model (which the gateway
// converts for).
func TestNodeEmbeddings(t *testing.T) {
	dir := examplePlugins(t)
	f, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	v, err := fakeupstream.StartVendors()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	g := gt.Start(t, "", `plugins:
  - {name: embeddings, path: `+dir+`/embeddings.wasm, config: {dimensions: 64}}
models:
  - {id: openai-embed, name: OpenAI, endpoint: `+f.URL+`, provider: openai, modelType: embedding}
  - {id: ollama-embed, name: Ollama, endpoint: `+v.URL+`/ollama, provider: ollama, modelType: embedding, upstreamModel: nomic}
  - {id: local-embed, name: Local, provider: "wasm:embeddings", modelType: embedding}
`)
	out := nodeScript(t, g, "embeddings.mjs", "IOM_EMBED_MODELS=openai-embed,ollama-embed,local-embed")
	for _, want := range []string{"embeddings ok openai-embed", "embeddings ok ollama-embed", "embeddings ok local-embed 64", "dimensions ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}
