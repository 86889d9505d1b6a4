// Package policy owns who may do what on the data plane: gateway keys (from the config file and
// the admin API, kept only as hashes), the admin token, and the security-policy check between a
// key and a model.
//
// Authentication and access checks run on every request: they read an immutable snapshot and
// never touch the store.
package policy

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/registry"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/store"
)

// KeyConfig is a gateway key as the config file declares it.
type KeyConfig struct {
	Name string        `json:"name"`
	Key  secret.Secret `json:"key"`
	Org  string        `json:"org,omitempty"`
	// Models, when set, is the only models (and pipelines, as pipeline:<id>) the key may use.
	Models []string `json:"models,omitempty"`
	Limits *Limits  `json:"limits,omitempty"`
}

// Key is a gateway key as the gateway keeps it: everything but the secret, which is a hash.
type Key struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Org       string    `json:"org,omitempty"`
	Models    []string  `json:"models,omitempty"`
	Limits    *Limits   `json:"limits,omitempty"`
	Prefix    string    `json:"prefix"` // the first characters, so people can tell keys apart
	ManagedBy string    `json:"managedBy"`
	CreatedAt time.Time `json:"createdAt,omitzero"`

	hash [32]byte
}

// NewKeyRequest is the body of POST /api/keys.
type NewKeyRequest struct {
	Name   string   `json:"name"`
	Org    string   `json:"org,omitempty"`
	Models []string `json:"models,omitempty"`
	Limits *Limits  `json:"limits,omitempty"`
}

// Keyring holds every gateway key.
type Keyring struct {
	mu     sync.Mutex
	st     *store.Store
	config []*Key
	api    map[string]*Key
	snap   atomic.Pointer[keySnapshot]
	now    func() time.Time
}

type keySnapshot struct {
	byHash map[[32]byte]*Key
	list   []*Key
}

var (
	apiKeyPrefix = []byte("key/")
	cfgKeyPrefix = []byte("cfgkey/")
	namePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// OpenKeyring loads the keys created through the API.
func OpenKeyring(st *store.Store) (*Keyring, error) {
	k := &Keyring{st: st, api: map[string]*Key{}, now: time.Now}
	var bad error
	err := st.Scan(bg, apiKeyPrefix, store.ScanOptions{}, func(_, v []byte) bool {
		var s storedKey
		if err := json.Unmarshal(v, &s); err != nil {
			bad = fmt.Errorf("cannot decode stored key: %w", err)
			return false
		}
		key := s.Key
		if h, err := hex.DecodeString(s.Hash); err != nil || len(h) != 32 {
			bad = fmt.Errorf("stored key %q has a bad hash", key.ID)
			return false
		} else {
			copy(key.hash[:], h)
		}
		k.api[key.ID] = &key
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, err
	}
	k.publishLocked()
	return k, nil
}

// ValidateKeys checks the config's keys, with paths under base.
func ValidateKeys(base string, keys []KeyConfig, es *decode.Errors) {
	seen := map[string]bool{}
	for i, kc := range keys {
		p := decode.Index(base, i)
		switch {
		case !namePattern.MatchString(kc.Name):
			es.Add(decode.Join(p, "name"), "%q must be 1-64 letters, digits or ._- and start with a letter or digit", kc.Name)
		case seen[kc.Name]:
			es.Add(decode.Join(p, "name"), "duplicate key name %q", kc.Name)
		}
		seen[kc.Name] = true
		if v := kc.Key.Reveal(); v != "" && len(v) < 16 {
			es.Add(decode.Join(p, "key"), "is too short: use at least 16 characters (or leave it empty to have one generated)")
		}
		ValidateLimits(decode.Join(p, "limits"), kc.Limits, es)
	}
}

// Generated is a secret the gateway generated because the config left it empty.
type Generated struct {
	Name  string // "admin" or the key's name
	Value string
}

// SetConfig replaces the config file's keys. A key left empty is generated on first start and
// kept (as a hash) in the store; its value is returned once, in generated, to be shown to the user.
func (k *Keyring) SetConfig(keys []KeyConfig) (generated []Generated, err error) {
	next := make([]*Key, 0, len(keys))
	for _, kc := range keys {
		key := &Key{ID: "config:" + kc.Name, Name: kc.Name, Org: kc.Org, Models: kc.Models, Limits: kc.Limits, ManagedBy: registry.ManagedByConfig}
		raw := kc.Key.Reveal()
		if raw == "" {
			h, value, err := ensureGenerated(k.st, "key:"+kc.Name)
			if err != nil {
				return nil, err
			}
			key.hash = h
			if value != "" {
				generated = append(generated, Generated{Name: kc.Name, Value: value})
				key.Prefix = value[:8]
			} else {
				key.Prefix = "(generated)"
			}
		} else {
			key.hash = sha256.Sum256([]byte(raw))
			key.Prefix = prefixOf(raw)
		}
		next = append(next, key)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.config = next
	k.publishLocked()
	return generated, nil
}

// AdminToken returns the hash of the admin token: the config's, or one generated on first start
// and kept (as a hash) in the store. A newly generated value is returned once, to show the user.
func AdminToken(st *store.Store, configured secret.Secret) (hash [32]byte, generated string, err error) {
	if configured.IsSet() {
		return sha256.Sum256([]byte(configured.Reveal())), "", nil
	}
	return ensureGenerated(st, "admin")
}

// CheckToken compares a presented token with a hash in constant time.
func CheckToken(hash [32]byte, presented []byte) bool {
	h := sha256.Sum256(presented)
	return subtle.ConstantTimeCompare(h[:], hash[:]) == 1
}

func ensureGenerated(st *store.Store, name string) ([32]byte, string, error) {
	var h [32]byte
	storeKey := append(slices.Clip(cfgKeyPrefix), name...)
	if b, err := st.Get(storeKey); err == nil && len(b) == 32 {
		copy(h[:], b)
		return h, "", nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return h, "", fmt.Errorf("cannot read generated secret %q: %w", name, err)
	}
	value := NewSecretValue()
	h = sha256.Sum256([]byte(value))
	wrote, err := st.PutIfAbsent(storeKey, h[:])
	if err != nil {
		return h, "", fmt.Errorf("cannot store generated secret %q: %w", name, err)
	}
	if !wrote {
		return ensureGenerated(st, name)
	}
	return h, value, nil
}

// NewSecretValue returns a fresh random key: "iom-" and 43 URL-safe characters.
func NewSecretValue() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "iom-" + base64.RawURLEncoding.EncodeToString(b)
}

func prefixOf(raw string) string {
	if len(raw) <= 8 {
		return strings.Repeat("*", len(raw))
	}
	return raw[:8]
}

// Authenticate returns the key whose value is raw, or nil.
func (k *Keyring) Authenticate(raw []byte) *Key {
	if len(raw) == 0 {
		return nil
	}
	return k.snap.Load().byHash[sha256.Sum256(raw)]
}

// List returns every key, config ones first, then by name.
func (k *Keyring) List() []*Key { return k.snap.Load().list }

// Create makes a key through the API and returns it with its value, shown only this once.
func (k *Keyring) Create(req NewKeyRequest) (*Key, string, error) {
	if !namePattern.MatchString(req.Name) {
		return nil, "", fault.Invalid("name", "name %q must be 1-64 letters, digits or ._- and start with a letter or digit", req.Name)
	}
	var es decode.Errors
	ValidateLimits("limits", req.Limits, &es)
	if len(es) > 0 {
		return nil, "", fault.Invalid(es[0].Path, "invalid key: %s", strings.ReplaceAll(es.Error(), "\n", "; "))
	}
	value := NewSecretValue()
	idb := make([]byte, 8)
	rand.Read(idb)
	key := &Key{ID: "key_" + hex.EncodeToString(idb), Name: req.Name, Org: req.Org, Models: req.Models, Limits: req.Limits,
		Prefix: value[:8], ManagedBy: registry.ManagedByAPI, CreatedAt: k.now().UTC(), hash: sha256.Sum256([]byte(value))}
	b, err := json.Marshal(storedKey{Key: *key, Hash: hex.EncodeToString(key.hash[:])})
	if err != nil {
		return nil, "", fault.Internal("cannot encode key: %v", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.st.Put(append(slices.Clip(apiKeyPrefix), key.ID...), b); err != nil {
		return nil, "", fault.Internal("cannot store key: %v", err)
	}
	k.api[key.ID] = key
	k.publishLocked()
	return key, value, nil
}

// Revoke deletes an API-created key at once.
func (k *Keyring) Revoke(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.api[id]; !ok {
		for _, c := range k.config {
			if c.ID == id {
				return fault.Conflict("key %q is managed by the config file; remove it there", id)
			}
		}
		return fault.NotFound("key_not_found", "key %q does not exist", id)
	}
	if err := k.st.Delete(append(slices.Clip(apiKeyPrefix), id...)); err != nil {
		return fault.Internal("cannot delete key: %v", err)
	}
	delete(k.api, id)
	k.publishLocked()
	return nil
}

func (k *Keyring) publishLocked() {
	s := &keySnapshot{byHash: make(map[[32]byte]*Key, len(k.config)+len(k.api))}
	api := make([]*Key, 0, len(k.api))
	for _, key := range k.api {
		api = append(api, key)
	}
	sort.Slice(api, func(i, j int) bool {
		return api[i].Name < api[j].Name || api[i].Name == api[j].Name && api[i].ID < api[j].ID
	})
	for _, key := range append(slices.Clone(k.config), api...) {
		s.byHash[key.hash] = key
		s.list = append(s.list, key)
	}
	k.snap.Store(s)
}

type storedKey struct {
	Key
	Hash string `json:"hash"`
}

// Allows reports whether key may use the model m under m's security policy and the key's allowlist.
func Allows(key *Key, m *registry.Model) bool {
	if len(key.Models) > 0 && !slices.Contains(key.Models, m.ID) {
		return false
	}
	return AllowsPolicy(key, m)
}

// AllowsPolicy is Allows without the key's allowlist: whether m's security policy admits key.
func AllowsPolicy(key *Key, m *registry.Model) bool {
	switch m.SecurityPolicy {
	case registry.Public:
		return true
	case registry.Organization:
		return key.Org != "" && key.Org == m.Org
	case registry.Private:
		return slices.Contains(m.AllowedKeys, key.Name) || slices.Contains(m.AllowedKeys, key.ID)
	}
	return false
}

// Unlisted returns key without its model allowlist: the steps of a pipeline the key may use run
// under its security policies, whatever models the pipeline uses.
func (k *Key) Unlisted() *Key {
	if k == nil || len(k.Models) == 0 {
		return k
	}
	c := *k
	c.Models = nil
	return &c
}
