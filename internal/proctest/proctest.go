// Package proctest finds the processes a test started, by an argument that marks them, so a test
// can check that none is left behind.
package proctest

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Marker is an argument that tells the processes of test t from any other's.
func Marker(t testing.TB) string {
	return "--test-mark=" + strconv.Itoa(os.Getpid()) + "-" + strings.ReplaceAll(t.Name(), "/", "-")
}

// PIDs lists the live processes that have marker among their arguments. It skips the test
// outside Linux, where it cannot read /proc.
func PIDs(t testing.TB, marker string) []int {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("finds processes through /proc")
	}
	files, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || !slices.Contains(strings.Split(string(b), "\x00"), marker) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
