package provider

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/egress"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/secret"
	"github.com/iomhq/iom/gateway/spec"
)

// DefaultTimeout bounds upstream calls of models that set no timeoutMs: a non-streaming call
// whole, and each wait of a streaming one (for its head, for each next chunk).
const DefaultTimeout = 60 * time.Second

// idleTimeout is how long a kept-alive connection waits in the pool before it is closed. It is
// below the keep-alive of common upstreams (uvicorn, so vLLM, and Node close idle connections
// after 5 s), so that the gateway closes an idle connection before the upstream does: a
// connection the upstream closed first is found only by the request that next takes it.
const idleTimeout = 4 * time.Second

const (
	// maxConns bounds the connections open to one upstream address.
	maxConns = 1024
	// connWait is how long a call waits for a connection when maxConns are busy.
	connWait = 5 * time.Second
	// maxAnswer bounds a non-streamed answer's body.
	maxAnswer = 64 << 20
)

// Upstream is one model's compiled upstream: its adapter, URLs, credentials and HTTP client.
type Upstream struct {
	Provider string
	// Model is what the upstream is asked for.
	Model   string
	Key     secret.Secret
	Timeout time.Duration
	// KeyWithheld says the provider-wide key was not given to this upstream: its host is not
	// one the key goes to (keyHosts).
	KeyWithheld bool

	base string
	// where is the endpoint for logs: no credentials, no query (errors.go).
	where   string
	urls    [numOps]string
	headers [][2]string
	heads   *requestHeads // the OpenAI adapter's
	client  *fasthttp.HostClient
	idle    *idleWatch // watches client's idle connections
	adapter Adapter
	// state is what the adapter compiled for this model in Prepare.
	state any
	// hop is the hop header of a call that came through no gateway.
	hop string
	// plugins makes an adapter plugin's calls (the pool's client).
	plugins *fasthttp.Client
}

// Do makes a non-streaming call.
func (u *Upstream) Do(c *Call) (*Result, error) {
	switch c.Op {
	case Responses:
		return u.doResponses(c)
	case CountTokens:
		return u.countTokens(c)
	}
	return u.adapter.Do(u, c)
}

// Stream makes a streaming call.
func (u *Upstream) Stream(c *Call) (Stream, error) {
	switch c.Op {
	case Responses:
		return u.streamResponses(c)
	case CountTokens:
		return nil, unsupported(u, c.Op)
	}
	return u.adapter.Stream(u, c)
}

// URL returns the upstream URL of op.
func (u *Upstream) URL(op Op) string { return u.urls[op] }

// Base returns the upstream's base URL.
func (u *Upstream) Base() string { return u.base }

// Defaults are a provider's settings shared by its models.
type Defaults struct {
	// APIKey goes to the provider's models that have no key of their own, when their endpoint's
	// host is the vendor's (KeyHosts) or one of KeyHosts.
	APIKey   secret.Secret
	KeyHosts []string
	Headers  map[string]string
}

// Pool builds upstreams and shares HTTP clients (and their connections) between them. Every
// connection it opens is checked against its egress policy.
type Pool struct {
	mu      sync.Mutex
	clients map[clientKey]pooledClient
	// Plugins, when set, finds the plugin that serves a wasm:<name> or plugin:<name> provider.
	Plugins func(provider string) (PluginModel, error)
	// RootCAs, when set, replaces the system's roots for HTTPS upstreams (tests use it).
	RootCAs *x509.CertPool
	// Resolve, when set, replaces the system's resolver (tests use it).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)

	egress   atomic.Pointer[egress.Policy]
	instance string
	dns      dnsCache
	// plugins makes adapter plugins' calls, to whatever host they name.
	plugins *fasthttp.Client
}

// A pooledClient is an HTTP client and the watch of its idle connections.
type pooledClient struct {
	hc   *fasthttp.HostClient
	idle *idleWatch
}

type clientKey struct {
	addr    string
	tls     bool
	timeout time.Duration
}

// NewPool returns an empty pool, with the default egress policy and a new instance id.
func NewPool() *Pool {
	p := &Pool{clients: map[clientKey]pooledClient{}, instance: newInstance()}
	p.egress.Store(&egress.Policy{})
	p.plugins = &fasthttp.Client{Name: userAgent, MaxConnsPerHost: 512, MaxIdleConnDuration: idleTimeout,
		ReadTimeout: 10 * time.Minute, MaxResponseBodySize: maxAnswer,
		Dial: func(addr string) (net.Conn, error) { return p.dialTCP(addr) }}
	return p
}

// Instance is the gateway's id in the hop header (HopHeader).
func (p *Pool) Instance() string { return p.instance }

// Egress returns the egress policy in force.
func (p *Pool) Egress() *egress.Policy { return p.egress.Load() }

// SetEgress replaces the egress policy. It applies to every connection opened from now on;
// when it changes, idle connections are closed, so that none opened under the old one is used
// again.
func (p *Pool) SetEgress(e *egress.Policy) {
	if p.egress.Swap(e).Equal(e) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.hc.CloseIdleConnections()
	}
	p.plugins.CloseIdleConnections()
}

// Upstream compiles m's upstream. It fails for models without an HTTP endpoint.
func (p *Pool) Upstream(m *spec.Model, d Defaults) (*Upstream, error) {
	if !spec.NeedsEndpoint(m.Provider) {
		return p.upstreamForPlugin(m, d)
	}
	ad, ok := adapters[m.Provider]
	if !ok {
		return nil, fmt.Errorf("unknown provider %q", m.Provider)
	}
	u, err := url.Parse(m.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("invalid endpoint %q", m.Endpoint)
	}
	up := &Upstream{Provider: m.Provider, Model: m.UpstreamModel, Key: m.APIKey, adapter: ad,
		Timeout: time.Duration(m.TimeoutMs) * time.Millisecond, where: where(m.Endpoint), hop: p.firstHop()}
	if !up.Key.IsSet() && d.APIKey.IsSet() {
		// A provider-wide key goes to the vendor's hosts and those the config lists, never to
		// wherever a model points.
		if keyGoesTo(m.Provider, d.KeyHosts, u) {
			up.Key = d.APIKey
		} else {
			up.KeyWithheld = true
		}
	}
	if up.Timeout <= 0 {
		up.Timeout = DefaultTimeout
	}
	up.headers = mergeHeaders(d.Headers, m.Headers)
	if err := ad.Prepare(up, m); err != nil {
		return nil, err
	}
	addr := u.Host
	isTLS := u.Scheme == "https"
	if u.Port() == "" {
		if isTLS {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	pc := p.client(clientKey{addr: addr, tls: isTLS, timeout: up.Timeout}, u.Hostname())
	up.client, up.idle = pc.hc, pc.idle
	return up, nil
}

// firstHop is the hop header of a call that came through no gateway.
func (p *Pool) firstHop() string { return p.instance + ";n=1" }

func mergeHeaders(layers ...map[string]string) [][2]string {
	merged := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			merged[k] = v
		}
	}
	out := make([][2]string, 0, len(merged))
	for k, v := range merged {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// BaseURL derives the API base from an endpoint that may be a full operation URL
// (…/v1/chat/completions) or already a base (…/v1).
func BaseURL(endpoint string) string {
	e := strings.TrimRight(endpoint, "/")
	for _, suffix := range []string{"/chat/completions", "/completions", "/embeddings", "/models"} {
		if strings.HasSuffix(e, suffix) {
			return strings.TrimSuffix(e, suffix)
		}
	}
	return e
}

func (p *Pool) client(k clientKey, serverName string) pooledClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[k]; ok {
		return c
	}
	// Calls go through exchange, which uses the client for its pool, its dialing and its
	// HTTP/1.1 codec, and decides itself what to retry.
	c := &fasthttp.HostClient{
		Addr:                   k.addr,
		IsTLS:                  k.tls,
		Name:                   userAgent,
		MaxConns:               maxConns,
		MaxIdleConnDuration:    idleTimeout,
		MaxConnWaitTimeout:     connWait,
		DisablePathNormalizing: true,
		SecureErrorLogMessage:  true,
		MaxResponseBodySize:    maxAnswer,
	}
	d := dialer{idle: k.timeout, pool: p}
	if k.tls {
		d.tls = &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12, RootCAs: p.RootCAs}
	}
	c.Dial = d.dial
	pc := pooledClient{hc: c, idle: new(idleWatch)}
	p.clients[k] = pc
	return pc
}

// cloudHosts are public APIs that refuse calls without a key: their models are unavailable
// until one is set. Self-hosted endpoints (vLLM, Ollama, LM Studio) often need none.
var cloudHosts = []string{"api.openai.com", "api.anthropic.com", "api-inference.huggingface.co", "api.groq.com",
	"api.together.xyz", "api.together.ai", "api.mistral.ai", "openrouter.ai", "api.deepseek.com", "api.fireworks.ai",
	"generativelanguage.googleapis.com", "api.cohere.ai", "api.cohere.com", "api.perplexity.ai", "api.x.ai"}

// RequiresKey reports whether an endpoint is a public cloud API that needs a key.
func RequiresKey(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range cloudHosts {
		if host == h {
			return true
		}
	}
	for _, suffix := range []string{".openai.azure.com", ".services.ai.azure.com", ".cognitiveservices.azure.com", ".endpoints.huggingface.cloud"} {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

// Probe checks that the upstream answers, without spending tokens: OpenAI-style, Anthropic,
// Gemini and Azure upstreams list their models, Ollama its tags, TGI its health, Bedrock gets an
// empty signed Converse request; others are asked for their endpoint. Anything but a 5xx, a 401 or a 403 means the upstream is up.
func (u *Upstream) Probe(timeout time.Duration) error {
	if u.client == nil {
		return nil // a plugin: it is up when it is loaded
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	url := u.base
	switch u.Provider {
	case "openai":
		url += "/models"
		u.bearer(&req.Header)
	case "anthropic":
		url += "/v1/models"
		anthropicAdapter{}.auth(u)(&req.Header)
	case "ollama":
		url += "/api/tags"
	case "huggingface":
		if st, ok := u.state.(*hfState); ok && st.mode != hfAPI {
			url += "/health"
		}
		u.bearer(&req.Header)
	case "gemini":
		url += "/models"
		geminiAuth(u)(&req.Header)
	case "azure":
		url = u.state.(*azureState).probe
		azureAuth(u, &req.Header)
	}
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodGet)
	if u.Provider == "bedrock" {
		// Bedrock Runtime lists nothing: an empty Converse request is refused (400) before any
		// inference, after the signature, region and model id were checked.
		if err := bedrockRequest(u, req, u.state.(*bedrockState).converse, []byte("{}"), false); err != nil {
			return err
		}
		url = u.state.(*bedrockState).converse.raw
	}
	for _, h := range u.headers {
		req.Header.Set(h[0], h[1])
	}
	if _, err := u.exchange(nil, req, resp, time.Now().Add(timeout)); err != nil {
		return transportError(u, err, timeout)
	}
	if code := resp.StatusCode(); code >= 500 || code == 401 || code == 403 {
		fe := fault.Upstream(code, "health probe of upstream %s returned HTTP %d", u.Provider, code)
		fe.Detail = where(url)
		return fe
	}
	return nil
}
