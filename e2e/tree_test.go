package e2e

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// unsafeAllowed are the only places that may import unsafe: the guest side of the WASM ABI
// (pointers into the guest's own linear memory), the guests built as test fixtures, and
// generated protobuf code (the process-plugin contract, in the plugin SDK's module).
var unsafeAllowed = []string{"sdk/wasm/", "wasm/testdata/", "sdk/plugin/proto/"}

// The gateway reaches under the runtime nowhere: no go:linkname, no raw system calls, and unsafe
// only where unsafeAllowed says. The walk covers every Go file of the tree, the modules of the
// SDKs, the end-to-end tests and the bench included, which go vet ./... at the root does not reach.
func TestNoRuntimeMachinery(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
	seen := map[string]bool{} // the unsafeAllowed places with Go files in them
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "node_modules" || n == "bin" || n == "data" || strings.HasPrefix(n, ".") && n != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, p := range unsafeAllowed {
			seen[p] = seen[p] || strings.HasPrefix(rel, p)
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(src)
		if strings.Contains(text, "//go:"+"linkname") {
			t.Errorf("%s: go:linkname", rel)
		}
		for _, raw := range []string{"Raw" + "Syscall", "syscall." + "Syscall(", "unix." + "Syscall("} {
			if strings.Contains(text, raw) {
				t.Errorf("%s: a raw system call (%s)", rel, raw)
			}
		}
		f, err := parser.ParseFile(fset, path, src, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if imp.Path.Value != `"unsafe"` {
				continue
			}
			ok := false
			for _, p := range unsafeAllowed {
				ok = ok || strings.HasPrefix(rel, p)
			}
			if !ok {
				t.Errorf("%s imports unsafe", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A place that moved must be moved here too, not left allowing unsafe to whatever comes next.
	for _, p := range unsafeAllowed {
		if !seen[p] {
			t.Errorf("unsafeAllowed names %s, which holds no Go file", p)
		}
	}
}

// testOnlyModules are what only the end-to-end tests (the openai-go SDK) and the bench (vegeta,
// its load generator) use: they are required by the e2e and bench modules, never by the
// gateway's.
var testOnlyModules = []string{"github.com/openai/openai-go", "github.com/tsenart/vegeta"}

// The gateway's own module does not require, even indirectly, what only its tests and the bench
// use: neither its build list nor its go.mod and go.sum name them.
func TestGatewayRequirements(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "all")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOWORK=off") // the root module's own build list, not a workspace's
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m all at the repository root: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[0] != "github.com/iomhq/iom" {
		t.Fatalf("go list -m all at the repository root lists %q first, not the gateway's module", lines[0])
	}
	for _, line := range lines {
		for _, m := range testOnlyModules {
			if strings.HasPrefix(line, m+" ") || strings.HasPrefix(line, m+"/") {
				t.Errorf("the gateway's module requires %s (go list -m all)", line)
			}
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range testOnlyModules {
			if strings.Contains(string(b), m) {
				t.Errorf("the gateway's %s names %s (go mod tidy at the root drops it)", f, m)
			}
		}
	}
}
