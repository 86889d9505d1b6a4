package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, dir string, key []byte) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir, MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPersistsAcrossReopenEncrypted(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("IOM_MASTER_KEY", "")
	key, err := MasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key should exist with mode 0600: %v %v", st, err)
	}
	again, _ := MasterKey(dir)
	if string(again) != string(key) {
		t.Fatal("MasterKey must be stable")
	}
	s := open(t, dir, key)
	if err := s.Put([]byte("model/a"), []byte(`{"apiKey":"sk-plain-marker"}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// The secret must not be readable from the files on disk.
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			if strings.Contains(string(b), "sk-plain-marker") {
				t.Errorf("%s holds the value in clear", p)
			}
		}
		return nil
	})

	s = open(t, dir, key)
	defer s.Close()
	v, err := s.Get([]byte("model/a"))
	if err != nil || !strings.Contains(string(v), "sk-plain-marker") {
		t.Fatalf("after reopen: %q %v", v, err)
	}
	if _, err := s.Get([]byte("model/b")); err != ErrNotFound {
		t.Fatalf("missing key: %v", err)
	}
}

func TestWrongMasterKeyRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, make([]byte, 32))
	s.Put([]byte("k"), []byte("v"))
	s.Close()
	bad := make([]byte, 32)
	bad[0] = 1
	if _, err := Open(Options{Dir: dir, MasterKey: bad}); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("want a master key error, got %v", err)
	}
}

func TestScanOrderAndTTL(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var batch []Entry
	for i := range 5 {
		batch = append(batch, Entry{Key: []byte(fmt.Sprintf("inv/%02d", i)), Value: []byte{byte(i)}})
	}
	// Badger keeps expiry times in whole seconds, rounded down: an entry written with a TTL of a
	// second can expire a moment later. An hour is long enough for the scans below.
	batch = append(batch, Entry{Key: []byte("inv/99"), Value: []byte{9}, TTL: time.Hour})
	if err := s.Write(batch); err != nil {
		t.Fatal(err)
	}
	var got []string
	s.Scan(context.Background(), []byte("inv/"), ScanOptions{Reverse: true}, func(k, v []byte) bool {
		got = append(got, string(k))
		return len(got) < 3
	})
	if strings.Join(got, ",") != "inv/99,inv/04,inv/03" {
		t.Fatalf("reverse scan: %v", got)
	}
	got = got[:0]
	s.Scan(context.Background(), []byte("inv/"), ScanOptions{Start: []byte("inv/03")}, func(k, v []byte) bool {
		got = append(got, string(k))
		return true
	})
	if strings.Join(got, ",") != "inv/03,inv/04,inv/99" {
		t.Fatalf("forward scan from start: %v", got)
	}
	if ok, _ := s.PutIfAbsent([]byte("inv/00"), []byte("x")); ok {
		t.Fatal("PutIfAbsent overwrote")
	}
}

func TestErrorsCarryNoValues(t *testing.T) {
	s, err := Open(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	huge := []byte("sk-secret-marker" + strings.Repeat("x", 3<<20))
	err = s.Put([]byte("k"), huge)
	if err == nil {
		t.Skip("the store took a 3 MiB value")
	}
	if strings.Contains(err.Error(), "sk-secret-marker") || strings.Contains(err.Error(), "736b2d") {
		t.Fatalf("the error shows the value: %.200s", err)
	}
}
