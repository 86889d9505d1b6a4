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
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return 0, err
	}
	dev := fmt.Sprintf("%02x:%02x", unix.Major(st.Dev), unix.Minor(st.Dev))
	ino := strconv.FormatUint(st.Ino, 10)
	// On overlayfs (containers) the maps name the underlying file's device and inode, which stat
	// does not give: the path names the executable there.
	path, _ := os.Executable()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	total := 0
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
		// The mapping is no Go memory: madvise gets its bounds as numbers.
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); e != 0 {
			return total, fmt.Errorf("madvise: %w", e)
		}
		total += int(end - start)
	}
	return total, sc.Err()
}
