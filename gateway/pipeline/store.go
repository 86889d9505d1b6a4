package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
)

// Set holds the pipelines: from the config file (read-only through the API) and from the API
// (persisted). Each is compiled against the current registry and plugins, and again whenever
// they change; a pipeline whose model went away stays listed, with its problems.
type Set struct {
	mu      sync.Mutex
	st      *store.Store
	catalog Catalog
	config  map[string]*spec.Pipeline
	api     map[string]*spec.Pipeline
	snap    atomic.Pointer[map[string]*Entry]
	now     func() time.Time
	share   func(id string, stored []byte) error // nil when the gateway stands alone
	changed func(ids map[string]bool)            // nil until OnChange
}

// Entry is a pipeline with its plan, or the problems that keep it from having one.
type Entry struct {
	*spec.Pipeline
	Plan     *Plan         `json:"-"`
	Problems spec.Problems `json:"problems,omitempty"`
}

var pipelinePrefix = []byte("pipeline/")

// OpenSet loads the pipelines created through the API.
func OpenSet(st *store.Store, catalog Catalog) (*Set, error) {
	s := &Set{st: st, catalog: catalog, config: map[string]*spec.Pipeline{}, api: map[string]*spec.Pipeline{}, now: time.Now}
	var bad error
	err := st.Scan(context.Background(), pipelinePrefix, store.ScanOptions{}, func(_, v []byte) bool {
		var p spec.Pipeline
		if err := json.Unmarshal(v, &p); err != nil {
			bad = fmt.Errorf("cannot decode a stored pipeline: %w", err)
			return false
		}
		s.api[p.ID] = &p
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.publishLocked()
	s.mu.Unlock()
	return s, nil
}

// Recompile compiles every pipeline again (the registry or the plugins changed).
func (s *Set) Recompile() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publishLocked()
}

// OnChange has f called with the ids of the pipelines after every change, however made (config,
// admin API, another node), under the set's lock: f must not call the set.
func (s *Set) OnChange(f func(ids map[string]bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = f
}

// SetConfig replaces the config file's pipelines.
func (s *Set) SetConfig(ps []spec.Pipeline) {
	m := make(map[string]*spec.Pipeline, len(ps))
	for i := range ps {
		p := ps[i]
		p.ManagedBy = spec.ManagedByConfig
		m[p.ID] = &p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.config = m
	s.publishLocked()
}

func (s *Set) publishLocked() {
	m := make(map[string]*Entry, len(s.api)+len(s.config))
	for _, src := range []map[string]*spec.Pipeline{s.api, s.config} {
		for id, p := range src {
			plan, problems := Compile(p, s.catalog)
			m[id] = &Entry{Pipeline: p, Plan: plan, Problems: problems}
		}
	}
	s.snap.Store(&m)
	if s.changed != nil {
		ids := make(map[string]bool, len(m))
		for id := range m {
			ids[id] = true
		}
		s.changed(ids)
	}
}

// Get returns the pipeline id, or nil.
func (s *Set) Get(id string) *Entry { return (*s.snap.Load())[id] }

// List returns every pipeline, by id.
func (s *Set) List() []*Entry {
	m := *s.snap.Load()
	out := make([]*Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Invalid turns problems into a 400 error whose message lists them.
func Invalid(ps spec.Problems) *fault.Error {
	param := ps[0].Field
	if ps[0].Node != "" {
		param = "nodes." + ps[0].Node
	}
	return fault.Invalid(param, "invalid pipeline: %s", ps.Error())
}

// Validate compiles p without storing it.
func (s *Set) Validate(p *spec.Pipeline) spec.Problems {
	_, ps := Compile(p, s.catalog)
	return ps
}

// Create stores a pipeline made through the API; an id is derived from the name if missing.
func (s *Set) Create(p spec.Pipeline) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.ID == "" {
		p.ID = s.uniqueIDLocked(spec.Slug(p.Name))
	} else if s.config[p.ID] != nil || s.api[p.ID] != nil {
		return nil, fault.Conflict("a pipeline with id %q already exists", p.ID)
	}
	now := s.now().UTC()
	p.CreatedAt, p.UpdatedAt = now, now
	return s.putLocked(p)
}

// Update replaces the API-made pipeline id.
func (s *Set) Update(id string, p spec.Pipeline) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.config[id] != nil {
		return nil, configOwned(id)
	}
	old := s.api[id]
	if old == nil {
		return nil, fault.NotFound("pipeline_not_found", "pipeline %q does not exist", id)
	}
	if p.ID != "" && p.ID != id {
		return nil, fault.Invalid("id", "id %q in the body does not match %q in the path", p.ID, id)
	}
	p.ID, p.CreatedAt, p.UpdatedAt = id, old.CreatedAt, s.now().UTC()
	return s.putLocked(p)
}

func (s *Set) putLocked(p spec.Pipeline) (*Entry, error) {
	p.ManagedBy = spec.ManagedByAPI
	if _, ps := Compile(&p, s.catalog); len(ps) > 0 {
		return nil, Invalid(ps)
	}
	b, err := json.Marshal(&p)
	if err != nil {
		return nil, fault.Internal("cannot encode pipeline: %v", err)
	}
	if err := s.shareLocked(p.ID, b); err != nil {
		return nil, err
	}
	if err := s.st.Put(append(append([]byte(nil), pipelinePrefix...), p.ID...), b); err != nil {
		return nil, fault.Internal("cannot store pipeline %q: %v", p.ID, err)
	}
	s.api[p.ID] = &p
	s.publishLocked()
	return (*s.snap.Load())[p.ID], nil
}

// Delete removes the API-made pipeline id.
func (s *Set) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.config[id] != nil {
		return configOwned(id)
	}
	if s.api[id] == nil {
		return fault.NotFound("pipeline_not_found", "pipeline %q does not exist", id)
	}
	if err := s.shareLocked(id, nil); err != nil {
		return err
	}
	if err := s.st.Delete(append(append([]byte(nil), pipelinePrefix...), id...)); err != nil {
		return fault.Internal("cannot delete pipeline %q: %v", id, err)
	}
	delete(s.api, id)
	s.publishLocked()
	return nil
}

func (s *Set) uniqueIDLocked(base string) string {
	if base == "" {
		base = "pipeline"
	}
	id := base
	for i := 2; s.config[id] != nil || s.api[id] != nil; i++ {
		id = fmt.Sprintf("%s-%d", base, i)
	}
	return id
}

func configOwned(id string) error {
	return fault.Conflict("pipeline %q is managed by the config file and is read-only through the API; change the config file instead", id)
}

// Uses reports whether a pipeline uses model id (for listings: a key sees a pipeline when it may
// use every model in it).
func (e *Entry) Uses() []string {
	if e.Plan == nil {
		return nil
	}
	return e.Plan.Models()
}

// Summary is a one-line description of the problems, for logs.
func (e *Entry) Summary() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.Error())
	}
	return strings.Join(parts, "; ")
}
