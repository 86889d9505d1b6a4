package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	pluginpb "github.com/iomhq/iom/sdk/plugin/proto"
)

// ProviderCall is one model call for a provider plugin.
type ProviderCall struct {
	// Op is "chat", "completion", "embedding" or "invoke".
	Op string
	// Request is the canonical request: OpenAI's JSON for Op ("invoke": the model's input).
	Request []byte
	Model   Model
	// Config overrides the plugin's Config for this call when non-nil.
	Config json.RawMessage
	// APIKey is the model's upstream key, if any.
	APIKey string
}

// Model is what a provider plugin is told about the model it answers for.
type Model struct {
	ID            string `json:"id"`
	UpstreamModel string `json:"upstreamModel"`
	Endpoint      string `json:"endpoint"`
}

// ChunkStream is a provider plugin's streamed answer. Always Close it: until then it counts as
// a call in flight, which a reload or shutdown waits for. It is for one goroutine; to abort a
// Next that is waiting, cancel the context given to Stream.
type ChunkStream interface {
	// Next returns the next canonical chunk (one chat.completion.chunk's JSON), or io.EOF after
	// the last, or an error (*Error or *UpstreamError) if the stream broke.
	Next() ([]byte, error)
	// Close ends the stream, stopping the plugin's work on it if it is not over. It is safe to
	// call more than once, and after Next has returned an error.
	Close()
}

// Transform runs the named transformer on a WASM ABI v1 envelope and returns its result
// envelope. ctx's deadline bounds the call. Errors are *Error.
func (m *Manager) Transform(ctx context.Context, name string, envelope []byte) ([]byte, error) {
	s, p, err := m.acquire(ctx, name, roleTransformer)
	if err != nil {
		return nil, err
	}
	defer s.release(p)
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	start := time.Now()
	resp, err := p.trans.Transform(ctx, &pluginpb.TransformRequest{Envelope: envelope})
	if err != nil {
		err = s.callError(ctx, p, err, budget(ctx, start))
		s.stats.record(time.Since(start), countsAsError(err))
		return nil, err
	}
	s.stats.record(time.Since(start), false)
	return resp.Result, nil
}

// Complete runs a call on the named provider and returns its canonical response. ctx's deadline
// (the model's timeout) bounds the call. Errors are *Error or *UpstreamError.
func (m *Manager) Complete(ctx context.Context, name string, call ProviderCall) ([]byte, error) {
	s, p, err := m.acquire(ctx, name, roleProvider)
	if err != nil {
		return nil, err
	}
	defer s.release(p)
	req, err := s.providerRequest(&call)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.callContext(ctx)
	defer cancel()
	start := time.Now()
	resp, err := p.prov.Complete(ctx, req)
	if err != nil {
		err = s.callError(ctx, p, err, budget(ctx, start))
		s.stats.record(time.Since(start), countsAsError(err))
		return nil, err
	}
	s.stats.record(time.Since(start), false)
	return resp.Response, nil
}

// Stream runs a streaming call on the named provider. ctx bounds the whole stream and must stay
// alive until the stream is closed; the plugin's Timeout, if set, bounds the wait for each
// chunk. Errors, here or from Next, are *Error or *UpstreamError.
func (m *Manager) Stream(ctx context.Context, name string, call ProviderCall) (ChunkStream, error) {
	s, p, err := m.acquire(ctx, name, roleProvider)
	if err != nil {
		return nil, err
	}
	req, err := s.providerRequest(&call)
	if err != nil {
		s.release(p)
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cs := &chunkStream{s: s, p: p, ctx: ctx, cancel: cancel, start: time.Now()}
	if t := s.set.Load().timeout; t > 0 {
		cs.idle = t
		cs.timer = time.AfterFunc(t, func() {
			cs.idleFired.Store(true)
			cancel()
		})
	}
	stream, err := p.prov.Stream(ctx, req)
	if err != nil {
		cs.fail(err)
		return nil, cs.err
	}
	cs.stream = stream
	return cs, nil
}

type chunkStream struct {
	s         *slot
	p         *process
	ctx       context.Context
	cancel    context.CancelFunc
	stream    pluginpb.Provider_StreamClient
	start     time.Time
	idle      time.Duration
	timer     *time.Timer
	idleFired atomic.Bool
	msg       pluginpb.Chunk
	err       error // set once the stream is over
}

var errStreamClosed = errors.New("plugins: stream closed")

func (c *chunkStream) Next() ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	c.msg.Reset()
	err := c.stream.RecvMsg(&c.msg)
	if err == nil {
		if c.timer != nil {
			c.timer.Reset(c.idle)
		}
		return c.msg.Chunk, nil
	}
	if err == io.EOF {
		c.finish(io.EOF, false)
		return nil, io.EOF
	}
	c.fail(err)
	return nil, c.err
}

func (c *chunkStream) Close() {
	if c.err == nil {
		c.finish(errStreamClosed, false)
	}
}

// fail ends the stream with what the gRPC stream returned, made into our error.
func (c *chunkStream) fail(err error) {
	if c.idleFired.Load() {
		err = &Error{Plugin: c.s.cfg.Name, Kind: Timeout, Err: context.DeadlineExceeded,
			Message: fmt.Sprintf("plugin %q sent nothing for %s", c.s.cfg.Name, c.idle)}
	} else {
		err = c.s.callError(c.ctx, c.p, err, budget(c.ctx, c.start))
	}
	c.finish(err, countsAsError(err))
}

func (c *chunkStream) finish(err error, failed bool) {
	c.err = err
	if c.timer != nil {
		c.timer.Stop()
	}
	c.cancel()
	c.s.release(c.p)
	c.s.stats.record(time.Since(c.start), failed)
}

// countsAsError tells a failure from a caller that gave up, which is not the plugin's doing.
func countsAsError(err error) bool {
	var e *Error
	return !errors.As(err, &e) || e.Kind != Canceled
}

var noCancel context.CancelFunc = func() {}

// callContext applies the plugin's Timeout when it is shorter than ctx's deadline.
func (s *slot) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	t := s.set.Load().timeout
	if t <= 0 {
		return ctx, noCancel
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= t {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, t)
}

// budget is how long a call that started at start was allowed to take, for timeout messages.
func budget(ctx context.Context, start time.Time) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return dl.Sub(start)
	}
	return 0
}

func (s *slot) providerRequest(call *ProviderCall) (*pluginpb.ProviderRequest, error) {
	model, err := json.Marshal(&call.Model)
	if err != nil {
		return nil, &Error{Plugin: s.cfg.Name, Kind: Failed, Err: err,
			Message: fmt.Sprintf("plugin %q: cannot encode the model: %v", s.cfg.Name, err)}
	}
	cfg := call.Config
	if cfg == nil {
		cfg = s.set.Load().config
	}
	return &pluginpb.ProviderRequest{Op: call.Op, Request: call.Request, Model: model, Config: cfg, ApiKey: call.APIKey}, nil
}
