package spec

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/secret"
)

// MCPServer is an MCP server as the config file (mcpServers) and the admin API declare it: a
// streamable HTTP (or SSE) endpoint by URL, or a command run as a child process speaking stdio.
// Its tools are exposed to clients as "<id>__<tool>".
type MCPServer struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// URL is a streamable HTTP endpoint, or an SSE endpoint with transport "sse".
	URL       string `json:"url,omitempty"`
	Transport string `json:"transport,omitempty"`
	// Command is an executable and its arguments, started with the environment process plugins
	// get (PATH, HOME, locale, TLS and proxy settings) plus Env.
	Command []string `json:"command,omitempty"`
	Env     []string `json:"env,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	// Headers are sent with every request to URL. They are write-only: stored encrypted, never
	// returned or logged, and dropped when the URL moves to another origin.
	Headers map[string]secret.Secret `json:"headers,omitempty"`
	// OAuth gets the server's bearer token from an OAuth token endpoint (client credentials).
	OAuth *MCPOAuth `json:"oauth,omitempty"`
	// SecurityPolicy, Org and AllowedKeys say which keys may use the server, as for models.
	SecurityPolicy string      `json:"securityPolicy,omitempty"`
	Org            string      `json:"org,omitempty"`
	AllowedKeys    []string    `json:"allowedKeys,omitempty"`
	Tools          *ToolFilter `json:"tools,omitempty"`
	// TimeoutMs bounds one tool call (default 60000).
	TimeoutMs int    `json:"timeoutMs,omitempty"`
	ManagedBy string `json:"managedBy,omitempty"`
}

// MCPOAuth is the OAuth 2.0 client credentials grant a server with a URL is reached with: the
// gateway gets a token from TokenURL, sends it as the bearer token of every request, and gets a
// new one when it expires or the server answers 401. ClientSecret is write-only, as headers are,
// and dropped when the server's URL or TokenURL moves to another origin.
type MCPOAuth struct {
	TokenURL     string        `json:"tokenUrl"`
	ClientID     string        `json:"clientId"`
	ClientSecret secret.Secret `json:"clientSecret,omitzero"`
	Scopes       []string      `json:"scopes,omitempty"`
	// Audience, when set, is sent to the token endpoint as the audience parameter.
	Audience string `json:"audience,omitempty"`
}

// TokenOrigin is the scheme, host and port of the token endpoint.
func (o *MCPOAuth) TokenOrigin() string {
	u, err := url.Parse(o.TokenURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// ToolFilter selects the tools of a server that clients see: those Allow matches (all when
// empty) that Deny does not. An entry is a tool's name or a pattern where * matches any run of
// characters.
type ToolFilter struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// Transports of a server with a URL.
const (
	MCPStreamable = "streamable"
	MCPSSE        = "sse"
)

// ToolSeparator joins a server's id and a tool's name into the name clients see.
const ToolSeparator = "__"

// MCPDefaultTimeoutMs bounds a tool call whose server sets no timeoutMs.
const MCPDefaultTimeoutMs = 60_000

var (
	mcpIDPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$`)
	mcpHeaderPattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	mcpEnvPattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// Allows reports whether the filter lets clients see the tool named name.
func (f *ToolFilter) Allows(name string) bool {
	if f == nil {
		return true
	}
	if len(f.Allow) > 0 && !slices.ContainsFunc(f.Allow, func(p string) bool { return matchPattern(p, name) }) {
		return false
	}
	return !slices.ContainsFunc(f.Deny, func(p string) bool { return matchPattern(p, name) })
}

// match reports whether name matches pattern, where * matches any run of characters.
func matchPattern(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return len(name) >= len(last) && strings.HasSuffix(name, last)
}

// Normalize fills the defaults of a server of the config file: the public policy, the default
// org, the streamable transport for a URL.
func (s *MCPServer) Normalize() {
	s.ManagedBy = ManagedByConfig
	if s.SecurityPolicy == "" {
		s.SecurityPolicy = Public
	}
	s.fill()
}

// NormalizeAPI fills the defaults of a server registered through the admin API, which is
// private to its org unless it says otherwise, as models are.
func (s *MCPServer) NormalizeAPI() {
	s.ManagedBy = ManagedByAPI
	if s.SecurityPolicy == "" {
		s.SecurityPolicy = Organization
	}
	s.fill()
}

func (s *MCPServer) fill() {
	if s.Org == "" {
		s.Org = DefaultOrg
	}
	if s.URL != "" && s.Transport == "" {
		s.Transport = MCPStreamable
	}
	if s.TimeoutMs == 0 {
		s.TimeoutMs = MCPDefaultTimeoutMs
	}
}

// Validate reports the problems of s, with paths under base. Whether its allowedKeys name keys
// and its URL passes the egress policy is for the caller to check.
func (s *MCPServer) Validate(base string, es *decode.Errors) {
	at := func(field string) string { return decode.Join(base, field) }
	switch {
	case s.ID == "":
		es.Add(at("id"), "is required")
	case len(s.ID) > 64 || !mcpIDPattern.MatchString(s.ID):
		es.Add(at("id"), "%q must be 1-64 letters, digits, '.', '-' or single '_', starting with a letter or digit "+
			"(clients see its tools as <id>__<tool>)", s.ID)
	}
	switch {
	case s.URL == "" && len(s.Command) == 0:
		es.Add(base, "give url (a streamable HTTP or SSE endpoint) or command (a stdio server)")
	case s.URL != "" && len(s.Command) > 0:
		es.Add(base, "give url or command, not both")
	case s.URL != "":
		u, err := url.Parse(s.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			es.Add(at("url"), "must be an http:// or https:// URL")
		case u.User != nil:
			es.Add(at("url"), "must not carry credentials; use headers")
		}
		if s.Transport != MCPStreamable && s.Transport != MCPSSE {
			es.Add(at("transport"), "%q is not one of streamable, sse", s.Transport)
		}
	default:
		if strings.TrimSpace(s.Command[0]) == "" {
			es.Add(decode.Index(at("command"), 0), "must name an executable")
		}
		if s.Transport != "" {
			es.Add(at("transport"), "is only for a server with a url")
		}
		if len(s.Headers) > 0 {
			es.Add(at("headers"), "are only for a server with a url")
		}
		if s.OAuth != nil {
			es.Add(at("oauth"), "is only for a server with a url")
		}
	}
	if len(s.Command) == 0 && (len(s.Env) > 0 || s.Dir != "") {
		es.Add(base, "env and dir are only for a server with a command")
	}
	for i, kv := range s.Env {
		if !mcpEnvPattern.MatchString(kv) {
			es.Add(decode.Index(at("env"), i), "must be NAME=value")
		}
	}
	for name := range s.Headers {
		if !mcpHeaderPattern.MatchString(name) {
			es.Add(decode.Join(at("headers"), name), "is not a valid header name")
		}
	}
	if o := s.OAuth; o != nil && s.URL != "" {
		o.validate(at("oauth"), es)
		for name := range s.Headers {
			if strings.EqualFold(name, "Authorization") {
				es.Add(decode.Join(at("headers"), name), "is set by oauth; give one or the other")
			}
		}
	}
	switch s.SecurityPolicy {
	case Public, Organization, Private:
	default:
		es.Add(at("securityPolicy"), "%q is not one of public, organization, private", s.SecurityPolicy)
	}
	if s.TimeoutMs < 0 {
		es.Add(at("timeoutMs"), "must not be negative")
	}
	if f := s.Tools; f != nil {
		for _, list := range []struct {
			name    string
			entries []string
		}{{"allow", f.Allow}, {"deny", f.Deny}} {
			for i, p := range list.entries {
				if p == "" || strings.ContainsAny(p, " \t\n") {
					es.Add(decode.Index(decode.Join(at("tools"), list.name), i), "%q must be a tool name or a pattern with *", p)
				}
			}
		}
	}
}

func (o *MCPOAuth) validate(base string, es *decode.Errors) {
	at := func(field string) string { return decode.Join(base, field) }
	u, err := url.Parse(o.TokenURL)
	switch {
	case o.TokenURL == "":
		es.Add(at("tokenUrl"), "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		es.Add(at("tokenUrl"), "must be an http:// or https:// URL")
	case u.User != nil:
		es.Add(at("tokenUrl"), "must not carry credentials; use clientId and clientSecret")
	}
	if strings.TrimSpace(o.ClientID) == "" {
		es.Add(at("clientId"), "is required")
	}
	if !o.ClientSecret.IsSet() {
		es.Add(at("clientSecret"), "is required")
	}
	for i, sc := range o.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\n\"\\") {
			es.Add(decode.Index(at("scopes"), i), "%q must be one scope, without spaces or quotes", sc)
		}
	}
}

// ValidateMCPServers checks the config file's servers, with paths under base: each server, and that
// ids are unique.
func ValidateMCPServers(base string, servers []MCPServer, es *decode.Errors) {
	ids := make(map[string]int, len(servers))
	for i := range servers {
		p := decode.Index(base, i)
		servers[i].Validate(p, es)
		if j, dup := ids[servers[i].ID]; dup && servers[i].ID != "" {
			es.Add(decode.Join(p, "id"), "duplicate MCP server id %q (also %s)", servers[i].ID, decode.Index(base, j))
		} else {
			ids[servers[i].ID] = i
		}
	}
}

// Origin is the scheme, host and port of s's URL: headers given for one origin are never sent to
// another.
func (s *MCPServer) Origin() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
