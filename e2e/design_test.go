package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/fault"
)

// docs/DESIGN.md's layout names every package of gateway/, so the document cannot fall behind
// the tree: a new package fails this test until the layout says what it is for.
func TestDesignNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	layout := string(doc)
	if i := strings.Index(layout, "## Layout"); i >= 0 {
		layout = layout[i:]
		if j := strings.Index(layout[3:], "\n## "); j >= 0 {
			layout = layout[:j+3]
		}
	}
	dirs, err := os.ReadDir(filepath.Join("..", "gateway"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(d.Name()) + `\b`).MatchString(layout) {
			t.Errorf("docs/DESIGN.md's layout does not name gateway/%s", d.Name())
		}
	}
}

// The import rule of docs/DESIGN.md: cmd → gateway/app → gateway → (wasm, plugins); the two
// plugin hosts use nothing of the gateway but its JSON scanner (gateway/rawjson), and the
// process-plugin host the SDK's contract; no package of the gateway imports cmd, and none but
// cmd imports gateway/app, the one place where parts are wired.
func TestImportRule(t *testing.T) {
	allowed := map[string][]string{
		"wasm":    {"github.com/iomhq/iom/wasm", "github.com/iomhq/iom/gateway/rawjson"},
		"plugins": {"github.com/iomhq/iom/plugins", "github.com/iomhq/iom/gateway/rawjson", "github.com/iomhq/iom/sdk/plugin/proto"},
	}
	for dir, ok := range allowed {
		for _, pkg := range ourDeps(t, "./"+dir+"/...") {
			if !slicesHasPrefix(ok, pkg) {
				t.Errorf("%s imports %s, which docs/DESIGN.md's import rule forbids", dir, pkg)
			}
		}
	}
	for _, pkg := range ourDeps(t, "./gateway/...") {
		if strings.HasPrefix(pkg, "github.com/iomhq/iom/cmd") {
			t.Errorf("the gateway imports %s", pkg)
		}
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	const app = "github.com/iomhq/iom/gateway/app"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if slices.Contains(strings.Fields(imports), app) && !strings.HasPrefix(pkg, "github.com/iomhq/iom/cmd/") &&
			!strings.HasPrefix(pkg, "github.com/iomhq/iom/internal/") {
			t.Errorf("%s imports %s: only cmd wires the gateway", pkg, app)
		}
	}
}

// ourDeps lists the packages of the gateway's module that pattern's packages depend on, tests
// excluded, from the repository's root.
func ourDeps(t *testing.T, pattern string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pattern)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pattern, err)
	}
	var ours []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/iomhq/iom/") {
			ours = append(ours, p)
		}
	}
	return ours
}

// slicesHasPrefix reports whether pkg is one of prefixes or inside one of them.
func slicesHasPrefix(prefixes []string, pkg string) bool {
	for _, p := range prefixes {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

// What a config file declares is read without the runtime: gateway/config and gateway/spec
// depend on no store, HTTP server, WASM runtime or RPC stack, and neither do the WASM plugin
// SDK's guest packages; the process-plugin SDK speaks gRPC, its protocol, and nothing else
// of these.
func TestSpecDependsOnNoRuntime(t *testing.T) {
	runtime := []string{"github.com/dgraph-io/badger", "github.com/valyala/fasthttp", "github.com/tetratelabs/wazero", "google.golang.org/grpc"}
	check := func(dir, pattern string, forbidden []string) {
		cmd := exec.Command("go", "list", "-deps", pattern)
		cmd.Dir = filepath.Join("..", dir)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s in %s: %v", pattern, dir, err)
		}
		for _, p := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if p == f || strings.HasPrefix(p, f+"/") {
					t.Errorf("%s (in %s) depends on %s", pattern, dir, p)
				}
			}
		}
	}
	check(".", "./gateway/config", runtime)
	check(".", "./gateway/spec", runtime)
	check("sdk/wasm", "./...", runtime)
	check("sdk/plugin", "./...", runtime[:3])
}

// docs/DESIGN.md's list of error statuses names every status the one error type answers with.
func TestDesignNamesErrorStatuses(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(doc), "Errors use the OpenAI error object")
	if i < 0 {
		t.Fatal("docs/DESIGN.md no longer describes the error object")
	}
	para := string(doc[i:])
	if j := strings.Index(para, "\n  - "); j >= 0 {
		para = para[:j]
	}
	for name, e := range map[string]*fault.Error{
		"Invalid": fault.Invalid("p", "x"), "NotFound": fault.NotFound("c", "x"), "Conflict": fault.Conflict("x"),
		"TooLarge": fault.TooLarge(1), "Unauthenticated": fault.Unauthenticated("x"), "Forbidden": fault.Forbidden("x"),
		"Limited": fault.Limited(1, "x"), "OverBudget": fault.OverBudget("x"), "Upstream": fault.Upstream(500, "x"),
		"Timeout": fault.Timeout("x"), "Unavailable": fault.Unavailable("x"), "ClusterDown": fault.ClusterDown("x"),
		"Cancelled": fault.Cancelled("x"), "PluginFailed": fault.PluginFailed("x"), "Internal": fault.Internal("x"),
	} {
		if !regexp.MustCompile(`\b` + strconv.Itoa(e.Status) + `\b`).MatchString(para) {
			t.Errorf("fault.%s answers %d, which docs/DESIGN.md's error statuses do not name", name, e.Status)
		}
	}
}
