package exetrim

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Trim pages out the executable's read-only mappings and returns their total size. A kernel
// without MADV_PAGEOUT (before Linux 5.4) makes it return an error and change nothing.
func Trim() (int, error) {
	maps, err := readOnlyMappings()
	if err != nil {
		return 0, err
	}
	// Only clean pages can be dropped: a binary built moments ago (make run) has dirty ones in
	// the page cache until the kernel writes them back, so write them back first.
	if exe, err := os.Open("/proc/self/exe"); err == nil {
		_ = exe.Sync()
		exe.Close()
	}
	total := 0
	for _, m := range maps {
		if err := advise(m.start, m.end-m.start); err != nil {
			return total, err
		}
		total += int(m.end - m.start)
	}
	return total, nil
}

// advise tells the kernel that a file mapping's pages are not needed (MADV_PAGEOUT), then that
// the ones used later are to be read alone (MADV_RANDOM): without it a page touched again brings
// its neighbours back, read around it into the page cache and mapped around it (64 KiB windows),
// and the code the gateway runs, spread all over the binary, is soon resident in windows again.
// A kernel without MADV_PAGEOUT fails the first call, before anything changed. The mapping is no
// Go memory: madvise gets its bounds as numbers.
func advise(addr, length uintptr) error {
	for _, advice := range []int{unix.MADV_PAGEOUT, unix.MADV_RANDOM} {
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, addr, length, uintptr(advice)); e != 0 {
			return fmt.Errorf("madvise: %w", e)
		}
	}
	return nil
}

// mapping is one of the executable's mappings.
type mapping struct{ start, end uintptr }

// readOnlyMappings lists the executable's mappings that are not writable: its code and
// read-only data.
func readOnlyMappings() ([]mapping, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return nil, err
	}
	dev := fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev))
	ino := strconv.FormatUint(st.Ino, 10)
	// On overlayfs (containers) the maps name the underlying file's device and inode, which stat
	// does not give: the path names the executable there.
	path, _ := os.Executable()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.ContainsRune(fields[1], 'w') {
			continue
		}
		if (fields[3] != dev || fields[4] != ino) && (path == "" || fields[5] != path) {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		maps = append(maps, mapping{start: uintptr(start), end: uintptr(end)})
	}
	return maps, sc.Err()
}
