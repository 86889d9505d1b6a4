package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/store"
)

var serverPrefix = []byte("mcpserver/")

// stored is a server as the store keeps it: the values of the headers and of the OAuth client
// secret beside the spec, since a Secret never marshals its value. The store is encrypted at
// rest.
type stored struct {
	spec.MCPServer
	HeaderValues      map[string]string `json:"headerValues,omitempty"`
	OAuthClientSecret string            `json:"oauthClientSecret,omitempty"`
}

// Open loads the servers registered through the admin API and starts every server: those of
// the config file (SetConfig) and those.
func (s *Service) Open(st *store.Store) error {
	api := map[string]spec.MCPServer{}
	var bad error
	err := st.Scan(context.Background(), serverPrefix, store.ScanOptions{}, func(_, v []byte) bool {
		var rec stored
		if err := json.Unmarshal(v, &rec); err != nil {
			bad = fmt.Errorf("cannot decode a stored MCP server: %w", err)
			return false
		}
		srv := rec.MCPServer
		srv.Headers = nil
		for k, val := range rec.HeaderValues {
			if srv.Headers == nil {
				srv.Headers = map[string]secret.Secret{}
			}
			srv.Headers[k] = secret.New(val)
		}
		if srv.OAuth != nil {
			o := *srv.OAuth
			o.ClientSecret = secret.New(rec.OAuthClientSecret)
			srv.OAuth = &o
		}
		api[srv.ID] = srv
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.st, s.api = st, api
	s.mu.Unlock()
	s.reapply()
	return nil
}

// SetConfig makes specs the servers of the config file (validated and normalized) and applies
// them with the API's.
func (s *Service) SetConfig(specs []spec.MCPServer) {
	s.mu.Lock()
	s.config = slices.Clone(specs)
	s.mu.Unlock()
	s.reapply()
}

// reapply runs every server: the config file's, then the API's by id. A config server hides an
// API one with its id.
func (s *Service) reapply() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.mu.Lock()
	all := slices.Clone(s.config)
	have := map[string]bool{}
	for _, c := range all {
		have[c.ID] = true
	}
	for _, id := range slices.Sorted(maps.Keys(s.api)) {
		if !have[id] {
			all = append(all, s.api[id])
		}
	}
	s.mu.Unlock()
	s.apply(all)
}

// check validates an API server: its fields, its keys, and its URL under the egress policy.
func (s *Service) check(decl *spec.MCPServer) *fault.Error {
	var es decode.Errors
	decl.Validate("", &es)
	for i, k := range decl.AllowedKeys {
		if s.o.CheckKey != nil {
			if err := s.o.CheckKey(k); err != nil {
				es.Add(decode.Index("allowedKeys", i), "%v", err)
			}
		}
	}
	if p := s.o.Egress(); p != nil && decl.URL != "" && len(es) == 0 {
		if err := p.CheckURL(decl.URL); err != nil {
			es.Add("url", "%v", err)
		}
		if decl.OAuth != nil {
			if err := p.CheckURL(decl.OAuth.TokenURL); err != nil {
				es.Add("oauth.tokenUrl", "%v", err)
			}
		}
	}
	if len(es) == 0 {
		return nil
	}
	return fault.Invalid(es[0].Path, "invalid MCP server: %s", strings.ReplaceAll(es.Error(), "\n", "; "))
}

// Create registers a server through the admin API.
func (s *Service) Create(decl spec.MCPServer) (ServerView, *fault.Error) {
	decl.NormalizeAPI()
	if fe := s.check(&decl); fe != nil {
		return ServerView{}, fe
	}
	s.mu.Lock()
	_, exists := s.api[decl.ID]
	exists = exists || slices.ContainsFunc(s.config, func(c spec.MCPServer) bool { return c.ID == decl.ID })
	s.mu.Unlock()
	if exists {
		return ServerView{}, fault.Conflict("an MCP server with id %q already exists", decl.ID)
	}
	if fe := s.put(decl); fe != nil {
		return ServerView{}, fe
	}
	v, _ := s.View(decl.ID)
	return v, nil
}

// Update replaces a server registered through the API. Headers left out are kept while the
// URL keeps its origin, and dropped (with a warning) when it moves; an OAuth client secret left
// out is kept while both the URL and the token URL keep theirs (and must be sent again when
// either moves); env left out is kept while the
// command's executable stays.
func (s *Service) Update(id string, decl spec.MCPServer) (ServerView, []string, *fault.Error) {
	if decl.ID == "" {
		decl.ID = id
	}
	if decl.ID != id {
		return ServerView{}, nil, fault.Invalid("id", "the body's id %q is not the path's %q", decl.ID, id)
	}
	s.mu.Lock()
	old, ok := s.api[id]
	managed := slices.ContainsFunc(s.config, func(c spec.MCPServer) bool { return c.ID == id })
	s.mu.Unlock()
	switch {
	case managed:
		return ServerView{}, nil, fault.Conflict("MCP server %q is managed by the config file; change it there", id)
	case !ok:
		return ServerView{}, nil, fault.NotFound("mcp_server_not_found", "MCP server %q does not exist", id)
	}
	decl.NormalizeAPI()
	var warnings []string
	if decl.Headers == nil && len(old.Headers) > 0 {
		if decl.URL != "" && decl.Origin() == old.Origin() {
			decl.Headers = old.Headers
		} else {
			warnings = append(warnings, "the stored headers were dropped: the server moved to another origin, and headers are sent only where they were given for; send them again")
		}
	}
	if o := decl.OAuth; o != nil && !o.ClientSecret.IsSet() && old.OAuth != nil && old.OAuth.ClientSecret.IsSet() {
		if decl.URL != "" && decl.Origin() == old.Origin() && o.TokenOrigin() == old.OAuth.TokenOrigin() {
			merged := *o
			merged.ClientSecret = old.OAuth.ClientSecret
			decl.OAuth = &merged
		} else {
			// Without its secret the server cannot be reached: say why rather than "required".
			return ServerView{}, nil, fault.Invalid("oauth.clientSecret", "invalid MCP server: oauth.clientSecret: the stored secret "+
				"is not kept: the server or its token endpoint moved to another origin, and the secret is sent only where it was given for; send it again")
		}
	}
	if decl.Env == nil && len(old.Env) > 0 && len(decl.Command) > 0 && len(old.Command) > 0 && decl.Command[0] == old.Command[0] {
		decl.Env = old.Env // answers never show env's values: one left out is kept for the same executable
	}
	if fe := s.check(&decl); fe != nil {
		return ServerView{}, nil, fe
	}
	if fe := s.put(decl); fe != nil {
		return ServerView{}, nil, fe
	}
	v, _ := s.View(id)
	return v, warnings, nil
}

// Delete removes a server registered through the API; its sessions' tools go away.
func (s *Service) Delete(id string) *fault.Error {
	s.mu.Lock()
	_, ok := s.api[id]
	managed := slices.ContainsFunc(s.config, func(c spec.MCPServer) bool { return c.ID == id })
	st := s.st
	s.mu.Unlock()
	switch {
	case managed:
		return fault.Conflict("MCP server %q is managed by the config file; remove it there", id)
	case !ok || st == nil:
		return fault.NotFound("mcp_server_not_found", "MCP server %q does not exist", id)
	}
	if err := st.Delete(append(slices.Clip(serverPrefix), id...)); err != nil {
		return fault.Internal("cannot delete the MCP server: %v", err)
	}
	s.mu.Lock()
	delete(s.api, id)
	s.mu.Unlock()
	s.reapply()
	return nil
}

func (s *Service) put(decl spec.MCPServer) *fault.Error {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st == nil {
		return fault.Internal("the MCP servers' store is not open")
	}
	rec := stored{MCPServer: decl}
	rec.Headers = nil
	for k, v := range decl.Headers {
		if rec.HeaderValues == nil {
			rec.HeaderValues = map[string]string{}
		}
		rec.HeaderValues[k] = v.Reveal()
	}
	if decl.OAuth != nil {
		rec.OAuthClientSecret = decl.OAuth.ClientSecret.Reveal()
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fault.Internal("cannot encode the MCP server: %v", err)
	}
	if err := st.Put(append(slices.Clip(serverPrefix), decl.ID...), b); err != nil {
		return fault.Internal("cannot store the MCP server: %v", err)
	}
	s.mu.Lock()
	s.api[decl.ID] = decl
	s.mu.Unlock()
	s.reapply()
	return nil
}
