package store

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// After releaseMaps, the value log's pages are no longer resident, and every value still reads
// back as written.
func TestReleaseMapsGivesValueLogPagesBack(t *testing.T) {
	dir := t.TempDir()
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil && fs.Type == 0x01021994 {
		t.Skip("the temp dir is on tmpfs, whose pages cannot be paged out without swap")
	}
	s := open(t, dir, nil)
	defer s.Close()

	// 24 MiB of incompressible 64 KiB values: more than one value log file.
	values := make(map[string][]byte)
	for batch := range 12 {
		var entries []Entry
		for i := range 32 {
			v := make([]byte, 64<<10)
			rand.Read(v)
			k := fmt.Sprintf("blob/%02d/%02d", batch, i)
			values[k] = v
			entries = append(entries, Entry{Key: []byte(k), Value: v})
		}
		if err := s.Write(entries); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Sync(); err != nil { // written back: clean pages, which the kernel may take
		t.Fatal(err)
	}
	before := valueLogRSS(t, s.dir)
	if before < 8<<20 {
		t.Fatalf("the value log should be resident after the writes, found %d KiB", before>>10)
	}
	s.releaseMaps()
	after := valueLogRSS(t, s.dir)
	if after > before/4 {
		t.Fatalf("value log resident: %d KiB before, %d KiB after releaseMaps", before>>10, after>>10)
	}
	for k, want := range values {
		got, err := s.Get([]byte(k))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s after releaseMaps: %d bytes, %v", k, len(got), err)
		}
	}
}

// valueLogRSS sums the resident bytes of the process's mappings of .vlog files under dir.
func valueLogRSS(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps")
	}
	defer f.Close()
	total, inVlog := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) > 0 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			inVlog = len(fields) >= 6 && strings.HasPrefix(fields[5], dir) && strings.HasSuffix(fields[5], ".vlog")
		case inVlog && len(fields) >= 2 && fields[0] == "Rss:":
			kb, _ := strconv.Atoi(fields[1])
			total += kb << 10
		}
	}
	return total
}
