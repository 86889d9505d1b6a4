package provider

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
	"github.com/iomhq/iom/gateway/telemetry"
)

// PluginModel is a plugin that serves models whose provider is wasm:<name> or plugin:<name>. The
// server supplies them (WASM modules and process plugins alike); this package calls them and
// does the HTTP calls an adapter plugin asks for, so plugins never need network access.
type PluginModel interface {
	// Adapter reports whether the plugin translates to an HTTP call (AdaptRequest and
	// AdaptResponse) rather than answering itself (Infer).
	Adapter() bool
	AdaptRequest(ctx context.Context, op Op, request []byte, m PluginModelInfo) (*PluginHTTP, error)
	AdaptResponse(ctx context.Context, op Op, status int, headers map[string]string, body, request []byte, m PluginModelInfo) ([]byte, error)
	// Infer answers a canonical request with a canonical answer (with usage).
	Infer(ctx context.Context, op Op, request []byte, m PluginModelInfo) ([]byte, error)
	// InferStream streams canonical chunks; nil, nil when the plugin does not stream.
	InferStream(ctx context.Context, op Op, request []byte, m PluginModelInfo) (ChunkStream, error)
}

// PluginModelInfo is the model a plugin serves. APIKey goes only to process plugins, which make
// their own calls; WASM adapters write a placeholder the host fills in.
type PluginModelInfo struct {
	ID            string
	UpstreamModel string
	Endpoint      string
	APIKey        string
}

// PluginHTTP is the call an adapter plugin asks for.
type PluginHTTP struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    []byte
}

// ChunkStream is a plugin's stream of canonical chunks; Next returns io.EOF at the end.
type ChunkStream interface {
	Next() ([]byte, error)
	Close()
}

// pluginAdapter serves models through a PluginModel.
type pluginAdapter struct{}

type pluginState struct {
	pm   PluginModel
	info PluginModelInfo
}

func (pluginAdapter) Prepare(u *Upstream, m *spec.Model) error { return nil }

// upstreamForPlugin compiles the upstream of a plugin-served model.
func (p *Pool) upstreamForPlugin(m *spec.Model, d Defaults) (*Upstream, error) {
	if p.Plugins == nil {
		return nil, errors.New("no plugins are loaded")
	}
	pm, err := p.Plugins(m.Provider)
	if err != nil {
		return nil, err
	}
	up := &Upstream{Provider: m.Provider, Model: m.UpstreamModel, Key: m.APIKey, adapter: pluginAdapter{},
		Timeout: time.Duration(m.TimeoutMs) * time.Millisecond, base: m.Endpoint, where: where(m.Endpoint),
		hop: p.firstHop(), plugins: p.plugins}
	if !up.Key.IsSet() {
		up.Key = d.APIKey
	}
	if up.Timeout <= 0 {
		up.Timeout = DefaultTimeout
	}
	up.headers = mergeHeaders(d.Headers, m.Headers)
	up.state = &pluginState{pm: pm, info: PluginModelInfo{ID: m.ID, UpstreamModel: m.UpstreamModel, Endpoint: m.Endpoint, APIKey: up.Key.Reveal()}}
	return up, nil
}

// callContext is the context of a plugin call: the call's own (Ctx), bounded by the upstream's
// timeout and the call's deadline.
func (u *Upstream) callContext(c *Call) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(u.Timeout)
	if !c.Deadline.IsZero() && c.Deadline.Before(deadline) {
		deadline = c.Deadline
	}
	parent := c.Ctx
	if parent == nil {
		parent = context.Background()
	}
	return context.WithDeadline(parent, deadline)
}

// pluginError makes a plugin's failure a fault (plugins report their own faults already).
func pluginError(u *Upstream, err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe
	}
	if errors.Is(err, context.Canceled) {
		return fault.Cancelled("the call to plugin %s was cancelled", u.Provider)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fault.Timeout("plugin %s did not answer within %s", u.Provider, seconds(u.Timeout))
	}
	return fault.PluginFailed("plugin %s failed: %v", u.Provider, err)
}

func (pluginAdapter) Do(u *Upstream, c *Call) (*Result, error) {
	st := u.state.(*pluginState)
	ctx, cancel := u.callContext(c)
	defer cancel()
	var body []byte
	var err error
	if st.pm.Adapter() {
		body, err = u.adapt(ctx, st, c)
	} else {
		body, err = st.pm.Infer(ctx, c.Op, c.Body, st.info)
		if err != nil {
			err = pluginError(u, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return &Result{Body: body, Usage: ParseUsage(body)}, nil
}

// adapt makes the HTTP call an adapter plugin asks for, and has it translate the answer.
func (u *Upstream) adapt(ctx context.Context, st *pluginState, c *Call) ([]byte, error) {
	hr, err := st.pm.AdaptRequest(ctx, c.Op, c.Body, st.info)
	if err != nil {
		return nil, pluginError(u, err)
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(hr.URL)
	method := hr.Method
	if method == "" {
		method = fasthttp.MethodPost
	}
	req.Header.SetMethod(method)
	req.Header.SetContentType("application/json")
	for _, h := range u.headers {
		req.Header.Set(h[0], h[1])
	}
	for k, v := range hr.Headers {
		req.Header.Set(k, strings.ReplaceAll(v, "${apiKey}", u.Key.Reveal()))
	}
	req.Header.Set(HopHeader, hopOf(c.Ctx, u.hop))
	telemetry.Inject(c.Ctx, &req.Header)
	req.SetBodyRaw(hr.Body)
	if err := ctx.Err(); err != nil {
		return nil, pluginError(u, err)
	}
	deadline, _ := ctx.Deadline()
	budget := time.Until(deadline)
	if err := u.plugins.DoDeadline(req, resp, deadline); err != nil {
		return nil, transportError(u, err, budget)
	}
	headers := map[string]string{}
	resp.Header.VisitAll(func(k, v []byte) { headers[strings.ToLower(string(k))] = string(v) })
	body, err := st.pm.AdaptResponse(ctx, c.Op, resp.StatusCode(), headers, resp.Body(), c.Body, st.info)
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return nil, fe
		}
		if code := resp.StatusCode(); code < 200 || code > 299 {
			return nil, fault.Upstream(code, "upstream of %s returned HTTP %d: %v", u.Provider, code, err)
		}
		return nil, pluginError(u, err)
	}
	return body, nil
}

func (a pluginAdapter) Stream(u *Upstream, c *Call) (Stream, error) {
	st := u.state.(*pluginState)
	if !st.pm.Adapter() {
		ctx, cancel := u.callContext(c)
		cs, err := st.pm.InferStream(ctx, c.Op, c.Body, st.info)
		if err != nil {
			cancel()
			return nil, pluginError(u, err)
		}
		if cs != nil {
			return &pluginStream{u: u, cs: cs, cancel: cancel, strip: !clientWantsUsage(c.Fields)}, nil
		}
		cancel()
	}
	if c.Op != Chat {
		return nil, fault.Invalid("stream", "provider %s streams chat completions only", u.Provider)
	}
	res, err := a.Do(u, c)
	if err != nil {
		return nil, err
	}
	return ResultAsStream(res, u.Model, c.Body), nil
}

// pluginStream relays a plugin's chunks, reading usage from the chunk that carries it.
type pluginStream struct {
	u      *Upstream
	cs     ChunkStream
	cancel context.CancelFunc
	usage  Usage
	strip  bool
	fields []rawjson.Field
}

func (s *pluginStream) Next() ([]byte, error) {
	for {
		chunk, err := s.cs.Next()
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, pluginError(s.u, err)
		}
		if bytes.Contains(chunk, usageKey) {
			fields, ferr := rawjson.ScanObject(chunk, s.fields[:0])
			s.fields = fields
			if ferr == nil {
				if uv := rawjson.Get(fields, "usage"); rawjson.KindOf(uv) == rawjson.Object {
					s.usage = usageOf(uv)
					if ch := rawjson.Get(fields, "choices"); s.strip && (ch == nil || bytes.Equal(bytes.TrimSpace(ch), []byte("[]"))) {
						continue
					}
				}
			}
		}
		return chunk, nil
	}
}

func (s *pluginStream) Buffered() bool { return false }
func (s *pluginStream) Usage() Usage   { return s.usage }
func (s *pluginStream) Close() {
	s.cs.Close()
	s.cancel()
}
