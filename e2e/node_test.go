package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func TestAnthropicNodeSDK(t *testing.T) {
	g, _ := setup(t)
	out := nodeScript(t, g, "anthropic.mjs")
	for _, want := range []string{"message ok", "stream ok", "tools ok", "errors ok"} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in:\n%s", want, out)
		}
	}
}
