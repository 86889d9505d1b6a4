//go:build linux

package exetrim

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

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

// Pages of a file mapping that advise paged out come back one at a time: a load from each of
// n windows of 128 KiB maps about n pages, where read-around and fault-around would map a
// 64 KiB window each.
func TestAdvisedPagesComeBackAlone(t *testing.T) {
	const size, window, loads = 16 << 20, 128 << 10, 64
	f, err := os.CreateTemp(t.TempDir(), "mapped")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i >> 12) // no page is a hole
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil { // written back: clean pages the kernel can drop, as a binary's
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	var sum byte
	for i := 0; i < size; i += 4096 {
		sum += m[i]
	}
	if err := advise(uintptr(unsafe.Pointer(&m[0])), size); errors.Is(err, unix.EINVAL) {
		t.Skip("this kernel has no MADV_PAGEOUT")
	} else if err != nil {
		t.Fatal(err)
	}
	// The test needs a file system whose clean pages the kernel drops (not tmpfs, whose pages
	// only go to swap).
	vec := make([]byte, size/4096)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), size, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	cached := 0
	for _, v := range vec {
		cached += int(v & 1)
	}
	if cached > len(vec)/2 {
		t.Skipf("the file system kept %d of %d pages cached", cached, len(vec))
	}
	before := rssFile(t)
	for i := range loads {
		sum += m[i*window+window/2]
	}
	grew := rssFile(t) - before
	t.Logf("%d loads %d KiB apart: resident file pages grew by %d KiB (sum %d)", loads, window>>10, grew, sum)
	if grew >= loads*16 {
		t.Errorf("%d loads mapped %d KiB: pages come back in windows, not alone", loads, grew)
	}
}
