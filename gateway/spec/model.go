package spec

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/iomhq/iom/gateway/decode"
	"github.com/iomhq/iom/gateway/rules"
	"github.com/iomhq/iom/gateway/secret"
)

// Security policies.
const (
	Public       = "public"
	Organization = "organization"
	Private      = "private"
)

// DefaultOrg is the org of a gateway key that names none, and of a model registered through the
// API that names none.
const DefaultOrg = "default"

// Who manages a model.
const (
	ManagedByConfig = "config"
	ManagedByAPI    = "api"
)

// Statuses a model can have.
const (
	StatusAvailable   = "available"
	StatusDegraded    = "degraded"
	StatusUnavailable = "unavailable"
)

// ModelTypes are the accepted values of modelType.
var ModelTypes = []string{"llm", "completion", "embedding", "classification", "vision", "audio", "image", "multimodal", "custom"}

// Model is ModelMetadata: what a user registers. JSON and YAML share these camelCase names.
type Model struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Description   string `json:"description,omitempty"`
	Endpoint      string `json:"endpoint,omitempty"`
	Provider      string `json:"provider,omitempty"`
	UpstreamModel string `json:"upstreamModel,omitempty"`
	ModelType     string `json:"modelType"`
	Owner         string `json:"owner,omitempty"`
	Org           string `json:"org,omitempty"`
	// AllowedKeys lists the ids of the gateway keys that may use a private model. Key names are
	// not ids (they are unique only within an org); the config file may name its own keys, and
	// those names become ids when it is loaded.
	AllowedKeys []string `json:"allowedKeys,omitempty"`
	// Latency is the declared typical latency in milliseconds, used until there are measurements.
	Latency            float64  `json:"latency,omitempty"`
	CostPerToken       float64  `json:"costPerToken,omitempty"`
	InputCostPerToken  *float64 `json:"inputCostPerToken,omitempty"`
	OutputCostPerToken *float64 `json:"outputCostPerToken,omitempty"`
	// CachedInputCostPerToken prices prompt tokens read from the provider's cache (OpenAI's
	// cached_tokens, Anthropic's cache_read_input_tokens), CacheWriteCostPerToken those written
	// to it (Anthropic's cache_creation_input_tokens), ReasoningCostPerToken completion tokens
	// spent reasoning; each defaults to the input or output price.
	CachedInputCostPerToken *float64        `json:"cachedInputCostPerToken,omitempty"`
	CacheWriteCostPerToken  *float64        `json:"cacheWriteCostPerToken,omitempty"`
	ReasoningCostPerToken   *float64        `json:"reasoningCostPerToken,omitempty"`
	SecurityPolicy          string          `json:"securityPolicy"`
	InputSchema             json.RawMessage `json:"inputSchema,omitempty"`
	OutputSchema            json.RawMessage `json:"outputSchema,omitempty"`
	Tags                    []string        `json:"tags,omitempty"`
	// APIKey is write-only: stored encrypted, never returned, never logged.
	APIKey secret.Secret `json:"apiKey,omitzero"`
	// Headers are extra, non-secret headers sent upstream.
	Headers map[string]string `json:"headers,omitempty"`
	// HTTP describes the call of a model whose provider is http (any JSON API).
	HTTP *HTTPSpec `json:"http,omitempty"`
	// Config is free-form settings for the model's adapter or plugin.
	Config    map[string]any `json:"config,omitempty"`
	Fallbacks []string       `json:"fallbacks,omitempty"`
	Retry     *Retry         `json:"retry,omitempty"`
	// TimeoutMs bounds a whole non-streaming call, and each wait for the next piece of a stream.
	TimeoutMs int `json:"timeoutMs,omitempty"`
	// Replicas are more upstreams serving the same model (the endpoint, if set, is one more).
	Replicas []Replica `json:"replicas,omitempty"`
	// LoadBalancing picks a replica: round-robin (default), weighted, least-latency.
	LoadBalancing string       `json:"loadBalancing,omitempty"`
	Breaker       *Breaker     `json:"breaker,omitempty"`
	Concurrency   *Concurrency `json:"concurrency,omitempty"`
	Cache         *Cache       `json:"cache,omitempty"`
	HealthCheck   *HealthCheck `json:"healthCheck,omitempty"`
	// Transforms are plugins run on the request before the upstream call and on the answer
	// after it (and on each chunk of a stream, for plugins that transform chunks).
	Transforms *Transforms `json:"transforms,omitempty"`

	ManagedBy string    `json:"managedBy,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// HTTPSpec maps the canonical request to any JSON HTTP API and its answer back, with
// expressions (see the rules package) checked when the model is loaded.
type HTTPSpec struct {
	// Method defaults to POST.
	Method string `json:"method,omitempty"`
	// Headers are sent as given; "{{apiKey}}" in a value is replaced by the model's key.
	Headers map[string]string `json:"headers,omitempty"`
	// Body builds the request body from request, prompt, messages, input, model, op and config.
	Body string `json:"body"`
	// Text extracts the answer text from response (the upstream's JSON), status, request, config.
	Text string `json:"text,omitempty"`
	// Embedding extracts a vector, or a list of vectors, for embedding models.
	Embedding string `json:"embedding,omitempty"`
	// InputTokens and OutputTokens extract usage; without them, words are counted.
	InputTokens  string `json:"inputTokens,omitempty"`
	OutputTokens string `json:"outputTokens,omitempty"`
	// Error extracts an error message; a non-empty one fails the call.
	Error string `json:"error,omitempty"`
}

// Variables the HTTP expressions may use.
var (
	HTTPRequestVars  = []string{"request", "prompt", "messages", "input", "model", "op", "config"}
	HTTPResponseVars = []string{"response", "status", "request", "prompt", "model", "op", "config"}
)

// Retry configures retries of one upstream call.
type Retry struct {
	// Attempts is the number of retries after the first try.
	Attempts     int `json:"attempts"`
	BackoffMs    int `json:"backoffMs,omitempty"`
	MaxBackoffMs int `json:"maxBackoffMs,omitempty"`
}

// Replica is one more upstream of a model.
type Replica struct {
	Endpoint      string            `json:"endpoint"`
	APIKey        secret.Secret     `json:"apiKey,omitzero"`
	UpstreamModel string            `json:"upstreamModel,omitempty"`
	Weight        int               `json:"weight,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	// HasAPIKey is set in API answers, which never show the key.
	HasAPIKey bool `json:"hasApiKey,omitempty"`
}

// Transforms name the plugins of a model's request and response chains, run in order.
type Transforms struct {
	Request  []string `json:"request,omitempty"`
	Response []string `json:"response,omitempty"`
}

// Breaker configures the circuit breaker of each upstream of a model.
type Breaker struct {
	// Failures is how many consecutive failures open the breaker (default 5).
	Failures int `json:"failures,omitempty"`
	// CooldownMs is how long it stays open before one probe call (default 10000).
	CooldownMs int `json:"cooldownMs,omitempty"`
}

// Concurrency bounds the calls in flight to a model; more wait in a bounded queue.
type Concurrency struct {
	Max            int `json:"max"`
	Queue          int `json:"queue,omitempty"`
	QueueTimeoutMs int `json:"queueTimeoutMs,omitempty"`
}

// Cache enables the exact-match response cache of a model.
type Cache struct {
	TTLSeconds int `json:"ttlSeconds"`
	// Shared keeps the answers in the cluster's Redis too, for every node (with cluster set).
	Shared bool `json:"shared,omitempty"`
}

// HealthCheck enables periodic probes of a model's upstreams.
type HealthCheck struct {
	IntervalSeconds int `json:"intervalSeconds"`
}

// LoadBalancing strategies.
var LoadBalancings = []string{"round-robin", "weighted", "least-latency"}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)

// Reserved model names in the data plane's `model` field.
const (
	AutoModel      = "auto"
	PipelinePrefix = "pipeline:"
)

// InputCost returns the cost of one input token.
func (m *Model) InputCost() float64 {
	if m.InputCostPerToken != nil {
		return *m.InputCostPerToken
	}
	return m.CostPerToken
}

// TokenCosts returns the cost of one token of each kind: a prompt token read from the cache,
// one written to it, and a reasoning token; each defaults to the input or output price.
func (m *Model) TokenCosts() (cachedInput, cacheWrite, reasoning float64) {
	cachedInput, cacheWrite, reasoning = m.InputCost(), m.InputCost(), m.OutputCost()
	if m.CachedInputCostPerToken != nil {
		cachedInput = *m.CachedInputCostPerToken
	}
	if m.CacheWriteCostPerToken != nil {
		cacheWrite = *m.CacheWriteCostPerToken
	}
	if m.ReasoningCostPerToken != nil {
		reasoning = *m.ReasoningCostPerToken
	}
	return cachedInput, cacheWrite, reasoning
}

// OutputCost returns the cost of one output token.
func (m *Model) OutputCost() float64 {
	if m.OutputCostPerToken != nil {
		return *m.OutputCostPerToken
	}
	return m.CostPerToken
}

// Normalize fills defaults: the security policy (public, for a model of the config file), the
// upstream model name, the provider where the endpoint names it unambiguously, and the endpoint
// of a provider whose API has one (DefaultEndpoints).
func (m *Model) Normalize() {
	m.ID = strings.TrimSpace(m.ID)
	if m.ID == "" {
		m.ID = Slug(m.Name)
	}
	if m.SecurityPolicy == "" {
		m.SecurityPolicy = Public
	}
	if m.UpstreamModel == "" {
		m.UpstreamModel = m.ID
	}
	if m.ModelType == "" {
		m.ModelType = "llm"
	}
	if m.Provider == "" {
		m.Provider = InferProvider(m.Endpoint)
	}
	if m.Endpoint == "" && len(m.Replicas) == 0 {
		m.Endpoint = DefaultEndpoints[m.Provider]
	}
}

// DefaultEndpoints are the endpoints of providers whose API is at one place: a model of theirs
// may leave its endpoint out.
var DefaultEndpoints = map[string]string{"gemini": "https://generativelanguage.googleapis.com/v1beta"}

// apiVersionPattern matches Azure OpenAI's api-versions: a date, optionally -preview, or the
// v1 API's preview and latest.
var apiVersionPattern = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}(-preview)?|preview|latest)$`)

// APIVersion is the model's config.apiVersion, the api-version of an azure model's calls; "" when
// it sets none.
func (m *Model) APIVersion() string {
	s, _ := m.Config["apiVersion"].(string)
	return s
}

// ResponsesPassthrough reports whether the model's config.responses is passthrough: Responses
// API requests go to the upstream's own /responses rather than being translated to chat.
func (m *Model) ResponsesPassthrough() bool {
	s, _ := m.Config["responses"].(string)
	return s == "passthrough"
}

// validateResponses checks config.responses: translate (the default) or passthrough, which
// needs an upstream with OpenAI's Responses API (an openai model, or an azure model on the
// /openai/v1 API) and no transforms (they read chat requests).
func validateResponses(m *Model, v any, p func(string) string, es *decode.Errors) {
	s, _ := v.(string)
	switch s {
	case "translate":
		return
	case "passthrough":
	default:
		shown, _ := json.Marshal(v)
		es.Add(p("config.responses"), "must be translate or passthrough, got %s", shown)
		return
	}
	azureV1 := m.Provider == "azure" && strings.HasSuffix(strings.TrimRight(m.Endpoint, "/"), "/openai/v1")
	switch {
	case m.Provider != "openai" && !azureV1:
		es.Add(p("config.responses"), "passthrough needs an upstream with OpenAI's Responses API: provider openai, or azure with an endpoint ending in /openai/v1 (provider is %q)", m.Provider)
	case m.Transforms != nil && (len(m.Transforms.Request) > 0 || len(m.Transforms.Response) > 0):
		es.Add(p("config.responses"), "passthrough cannot be combined with transforms, which read chat completions")
	}
}

// AWSKey splits the apiKey of a bedrock model, ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN],
// into its parts; ok is false when it is not that shape.
func AWSKey(key string) (id, secretKey, token string, ok bool) {
	parts := strings.Split(key, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" || len(parts) == 3 && parts[2] == "" {
		return "", "", "", false
	}
	for _, p := range parts {
		if strings.ContainsAny(p, " \t\r\n") {
			return "", "", "", false
		}
	}
	if len(parts) == 3 {
		token = parts[2]
	}
	return parts[0], parts[1], token, true
}

// awsRegionPattern matches AWS region names: us-east-1, eu-central-2, us-gov-west-1.
var awsRegionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)

// NormalizeAPI is Normalize for a model registered through the API, which is for its org only
// unless it says otherwise: the org it names, or DefaultOrg.
func (m *Model) NormalizeAPI() {
	m.ManagedBy = ManagedByAPI
	if m.SecurityPolicy == "" {
		m.SecurityPolicy = Organization
	}
	if m.Org == "" {
		m.Org = DefaultOrg
	}
	m.Normalize()
}

// Validate reports every problem of m itself, with paths under base. References to other
// models are checked by the caller, who knows them.
func (m *Model) Validate(base string, known func(provider string) error, es *decode.Errors) {
	m.ValidateWith(base, known, nil, es)
}

// ValidateWith is Validate that also checks the names of transform plugins with plugin.
func (m *Model) ValidateWith(base string, known func(provider string) error, plugin func(name string) error, es *decode.Errors) {
	p := func(field string) string { return decode.Join(base, field) }
	switch {
	case m.ID == "" && strings.TrimSpace(m.Name) != "":
		es.Add(p("id"), "cannot be derived from name %q; set it", m.Name)
	case m.ID == "":
	case !idPattern.MatchString(m.ID):
		es.Add(p("id"), "%q must be 1-128 letters, digits or ._:@- and start with a letter or digit", m.ID)
	case m.ID == AutoModel || strings.HasPrefix(m.ID, PipelinePrefix):
		es.Add(p("id"), "%q is reserved", m.ID)
	}
	if strings.TrimSpace(m.Name) == "" {
		es.Add(p("name"), "is required")
	}
	if !slices.Contains(ModelTypes, m.ModelType) {
		es.Add(p("modelType"), "%q is not one of %s", m.ModelType, strings.Join(ModelTypes, ", "))
	}
	switch m.SecurityPolicy {
	case Public, Private:
	case Organization:
		if m.Org == "" {
			es.Add(p("org"), "is required when securityPolicy is organization")
		}
	default:
		es.Add(p("securityPolicy"), "%q is not one of public, organization, private", m.SecurityPolicy)
	}
	if m.Provider == "" {
		if m.Endpoint == "" {
			es.Add(p("endpoint"), "is required")
		} else {
			es.Add(p("provider"), "cannot be inferred from endpoint %q; set it", m.Endpoint)
		}
	} else if known != nil {
		if err := known(m.Provider); err != nil {
			es.Add(p("provider"), "%v", err)
		}
	}
	nonNegative := func(field string, v float64) {
		if v < 0 {
			es.Add(p(field), "must not be negative, got %v", v)
		}
	}
	if m.Endpoint != "" {
		if err := checkURL(m.Endpoint); err != "" {
			es.Add(p("endpoint"), "%q %s", m.Endpoint, err)
		}
	} else if NeedsEndpoint(m.Provider) && len(m.Replicas) == 0 {
		es.Add(p("endpoint"), "is required for provider %q", m.Provider)
	}
	for i, r := range m.Replicas {
		rp := decode.Index(p("replicas"), i)
		if err := checkURL(r.Endpoint); err != "" {
			es.Add(decode.Join(rp, "endpoint"), "%q %s", r.Endpoint, err)
		}
		if r.Weight < 0 {
			es.Add(decode.Join(rp, "weight"), "must not be negative, got %d", r.Weight)
		}
	}
	if m.LoadBalancing != "" && !slices.Contains(LoadBalancings, m.LoadBalancing) {
		es.Add(p("loadBalancing"), "%q is not one of %s", m.LoadBalancing, strings.Join(LoadBalancings, ", "))
	}
	if b := m.Breaker; b != nil {
		nonNegative("breaker.failures", float64(b.Failures))
		nonNegative("breaker.cooldownMs", float64(b.CooldownMs))
	}
	if c := m.Concurrency; c != nil {
		if c.Max < 1 {
			es.Add(p("concurrency.max"), "must be at least 1, got %d", c.Max)
		}
		nonNegative("concurrency.queue", float64(c.Queue))
		nonNegative("concurrency.queueTimeoutMs", float64(c.QueueTimeoutMs))
	}
	if c := m.Cache; c != nil && c.TTLSeconds < 1 {
		es.Add(p("cache.ttlSeconds"), "must be at least 1, got %d", c.TTLSeconds)
	}
	if h := m.HealthCheck; h != nil && h.IntervalSeconds < 1 {
		es.Add(p("healthCheck.intervalSeconds"), "must be at least 1, got %d", h.IntervalSeconds)
	}
	nonNegative("latency", m.Latency)
	nonNegative("costPerToken", m.CostPerToken)
	if m.InputCostPerToken != nil {
		nonNegative("inputCostPerToken", *m.InputCostPerToken)
	}
	for _, c := range []struct {
		name  string
		price *float64
	}{{"cachedInputCostPerToken", m.CachedInputCostPerToken}, {"cacheWriteCostPerToken", m.CacheWriteCostPerToken},
		{"reasoningCostPerToken", m.ReasoningCostPerToken}} {
		if c.price != nil {
			nonNegative(c.name, *c.price)
		}
	}
	if m.OutputCostPerToken != nil {
		nonNegative("outputCostPerToken", *m.OutputCostPerToken)
	}
	nonNegative("timeoutMs", float64(m.TimeoutMs))
	for i, t := range m.Tags {
		if strings.TrimSpace(t) == "" {
			es.Add(decode.Index(p("tags"), i), "must not be empty")
		}
	}
	for i, k := range m.AllowedKeys {
		if strings.TrimSpace(k) == "" {
			es.Add(decode.Index(p("allowedKeys"), i), "must not be empty")
		}
	}
	for k := range m.Headers {
		if !validHeaderName(k) {
			es.Add(decode.Join(p("headers"), k), "is not a valid header name")
		}
	}
	if r := m.Retry; r != nil {
		nonNegative("retry.attempts", float64(r.Attempts))
		nonNegative("retry.backoffMs", float64(r.BackoffMs))
		nonNegative("retry.maxBackoffMs", float64(r.MaxBackoffMs))
		if r.Attempts > 10 {
			es.Add(p("retry.attempts"), "must be at most 10, got %d", r.Attempts)
		}
	}
	if t := m.Transforms; t != nil && plugin != nil {
		for _, chain := range []struct {
			name  string
			names []string
		}{{"transforms.request", t.Request}, {"transforms.response", t.Response}} {
			for i, name := range chain.names {
				if err := plugin(name); err != nil {
					es.Add(decode.Index(p(chain.name), i), "%v", err)
				}
			}
		}
	}
	if v, ok := m.Config["apiVersion"]; ok && m.Provider == "azure" {
		if s, _ := v.(string); !apiVersionPattern.MatchString(s) {
			shown, _ := json.Marshal(v)
			es.Add(p("config.apiVersion"), "%s is not an Azure OpenAI api-version: a date such as 2024-10-21, optionally with -preview", shown)
		}
	}
	if v, ok := m.Config["responses"]; ok {
		validateResponses(m, v, p, es)
	}
	if m.Provider == "bedrock" {
		validateBedrock(m, p, es)
	}
	if m.Provider == "http" {
		validateHTTP(m, decode.Join(base, "http"), es)
	} else if m.HTTP != nil {
		es.Add(p("http"), "is only for provider http")
	}
	for i, f := range m.Fallbacks {
		if f == m.ID {
			es.Add(decode.Index(p("fallbacks"), i), "a model cannot fall back to itself")
		}
	}
	for _, s := range []struct {
		field string
		raw   json.RawMessage
	}{{"inputSchema", m.InputSchema}, {"outputSchema", m.OutputSchema}} {
		if len(s.raw) == 0 {
			continue
		}
		if _, err := CompileSchema(s.raw); err != nil {
			es.Add(p(s.field), "is not a valid JSON Schema: %v", err)
		}
	}
}

// validateBedrock checks what a bedrock model adds: its keys are AWS credentials, and
// config.region is an AWS region. A key is never quoted.
func validateBedrock(m *Model, p func(string) string, es *decode.Errors) {
	const shape = "must be ACCESS_KEY_ID:SECRET_ACCESS_KEY or ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN for provider bedrock"
	if m.APIKey.IsSet() {
		if _, _, _, ok := AWSKey(m.APIKey.Reveal()); !ok {
			es.Add(p("apiKey"), shape)
		}
	}
	for i, r := range m.Replicas {
		if r.APIKey.IsSet() {
			if _, _, _, ok := AWSKey(r.APIKey.Reveal()); !ok {
				es.Add(decode.Join(decode.Index(p("replicas"), i), "apiKey"), shape)
			}
		}
	}
	if v, ok := m.Config["region"]; ok {
		if s, _ := v.(string); !awsRegionPattern.MatchString(s) {
			shown, _ := json.Marshal(v)
			es.Add(p("config.region"), "%s is not an AWS region, such as us-east-1", shown)
		}
	}
}

func checkURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a valid URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.Host == "":
		return "has no host"
	case u.User != nil:
		return "must not carry credentials; use apiKey"
	case u.Fragment != "":
		return "must not have a fragment"
	}
	return ""
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// NeedsEndpoint reports whether a provider calls an HTTP upstream.
func NeedsEndpoint(provider string) bool {
	return !strings.HasPrefix(provider, "wasm:") && !strings.HasPrefix(provider, "plugin:")
}

// InferProvider names the adapter an endpoint implies, or "" when it is ambiguous.
func InferProvider(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return ""
	}
	host, path := strings.ToLower(u.Hostname()), strings.TrimRight(u.Path, "/")
	switch {
	case host == "api.anthropic.com":
		return "anthropic"
	case host == "generativelanguage.googleapis.com" && !strings.Contains(path, "/openai"): // not its OpenAI-compatible API
		return "gemini"
	case strings.HasSuffix(host, ".openai.azure.com") || strings.HasSuffix(host, ".services.ai.azure.com") ||
		strings.HasSuffix(host, ".cognitiveservices.azure.com"):
		return "azure"
	case strings.HasPrefix(host, "bedrock-runtime") && (strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")) &&
		!strings.Contains(path, "/openai"): // not Bedrock's OpenAI-compatible API
		return "bedrock"
	case host == "api-inference.huggingface.co" || strings.HasSuffix(host, ".endpoints.huggingface.cloud") ||
		strings.HasSuffix(path, "/generate") || strings.HasSuffix(path, "/generate_stream") || strings.HasSuffix(path, "/embed"):
		return "huggingface"
	case u.Port() == "11434" && !strings.Contains(path, "/v1"):
		return "ollama"
	case host == "api.openai.com" || strings.HasSuffix(path, "/v1") || strings.Contains(path, "/v1/") || strings.HasSuffix(path, "/openai") ||
		strings.HasSuffix(path, "/chat/completions") || strings.HasSuffix(path, "/completions") || strings.HasSuffix(path, "/embeddings"):
		return "openai"
	}
	return ""
}

var slugStrip = regexp.MustCompile(`[^a-z0-9._]+`)

// Slug turns a display name into an id: "GPT-4 Turbo" → "gpt-4-turbo".
func Slug(name string) string {
	s := strings.Trim(slugStrip.ReplaceAllString(strings.ToLower(name), "-"), "-._")
	if len(s) > 100 {
		s = strings.TrimRight(s[:100], "-._")
	}
	return s
}

func validateHTTP(m *Model, base string, es *decode.Errors) {
	h := m.HTTP
	if h == nil {
		es.Add(base, "is required for provider http: give at least body and text (or embedding)")
		return
	}
	if h.Method != "" && h.Method != "POST" && h.Method != "PUT" && h.Method != "GET" {
		es.Add(decode.Join(base, "method"), "%q is not one of POST, PUT, GET", h.Method)
	}
	if h.Text == "" && h.Embedding == "" {
		es.Add(decode.Join(base, "text"), "is required (or embedding, for embedding models)")
	}
	check := func(field, src string, vars []string, required bool) {
		if src == "" {
			if required {
				es.Add(decode.Join(base, field), "is required")
			}
			return
		}
		if _, err := rules.Compile(src, vars...); err != nil {
			es.Add(decode.Join(base, field), "%v", err)
		}
	}
	check("body", h.Body, HTTPRequestVars, h.Method != "GET")
	for _, f := range []struct{ name, src string }{{"text", h.Text}, {"embedding", h.Embedding},
		{"inputTokens", h.InputTokens}, {"outputTokens", h.OutputTokens}, {"error", h.Error}} {
		check(f.name, f.src, HTTPResponseVars, false)
	}
	for k := range h.Headers {
		if !validHeaderName(k) {
			es.Add(decode.Join(decode.Join(base, "headers"), k), "is not a valid header name")
		}
	}
}
