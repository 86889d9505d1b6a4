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
// generated protobuf code.
var unsafeAllowed = []string{"sdk/wasm/", "wasm/testdata/", "plugins/proto/"}

// The gateway reaches under the runtime nowhere: no go:linkname, no raw system calls, and unsafe
// only where unsafeAllowed says.
func TestNoRuntimeMachinery(t *testing.T) {
	root := filepath.Join("..")
	fset := token.NewFileSet()
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
}
