package policy

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/iomhq/iom/gateway/fault"
)

// ShareFunc shares a change of an API-created key with the other nodes of a cluster: its stored
// form, or nil when it was revoked. An error means the change could not be shared.
type ShareFunc func(id string, stored []byte) error

// SetShare makes Create and Revoke share each change before it takes effect here: a change the
// cluster could not take is refused (503) and changes nothing.
func (k *Keyring) SetShare(share ShareFunc) {
	k.mu.Lock()
	k.share = share
	k.mu.Unlock()
}

// errNotShared refuses a key change that the other nodes could not be told about.
func errNotShared(err error) *fault.Error {
	fe := fault.ClusterDown("the key change was not made: the cluster's shared state cannot be reached; try again shortly")
	fe.Detail = err.Error()
	return fe
}

// Stored returns the stored form of every API-created key, by id.
func (k *Keyring) Stored() map[string][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string][]byte, len(k.api))
	for id, key := range k.api {
		out[id], _ = encodeKey(key)
	}
	return out
}

// ApplyShared makes a change another node shared: stored is a key's stored form, or nil to
// revoke the key id. It is not shared again.
func (k *Keyring) ApplyShared(id string, stored []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if stored == nil {
		if _, ok := k.api[id]; !ok {
			return nil
		}
		if err := k.st.Delete(append(slices.Clip(apiKeyPrefix), id...)); err != nil {
			return err
		}
		delete(k.api, id)
		k.publishLocked()
		return nil
	}
	key, err := decodeKey(stored)
	if err != nil {
		return err
	}
	if key.ID != id || !apiIDPattern.MatchString(id) {
		return fmt.Errorf("shared key %q is not an API key", id)
	}
	if old := k.api[id]; old != nil {
		if cur, _ := encodeKey(old); string(cur) == string(stored) {
			return nil
		}
	}
	if err := k.st.Put(append(slices.Clip(apiKeyPrefix), id...), stored); err != nil {
		return err
	}
	k.api[id] = key
	k.publishLocked()
	return nil
}

func encodeKey(key *Key) ([]byte, error) {
	return json.Marshal(storedKey{Key: *key, Hash: hex.EncodeToString(key.hash[:])})
}

// decodeKey reads a key's stored form.
func decodeKey(b []byte) (*Key, error) {
	var s storedKey
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("cannot decode stored key: %w", err)
	}
	key := s.Key
	key.Org = orgOrDefault(key.Org) // stored by a release where a key could have no org
	h, err := hex.DecodeString(s.Hash)
	if err != nil || len(h) != 32 {
		return nil, fmt.Errorf("stored key %q has a bad hash", key.ID)
	}
	copy(key.hash[:], h)
	return &key, nil
}
