// Package config loads the gateway's one YAML file: it expands ${ENV} references, decodes
// strictly (unknown fields are errors), fills defaults and validates everything, reporting each
// problem with its path (`models[2].fallbacks[0]: unknown model "gpt-5"`). Loading has no side
// effects, so `iom validate` and `iom serve` run the same Load and a failed reload leaves the
// running config alone; gateway/app, not this package, builds the runtime from a File.
package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
)

// File is the whole config file.
type File struct {
	Server    Server              `json:"server"`
	Admin     Admin               `json:"admin"`
	Log       Log                 `json:"log"`
	AccessLog AccessLog           `json:"accessLog"` // a line per data-plane request
	Records   Records             `json:"records"`
	Responses Responses           `json:"responses"` // kept by the Responses API
	Providers map[string]Provider `json:"providers,omitempty"`
	Models    []spec.Model        `json:"models,omitempty"`
	Keys      []spec.KeyConfig    `json:"keys,omitempty"`
	// Orgs sets budgets shared by all keys of an organisation.
	Orgs []Org `json:"orgs,omitempty"`
	// Plugins are WASM modules and process plugins: transforms, provider adapters, local models.
	Plugins   []Plugin        `json:"plugins,omitempty"`
	Pipelines []spec.Pipeline `json:"pipelines,omitempty"`
	// Egress limits where upstream calls may connect.
	Egress Egress `json:"egress"`
	// Cluster, when set, shares limits and budgets with other nodes through Redis.
	Cluster *Cluster `json:"cluster,omitempty"`
	Metrics Metrics  `json:"metrics"`
	// MCPServers are the MCP servers whose tools the data plane's /mcp endpoint serves.
	MCPServers []spec.MCPServer `json:"mcpServers,omitempty"`
	// Telemetry exports OpenTelemetry traces of the data plane.
	Telemetry Telemetry `json:"telemetry"`
}

// Telemetry configures OpenTelemetry traces: a span per data-plane request, upstream attempt,
// pipeline step and plugin call, exported over OTLP. Off by default; the W3C traceparent of a
// request is continued and passed upstream, and x-iom-trace-id answered, either way. Fields left
// empty take the standard OTEL_* environment variables, then the SDK's defaults.
type Telemetry struct {
	Enabled bool `json:"enabled"`
	// ServiceName is the service.name of the spans (default: OTEL_SERVICE_NAME, else "iom").
	ServiceName string `json:"serviceName"`
	OTLP        OTLP   `json:"otlp"`
	// Sampling is the share of new traces recorded, from 0 to 1 (default 1); a request with a
	// traceparent follows its sampled flag.
	Sampling *float64 `json:"sampling"`
	// TraceURL links a trace id to a trace viewer: {traceId} is replaced by the id.
	TraceURL string `json:"traceUrl"`
	// Content puts prompts and completions on the spans; off by default, as they may be personal.
	Content bool `json:"content"`
}

// OTLP is where the spans are exported.
type OTLP struct {
	// Endpoint is the collector's URL (http://host:4317 for grpc, http://host:4318 for http; a
	// path after it is kept for http); empty: OTEL_EXPORTER_OTLP_ENDPOINT, else localhost.
	Endpoint string `json:"endpoint"`
	// Protocol is grpc or http (protobuf over HTTP); empty: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc.
	Protocol string `json:"protocol"`
	// Headers go with every export (an authorization header, say).
	Headers map[string]secret.Secret `json:"headers,omitempty"`
}

// Plugin declares a WASM module (path) or a process plugin (process).
type Plugin struct {
	Name string `json:"name"`
	// Path is a WASM module.
	Path string `json:"path,omitempty"`
	// Process is a go-plugin executable, with its arguments, environment and sha256.
	Process  string   `json:"process,omitempty"`
	Args     []string `json:"args,omitempty"`
	Env      []string `json:"env,omitempty"`
	SHA256   string   `json:"sha256,omitempty"`
	Language string   `json:"language,omitempty"`
	// Config is given to the plugin with every call.
	Config any           `json:"config,omitempty"`
	Limits *PluginLimits `json:"limits,omitempty"`
	Allow  *PluginAllow  `json:"allow,omitempty"`
}

// PluginLimits bound a plugin's calls.
type PluginLimits struct {
	MemoryMB  int `json:"memoryMB,omitempty"`  // WASM: memory cap per instance (default 64)
	TimeoutMs int `json:"timeoutMs,omitempty"` // per call (default 1000 for WASM, the model's timeout for providers)
	Instances int `json:"instances,omitempty"` // WASM: pooled instances (default: half the CPUs, at least 1)
}

// PluginAllow grants a WASM plugin what the sandbox withholds by default.
type PluginAllow struct {
	Clock  bool `json:"clock,omitempty"`
	Random bool `json:"random,omitempty"`
}

// Kind is "wasm" or "process".
func (p *Plugin) Kind() string {
	if p.Process != "" {
		return "process"
	}
	return "wasm"
}

// Org is an organisation's settings.
type Org struct {
	Name   string       `json:"name"`
	Budget *spec.Budget `json:"budget,omitempty"`
}

// Server holds listeners and limits.
type Server struct {
	Listen      string `json:"listen"`
	AdminListen string `json:"adminListen"`
	DataDir     string `json:"dataDir"`
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int `json:"maxBodyBytes"`
	// IdleTimeoutMs closes idle client keep-alive connections (default 120000).
	IdleTimeoutMs int `json:"idleTimeoutMs"`
	// ReadTimeoutMs bounds reading a request's body, from the end of its header (default 30000).
	ReadTimeoutMs int `json:"readTimeoutMs"`
	// ReadHeaderTimeoutMs bounds the wait for a new connection's first byte, and for a request's
	// header from its first byte (default 10000, at most readTimeoutMs): a client that connects
	// and sends nothing is disconnected after it.
	ReadHeaderTimeoutMs int `json:"readHeaderTimeoutMs"`
	// WriteTimeoutMs bounds each write to a client (default 30000): a client that stops reading,
	// during a stream or a large answer, is disconnected after it. A stream that keeps being read
	// runs as long as it lasts.
	WriteTimeoutMs int `json:"writeTimeoutMs"`
	// MaxHeaderBytes bounds a request's line and header (default 16384); larger ones get 431.
	MaxHeaderBytes int `json:"maxHeaderBytes"`
	// MaxConns bounds the connections each listener holds open (default 16384); one more is
	// answered 503 and closed.
	MaxConns int `json:"maxConns"`
	// MaxConnsPerIP bounds the connections one client address holds open on each listener
	// (default 1024; an IPv6 client counts by its /64); one more is answered 429 and closed.
	MaxConnsPerIP int `json:"maxConnsPerIp"`
	// AuthFailures locks out a client address that keeps sending wrong keys or admin tokens.
	AuthFailures AuthFailures `json:"authFailures"`
	// CORS lets browser apps on other origins call the data plane; nothing is allowed by default.
	CORS *CORS `json:"cors,omitempty"`
}

// AuthFailures rate-limits failed authentication per client address, on each listener: after
// Limit wrong keys (or admin tokens) within WindowMs, the address gets 429 for LockoutMs without
// its key being checked. A request without a key is not a failure; a success resets nothing.
type AuthFailures struct {
	Limit     int `json:"limit"`     // default 20
	WindowMs  int `json:"windowMs"`  // default 60000
	LockoutMs int `json:"lockoutMs"` // default 60000
}

// CORS configures cross-origin requests to the data plane.
type CORS struct {
	// AllowedOrigins are exact origins ("https://app.example.com") or "*".
	AllowedOrigins []string `json:"allowedOrigins"`
	// AllowedHeaders default to whatever the browser asks for.
	AllowedHeaders []string `json:"allowedHeaders,omitempty"`
	// AllowedMethods default to GET, POST.
	AllowedMethods []string `json:"allowedMethods,omitempty"`
	MaxAgeSeconds  int      `json:"maxAgeSeconds,omitempty"`
}

// Admin configures the admin API.
type Admin struct {
	// Token is the bearer token for /api; empty means generate one on first start.
	Token secret.Secret `json:"token"`
}

// Log configures the gateway's log.
type Log struct {
	Level  string `json:"level"`  // debug, info, warn, error
	Format string `json:"format"` // text or json
}

// The values of log.level and log.format (and of serve's --log-level and --log-format).
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

// AccessLog configures the access log: one structured line per data-plane request, with the
// facts of its record (ids, model, status, latency, tokens, cost) and never a secret, a prompt,
// an answer or an upstream address. It is off by default: a line per request costs the hot path.
type AccessLog struct {
	Enabled bool   `json:"enabled"`
	Format  string `json:"format"` // json (default) or text
	// File is where the lines go, rotated by size; empty: stderr.
	File string `json:"file"`
	// MaxSizeMB rotates the file when it would grow past it (default 100); MaxBackups rotated
	// files are kept (default 5, 0 keeps all), each at most MaxAgeDays days (default 7, 0 keeps
	// them whatever their age).
	MaxSizeMB  int  `json:"maxSizeMB"`
	MaxBackups *int `json:"maxBackups"`
	MaxAgeDays *int `json:"maxAgeDays"`
	// Sample is the share of successful requests logged, from 0 to 1 (default 1); a request
	// that failed is always logged.
	Sample *float64 `json:"sample"`
	// Fields are the fields each line has (AccessLogFields); empty: all of them.
	Fields []string `json:"fields"`
	// Exclude are the paths of requests not logged: an exact path, or a prefix ending in *
	// (default ["/v1/models"]; [] logs every path).
	Exclude []string `json:"exclude"`
}

// AccessLogFields are the fields of an access-log line, in the order they are written.
var AccessLogFields = []string{"time", "requestId", "keyId", "org", "model", "servedBy", "provider", "status",
	"errorKind", "latencyMs", "firstByteMs", "inputTokens", "outputTokens", "costUsd", "cache", "fallback",
	"clientIp", "op", "stream", "path", "traceId"}

// Defaults and bounds of accessLog.
const (
	DefaultAccessLogMaxSizeMB  = 100
	DefaultAccessLogMaxBackups = 5
	DefaultAccessLogMaxAgeDays = 7
	MaxAccessLogSizeMB         = 1 << 20 // 1 TiB
)

// SampleRate is accessLog.sample, or its default.
func (a *AccessLog) SampleRate() float64 {
	if a.Sample == nil {
		return 1
	}
	return *a.Sample
}

// Backups is accessLog.maxBackups, or its default.
func (a *AccessLog) Backups() int {
	if a.MaxBackups == nil {
		return DefaultAccessLogMaxBackups
	}
	return *a.MaxBackups
}

// AgeDays is accessLog.maxAgeDays, or its default.
func (a *AccessLog) AgeDays() int {
	if a.MaxAgeDays == nil {
		return DefaultAccessLogMaxAgeDays
	}
	return *a.MaxAgeDays
}

// Records configures invocation records.
type Records struct {
	// RetentionHours is how long invocation records are kept.
	RetentionHours int `json:"retentionHours"`
}

// Responses configures the responses kept by the Responses API, for GET /v1/responses/{id} and
// for continuing a conversation with previous_response_id.
type Responses struct {
	// RetentionHours is how long a stored response is kept (default 720: 30 days).
	RetentionHours int `json:"retentionHours"`
}

// Bounds of responses.retentionHours: the default, and at most ten years.
const (
	DefaultResponsesRetentionHours = 720
	MaxResponsesRetentionHours     = 87600
)

// Provider holds defaults shared by every model of one provider.
type Provider struct {
	// APIKey is used by the provider's models that set no apiKey of their own, when their
	// endpoint's host is the vendor's own API or one of KeyHosts.
	APIKey secret.Secret `json:"apiKey"`
	// KeyHosts are more hosts APIKey goes to: host (HTTPS, port 443), host:port (that port,
	// either scheme), *.example.com[:port] (its subdomains).
	KeyHosts []string          `json:"keyHosts,omitempty"`
	Headers  map[string]string `json:"headers,omitempty"`
}

// Egress is the policy of which addresses upstream calls may connect to: entries are addresses,
// CIDRs or host names (*.corp.example.com), each with an optional port, as docs/DESIGN.md shows.
// Deny wins over allow; allow reopens what is refused by default: link-local and cloud metadata
// addresses, and the gateway's own listeners (only by an entry that names the listener's port).
type Egress struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// EgressPolicy compiles the file's egress policy, refusing its own listeners as configured (the
// server adds the addresses it actually listens on).
func (f *File) EgressPolicy() (*egress.Policy, error) {
	p, err := egress.New(f.Egress.Allow, f.Egress.Deny)
	if err != nil {
		return nil, err
	}
	return p.WithListeners(egress.ListenerAddrs(f.Server.Listen, f.Server.AdminListen), egress.LocalAddrs()), nil
}

// Defaults.
const (
	DefaultListen       = ":8080"
	DefaultAdminListen  = "127.0.0.1:8081"
	DefaultDataDir      = "./data"
	DefaultMaxBodyBytes = 4 << 20

	DefaultReadHeaderTimeoutMs = 10_000
	DefaultWriteTimeoutMs      = 30_000
	DefaultMaxHeaderBytes      = 16 << 10
	// MaxHeaderBytesLimit caps server.maxHeaderBytes: every connection reading a request holds
	// a buffer of that size.
	MaxHeaderBytesLimit        = 1 << 20
	DefaultMaxConns            = 16384
	DefaultMaxConnsPerIP       = 1024
	DefaultAuthFailureLimit    = 20
	DefaultAuthFailureWindowMs = 60_000
	DefaultAuthLockoutMs       = 60_000
)

// Options are checks that depend on the running program, not the file.
type Options struct {
	// KnownProvider reports whether a built-in provider name exists. Plugin-backed names
	// (wasm:<name>, plugin:<name>) are checked against the file's plugins.
	KnownProvider func(name string) error
	// CheckFiles checks that the plugins' files exist.
	CheckFiles bool
	// CheckPipeline compiles a pipeline against what the file declares and returns its
	// problems; the runtime that runs pipelines provides it. Without it, pipelines are not
	// checked beyond their ids.
	CheckPipeline func(p *spec.Pipeline, cat spec.Catalog) spec.Problems
}

// Load reads, decodes and validates the file at path. The error, if any, is a decode.Errors
// listing every problem with its path.
func Load(path string, o Options) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	return Parse(src, o)
}

// Parse is Load for a file already read.
func Parse(src []byte, o Options) (*File, error) {
	var tree any
	if err := yaml.UnmarshalWithOptions(src, &tree, yaml.Strict()); err != nil {
		return nil, decode.Errors{{Msg: "invalid YAML: " + oneLine(yaml.FormatError(err, false, false))}}
	}
	if tree == nil {
		tree = map[string]any{}
	}
	tree = expandEnv(tree)
	var f File
	es := decode.Into(tree, &f, "")
	f.fillDefaults()
	// Validate even a file that did not decode cleanly, so one run reports every problem; a
	// value that failed to decode is not blamed twice.
	bad := make(map[string]bool, len(es))
	for _, e := range es {
		bad[e.Path] = true
	}
	for _, e := range f.Validate(o) {
		if !bad[e.Path] {
			es = append(es, e)
		}
	}
	if len(es) > 0 {
		return nil, es
	}
	return &f, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (f *File) fillDefaults() {
	s := &f.Server
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.AdminListen == "" {
		s.AdminListen = DefaultAdminListen
	}
	if s.DataDir == "" {
		s.DataDir = DefaultDataDir
	}
	if s.MaxBodyBytes == 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.IdleTimeoutMs == 0 {
		s.IdleTimeoutMs = 120_000
	}
	if s.ReadTimeoutMs == 0 {
		s.ReadTimeoutMs = 30_000
	}
	if s.ReadHeaderTimeoutMs == 0 {
		s.ReadHeaderTimeoutMs = DefaultReadHeaderTimeoutMs
	}
	if s.WriteTimeoutMs == 0 {
		s.WriteTimeoutMs = DefaultWriteTimeoutMs
	}
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if s.MaxConns == 0 {
		s.MaxConns = DefaultMaxConns
	}
	if s.MaxConnsPerIP == 0 {
		s.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	a := &s.AuthFailures
	if a.Limit == 0 {
		a.Limit = DefaultAuthFailureLimit
	}
	if a.WindowMs == 0 {
		a.WindowMs = DefaultAuthFailureWindowMs
	}
	if a.LockoutMs == 0 {
		a.LockoutMs = DefaultAuthLockoutMs
	}
	if f.Log.Level == "" {
		f.Log.Level = "info"
	}
	if f.Log.Format == "" {
		f.Log.Format = "text"
	}
	al := &f.AccessLog
	if al.Format == "" {
		al.Format = "json"
	}
	if al.MaxSizeMB == 0 {
		al.MaxSizeMB = DefaultAccessLogMaxSizeMB
	}
	if al.MaxBackups == nil {
		al.MaxBackups = new(int(DefaultAccessLogMaxBackups))
	}
	if al.MaxAgeDays == nil {
		al.MaxAgeDays = new(int(DefaultAccessLogMaxAgeDays))
	}
	if al.Sample == nil {
		al.Sample = new(1.0)
	}
	if al.Exclude == nil {
		al.Exclude = []string{"/v1/models"}
	}
	if f.Records.RetentionHours == 0 {
		f.Records.RetentionHours = 7 * 24
	}
	if f.Cluster != nil {
		f.Cluster.fillDefaults(f.Server.Listen)
	}
	if f.Metrics.VictoriaMetrics != nil {
		f.Metrics.VictoriaMetrics.fillDefaults()
	}
	if f.Responses.RetentionHours == 0 {
		f.Responses.RetentionHours = DefaultResponsesRetentionHours
	}
	names := make(map[string]bool, len(f.Keys))
	for _, k := range f.Keys {
		names[k.Name] = true
	}
	for i := range f.Models {
		m := &f.Models[i]
		m.Normalize()
		// The file names its keys; the gateway knows them by id.
		for j, e := range m.AllowedKeys {
			if names[e] {
				m.AllowedKeys[j] = spec.ConfigKeyID(e)
			}
		}
	}
	for i := range f.MCPServers {
		s := &f.MCPServers[i]
		s.Normalize()
		for j, e := range s.AllowedKeys {
			if names[e] {
				s.AllowedKeys[j] = spec.ConfigKeyID(e)
			}
		}
	}
}

// Validate checks the whole file and returns every problem.
func (f *File) Validate(o Options) decode.Errors {
	var es decode.Errors
	checkAddr := func(path, addr string) {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			es.Add(path, "%q is not a host:port address", addr)
		}
	}
	checkAddr("server.listen", f.Server.Listen)
	checkAddr("server.adminListen", f.Server.AdminListen)
	if f.Server.MaxBodyBytes < 1024 {
		es.Add("server.maxBodyBytes", "must be at least 1024, got %d", f.Server.MaxBodyBytes)
	}
	if f.Server.IdleTimeoutMs < 0 {
		es.Add("server.idleTimeoutMs", "must not be negative")
	}
	if f.Server.ReadTimeoutMs < 0 {
		es.Add("server.readTimeoutMs", "must not be negative")
	}
	atLeast := func(path string, v, least int) {
		if v < least {
			es.Add(path, "must be at least %d, got %d", least, v)
		}
	}
	atLeast("server.readHeaderTimeoutMs", f.Server.ReadHeaderTimeoutMs, 1)
	atLeast("server.writeTimeoutMs", f.Server.WriteTimeoutMs, 1)
	atLeast("server.maxHeaderBytes", f.Server.MaxHeaderBytes, 4096)
	if f.Server.MaxHeaderBytes > MaxHeaderBytesLimit {
		es.Add("server.maxHeaderBytes", "must be at most %d, got %d", MaxHeaderBytesLimit, f.Server.MaxHeaderBytes)
	}
	atLeast("server.maxConns", f.Server.MaxConns, 1)
	atLeast("server.maxConnsPerIp", f.Server.MaxConnsPerIP, 1)
	atLeast("server.authFailures.limit", f.Server.AuthFailures.Limit, 1)
	atLeast("server.authFailures.windowMs", f.Server.AuthFailures.WindowMs, 1)
	atLeast("server.authFailures.lockoutMs", f.Server.AuthFailures.LockoutMs, 1)
	if !slices.Contains(LogLevels, f.Log.Level) {
		es.Add("log.level", "%q is not one of %s", f.Log.Level, strings.Join(LogLevels, ", "))
	}
	if !slices.Contains(LogFormats, f.Log.Format) {
		es.Add("log.format", "%q is not one of %s", f.Log.Format, strings.Join(LogFormats, ", "))
	}
	f.AccessLog.validate(&es)
	f.Telemetry.validate(&es)
	if f.Records.RetentionHours < 0 {
		es.Add("records.retentionHours", "must not be negative")
	}
	if f.Cluster != nil {
		f.Cluster.validate(&es)
	}
	if f.Metrics.VictoriaMetrics != nil {
		f.Metrics.VictoriaMetrics.validate(&es)
	}
	if h := f.Responses.RetentionHours; h < 1 || h > MaxResponsesRetentionHours {
		es.Add("responses.retentionHours", "must be from 1 to %d (ten years), got %d", MaxResponsesRetentionHours, h)
	}
	if v := f.Admin.Token.Reveal(); v != "" && len(v) < 16 {
		es.Add("admin.token", "is too short: use at least 16 characters (or leave it empty to have one generated)")
	}
	for name, p := range f.Providers {
		if o.KnownProvider != nil {
			if err := o.KnownProvider(name); err != nil {
				es.Add("providers."+name, "%v", err)
			}
		}
		for i, h := range p.KeyHosts {
			if err := spec.CheckKeyHost(h); err != nil {
				es.Add(decode.Index("providers."+name+".keyHosts", i), "%q %v", h, err)
			}
		}
	}
	egressOK := true
	for _, list := range []struct {
		name    string
		entries []string
	}{{"egress.allow", f.Egress.Allow}, {"egress.deny", f.Egress.Deny}} {
		for i, e := range list.entries {
			if _, err := egress.ParseRule(e); err != nil {
				es.Add(decode.Index(list.name, i), "%q %v", e, err)
				egressOK = false
			}
		}
	}
	plugins := map[string]string{} // name → kind
	pluginPattern := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	for i := range f.Plugins {
		pl := &f.Plugins[i]
		p := decode.Index("plugins", i)
		switch {
		case !pluginPattern.MatchString(pl.Name):
			es.Add(decode.Join(p, "name"), "%q must be 1-64 letters, digits or ._- and start with a letter or digit", pl.Name)
		case plugins[pl.Name] != "":
			es.Add(decode.Join(p, "name"), "duplicate plugin name %q", pl.Name)
		}
		switch {
		case pl.Path == "" && pl.Process == "":
			es.Add(p, "give path (a WASM module) or process (an executable)")
		case pl.Path != "" && pl.Process != "":
			es.Add(p, "give path or process, not both")
		case pl.Path != "" && o.CheckFiles:
			if _, err := os.Stat(pl.Path); err != nil {
				es.Add(decode.Join(p, "path"), "cannot read %q: %v (build the example plugins with make plugins)", pl.Path, errors.Unwrap(err))
			}
		case pl.Process != "" && o.CheckFiles:
			if _, err := os.Stat(pl.Process); err != nil {
				es.Add(decode.Join(p, "process"), "cannot read %q: %v", pl.Process, errors.Unwrap(err))
			}
		}
		if pl.SHA256 != "" && (len(pl.SHA256) != 64 || strings.Trim(strings.ToLower(pl.SHA256), "0123456789abcdef") != "") {
			es.Add(decode.Join(p, "sha256"), "must be 64 hex digits")
		}
		if l := pl.Limits; l != nil && (l.MemoryMB < 0 || l.TimeoutMs < 0 || l.Instances < 0) {
			es.Add(decode.Join(p, "limits"), "must not be negative")
		}
		plugins[pl.Name] = pl.Kind()
	}
	known := func(name string) error {
		if plugin, ok := strings.CutPrefix(name, "wasm:"); ok {
			if plugins[plugin] != "wasm" {
				return fmt.Errorf("no WASM plugin named %q in plugins", plugin)
			}
			return nil
		}
		if plugin, ok := strings.CutPrefix(name, "plugin:"); ok {
			if plugins[plugin] != "process" {
				return fmt.Errorf("no process plugin named %q in plugins", plugin)
			}
			return nil
		}
		if o.KnownProvider == nil {
			return nil
		}
		return o.KnownProvider(name)
	}
	var egressPolicy *egress.Policy
	if egressOK {
		egressPolicy, _ = f.EgressPolicy()
	}
	ids := make(map[string]int, len(f.Models))
	for i := range f.Models {
		m := &f.Models[i]
		base := decode.Index("models", i)
		m.ValidateWith(base, known, func(name string) error {
			if plugins[name] == "" {
				return fmt.Errorf("no plugin named %q in plugins", name)
			}
			return nil
		}, &es)
		if egressPolicy != nil {
			checkEgress(base, m, egressPolicy, &es)
		}
		if j, dup := ids[m.ID]; dup && m.ID != "" {
			es.Add(decode.Join(base, "id"), "duplicate model id %q (also models[%d])", m.ID, j)
		} else {
			ids[m.ID] = i
		}
	}
	keyIDs := make(map[string]bool, len(f.Keys))
	for _, k := range f.Keys {
		keyIDs[spec.ConfigKeyID(k.Name)] = true
	}
	for i := range f.Models {
		for j, fb := range f.Models[i].Fallbacks {
			if _, ok := ids[fb]; !ok {
				es.Add(decode.Index(decode.Join(decode.Index("models", i), "fallbacks"), j), "unknown model %q", fb)
			}
		}
		for j, k := range f.Models[i].AllowedKeys {
			if !keyIDs[k] && strings.TrimSpace(k) != "" {
				es.Add(decode.Index(decode.Join(decode.Index("models", i), "allowedKeys"), j), "no key named %q in keys", k)
			}
		}
	}
	cat := &fileCatalog{models: map[string]*spec.Entry{}, plugins: plugins, mcpServers: map[string]bool{}}
	for _, m := range f.MCPServers {
		cat.mcpServers[m.ID] = true
	}
	for i := range f.Models {
		if e, err := spec.NewEntry(&f.Models[i]); err == nil {
			cat.models[f.Models[i].ID] = e
		}
	}
	pipelineIDs := map[string]bool{}
	for i := range f.Pipelines {
		p := &f.Pipelines[i]
		base := decode.Index("pipelines", i)
		if pipelineIDs[p.ID] {
			es.Add(decode.Join(base, "id"), "duplicate pipeline id %q", p.ID)
		}
		pipelineIDs[p.ID] = true
		if o.CheckPipeline != nil {
			for _, pr := range o.CheckPipeline(p, cat) {
				es.Add(base, "%s", pr.Error())
			}
		}
	}
	f.validateMCPServers(keyIDs, egressPolicy, &es)
	spec.ValidateKeys("keys", f.Keys, &es)
	orgs := map[string]bool{}
	for i, o := range f.Orgs {
		p := decode.Index("orgs", i)
		if o.Name == "" {
			es.Add(decode.Join(p, "name"), "is required")
		} else if orgs[o.Name] {
			es.Add(decode.Join(p, "name"), "duplicate org %q", o.Name)
		}
		orgs[o.Name] = true
		spec.ValidateBudget(decode.Join(p, "budget"), o.Budget, &es)
	}
	if c := f.Server.CORS; c != nil {
		for i, o := range c.AllowedOrigins {
			if o != "*" && (!strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") || strings.HasSuffix(o, "/")) {
				es.Add(decode.Index("server.cors.allowedOrigins", i), "%q must be \"*\" or an origin like https://app.example.com", o)
			}
		}
		if c.MaxAgeSeconds < 0 {
			es.Add("server.cors.maxAgeSeconds", "must not be negative")
		}
	}
	return es
}

// validate checks accessLog (whether it is enabled or not: a file is right or wrong either way).
func (a *AccessLog) validate(es *decode.Errors) {
	if a.Format != "json" && a.Format != "text" {
		es.Add("accessLog.format", "%q is not one of json, text", a.Format)
	}
	if a.File != "" && (strings.HasSuffix(a.File, "/") || strings.ContainsRune(a.File, 0)) {
		es.Add("accessLog.file", "%q is not a file name", a.File)
	}
	if a.MaxSizeMB < 1 || a.MaxSizeMB > MaxAccessLogSizeMB {
		es.Add("accessLog.maxSizeMB", "must be from 1 to %d, got %d", MaxAccessLogSizeMB, a.MaxSizeMB)
	}
	if n := a.Backups(); n < 0 {
		es.Add("accessLog.maxBackups", "must not be negative (0 keeps every rotated file), got %d", n)
	}
	if n := a.AgeDays(); n < 0 {
		es.Add("accessLog.maxAgeDays", "must not be negative (0 keeps rotated files whatever their age), got %d", n)
	}
	if s := a.SampleRate(); !(s >= 0 && s <= 1) {
		es.Add("accessLog.sample", "must be from 0 to 1 (the share of successful requests logged), got %v", s)
	}
	seen := make(map[string]bool, len(a.Fields))
	for i, name := range a.Fields {
		switch {
		case !slices.Contains(AccessLogFields, name):
			es.Add(decode.Index("accessLog.fields", i), "%q is not a field of the access log: one of %s", name, strings.Join(AccessLogFields, ", "))
		case seen[name]:
			es.Add(decode.Index("accessLog.fields", i), "duplicate field %q", name)
		}
		seen[name] = true
	}
	for i, p := range a.Exclude {
		if !strings.HasPrefix(p, "/") || strings.Contains(strings.TrimSuffix(p, "*"), "*") || strings.ContainsAny(p, "?# ") {
			es.Add(decode.Index("accessLog.exclude", i), "%q must be a path starting with / (a prefix when it ends in *), without a query", p)
		}
	}
}

// validate checks telemetry (enabled or not, like accessLog).
func (t *Telemetry) validate(es *decode.Errors) {
	if t.Sampling != nil && !(*t.Sampling >= 0 && *t.Sampling <= 1) {
		es.Add("telemetry.sampling", "must be from 0 to 1 (the share of new traces recorded), got %v", *t.Sampling)
	}
	if p := t.OTLP.Protocol; p != "" && p != "grpc" && p != "http" {
		es.Add("telemetry.otlp.protocol", "%q is not one of grpc, http", p)
	}
	if e := t.OTLP.Endpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			es.Add("telemetry.otlp.endpoint", "%q must be a URL such as http://127.0.0.1:4317", e)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.OTLP.Headers)) {
		if name == "" || strings.ContainsAny(name, " :\r\n") {
			es.Add("telemetry.otlp.headers", "%q is not a header name", name)
		}
	}
	if u := t.TraceURL; u != "" {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") || !strings.Contains(u, "{traceId}") {
			es.Add("telemetry.traceUrl", "%q must be an http(s) URL containing {traceId}", u)
		}
	}
}

// validateMCPServers checks mcpServers: each server, that its allowedKeys name the file's keys,
// and that the egress policy lets the gateway reach its URL and its OAuth token URL.
func (f *File) validateMCPServers(keyIDs map[string]bool, p *egress.Policy, es *decode.Errors) {
	spec.ValidateMCPServers("mcpServers", f.MCPServers, es)
	for i := range f.MCPServers {
		s := &f.MCPServers[i]
		base := decode.Index("mcpServers", i)
		for j, k := range s.AllowedKeys {
			if !keyIDs[k] {
				es.Add(decode.Index(decode.Join(base, "allowedKeys"), j), "no key named %q in keys", k)
			}
		}
		if p != nil && s.URL != "" {
			if err := p.CheckURL(s.URL); err != nil {
				es.Add(decode.Join(base, "url"), "%q: %v", s.URL, err)
			}
			if o := s.OAuth; o != nil && o.TokenURL != "" {
				if err := p.CheckURL(o.TokenURL); err != nil {
					es.Add(decode.Join(base, "oauth.tokenUrl"), "%q: %v", o.TokenURL, err)
				}
			}
		}
	}
}

// checkEgress reports the endpoints of m that the file's egress policy refuses: literal
// addresses, and names its deny entries list (a name's addresses are checked when dialed).
func checkEgress(base string, m *spec.Model, p *egress.Policy, es *decode.Errors) {
	if m.Endpoint != "" {
		if err := p.CheckURL(m.Endpoint); err != nil {
			es.Add(decode.Join(base, "endpoint"), "%q: %v", m.Endpoint, err)
		}
	}
	for i, r := range m.Replicas {
		if err := p.CheckURL(r.Endpoint); err != nil {
			es.Add(decode.Join(decode.Index(decode.Join(base, "replicas"), i), "endpoint"), "%q: %v", r.Endpoint, err)
		}
	}
}

// fileCatalog is what a config file declares, for checking its pipelines.
type fileCatalog struct {
	models     map[string]*spec.Entry
	plugins    map[string]string
	mcpServers map[string]bool
}

func (c *fileCatalog) Model(id string) *spec.Entry { return c.models[id] }
func (c *fileCatalog) HasPlugin(name string) bool  { return c.plugins[name] != "" }

// HasMCPServer reports whether the file declares the MCP server id. A pipeline of the file may
// name only those: servers registered through the API come and go at run time.
func (c *fileCatalog) HasMCPServer(id string) bool { return c.mcpServers[id] }

var envRef = regexp.MustCompile(`(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expandEnv replaces ${NAME} and ${NAME:-default} in every string of the tree, and $${ with a
// literal ${. Only strings are expanded, after parsing, so a value from the environment can never
// change the YAML structure.
func expandEnv(v any) any {
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, "${") {
			return t
		}
		return envRef.ReplaceAllStringFunc(t, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if m[1] != "" {
				return "${" + m[2] + "}" // escaped with $$
			}
			if val, ok := os.LookupEnv(m[2]); ok && val != "" {
				return val
			}
			return m[3]
		})
	case map[string]any:
		for k, e := range t {
			t[k] = expandEnv(e)
		}
	case []any:
		for i, e := range t {
			t[i] = expandEnv(e)
		}
	}
	return v
}
