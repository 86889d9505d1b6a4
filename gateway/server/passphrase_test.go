package server_test

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/iomhq/iom/gateway/store"
	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// TestMasterKeyPassphraseIsStretched: with a passphrase in IOM_MASTER_KEY the store is encrypted
// with a key derived by argon2id and a random salt kept in the data dir, so the passphrase's
// bare hash does not open it; a restart derives the same key.
func TestMasterKeyPassphraseIsStretched(t *testing.T) {
	const passphrase = "a passphrase, not a key"
	t.Setenv("IOM_MASTER_KEY", passphrase)
	dir := t.TempDir()
	g := gt.Start(t, dir, "")
	if r := g.Admin("POST", "/api/models", `{"name":"Kept","endpoint":"http://127.0.0.1:9/v1","provider":"openai"}`); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	g.Stop()
	data := filepath.Join(dir, "data")
	sum := sha256.Sum256([]byte(passphrase))
	if st, err := store.Open(store.Options{Dir: filepath.Join(data, "db"), MasterKey: sum[:]}); err == nil {
		st.Close()
		t.Fatal("the SHA-256 of the passphrase opens the store: the passphrase is not stretched")
	}
	if _, err := os.Stat(filepath.Join(data, "master.kdf")); err != nil {
		t.Fatalf("the salt must be kept in the data dir: %v", err)
	}
	g = gt.Start(t, dir, "")
	if r := g.Admin("GET", "/api/models/kept", nil); r.Status != 200 {
		t.Fatalf("after restart: %d %s", r.Status, r.Body)
	}
}
