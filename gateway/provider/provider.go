// Package provider owns the upstream side of the gateway: one adapter per kind of upstream API,
// translating the canonical request (OpenAI's wire format) into the upstream's and the answer,
// plain or streamed, back (in files named for the pair, such as openai_openai.go), and the pooled
// HTTP clients they share (CONNECTIONS.md). Adapters know nothing of keys, policies, retries or
// records, which belong to the invoke engine.
package provider

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
)

// Op is a data-plane operation.
type Op uint8

const (
	Chat Op = iota
	Completion
	Embedding
	// Responses is OpenAI's Responses API passed through to an upstream that serves it
	// (responses.go): the body is the Responses request, not the canonical chat request.
	Responses
	// CountTokens is Anthropic's count_tokens passed through to an anthropic upstream
	// (anthropic_count.go): the body is the Messages request to count.
	CountTokens
	numOps
)

var opNames = [numOps]string{"chat", "completion", "embedding", "responses", "count_tokens"}

func (o Op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return "unknown"
}

// opPaths are the OpenAI paths of each operation, relative to a /v1 base.
var opPaths = [numOps]string{"/chat/completions", "/completions", "/embeddings", "/responses", "/messages/count_tokens"}

// Usage is what one call consumed. CachedInput and CacheWrite are the parts of Input read from
// and written to the provider's prompt cache, Reasoning the part of Output spent reasoning;
// each is priced at its own rate where the model has one.
type Usage struct {
	Input       int64
	Output      int64
	CachedInput int64
	CacheWrite  int64
	Reasoning   int64
}

// Call is one upstream call in canonical form.
type Call struct {
	Op Op
	// Body is the canonical request (OpenAI's JSON). Adapters must not modify it.
	Body []byte
	// Fields are Body's top-level members, scanned once by the caller.
	Fields []rawjson.Field
	Stream bool
	// Deadline bounds a non-streaming call; zero means the upstream's own timeout.
	Deadline time.Time
	// Ctx, when not nil, ends the call early when it is cancelled (a client that went away, a
	// gateway shutting down). Context returns it, or the background context.
	Ctx context.Context
}

// Context returns the call's context: Ctx, or the background context when it has none.
func (c *Call) Context() context.Context {
	if c.Ctx == nil {
		return context.Background()
	}
	return c.Ctx
}

// Result is a non-streaming answer in canonical form. Release it when done with Body.
type Result struct {
	Body  []byte
	Usage Usage
	resp  *fasthttp.Response // the upstream response Body points into, if any
}

// Release returns the result's buffers.
func (r *Result) Release() {
	if r.resp != nil {
		fasthttp.ReleaseResponse(r.resp)
		r.resp = nil
	}
}

// Stream is a streamed answer as canonical chunks (the JSON data of OpenAI's SSE events).
type Stream interface {
	// Next returns the next chunk, valid until the following call, or io.EOF after the last.
	Next() ([]byte, error)
	// Buffered reports whether another chunk may be ready without waiting for the upstream, so
	// the caller can coalesce writes.
	Buffered() bool
	// Usage is the stream's usage; complete once Next has returned io.EOF.
	Usage() Usage
	// Close releases the stream; it is safe to call more than once.
	Close()
}

// Adapter talks to one kind of upstream.
type Adapter interface {
	// Prepare derives u's operation URLs from m's endpoint and compiles whatever the adapter
	// needs per model, once, before any call.
	Prepare(u *Upstream, m *spec.Model) error
	Do(u *Upstream, c *Call) (*Result, error)
	Stream(u *Upstream, c *Call) (Stream, error)
}

var adapters = map[string]Adapter{
	"openai":      openAI{},
	"anthropic":   anthropicAdapter{},
	"huggingface": huggingFace{},
	"ollama":      ollamaAdapter{},
	"http":        httpAPI{},
}

// Builtin lists the built-in adapter names.
func Builtin() []string {
	names := make([]string, 0, len(adapters))
	for n := range adapters {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Known reports whether name is a built-in adapter.
func Known(name string) error {
	if _, ok := adapters[name]; ok {
		return nil
	}
	return fmt.Errorf("unknown provider %q (built in: %s)", name, strings.Join(Builtin(), ", "))
}

var errEOF = io.EOF
