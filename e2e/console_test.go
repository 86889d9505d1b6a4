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

const chromiumPath = "/usr/bin/chromium"

// consoleGateway starts a gateway that serves the embedded console, in front of a fake OpenAI
// upstream, with one config-managed model and one config-managed pipeline (read-only in the
// console). The pipeline is as wide as the seed's (five steps in a row) and has an input schema,
// for the builder's opening zoom, the test run's prefilled input and Duplicate.
func consoleGateway(t *testing.T) (*gt.Gateway, *fakeupstream.OpenAI) {
	t.Helper()
	f, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	g := gt.Start(t, "", `models:
  - id: editor
    name: Editor
    description: Polishes drafts (config-managed)
    endpoint: `+f.URL+`
    provider: openai
    modelType: llm
    owner: Platform
    costPerToken: 0.000002
    tags: [text, fast]
pipelines:
  - id: brief
    name: Brief
    description: Drafts, polishes and checks a brief on a topic (config-managed)
    inputSchema:
      type: object
      properties:
        topic: {type: string, minLength: 3}
        tone: {type: string, default: plain}
      required: [topic]
    nodes:
      - {id: in, type: input, position: {x: 0, y: 120}, data: {label: Topic}}
      - {id: draft, type: model, position: {x: 240, y: 120}, data: {label: Draft, model: editor, input: '"brief (" + input.tone + "): " + input.topic'}}
      - {id: polish, type: model, position: {x: 480, y: 120}, data: {label: Polish, model: editor}}
      - {id: check, type: model, position: {x: 720, y: 120}, data: {label: Check, model: editor}}
      - {id: out, type: output, position: {x: 960, y: 120}, data: {label: Brief}}
    edges:
      - {source: in, target: draft}
      - {source: draft, target: polish}
      - {source: polish, target: check}
      - {source: check, target: out}
`)
	return g, f
}

// TestConsole drives the built console in headless Chromium against a real gateway: sign in,
// register a model through the form, test it, build a two-step pipeline on the canvas, save and
// run it, find its execution, and watch the analytics change. Screenshots of every page go to
// IOM_CONSOLE_SHOTS (default: a temp dir, printed).
func TestConsole(t *testing.T) {
	requireBrowser(t)
	g, f := consoleGateway(t)
	shots := os.Getenv("IOM_CONSOLE_SHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "iom-console-shots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", shots)
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	consoleDir, err := filepath.Abs(filepath.Join("..", "console"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join("console", "console.mjs"))
	cmd.Env = append(os.Environ(),
		"IOM_CONSOLE_URL="+g.AdminURL,
		"IOM_ADMIN_TOKEN="+gt.AdminToken,
		"IOM_UPSTREAM_URL="+f.URL,
		"IOM_DATA_URL="+g.DataURL,
		"IOM_CONSOLE_SHOTS="+shots,
		"IOM_CONSOLE_DIR="+consoleDir,
		"IOM_CHROMIUM="+chromiumPath,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("browser script:\n%s", out)
	if err != nil {
		t.Fatalf("console scenario failed: %v", err)
	}
	if !strings.Contains(string(out), "console ok") {
		t.Fatal("the scenario did not finish")
	}
}

// requireBrowser skips the test when the console's node_modules or Chromium is missing, unless
// IOM_REQUIRE_BROWSER=1.
func requireBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat(filepath.Join("..", "console", "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "console/node_modules (run npm ci in console)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join("..", "console", "dist", "index.html")); err != nil {
		missing = append(missing, "console/dist (run npm run build in console)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("IOM_REQUIRE_BROWSER") == "1" {
		t.Fatalf("cannot run the console test: missing %s", strings.Join(missing, ", "))
	}
	t.Skipf("missing %s", strings.Join(missing, ", "))
}
