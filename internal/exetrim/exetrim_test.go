//go:build linux

package exetrim

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// rssFile is the process's resident file-backed memory, in KiB.
func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// The test binary is an executable like the gateway's: after Trim its resident file pages are
// fewer, and it goes on running (this function's own code is faulted back in).
func TestTrimPagesTheExecutableOut(t *testing.T) {
	before := rssFile(t)
	n, err := Trim()
	if errors.Is(err, unix.EINVAL) {
		t.Skip("this kernel has no MADV_PAGEOUT")
	}
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	if n == 0 || after >= before {
		t.Fatalf("advised %d bytes; resident file pages %d → %d KiB", n, before, after)
	}
	t.Logf("advised %d KiB; resident file pages %d → %d KiB", n>>10, before, after)
}
