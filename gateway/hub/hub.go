// Package hub holds the loaded plugins, WASM modules and processes alike, behind one set of
// names: models served by a plugin, transform chains and pipeline steps use them without caring
// which kind they are. It loads them from the config at start and on every reload, maps their
// errors to the gateway's faults, and checks a config's plugins without keeping them.
package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iomhq/iom/gateway/config"
	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/invoke"
	"github.com/iomhq/iom/gateway/pipeline"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/telemetry"
	"github.com/iomhq/iom/plugins"
	"github.com/iomhq/iom/wasm"
)

// Hub holds the loaded plugins, WASM modules and processes alike, so models, transform
// chains and pipelines use them by name without caring which kind they are. It loads them from
// the config at start and on every reload, keeping the ones that did not change.
type Hub struct {
	log   *slog.Logger
	host  *wasm.Host
	procs *plugins.Manager
	// reload is held from Prepare until Commit or Discard, so each change is prepared against
	// the sets it replaces. Close does not take it.
	reload sync.Mutex
	mu     sync.RWMutex
	wasm   map[string]*wasmPlugin
	proc   map[string][]byte // process plugins by name: their config as JSON
}

type wasmPlugin struct {
	p           *wasm.Plugin
	cfg         config.Plugin
	fingerprint string
}

func New(ctx context.Context, cacheDir string, log *slog.Logger) (*Hub, error) {
	host, err := wasm.NewHost(ctx, cacheDir, log)
	if err != nil {
		return nil, fmt.Errorf("cannot start the WASM host: %w", err)
	}
	procs, err := plugins.New(ctx, plugins.Options{Logger: log})
	if err != nil {
		host.Close(ctx)
		return nil, fmt.Errorf("cannot start the plugin manager: %w", err)
	}
	return &Hub{log: log, host: host, procs: procs, wasm: map[string]*wasmPlugin{}, proc: map[string][]byte{}}, nil
}

// fingerprint identifies what a WASM plugin was loaded from: its entry and its file.
func fingerprint(c config.Plugin) string {
	b, _ := json.Marshal(c)
	if st, err := os.Stat(c.Path); err == nil {
		return fmt.Sprintf("%s|%d|%d", b, st.Size(), st.ModTime().UnixNano())
	}
	return string(b)
}

// Apply makes the loaded plugins match cfgs: Prepare, then Commit. On any error nothing
// changes.
func (h *Hub) Apply(ctx context.Context, cfgs []config.Plugin) error {
	c, err := h.Prepare(ctx, cfgs)
	if err != nil {
		return err
	}
	c.Commit()
	return nil
}

// Change is a reload of the plugins that Prepare got ready beside the served ones.
type Change struct {
	h      *Hub
	old    map[string]*wasmPlugin // the WASM set it replaces
	wasm   map[string]*wasmPlugin
	proc   map[string][]byte
	loaded []*wasm.Plugin // the WASM plugins it loaded, closed if it is discarded
	procs  *plugins.Prepared
	done   atomic.Bool
}

// Prepare gets the plugins of cfgs ready without changing what is served: WASM plugins that
// are new or changed are loaded beside the old ones, and the process plugins are prepared (see
// plugins.Manager.Prepare). On any error it drops what it loaded and started, and nothing
// changes. Otherwise the caller ends the reload with Commit or Discard; until then, other
// reloads wait.
func (h *Hub) Prepare(ctx context.Context, cfgs []config.Plugin) (*Change, error) {
	h.reload.Lock()
	h.mu.RLock()
	c := &Change{h: h, old: h.wasm, wasm: map[string]*wasmPlugin{}, proc: map[string][]byte{}}
	h.mu.RUnlock()
	fail := func(err error) (*Change, error) {
		for _, p := range c.loaded {
			p.Close(ctx)
		}
		h.reload.Unlock()
		return nil, err
	}
	var procs []plugins.Config
	for _, pc := range cfgs {
		if pc.Kind() == "process" {
			procs = append(procs, procConfig(pc))
			continue
		}
		fp := fingerprint(pc)
		if o := c.old[pc.Name]; o != nil && o.fingerprint == fp {
			c.wasm[pc.Name] = o
			continue
		}
		p, err := h.host.Load(ctx, wasmConfig(pc))
		if err != nil {
			return fail(fmt.Errorf("plugins: cannot load %q: %w", pc.Name, err))
		}
		c.loaded = append(c.loaded, p)
		c.wasm[pc.Name] = &wasmPlugin{p: p, cfg: pc, fingerprint: fp}
	}
	prepared, err := h.procs.Prepare(procs)
	if err != nil {
		return fail(fmt.Errorf("plugins: %w", err))
	}
	c.procs = prepared
	for _, pc := range procs {
		c.proc[pc.Name] = pc.Config
	}
	return c, nil
}

// Commit serves the prepared plugins, WASM and process ones, and closes the WASM plugins they
// replace once their calls in flight end (each is bounded by its plugin's timeout). It cannot
// fail. Commit and Discard act once: later calls of either do nothing.
func (c *Change) Commit() {
	if !c.done.CompareAndSwap(false, true) {
		return
	}
	h := c.h
	defer h.reload.Unlock()
	c.procs.Commit()
	h.mu.Lock()
	h.wasm, h.proc = c.wasm, c.proc
	h.mu.Unlock()
	for name, o := range c.old {
		if c.wasm[name] != o {
			o.p.Close(context.Background())
		}
	}
}

// Discard closes the WASM plugins Prepare loaded and stops the process plugins it started; the
// served plugins stay as they are.
func (c *Change) Discard() {
	if !c.done.CompareAndSwap(false, true) {
		return
	}
	defer c.h.reload.Unlock()
	c.procs.Discard()
	for _, p := range c.loaded {
		p.Close(context.Background())
	}
}

// wasmConfig is the WASM host's configuration of a plugin entry.
func wasmConfig(c config.Plugin) wasm.Config {
	wc := wasm.Config{Name: c.Name, Path: c.Path, Language: c.Language}
	if c.Config != nil {
		wc.Config, _ = json.Marshal(c.Config)
	}
	if l := c.Limits; l != nil {
		wc.MemoryLimitMB, wc.PoolSize = l.MemoryMB, l.Instances
		wc.Timeout = time.Duration(l.TimeoutMs) * time.Millisecond
	}
	if a := c.Allow; a != nil {
		wc.AllowClock, wc.AllowRandom = a.Clock, a.Random
	}
	return wc
}

// procConfig is the plugin manager's configuration of a process plugin entry.
func procConfig(c config.Plugin) plugins.Config {
	conf, _ := json.Marshal(c.Config)
	pc := plugins.Config{Name: c.Name, Path: c.Process, Args: c.Args, Env: c.Env, SHA256: c.SHA256, Config: conf}
	if c.Limits != nil && c.Limits.TimeoutMs > 0 {
		pc.Timeout = time.Duration(c.Limits.TimeoutMs) * time.Millisecond
	}
	return pc
}

func (h *Hub) Close(ctx context.Context) {
	h.procs.Close()
	h.host.Close(ctx)
}

func (h *Hub) Has(name string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	_, w := h.wasm[name]
	_, p := h.proc[name]
	return w || p
}

func (h *Hub) wasmPlugin(name string) *wasm.Plugin {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if w := h.wasm[name]; w != nil {
		return w.p
	}
	return nil
}

// knownProvider checks a provider name: a built-in adapter, or a loaded plugin that serves models.
func (h *Hub) KnownProvider(name string) error {
	if p, ok := strings.CutPrefix(name, "wasm:"); ok {
		w := h.wasmPlugin(p)
		if w == nil {
			return fmt.Errorf("no WASM plugin named %q is loaded", p)
		}
		if !w.Has(wasm.RoleAdapter) && !w.Has(wasm.RoleInfer) {
			return fmt.Errorf("WASM plugin %q serves no models (it is neither an adapter nor a local model)", p)
		}
		return nil
	}
	if p, ok := strings.CutPrefix(name, "plugin:"); ok {
		h.mu.RLock()
		_, found := h.proc[p]
		h.mu.RUnlock()
		if !found {
			return fmt.Errorf("no process plugin named %q is loaded", p)
		}
		return nil
	}
	return provider.Known(name)
}

// knownPlugin checks the name of a transform plugin.
func (h *Hub) KnownPlugin(name string) error {
	if !h.Has(name) {
		return fmt.Errorf("no plugin named %q is loaded", name)
	}
	return nil
}

// model finds the plugin that serves a wasm:<name> or plugin:<name> provider.
func (h *Hub) Model(name string) (provider.PluginModel, error) {
	if p, ok := strings.CutPrefix(name, "wasm:"); ok {
		if w := h.wasmPlugin(p); w != nil {
			return wasmModel{w}, nil
		}
		return nil, fmt.Errorf("no WASM plugin named %q is loaded", p)
	}
	if p, ok := strings.CutPrefix(name, "plugin:"); ok && h.Has(p) {
		return procModel{h.procs, p}, nil
	}
	return nil, fmt.Errorf("no plugin serves provider %q", name)
}

// Transform runs a transform plugin (invoke.Transformer), in a span of its own but for a
// stream's chunks (a span per chunk would drown the trace).
func (h *Hub) Transform(ctx context.Context, plugin, stage string, body []byte, meta invoke.TransformMeta) ([]byte, bool, error) {
	if stage == string(wasm.StageChunk) {
		return h.transform(ctx, plugin, stage, body, meta)
	}
	ctx, span := telemetry.Start(ctx, telemetry.Internal, "transform", plugin)
	out, drop, err := h.transform(ctx, plugin, stage, body, meta)
	if span.Recording() {
		span.SetString("iom.plugin", plugin)
		span.SetString("iom.stage", stage)
		kind := "process"
		if h.wasmPlugin(plugin) != nil {
			kind = "wasm"
		}
		span.SetString("iom.plugin.kind", kind)
		if err != nil {
			span.Fail("plugin", err.Error())
		}
		span.End()
	}
	return out, drop, err
}

func (h *Hub) transform(ctx context.Context, plugin, stage string, body []byte, meta invoke.TransformMeta) ([]byte, bool, error) {
	md := wasm.Metadata{RequestID: meta.RequestID, Model: meta.Model, Provider: meta.Provider, Key: meta.Key, Org: meta.Org,
		Op: wasm.Op(meta.Op), Stream: meta.Stream, OutputSchema: meta.OutputSchema}
	if w := h.wasmPlugin(plugin); w != nil {
		env := wasm.Envelope{Stage: wasm.Stage(stage), Body: body, Metadata: md, Config: meta.Config}
		var res wasm.TransformResult
		var err error
		if stage == string(wasm.StageChunk) {
			res, err = w.TransformChunk(ctx, env)
		} else {
			if !w.Has(wasm.RoleTransform) {
				return nil, false, fault.PluginFailed("plugin %q is not a transform", plugin)
			}
			res, err = w.Transform(ctx, env)
		}
		if err != nil {
			return nil, false, wasmFault(err)
		}
		return res.Body, res.Drop, nil
	}
	h.mu.RLock()
	config, ok := h.proc[plugin]
	h.mu.RUnlock()
	if !ok {
		return nil, false, fault.PluginFailed("no plugin named %q is loaded", plugin)
	}
	if meta.Config != nil {
		config = meta.Config
	}
	bp := envelopeBufs.Get().(*[]byte)
	*bp = wasm.AppendEnvelope((*bp)[:0], wasm.Envelope{Stage: wasm.Stage(stage), Body: body, Metadata: md}, config)
	out, err := h.procs.Transform(traced(ctx), plugin, *bp)
	if cap(*bp) <= 1<<20 { // keep no giant buffer alive
		envelopeBufs.Put(bp)
	}
	if err != nil {
		return nil, false, procFault(err)
	}
	return procTransformResult(plugin, out)
}

// envelopeBufs recycles the buffers process transform envelopes are written into: the call has
// sent the envelope by the time it returns.
var envelopeBufs = sync.Pool{New: func() any { return new([]byte) }}

// procTransformResult reads a process transformer's result: {"body","drop"}, or {"error":{"message",
// "code"}}, or nothing (no change). The body is the plugin's bytes, validated, not copied.
func procTransformResult(plugin string, out []byte) ([]byte, bool, error) {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil, false, nil
	}
	notResult := func(why string) error {
		return fault.PluginFailed("plugin %q answered something that is not a transform result: %s", plugin, why)
	}
	var buf [4]rawjson.Field
	fields, err := rawjson.ScanObject(out, buf[:0])
	if err != nil {
		return nil, false, notResult(err.Error())
	}
	if ev := rawjson.Get(fields, "error"); ev != nil && string(ev) != "null" {
		var ebuf [4]rawjson.Field
		ef, err := rawjson.ScanObject(ev, ebuf[:0])
		if err != nil {
			return nil, false, notResult("its error is not an object")
		}
		msg, _ := rawjson.String(rawjson.Get(ef, "message"))
		fe := fault.PluginFailed("plugin %q: %s", plugin, msg)
		if code, _ := rawjson.String(rawjson.Get(ef, "code")); code != "" {
			fe.Code = code
		}
		if st, err := strconv.Atoi(string(rawjson.Get(ef, "status"))); err == nil {
			fe.Status = refusalStatus(st)
		}
		return nil, false, fe
	}
	if h := rawjson.Get(fields, "headers"); h != nil && string(h) != "null" {
		return nil, false, notResult("a transform cannot set headers (it changes only the body)")
	}
	var drop bool
	switch v := string(rawjson.Get(fields, "drop")); v {
	case "", "null", "false":
	case "true":
		drop = true
	default:
		return nil, false, notResult("drop is not a boolean")
	}
	return rawjson.Get(fields, "body"), drop, nil
}

// Chunks reports whether plugin transforms stream chunks: WASM modules that export the chunk
// role. Process plugins are not sent chunks: a round trip per chunk would slow every stream.
func (h *Hub) Chunks(plugin string) bool {
	w := h.wasmPlugin(plugin)
	return w != nil && w.Has(wasm.RoleTransformChunk)
}

// Steps returns what runs the transform steps of pipelines, on JSON values.
func (h *Hub) Steps() pipeline.Transformer { return pipelineTransformer{h} }

// pipelineTransformer runs transform steps of pipelines on JSON values.
type pipelineTransformer struct{ h *Hub }

func (t pipelineTransformer) Transform(ctx context.Context, plugin string, value any, config any, meta map[string]any) (any, error) {
	body, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	tm := invoke.TransformMeta{Op: "invoke", Model: fmt.Sprint(meta["pipeline"]), RequestID: fmt.Sprint(meta["execution"])}
	if config != nil {
		if tm.Config, err = json.Marshal(config); err != nil {
			return nil, fault.Internal("the node's plugin config is not JSON: %v", err)
		}
	}
	out, _, err := t.h.Transform(ctx, plugin, "request", body, tm)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return value, nil
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return nil, fault.PluginFailed("plugin %q returned a body that is not JSON: %v", plugin, err)
	}
	return v, nil
}

// wasmFault maps a WASM plugin's error to the gateway's: an adapter's upstream error keeps the
// upstream's status; a transform's or local model's error object with a 4xx status refuses the
// request with it (refusal); anything else is the plugin's fault.
func wasmFault(err error) error {
	var we *wasm.Error
	if !errors.As(err, &we) {
		return fault.PluginFailed("%v", err)
	}
	if we.Kind == wasm.KindGuest && we.Status > 0 && we.Export == wasm.ExportAdapterResponse {
		fe := fault.Upstream(we.Status, "upstream of plugin %q returned HTTP %d: %s", we.Plugin, we.Status, we.Message)
		fe.Status = keptUpstreamStatus(we.Status)
		if we.Code != "" {
			fe.Code = we.Code
		}
		return fe
	}
	fe := fault.PluginFailed("plugin %q: %s", we.Plugin, we.Message)
	switch we.Kind {
	case wasm.KindBusy:
		fe.Status, fe.RetryAfter = 503, 1
	case wasm.KindQuarantined:
		fe.Status, fe.RetryAfter = 503, max(1, int(math.Ceil(we.RetryAfter.Seconds())))
	}
	if we.Kind == wasm.KindGuest {
		fe.Status = refusalStatus(we.Status)
	}
	if we.Kind == wasm.KindGuest && we.Code != "" {
		fe.Code = we.Code
	} else {
		fe.Code = "plugin_" + we.Kind.String()
	}
	return fe
}

// keptUpstreamStatus is the status the client gets for an upstream error behind a plugin: the
// upstream's own when it says what was wrong with the request (or to slow down), else 502.
func keptUpstreamStatus(status int) int {
	switch status {
	case 400, 404, 409, 413, 422, 429:
		return status
	}
	return http.StatusBadGateway
}

// refusalStatus is the status of a plugin's error object that says status: a 4xx refuses the
// request with that status (ABI.md §5); anything else is the plugin's fault, 502.
func refusalStatus(status int) int {
	if status >= 400 && status < 500 {
		return status
	}
	return http.StatusBadGateway
}

// procFault maps a process plugin's error to the gateway's.
func procFault(err error) error {
	var ue *plugins.UpstreamError
	if errors.As(err, &ue) {
		fe := fault.Upstream(ue.Status, "upstream of plugin %q: %s", ue.Plugin, ue.Message)
		if ue.Status == 0 {
			fe.Message = fmt.Sprintf("upstream of plugin %q unreachable: %s", ue.Plugin, ue.Message)
		}
		if ue.Code != "" {
			fe.Code = ue.Code
		}
		if fe.Status = keptUpstreamStatus(ue.Status); fe.Status == ue.Status &&
			len(ue.Body) > 0 && bytes.Contains(ue.Body, []byte(`"error"`)) {
			fe.Body = ue.Body
		}
		fe.RetryAfter = ue.RetryAfter
		return fe
	}
	var pe *plugins.Error
	if errors.As(err, &pe) {
		switch pe.Kind {
		case plugins.Timeout:
			return fault.Timeout("%s", pe.Message)
		}
		fe := fault.PluginFailed("%s", pe.Message)
		fe.Code = "plugin_" + strings.ToLower(pe.Kind.String())
		if errors.Is(err, plugins.ErrBusy) {
			fe.Status, fe.RetryAfter = 503, int(plugins.BusyRetryAfter/time.Second)
		}
		return fe
	}
	return fault.PluginFailed("%v", err)
}

// wasmModel serves models through a WASM adapter or local model.
type wasmModel struct{ p *wasm.Plugin }

func modelInfo(m provider.PluginModelInfo) wasm.ModelInfo {
	return wasm.ModelInfo{ID: m.ID, UpstreamModel: m.UpstreamModel, Endpoint: m.Endpoint}
}

func (w wasmModel) Adapter() bool { return w.p.Has(wasm.RoleAdapter) }

func (w wasmModel) AdaptRequest(ctx context.Context, op provider.Op, request []byte, m provider.PluginModelInfo) (*provider.PluginHTTP, error) {
	r, err := w.p.AdapterRequest(ctx, wasm.ModelCall{Op: wasm.Op(op.String()), Request: request, Model: modelInfo(m)})
	if err != nil {
		return nil, wasmFault(err)
	}
	return &provider.PluginHTTP{Method: r.Method, URL: r.URL, Headers: r.Headers, Body: r.Body}, nil
}

func (w wasmModel) AdaptResponse(ctx context.Context, op provider.Op, status int, headers map[string]string, body, request []byte, m provider.PluginModelInfo) ([]byte, error) {
	out, err := w.p.AdapterResponse(ctx, wasm.UpstreamResponse{Op: wasm.Op(op.String()), Status: status, Headers: headers, Body: body,
		Request: request, Model: modelInfo(m)})
	if err != nil {
		return nil, wasmFault(err)
	}
	return out, nil
}

func (w wasmModel) Infer(ctx context.Context, op provider.Op, request []byte, m provider.PluginModelInfo) ([]byte, error) {
	if !w.p.Has(wasm.RoleInfer) {
		return nil, fault.PluginFailed("plugin %q does not answer requests itself", w.p.Name())
	}
	out, err := w.p.Infer(ctx, wasm.ModelCall{Op: wasm.Op(op.String()), Request: request, Model: modelInfo(m)})
	if err != nil {
		return nil, wasmFault(err)
	}
	return out, nil
}

func (w wasmModel) InferStream(context.Context, provider.Op, []byte, provider.PluginModelInfo) (provider.ChunkStream, error) {
	return nil, nil
}

// procModel serves models through a process provider plugin.
type procModel struct {
	m    *plugins.Manager
	name string
}

func (p procModel) call(op provider.Op, request []byte, m provider.PluginModelInfo) plugins.ProviderCall {
	return plugins.ProviderCall{Op: op.String(), Request: request, APIKey: m.APIKey,
		Model: plugins.Model{ID: m.ID, UpstreamModel: m.UpstreamModel, Endpoint: m.Endpoint}}
}

func (p procModel) Adapter() bool { return false }

func (p procModel) AdaptRequest(context.Context, provider.Op, []byte, provider.PluginModelInfo) (*provider.PluginHTTP, error) {
	return nil, errors.New("process plugins make their own calls")
}

func (p procModel) AdaptResponse(context.Context, provider.Op, int, map[string]string, []byte, []byte, provider.PluginModelInfo) ([]byte, error) {
	return nil, errors.New("process plugins make their own calls")
}

func (p procModel) Infer(ctx context.Context, op provider.Op, request []byte, m provider.PluginModelInfo) ([]byte, error) {
	out, err := p.m.Complete(traced(ctx), p.name, p.call(op, request, m))
	if err != nil {
		return nil, procFault(err)
	}
	if _, err := rawjson.ScanObject(out, nil); err != nil {
		return nil, fault.PluginFailed("plugin %q answered something that is not a JSON object: %v", p.name, err)
	}
	return out, nil
}

func (p procModel) InferStream(ctx context.Context, op provider.Op, request []byte, m provider.PluginModelInfo) (provider.ChunkStream, error) {
	s, err := p.m.Stream(traced(ctx), p.name, p.call(op, request, m))
	if err != nil {
		return nil, procFault(err)
	}
	return procStream{s}, nil
}

type procStream struct{ s plugins.ChunkStream }

func (s procStream) Next() ([]byte, error) {
	c, err := s.s.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, procFault(err)
	}
	return c, err
}

func (s procStream) Close() { s.s.Close() }

// PluginInfo is a plugin as GET /api/plugins shows it.
type PluginInfo struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"` // wasm or process
	Roles     []string `json:"roles"`
	Language  string   `json:"language,omitempty"`
	Path      string   `json:"path"`
	State     string   `json:"state"`
	PID       int      `json:"pid,omitempty"`
	Restarts  int64    `json:"restarts,omitempty"`
	LastError string   `json:"lastError,omitempty"`
	Calls     int64    `json:"calls"`
	Errors    int64    `json:"errors"`
	Instances int      `json:"instances,omitempty"`
	// Describe is what a WASM plugin's iom_describe said of itself, when it has that export.
	Describe *wasm.Description `json:"describe,omitempty"`
	// Quarantine is a WASM plugin's: refused at once until quarantinedUntil, after calls in a
	// row that ran out of time (timeoutStreak counts them).
	QuarantinedUntil *time.Time `json:"quarantinedUntil,omitempty"`
	Quarantines      uint64     `json:"quarantines,omitempty"`
	TimeoutStreak    int        `json:"timeoutStreak,omitempty"`
	LogLinesDropped  uint64     `json:"logLinesDropped,omitempty"`
	Latency          struct {
		Mean float64 `json:"mean"`
		P50  float64 `json:"p50"`
		P95  float64 `json:"p95"`
	} `json:"latencyMs"`
}

func (h *Hub) List() []PluginInfo {
	h.mu.RLock()
	var ws []*wasmPlugin
	for _, w := range h.wasm {
		ws = append(ws, w)
	}
	h.mu.RUnlock()
	out := []PluginInfo{}
	for _, w := range ws {
		st := w.p.Stats()
		info := PluginInfo{Name: w.cfg.Name, Kind: "wasm", Roles: w.p.Roles(), Language: w.p.Language(), Path: w.cfg.Path,
			State: "loaded", Calls: int64(st.Calls), Errors: int64(st.Errors), Instances: st.Instances}
		info.Latency.Mean, info.Latency.P50, info.Latency.P95 = msOf(st.Mean), msOf(st.P50), msOf(st.P95)
		info.Quarantines, info.TimeoutStreak, info.LogLinesDropped = st.Quarantines, st.TimeoutStreak, st.LogLinesDropped
		if d := w.p.Description(); d.Name != "" || d.Version != "" || len(d.Roles) > 0 {
			info.Describe = &d
		}
		if st.Quarantined {
			info.State = "quarantined"
			until := st.QuarantinedUntil
			info.QuarantinedUntil = &until
		}
		out = append(out, info)
	}
	for _, s := range h.procs.Stats() {
		info := PluginInfo{Name: s.Name, Kind: "process", Roles: strings.Split(s.Role, ","), Path: s.Path, State: s.State,
			PID: s.PID, Restarts: s.Restarts, LastError: s.LastError, Calls: s.Calls, Errors: s.Errors}
		if s.Role == "" {
			info.Roles = []string{}
		}
		info.Latency.Mean, info.Latency.P50, info.Latency.P95 = s.MeanMs, s.P50Ms, s.P95Ms
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b PluginInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// traced is ctx carrying its trace context to a process plugin's call (plugins.WithTraceContext).
func traced(ctx context.Context) context.Context {
	traceparent, tracestate := telemetry.Headers(ctx)
	return plugins.WithTraceContext(ctx, traceparent, tracestate)
}
