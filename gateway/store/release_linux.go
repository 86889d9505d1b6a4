package store

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// releaseMaps asks the kernel to take back the pages of the value log files the process maps.
//
// Badger writes and reads its value log through shared memory maps, so every record block the
// gateway writes stays resident in the process, and counts in its RSS, until the kernel runs
// short of memory: a busy gateway would seem to grow by what it has recorded. The blocks are
// written once and read rarely (admin queries, large cached answers), so they are given back
// every few seconds; a later read faults them in from the file. MADV_PAGEOUT reclaims only pages
// that are clean (written back to the file) and never changes what a mapping reads, so it is
// safe whatever Badger maps, writes or unmaps meanwhile.
func (s *Store) releaseMaps() {
	if s.dir == "" {
		return
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return
	}
	prefix := s.dir + string(os.PathSeparator)
	for line := range bytes.Lines(maps) {
		// start-end perms offset dev inode path
		f := strings.Fields(string(line))
		if len(f) < 6 || !strings.HasPrefix(f[5], prefix) || !strings.HasSuffix(f[5], ".vlog") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		// A mapping gone since the read above fails with ENOMEM, harmlessly.
		syscall.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT)
	}
}
