package wasm

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The tests run real modules: the examples and the fault fixtures under testdata/, built once
// per test binary, on first use, into a temporary directory. Go guests need only the Go
// toolchain; C guests need clang and wasm-ld (Debian: clang lld wasi-libc), and are skipped
// without them unless IOM_REQUIRE_WASM_C=1; AssemblyScript guests need the compiler that
// cd sdk/wasm-as && npm ci installs, and are skipped without it unless IOM_REQUIRE_WASM_AS=1;
// Rust guests need a rustc with the wasm32-wasi target (Debian: rustc libstd-rust-dev-wasm32),
// and are skipped without one unless IOM_REQUIRE_WASM_RUST=1.

var (
	guestDir  string
	guestMu   sync.Mutex
	guestOnce = map[string]*guestBuild{}
)

type guestBuild struct {
	once sync.Once
	path string
	err  error
	skip string
}

// guests maps a guest's name to its source directory, relative to the module root.
var guests = map[string]string{
	"faults":          "wasm/testdata/faults",
	"abi2":            "wasm/testdata/abi2",
	"faults-c":        "wasm/testdata/faults-c",
	"noop-c":          "wasm/testdata/noop-c",
	"noop-go":         "wasm/testdata/noop-go",
	"pii-redact":      "examples/plugins/pii-redact",
	"pii-redact-go":   "examples/plugins/pii-redact-go",
	"pii-redact-rust": "examples/plugins/pii-redact-rust",
	"pii-redact-as":   "examples/plugins/pii-redact-as",
	"abort-as":        "wasm/testdata/abort-as",
	"prompt-template": "examples/plugins/prompt-template",
	"json-guard":      "examples/plugins/json-guard",
	"textgen-adapter": "examples/plugins/textgen-adapter",
	"summarizer":      "examples/plugins/summarizer",
	"sentiment":       "examples/plugins/sentiment",
	"langid":          "examples/plugins/langid",
	"embeddings":      "examples/plugins/embeddings",
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iom-wasm-guests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guestDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guestPath builds the named guest (once) and returns its .wasm path, skipping the test when it
// is a C guest and clang is missing.
func guestPath(tb testing.TB, name string) string {
	tb.Helper()
	src, ok := guests[name]
	if !ok {
		tb.Fatalf("unknown guest %q", name)
	}
	guestMu.Lock()
	b := guestOnce[name]
	if b == nil {
		b = &guestBuild{}
		guestOnce[name] = b
	}
	guestMu.Unlock()
	b.once.Do(func() { b.path, b.skip, b.err = buildGuest(name, src) })
	if b.skip != "" {
		require := "IOM_REQUIRE_WASM_C"
		if asEntry(src) != "" {
			require = "IOM_REQUIRE_WASM_AS"
		} else if rustGuest(src) {
			require = "IOM_REQUIRE_WASM_RUST"
		}
		if os.Getenv(require) == "1" {
			tb.Fatalf("%s=1 but %s", require, b.skip)
		}
		tb.Skip(b.skip)
	}
	if b.err != nil {
		tb.Fatalf("build guest %s: %v", name, b.err)
	}
	return b.path
}

// buildGuest builds the guest whose source is in src (relative to the module root, which is
// the test's parent directory).
func buildGuest(name, src string) (path, skip string, err error) {
	out := filepath.Join(guestDir, name+".wasm")
	var cmd *exec.Cmd
	if entry := asEntry(src); entry != "" {
		if _, err := os.Stat(filepath.Join("..", "sdk", "wasm-as", "node_modules", ".bin", "asc")); err != nil {
			return "", "the AssemblyScript compiler is not installed (cd sdk/wasm-as && npm ci): AssemblyScript guest " + name + " not built", nil
		}
		cmd = exec.Command("bash", filepath.Join("..", "sdk", "wasm-as", "build.sh"), entry, out)
	} else if rustGuest(src) {
		// The SDK's build script picks a rustc that has the target; --check says whether
		// there is one, and why not.
		script := filepath.Join("..", "sdk", "wasm-rust", "build.sh")
		var why bytes.Buffer
		check := exec.Command("bash", script, "--check")
		check.Stderr = &why
		if err := check.Run(); err != nil {
			return "", string(bytes.TrimSpace(why.Bytes())) + ": Rust guest " + name + " not built", nil
		}
		cmd = exec.Command("bash", script, filepath.Join("..", src), out)
	} else if cs, _ := filepath.Glob(filepath.Join("..", src, "*.c")); len(cs) > 0 {
		clang, err := exec.LookPath("clang")
		if err != nil {
			return "", "clang is not installed (apt-get install clang lld wasi-libc): C guest " + name + " not built", nil
		}
		if _, err := exec.LookPath("wasm-ld"); err != nil {
			return "", "wasm-ld is not installed (apt-get install lld): C guest " + name + " not built", nil
		}
		args := append(cFlags(), "-I", filepath.Join("..", "sdk", "wasm-c"), filepath.Join("..", "sdk", "wasm-c", "iom.c"))
		args = append(append(args, cs...), "-o", out)
		cmd = exec.Command(clang, args...)
	} else {
		cmd = exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./"+src)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("%v: %s", err, stderr.String())
	}
	return out, "", nil
}

// asEntry returns the entry file of the AssemblyScript guest in src, as examples/plugins/build.sh
// finds it: assembly/index.ts, or a .ts file at the top that imports the SDK; "" when src holds
// no such guest.
func asEntry(src string) string {
	dir := filepath.Join("..", src)
	ts, _ := filepath.Glob(filepath.Join(dir, "*.ts"))
	for _, f := range append([]string{filepath.Join(dir, "assembly", "index.ts")}, ts...) {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(`"@iom/wasm-as"`)) {
			return f
		}
	}
	return ""
}

// rustGuest reports whether src holds a Rust guest: a crate root, lib.rs or src/lib.rs.
func rustGuest(src string) bool {
	dir := filepath.Join("..", src)
	return fileExists(filepath.Join(dir, "lib.rs")) || fileExists(filepath.Join(dir, "src", "lib.rs"))
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// cFlags are the clang flags for a C guest, the same as examples/plugins/build.sh uses.
func cFlags() []string {
	flags := []string{"--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "-Wl,--strip-debug"}
	if sysroot := os.Getenv("WASI_SYSROOT"); sysroot != "" {
		flags = append(flags, "--sysroot="+sysroot)
	}
	return flags
}

// testCacheDir is the compilation cache the tests' hosts share, so a second host in one test
// binary loads compiled modules instead of compiling them again.
func testCacheDir() string { return filepath.Join(guestDir, "cache") }

var testHost = sync.OnceValue(func() *Host {
	h, err := NewHost(context.Background(), testCacheDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	return h
})

// load loads a guest with c's settings (Name and Path filled in when empty) and closes it
// when the test ends.
func load(tb testing.TB, name string, c Config) *Plugin {
	tb.Helper()
	if c.Name == "" {
		c.Name = name
	}
	if c.Path == "" && c.Binary == nil {
		c.Path = guestPath(tb, name)
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	p, err := testHost().Load(context.Background(), c)
	if err != nil {
		tb.Fatalf("load %s: %v", name, err)
	}
	tb.Cleanup(func() { p.Close(context.Background()) })
	return p
}
