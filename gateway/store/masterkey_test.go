package store

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const passphrase = "correct horse battery staple"

// TestPassphraseGoesThroughArgon2id: a passphrase in IOM_MASTER_KEY is stretched with argon2id
// and a random salt kept in master.kdf, never used as a bare hash.
func TestPassphraseGoesThroughArgon2id(t *testing.T) {
	t.Setenv("IOM_MASTER_KEY", passphrase)
	dir := t.TempDir()
	key, err := MasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(passphrase))
	if len(key) != 32 || string(key) == string(sum[:]) {
		t.Fatalf("the key must come from argon2id, not SHA-256 of the passphrase")
	}
	if string(LegacyMasterKey()) != string(sum[:]) {
		t.Fatalf("legacy must be the key older releases derived")
	}
	st, err := os.Stat(filepath.Join(dir, kdfFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("%s should exist with mode 0600: %v %v", kdfFile, st, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, kdfFile))
	p, err := parseKDF(string(b))
	if err != nil || len(p.salt) != 16 || p.memory != kdfMemoryKiB || p.time != kdfTime || p.lanes != kdfLanes {
		t.Fatalf("%s: %q %+v %v", kdfFile, b, p, err)
	}
	if again, _ := MasterKey(dir); string(again) != string(key) {
		t.Fatal("MasterKey must be stable for one data dir")
	}
	if other, _ := MasterKey(t.TempDir()); string(other) == string(key) {
		t.Fatal("another data dir must get another salt, so another key")
	}
	t.Setenv("IOM_MASTER_KEY", "another passphrase")
	if wrong, _ := MasterKey(dir); string(wrong) == string(key) {
		t.Fatal("another passphrase must give another key")
	}
}

// TestLegacyPassphraseStoreIsReencrypted: a store written by a release that hashed the passphrase
// with SHA-256 opens with the argon2id key, once re-encrypted, and keeps its data.
func TestLegacyPassphraseStoreIsReencrypted(t *testing.T) {
	t.Setenv("IOM_MASTER_KEY", passphrase)
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	sum := sha256.Sum256([]byte(passphrase))
	s := open(t, db, sum[:])
	if err := s.Put([]byte("model/a"), []byte("kept")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	key, err := MasterKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: db, MasterKey: key, LegacyKey: LegacyMasterKey()})
	if err != nil {
		t.Fatalf("open a legacy store: %v", err)
	}
	if v, err := s.Get([]byte("model/a")); err != nil || string(v) != "kept" {
		t.Fatalf("after re-encryption: %q %v", v, err)
	}
	s.Close()
	s = open(t, db, key) // no legacy key needed any more
	s.Close()
	if _, err := Open(Options{Dir: db, MasterKey: sum[:]}); err == nil || !strings.Contains(err.Error(), "master key does not match") {
		t.Fatalf("the SHA-256 key must no longer open the store: %v", err)
	}
}

func TestParseKDFRefusesDamage(t *testing.T) {
	ok := kdfParams{memory: kdfMemoryKiB, time: kdfTime, lanes: kdfLanes, salt: make([]byte, 16)}.String()
	if _, err := parseKDF(ok + "\n"); err != nil {
		t.Fatalf("%q: %v", ok, err)
	}
	for _, bad := range []string{"", "scrypt$v=19$m=65536,t=3,p=4$AAAAAAAAAAAAAAAAAAAAAA",
		"argon2id$v=16$m=65536,t=3,p=4$AAAAAAAAAAAAAAAAAAAAAA", "argon2id$v=19$m=4294967295,t=3,p=4$AAAAAAAAAAAAAAAAAAAAAA",
		"argon2id$v=19$m=65536,t=0,p=4$AAAAAAAAAAAAAAAAAAAAAA", "argon2id$v=19$m=65536,t=3,p=4$AAAA",
		"argon2id$v=19$m=65536,t=3,p=4$!!!"} {
		if _, err := parseKDF(bad); err == nil {
			t.Errorf("parseKDF(%q) accepted damage", bad)
		}
	}
}

// TestOpenLockedStore: a store another process (here, another handle) has open is ErrLocked.
func TestOpenLockedStore(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	defer s.Close()
	if _, err := Open(Options{Dir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
}
