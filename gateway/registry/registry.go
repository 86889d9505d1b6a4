// Package registry holds the models the gateway serves, as an immutable snapshot read without
// locks on every request: those of the config file (seeded at start and on every reload, read-only
// through the API) and those registered through the admin API (kept in the store). The model
// type and its validation are spec's; registry adds search, sharing across nodes, and the views
// with live statistics, and knows nothing of HTTP or upstream calls.
package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
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

// Snapshot is the registry at one moment. It is never modified; readers need no lock.
type Snapshot struct {
	byID map[string]*spec.Entry
	list []*spec.Entry // by id
}

// Get returns the model with id, or nil.
func (s *Snapshot) Get(id string) *spec.Entry { return s.byID[id] }

// All returns every model, by id. The slice must not be modified.
func (s *Snapshot) All() []*spec.Entry { return s.list }

// Registry holds the models the gateway serves.
type Registry struct {
	mu       sync.Mutex // serialises writers
	st       *store.Store
	known    func(provider string) error
	plugin   func(name string) error
	keyID    func(id string) error
	endpoint func(endpoint string) error
	config   map[string]*spec.Entry
	api      map[string]*spec.Entry
	snap     atomic.Pointer[Snapshot]
	onChange []func(*Snapshot)
	now      func() time.Time
	share    func(id string, stored []byte) error // nil when the gateway stands alone
}

var modelPrefix = []byte("model/")

// Open loads the models registered through the API from st. known checks a provider name.
func Open(st *store.Store, known func(provider string) error) (*Registry, error) {
	r := &Registry{st: st, known: known, config: map[string]*spec.Entry{}, api: map[string]*spec.Entry{}, now: time.Now}
	var bad []string
	err := st.Scan(bgContext, modelPrefix, store.ScanOptions{}, func(k, v []byte) bool {
		m, err := unmarshalStored(v)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", k, err))
			return true
		}
		e, err := spec.NewEntry(m)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", k, err))
			return true
		}
		r.api[m.ID] = e
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("cannot load models: %w", err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("cannot load stored models: %s", strings.Join(bad, "; "))
	}
	r.publishLocked()
	return r, nil
}

// SetKeyCheck sets how the entries of an API registration's allowedKeys are checked: check
// returns an error unless its argument is the id of a gateway key. An entry the model had
// already (the id of a key revoked since) is kept unchecked.
func (r *Registry) SetKeyCheck(check func(id string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keyID = check
}

// SetEndpointCheck sets how an API registration's endpoints (its own and its replicas') are
// checked beyond their syntax: the egress policy, which refuses some addresses.
func (r *Registry) SetEndpointCheck(check func(endpoint string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.endpoint = check
}

// SetChecks replaces how provider names and transform plugin names are checked.
func (r *Registry) SetChecks(known func(provider string) error, plugin func(name string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known, r.plugin = known, plugin
}

// OnChange registers fn to be called with every new snapshot (under the writer lock, so calls
// are ordered). It is also called at once with the current one.
func (r *Registry) OnChange(fn func(*Snapshot)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onChange = append(r.onChange, fn)
	fn(r.snap.Load())
}

// Snapshot returns the current models.
func (r *Registry) Snapshot() *Snapshot { return r.snap.Load() }

// ConfigSet is the config file's models compiled, ready to replace the running ones.
type ConfigSet struct{ entries map[string]*spec.Entry }

// PrepareConfig compiles the config file's models without changing what the registry serves,
// so that a reload can fail before anything changed.
func (r *Registry) PrepareConfig(models []spec.Model) (*ConfigSet, error) {
	next := make(map[string]*spec.Entry, len(models))
	for i := range models {
		m := models[i]
		m.ManagedBy = spec.ManagedByConfig
		e, err := spec.NewEntry(&m)
		if err != nil {
			return nil, fmt.Errorf("model %q: %w", m.ID, err)
		}
		next[m.ID] = e
	}
	return &ConfigSet{entries: next}, nil
}

// CommitConfig makes a prepared set the config's models.
func (r *Registry) CommitConfig(set *ConfigSet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.config = set.entries
	r.publishLocked()
}

// SetConfig replaces the config file's models: PrepareConfig, then CommitConfig.
func (r *Registry) SetConfig(models []spec.Model) error {
	set, err := r.PrepareConfig(models)
	if err != nil {
		return err
	}
	r.CommitConfig(set)
	return nil
}

// ConfigShadowed lists API-registered models hidden by config models of the same id.
func (r *Registry) ConfigShadowed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.api {
		if _, ok := r.config[id]; ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// Create registers m through the API. Without a securityPolicy it is for its org only; without
// an org, its org is DefaultOrg.
func (r *Registry) Create(m spec.Model) (*spec.Entry, error) {
	m.NormalizeAPI()
	r.mu.Lock()
	defer r.mu.Unlock()
	if m.ID != "" && r.snap.Load().Get(m.ID) != nil {
		return nil, fault.Conflict("a model with id %q already exists", m.ID)
	}
	if err := r.checkLocked(&m, nil); err != nil {
		return nil, err
	}
	now := r.now().UTC()
	m.CreatedAt, m.UpdatedAt = now, now
	return r.putLocked(&m)
}

// Update replaces the API-registered model id with m, with Create's defaults. An empty apiKey
// keeps the stored one, as long as the model keeps its provider and its endpoint's origin
// (scheme, host, port): a key goes only where it was given for, so a change of either drops it
// unless m brings one. warnings says so when it does.
func (r *Registry) Update(id string, m spec.Model) (e *spec.Entry, warnings []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load().Get(id)
	if old == nil {
		return nil, nil, fault.NotFound("model_not_found", "model %q does not exist", id)
	}
	if old.ManagedBy == spec.ManagedByConfig {
		return nil, nil, configOwned(id)
	}
	if m.ID != "" && m.ID != id {
		return nil, nil, fault.Invalid("id", "id %q in the body does not match %q in the path", m.ID, id)
	}
	m.ID = id
	m.NormalizeAPI()
	if !m.APIKey.IsSet() && old.APIKey.IsSet() {
		switch from, to := Origin(old.Endpoint), Origin(m.Endpoint); {
		case from != to:
			warnings = append(warnings, fmt.Sprintf("apiKey was dropped: the stored key was given for %s and goes nowhere else; send apiKey to set one for %s", originName(from), originName(to)))
		case old.Provider != m.Provider:
			warnings = append(warnings, fmt.Sprintf("apiKey was dropped: the stored key was given for provider %q; send apiKey to set one for provider %q", old.Provider, m.Provider))
		default:
			m.APIKey = old.APIKey
		}
	}
	if err := r.checkLocked(&m, old.Model); err != nil {
		return nil, nil, err
	}
	m.CreatedAt, m.UpdatedAt = old.CreatedAt, r.now().UTC()
	e, err = r.putLocked(&m)
	if err != nil {
		return nil, nil, err
	}
	return e, warnings, nil
}

// Origin returns an endpoint's scheme, host and port, normalised ("https://api.openai.com:443"),
// or "" for none.
func Origin(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func originName(origin string) string {
	if origin == "" {
		return "no endpoint"
	}
	return origin
}

// Delete removes the API-registered model id.
func (r *Registry) Delete(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snap.Load().Get(id)
	if old == nil {
		return fault.NotFound("model_not_found", "model %q does not exist", id)
	}
	if old.ManagedBy == spec.ManagedByConfig {
		return configOwned(id)
	}
	for _, e := range r.snap.Load().All() {
		if slices.Contains(e.Fallbacks, id) {
			return fault.Conflict("model %q is a fallback of model %q; remove it there first", id, e.ID)
		}
	}
	if err := r.shareLocked(id, nil); err != nil {
		return err
	}
	if err := r.st.Delete(storeKey(id)); err != nil {
		return fault.Internal("cannot delete model %q: %v", id, err)
	}
	delete(r.api, id)
	r.publishLocked()
	return nil
}

func configOwned(id string) error {
	return fault.Conflict("model %q is managed by the config file and is read-only through the API; change the config file instead", id)
}

// checkLocked validates m, an API registration replacing old (nil for a new one).
func (r *Registry) checkLocked(m *spec.Model, old *spec.Model) error {
	var es decode.Errors
	m.ValidateWith("", r.known, r.plugin, &es)
	snap := r.snap.Load()
	for i, f := range m.Fallbacks {
		if snap.Get(f) == nil && f != m.ID {
			es.Add(decode.Index("fallbacks", i), "unknown model %q", f)
		}
	}
	if r.endpoint != nil {
		if m.Endpoint != "" {
			if err := r.endpoint(m.Endpoint); err != nil {
				es.Add("endpoint", "%v", err)
			}
		}
		for i, rp := range m.Replicas {
			if err := r.endpoint(rp.Endpoint); err != nil {
				es.Add(decode.Join(decode.Index("replicas", i), "endpoint"), "%v", err)
			}
		}
	}
	for i, k := range m.AllowedKeys {
		if r.keyID == nil || strings.TrimSpace(k) == "" || old != nil && slices.Contains(old.AllowedKeys, k) {
			continue
		}
		if err := r.keyID(k); err != nil {
			es.Add(decode.Index("allowedKeys", i), "%v", err)
		}
	}
	if len(es) > 0 {
		return InvalidModel(es)
	}
	return nil
}

// InvalidModel turns validation errors into a 400 naming the first field at fault.
func InvalidModel(es decode.Errors) error {
	fe := fault.Invalid(es[0].Path, "invalid model: %s", es.Error())
	fe.Message = strings.ReplaceAll(fe.Message, "\n", "; ")
	return fe
}

func (r *Registry) putLocked(m *spec.Model) (*spec.Entry, error) {
	e, err := spec.NewEntry(m)
	if err != nil {
		return nil, fault.Invalid("", "invalid model: %v", err)
	}
	b, err := marshalStored(m)
	if err != nil {
		return nil, fault.Internal("cannot encode model: %v", err)
	}
	if err := r.shareLocked(m.ID, b); err != nil {
		return nil, err
	}
	if err := r.st.Put(storeKey(m.ID), b); err != nil {
		return nil, fault.Internal("cannot store model %q: %v", m.ID, err)
	}
	r.api[m.ID] = e
	r.publishLocked()
	return e, nil
}

func (r *Registry) publishLocked() {
	byID := make(map[string]*spec.Entry, len(r.api)+len(r.config))
	for id, e := range r.api {
		byID[id] = e
	}
	for id, e := range r.config {
		byID[id] = e
	}
	list := make([]*spec.Entry, 0, len(byID))
	for _, e := range byID {
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	s := &Snapshot{byID: byID, list: list}
	r.snap.Store(s)
	for _, fn := range r.onChange {
		fn(s)
	}
}

// MigrateAllowedKeys gives each API-registered model the allowedKeys fix returns for it, storing
// the models that change. It is for start-up, before the registry serves: allowedKeys of
// earlier releases could name keys, and now holds key ids. fix returns an error for a model
// whose entries cannot be turned into ids; the models before it stay migrated, and a later
// start carries on from there.
func (r *Registry) MigrateAllowedKeys(fix func(m *spec.Model) ([]string, error)) (changed []string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if len(changed) > 0 {
			r.publishLocked()
		}
	}()
	ids := make([]string, 0, len(r.api))
	for id := range r.api {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		e := r.api[id]
		if len(e.AllowedKeys) == 0 {
			continue
		}
		keys, err := fix(e.Model)
		if err != nil {
			return changed, err
		}
		if slices.Equal(keys, e.AllowedKeys) {
			continue
		}
		m := *e.Model
		m.AllowedKeys = keys
		b, err := marshalStored(&m)
		if err != nil {
			return changed, fmt.Errorf("cannot encode model %q: %w", id, err)
		}
		if err := r.st.Put(storeKey(id), b); err != nil {
			return changed, fmt.Errorf("cannot store model %q: %w", id, err)
		}
		r.api[id] = &spec.Entry{Model: &m, Input: e.Input, Output: e.Output}
		changed = append(changed, id)
	}
	return changed, nil
}

// UniqueID returns base, or base-2, base-3… whichever is free.
func (s *Snapshot) UniqueID(base string) string {
	if s.Get(base) == nil {
		return base
	}
	for i := 2; ; i++ {
		if id := base + "-" + strconv.Itoa(i); s.Get(id) == nil {
			return id
		}
	}
}

// CreateUnique is Create, with a numeric suffix added to a derived id that is taken.
func (r *Registry) CreateUnique(m spec.Model) (*spec.Entry, error) {
	if m.ID == "" {
		m.ID = r.Snapshot().UniqueID(spec.Slug(m.Name))
	}
	return r.Create(m)
}

func storeKey(id string) []byte { return append(slices.Clip(modelPrefix), id...) }

// stored is the store's encoding of a model: the API key travels in its own field, since the
// model's own encoding never includes it. The store is encrypted at rest.
type stored struct {
	spec.Model
	Key         string   `json:"storedApiKey,omitempty"`
	ReplicaKeys []string `json:"storedReplicaKeys,omitempty"`
}

func marshalStored(m *spec.Model) ([]byte, error) {
	s := stored{Model: *m, Key: m.APIKey.Reveal()}
	s.APIKey = secret.Secret{}
	if len(m.Replicas) > 0 {
		s.Replicas = slices.Clone(m.Replicas)
		s.ReplicaKeys = make([]string, len(m.Replicas))
		for i := range s.Replicas {
			s.ReplicaKeys[i] = s.Replicas[i].APIKey.Reveal()
			s.Replicas[i].APIKey = secret.Secret{}
		}
	}
	return json.Marshal(s)
}

func unmarshalStored(b []byte) (*spec.Model, error) {
	var s stored
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	if s.ID == "" {
		return nil, errors.New("stored model has no id")
	}
	m := s.Model
	m.APIKey = secret.New(s.Key)
	for i := range m.Replicas {
		if i < len(s.ReplicaKeys) {
			m.Replicas[i].APIKey = secret.New(s.ReplicaKeys[i])
		}
	}
	return &m, nil
}
