// Package policy owns who may do what on the data plane: gateway keys (kept only as hashes), the
// admin token, and the security-policy check between a key and a model. A key's id never changes
// and is never reused: "key_" and 16 random hex digits from the API, "config:<name>" from the
// config file. Its name, unique in its org, grants nothing: a private model's allowedKeys holds
// ids. Checks on every request read an immutable snapshot and never touch the store.
package policy

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
)

// Key is a gateway key as the gateway keeps it: everything but the secret, which is a hash.
type Key struct {
	// ID is stable and unique: what allowedKeys, limits and records refer to.
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Org       string       `json:"org,omitempty"`
	Models    []string     `json:"models,omitempty"`
	Limits    *spec.Limits `json:"limits,omitempty"`
	Prefix    string       `json:"prefix"` // the first characters, so people can tell keys apart
	ManagedBy string       `json:"managedBy"`
	CreatedAt time.Time    `json:"createdAt,omitzero"`

	hash [32]byte
	hold *Hold // what one call holds of the budgets: set on the copy Limiter.Reserve returns
}

// NewKeyRequest is the body of POST /api/keys.
type NewKeyRequest struct {
	Name   string       `json:"name"`
	Org    string       `json:"org,omitempty"`
	Models []string     `json:"models,omitempty"`
	Limits *spec.Limits `json:"limits,omitempty"`
}

// Keyring holds every gateway key.
type Keyring struct {
	mu     sync.Mutex
	st     *store.Store
	config []*Key
	api    map[string]*Key
	snap   atomic.Pointer[keySnapshot]
	now    func() time.Time
	keep   Keep
	share  ShareFunc // nil when the gateway stands alone
}

type keySnapshot struct {
	byHash map[[32]byte]*Key
	byID   map[string]*Key
	list   []*Key
}

var (
	apiKeyPrefix = []byte("key/")
	cfgKeyPrefix = []byte("cfgkey/")
	apiIDPattern = regexp.MustCompile(`^key_[0-9a-f]{16}$`)
)

// isIDShaped reports whether s has the form of a key id (of a key that exists or not). Names
// cannot have that form: they have no ':' and are refused when shaped like an API key's id.
func isIDShaped(s string) bool {
	return apiIDPattern.MatchString(s) || strings.HasPrefix(s, spec.ConfigKeyIDPrefix) && spec.ValidKeyName(s[len(spec.ConfigKeyIDPrefix):])
}

func orgOrDefault(org string) string {
	if org == "" {
		return spec.DefaultOrg
	}
	return org
}

// OpenKeyring loads the keys created through the API.
func OpenKeyring(st *store.Store) (*Keyring, error) {
	k := &Keyring{st: st, api: map[string]*Key{}, now: time.Now}
	var bad error
	err := st.Scan(bg, apiKeyPrefix, store.ScanOptions{}, func(_, v []byte) bool {
		key, err := decodeKey(v)
		if err != nil {
			bad = err
			return false
		}
		k.api[key.ID] = key
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

// Generated is a secret the gateway generated because the config left it empty.
type Generated struct {
	Name  string // the key's name, or "admin"
	Admin bool   // the admin token, not a key
	Value string
}

// CheckConfig reports a key of the config file whose name a key created through the API has in
// the same org: names are unique within an org.
func (k *Keyring) CheckConfig(keys []spec.KeyConfig) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.checkConfigLocked(keys)
}

func (k *Keyring) checkConfigLocked(keys []spec.KeyConfig) error {
	for i, kc := range keys {
		if other := k.namedLocked(kc.Name, orgOrDefault(kc.Org), false); other != nil {
			return fmt.Errorf("keys[%d].name: %q is the name of key %q, created through the API in org %q; "+
				"key names are unique within an org: rename this one, or revoke that one", i, kc.Name, other.ID, other.Org)
		}
	}
	return nil
}

// namedLocked returns the key named name in org: among the API's keys, and the config's too
// when withConfig is set.
func (k *Keyring) namedLocked(name, org string, withConfig bool) *Key {
	if withConfig {
		for _, c := range k.config {
			if c.Name == name && c.Org == org {
				return c
			}
		}
	}
	for _, a := range k.api {
		if a.Name == name && a.Org == org {
			return a
		}
	}
	return nil
}

// KeySet is the config file's keys, their hashes ready, to replace the running ones.
type KeySet struct{ keys []*Key }

// PrepareConfig readies the config file's keys without changing which keys the gateway admits:
// a key without a value gets one generated on first sight, kept (as a hash) in the store; its
// value is returned once, in generated, to be shown to the user.
func (k *Keyring) PrepareConfig(keys []spec.KeyConfig) (set *KeySet, generated []Generated, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.checkConfigLocked(keys); err != nil {
		return nil, nil, err
	}
	next := make([]*Key, 0, len(keys))
	for _, kc := range keys {
		key := &Key{ID: spec.ConfigKeyID(kc.Name), Name: kc.Name, Org: orgOrDefault(kc.Org), Models: kc.Models, Limits: kc.Limits, ManagedBy: spec.ManagedByConfig}
		raw := kc.Key.Reveal()
		if raw == "" {
			h, value, err := ensureGenerated(k.st, Generated{Name: kc.Name}, k.keep)
			if err != nil {
				return nil, nil, err
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
	return &KeySet{keys: next}, generated, nil
}

// CommitConfig makes a prepared set the config's keys.
func (k *Keyring) CommitConfig(set *KeySet) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.config = set.keys
	k.publishLocked()
}

// SetConfig replaces the config file's keys: PrepareConfig, then CommitConfig.
func (k *Keyring) SetConfig(keys []spec.KeyConfig) (generated []Generated, err error) {
	set, generated, err := k.PrepareConfig(keys)
	if err != nil {
		return nil, err
	}
	k.CommitConfig(set)
	return generated, nil
}

// AdminToken returns the hash of the admin token: the config's, or one generated on first start
// and kept (as a hash) in the store. A newly generated value is given to keep before its hash is
// stored, and returned once, to show the user.
func AdminToken(st *store.Store, configured secret.Secret, keep Keep) (hash [32]byte, generated string, err error) {
	if configured.IsSet() {
		return sha256.Sum256([]byte(configured.Reveal())), "", nil
	}
	return ensureGenerated(st, Generated{Name: "admin", Admin: true}, keep)
}

// CheckToken compares a presented token with a hash in constant time.
func CheckToken(hash [32]byte, presented []byte) bool {
	h := sha256.Sum256(presented)
	return subtle.ConstantTimeCompare(h[:], hash[:]) == 1
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

// Create makes a key through the API and returns it with its value, shown only this once. Its
// org defaults to registry.DefaultOrg; its name must be free in its org.
func (k *Keyring) Create(req NewKeyRequest) (*Key, string, error) {
	if !spec.ValidKeyName(req.Name) {
		return nil, "", fault.Invalid("name", "name %q must be 1-64 letters, digits or ._- and start with a letter or digit", req.Name)
	}
	if apiIDPattern.MatchString(req.Name) {
		return nil, "", fault.Invalid("name", "name %q has the form of a key id; choose another", req.Name)
	}
	var es decode.Errors
	spec.ValidateLimits("limits", req.Limits, &es)
	if len(es) > 0 {
		return nil, "", fault.Invalid(es[0].Path, "invalid key: %s", strings.ReplaceAll(es.Error(), "\n", "; "))
	}
	value := NewSecretValue()
	key := &Key{Name: req.Name, Org: orgOrDefault(req.Org), Models: req.Models, Limits: req.Limits,
		Prefix: value[:8], ManagedBy: spec.ManagedByAPI, CreatedAt: k.now().UTC(), hash: sha256.Sum256([]byte(value))}
	k.mu.Lock()
	defer k.mu.Unlock()
	if other := k.namedLocked(key.Name, key.Org, true); other != nil {
		return nil, "", fault.Conflict("a key named %q already exists in org %q (id %q); key names are unique within an org", key.Name, key.Org, other.ID)
	}
	for key.ID == "" || k.api[key.ID] != nil {
		idb := make([]byte, 8)
		rand.Read(idb)
		key.ID = "key_" + hex.EncodeToString(idb)
	}
	b, err := encodeKey(key)
	if err != nil {
		return nil, "", fault.Internal("cannot encode key: %v", err)
	}
	if k.share != nil {
		if err := k.share(key.ID, b); err != nil {
			return nil, "", errNotShared(err)
		}
	}
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
	if k.share != nil {
		if err := k.share(id, nil); err != nil {
			return errNotShared(err)
		}
	}
	if err := k.st.Delete(append(slices.Clip(apiKeyPrefix), id...)); err != nil {
		return fault.Internal("cannot delete key: %v", err)
	}
	delete(k.api, id)
	k.publishLocked()
	return nil
}

func (k *Keyring) publishLocked() {
	s := &keySnapshot{byHash: make(map[[32]byte]*Key, len(k.config)+len(k.api)), byID: make(map[string]*Key, len(k.config)+len(k.api))}
	api := make([]*Key, 0, len(k.api))
	for _, key := range k.api {
		api = append(api, key)
	}
	sort.Slice(api, func(i, j int) bool {
		return api[i].Name < api[j].Name || api[i].Name == api[j].Name && api[i].ID < api[j].ID
	})
	for _, key := range append(slices.Clone(k.config), api...) {
		s.byHash[key.hash] = key
		s.byID[key.ID] = key
		s.list = append(s.list, key)
	}
	k.snap.Store(s)
}

type storedKey struct {
	Key
	Hash string `json:"hash"`
}

// Allows reports whether key may use the model m under m's security policy and the key's allowlist.
func Allows(key *Key, m *spec.Model) bool {
	if len(key.Models) > 0 && !slices.Contains(key.Models, m.ID) {
		return false
	}
	return AllowsPolicy(key, m)
}

// AllowsPolicy is Allows without the key's allowlist: whether m's security policy admits key.
func AllowsPolicy(key *Key, m *spec.Model) bool {
	switch m.SecurityPolicy {
	case spec.Public:
		return true
	case spec.Organization:
		return key.Org != "" && key.Org == m.Org
	case spec.Private:
		return slices.Contains(m.AllowedKeys, key.ID)
	}
	return false
}

// CacheScope names who may share the cached answers of m that key gets: key alone for a private
// model, key's org otherwise. Answers never cross orgs, whatever the model's policy.
func CacheScope(key *Key, m *spec.Model) string {
	if m.SecurityPolicy == spec.Private {
		return "key\x00" + key.ID
	}
	return "org\x00" + key.Org
}

// CheckAllowed returns nil if id is the id of a key, and otherwise the error of an allowedKeys
// entry, with the id to use when the entry is a key's name.
func (k *Keyring) CheckAllowed(id string) error {
	s := k.snap.Load()
	if s.byID[id] != nil {
		return nil
	}
	if named := s.named(id); len(named) > 0 {
		return fmt.Errorf("%q is a key name, and allowedKeys holds key ids: use %s", id, describeKeys(named))
	}
	return fmt.Errorf("no key has id %q (allowedKeys holds key ids, as GET /api/keys lists them)", id)
}

func (s *keySnapshot) named(name string) []*Key {
	var out []*Key
	for _, key := range s.list {
		if key.Name == name {
			out = append(out, key)
		}
	}
	return out
}

// describeKeys lists keys as `"config:app" (org acme)`, joined by "or".
func describeKeys(keys []*Key) string {
	parts := make([]string, len(keys))
	for i, key := range keys {
		parts[i] = fmt.Sprintf("%q (org %s)", key.ID, key.Org)
	}
	return strings.Join(parts, " or ")
}

// MigrateAllowed turns a model's allowedKeys stored by an earlier release, whose entries could be
// key names or ids, into ids. An entry of id form stays (a revoked key's too), a name of one key
// becomes its id, a name of none is dropped (returned in dropped), and a name of several is an
// error. Entries of id form are never read as names, so migrating again changes nothing.
func (k *Keyring) MigrateAllowed(model string, entries []string) (ids, dropped []string, err error) {
	s := k.snap.Load()
	ids = make([]string, 0, len(entries))
	add := func(id string) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for i, e := range entries {
		if s.byID[e] != nil || isIDShaped(e) {
			add(e)
			continue
		}
		switch named := s.named(e); len(named) {
		case 0:
			dropped = append(dropped, e)
		case 1:
			add(named[0].ID)
		default:
			return nil, nil, fmt.Errorf("stored model %q: allowedKeys[%d] %q names %d keys, %s; allowedKeys now holds key ids, "+
				"and which key was meant cannot be told: with the release that stored the model, replace the entry with the "+
				"key's id (PUT /api/models/%s) or revoke the other keys, then start this one again",
				model, i, e, len(named), describeKeys(named), model)
		}
	}
	return ids, dropped, nil
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
