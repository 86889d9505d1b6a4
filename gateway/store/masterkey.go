package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/crypto/argon2"
)

// The master key's parameters for a passphrase: argon2id as RFC 9106 recommends where memory is
// short (64 MiB, three passes, four lanes), with a random 16-byte salt. They are written with the
// salt, so a later release can raise them without losing stores made before.
const (
	kdfMemoryKiB = 64 << 10
	kdfTime      = 3
	kdfLanes     = 4
	kdfFile      = "master.kdf"
)

// MasterKey returns the key that encrypts the store in dataDir. It comes from IOM_MASTER_KEY —
// 64 hex digits are the key itself; anything else is a passphrase, stretched with argon2id and a
// random salt kept in dataDir/master.kdf (created on first use, mode 0600) — else from
// dataDir/master.key, generated (mode 0600) on first use.
func MasterKey(dataDir string) ([]byte, error) {
	if v := os.Getenv("IOM_MASTER_KEY"); v != "" {
		if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
			return b, nil
		}
		return passphraseKey(dataDir, v)
	}
	path := filepath.Join(dataDir, "master.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("master key file %q must hold 64 hex digits", path)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cannot read master key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data dir %q: %w", dataDir, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create master key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, fmt.Errorf("cannot write master key file: %w", err)
	}
	return k, f.Sync()
}

// LegacyMasterKey returns, for a passphrase in IOM_MASTER_KEY, the key releases before argon2id
// derived from it (its SHA-256), else nil. Give it to Open as Options.LegacyKey, which
// re-encrypts such a store with the MasterKey once.
func LegacyMasterKey() []byte {
	v := os.Getenv("IOM_MASTER_KEY")
	if b, err := hex.DecodeString(v); v == "" || err == nil && len(b) == 32 {
		return nil
	}
	sum := sha256.Sum256([]byte(v))
	return sum[:]
}

// kdfParams are argon2id's parameters and salt, as master.kdf keeps them:
// "argon2id$v=19$m=65536,t=3,p=4$<salt in base64>".
type kdfParams struct {
	memory, time uint32
	lanes        uint8
	salt         []byte
}

func (p kdfParams) String() string {
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s", argon2.Version, p.memory, p.time, p.lanes,
		base64.RawStdEncoding.EncodeToString(p.salt))
}

func parseKDF(s string) (kdfParams, error) {
	var p kdfParams
	var version int
	parts := strings.Split(strings.TrimSpace(s), "$")
	if len(parts) != 4 || parts[0] != "argon2id" {
		return p, errors.New(`it must read "argon2id$v=19$m=…,t=…,p=…$<salt>"`)
	}
	if _, err := fmt.Sscanf(parts[1], "v=%d", &version); err != nil || version != argon2.Version {
		return p, fmt.Errorf("version %q is not v=%d", parts[1], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[2], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.lanes); err != nil {
		return p, fmt.Errorf("parameters %q are not m=…,t=…,p=…", parts[2])
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[3]); err != nil || len(p.salt) < 16 {
		return p, errors.New("the salt must be at least 16 bytes in base64")
	}
	// Bounds, so a damaged file cannot ask for all the memory there is.
	if p.memory < 8*uint32(p.lanes) || p.memory > 1<<20 || p.time < 1 || p.time > 16 || p.lanes < 1 {
		return p, fmt.Errorf("parameters %q are out of range (m up to 1048576 KiB, t 1 to 16, p at least 1)", parts[2])
	}
	return p, nil
}

// passphraseKey stretches passphrase with the parameters in dataDir/master.kdf, which it creates
// (synced, before any data is encrypted with the key) on first use.
func passphraseKey(dataDir, passphrase string) ([]byte, error) {
	path := filepath.Join(dataDir, kdfFile)
	b, err := os.ReadFile(path)
	var p kdfParams
	switch {
	case err == nil:
		if p, err = parseKDF(string(b)); err != nil {
			return nil, fmt.Errorf("cannot read %q: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		p = kdfParams{memory: kdfMemoryKiB, time: kdfTime, lanes: kdfLanes, salt: make([]byte, 16)}
		if _, err := rand.Read(p.salt); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create data dir %q: %w", dataDir, err)
		}
		if err := WriteFileSynced(path, []byte(p.String()+"\n")); err != nil {
			return nil, fmt.Errorf("cannot write %q: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("cannot read %q: %w", path, err)
	}
	return argon2.IDKey([]byte(passphrase), p.salt, p.time, p.memory, p.lanes, 32), nil
}

// WriteFileSynced writes a file at path (mode 0600) whole or not at all: through a synced
// temporary file renamed over it, the directory synced after.
func WriteFileSynced(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// isKeyMismatch reports whether Badger refused the key: its errors do not wrap.
func isKeyMismatch(err error) bool {
	return err != nil && (errors.Is(err, badger.ErrEncryptionKeyMismatch) || strings.Contains(err.Error(), badger.ErrEncryptionKeyMismatch.Error()))
}

// rekey re-encrypts the store's key registry with bo's key when it was written with legacy, and
// reports whether it did. Badger's master key encrypts only the data keys in that registry, so
// the rest stays as it is. The store is opened with legacy first, which takes its lock (nothing
// else may have it open meanwhile); the registry is then replaced by a synced, renamed file.
func rekey(bo badger.Options, legacy []byte) (bool, error) {
	registry := func(key []byte) (*badger.KeyRegistry, error) {
		return badger.OpenKeyRegistry(badger.KeyRegistryOptions{Dir: bo.Dir, ReadOnly: true, EncryptionKey: key,
			EncryptionKeyRotationDuration: bo.EncryptionKeyRotationDuration})
	}
	if _, err := registry(bo.EncryptionKey); !isKeyMismatch(err) {
		return false, nil // a new store, or one with this key already: Open reports other errors
	}
	if _, err := registry(legacy); err != nil {
		return false, nil // not the legacy key either: Open says the key does not match
	}
	db, err := badger.Open(bo.WithEncryptionKey(legacy))
	if err != nil {
		return false, err
	}
	if err := db.Close(); err != nil {
		return false, err
	}
	kr, err := registry(legacy) // as the close left it
	if err != nil {
		return false, err
	}
	defer kr.Close()
	return true, badger.WriteKeyRegistry(kr, badger.KeyRegistryOptions{Dir: bo.Dir, EncryptionKey: bo.EncryptionKey,
		EncryptionKeyRotationDuration: bo.EncryptionKeyRotationDuration})
}
