package cluster

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// sealer encrypts what a node writes to Redis with the cluster's secret, so that the state
// there (models' upstream keys among it) is unreadable to whoever can read Redis. Each entry is
// bound to its kind and id: one cannot be moved to another's place.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte) (*sealer, error) {
	key, err := hkdf.Key(sha256.New, secret, []byte("iom cluster state v1"), "aes-256-gcm", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func additional(kind, id string) []byte { return []byte(kind + "\x00" + id) }

// seal returns a random nonce followed by data encrypted and authenticated.
func (s *sealer) seal(kind, id string, data []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(data)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, data, additional(kind, id))
}

// errSealed is a shared entry that this node cannot open: written with another secret, or not
// for this kind and id.
var errSealed = errors.New("a shared entry does not open with this node's cluster.secret")

func (s *sealer) open(kind, id string, blob []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(blob) < n+s.aead.Overhead() {
		return nil, errSealed
	}
	data, err := s.aead.Open(nil, blob[:n], blob[n:], additional(kind, id))
	if err != nil {
		return nil, errSealed
	}
	return data, nil
}
