package e2e

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unsafeAllowed are the only places that may import unsafe: the guest side of the WASM ABI
// (pointers into the guest's own linear memory), the guests built as test fixtures, and
// generated protobuf code (the process-plugin contract, in the plugin SDK's module).
var unsafeAllowed = []string{"sdk/wasm/", "wasm/testdata/", "sdk/plugin/proto/"}

// The gateway reaches under the runtime nowhere: no go:linkname, no raw system calls, and unsafe
// only where unsafeAllowed says. The walk covers every Go file of the tree, the SDKs' own
// modules included, which go vet ./... at the root does not reach.
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
