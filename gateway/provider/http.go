package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func acquireBuf() *[]byte { return bufPool.Get().(*[]byte) }

func releaseBuf(b *[]byte) {
	if cap(*b) > 1<<20 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// requestHeads are the starts of an upstream's requests, one per operation, plain and streamed:
// its URL parsed, and the method, the content type, the upstream's own headers and its key set
// (fasthttp checks every header value it is given for line breaks) once, when the upstream is
// built, then copied into each request. They hold the key: never print them.
type requestHeads [numOps][2]struct {
	uri    fasthttp.URI
	header fasthttp.RequestHeader
}

// compileHeads makes u's request heads from its URLs (those it has), headers and key. An
// adapter that sends with prepare (the OpenAI adapter, and those that hand it calls) calls it at
// the end of its Prepare.
func (u *Upstream) compileHeads() error {
	heads := new(requestHeads)
	for op := Op(0); op < numOps; op++ {
		if u.urls[op] == "" {
			continue
		}
		for stream := range heads[op] {
			h := &heads[op][stream]
			if err := h.uri.Parse(nil, []byte(u.urls[op])); err != nil {
				return fmt.Errorf("invalid upstream URL %q: %w", u.urls[op], err)
			}
			h.header.SetMethod(fasthttp.MethodPost)
			h.header.SetContentType("application/json")
			for _, kv := range u.headers {
				h.header.Set(kv[0], kv[1])
			}
			u.bearer(&h.header)
			if stream == 1 {
				h.header.Set("Accept", "text/event-stream")
			}
		}
	}
	u.heads = heads
	return nil
}

// prepare fills a POST of body to op's URL with the upstream's headers and key (compileHeads).
func (u *Upstream) prepare(req *fasthttp.Request, op Op, stream bool, body []byte) {
	h := &u.heads[op][0]
	if stream {
		h = &u.heads[op][1]
	}
	h.header.CopyTo(&req.Header)
	req.SetURI(&h.uri)
	req.SetBodyRaw(body)
}

// do sends req and maps transport failures to provider faults.
func (u *Upstream) do(req *fasthttp.Request, resp *fasthttp.Response, c *Call) error {
	var err error
	if c.Stream {
		err = u.client.Do(req, resp)
	} else {
		// A timeout rather than a deadline: fasthttp turns either into a timeout, and this way
		// the monotonic clock alone is read, and only when the call has a deadline.
		timeout := u.Timeout
		if !c.Deadline.IsZero() {
			timeout = min(timeout, time.Until(c.Deadline))
		}
		err = u.client.DoTimeout(req, resp, timeout)
	}
	if err == nil {
		return nil
	}
	return transportError(u, err)
}

func transportError(u *Upstream, err error) *fault.Error {
	var ne net.Error
	if errors.Is(err, fasthttp.ErrTimeout) || errors.As(err, &ne) && ne.Timeout() {
		return fault.Timeout("upstream %s (%s) did not answer within %s", u.Provider, u.base, u.Timeout)
	}
	return fault.Upstream(0, "cannot reach upstream %s (%s): %v", u.Provider, u.base, err)
}

// readLimited reads up to n bytes of a streamed body.
func readLimited(resp *fasthttp.Response, n int64) []byte {
	r := resp.BodyStream()
	if r == nil {
		return resp.Body()
	}
	b, _ := io.ReadAll(io.LimitReader(r, n))
	return b
}

// closeResponse closes a streamed body (discarding the connection when the body was not read to
// its end) and releases the response.
func closeResponse(resp *fasthttp.Response, discard bool) {
	if rc, ok := resp.BodyStream().(fasthttp.ReadCloserWithError); ok && discard {
		_ = rc.CloseWithError(errDiscard)
	} else {
		_ = resp.CloseBodyStream()
	}
	fasthttp.ReleaseResponse(resp)
}

var errDiscard = errors.New("stream abandoned")

// send POSTs body (JSON) to url with the upstream's headers plus the ones set by auth, and returns
// the response when it is a 2xx; the caller releases it (and closes its stream when streaming).
// errorsOpenAI says whether an error body may be passed through to OpenAI clients as it is.
func (u *Upstream) send(c *Call, url string, body []byte, stream bool, auth func(*fasthttp.RequestHeader), errorsOpenAI bool) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	for _, h := range u.headers {
		req.Header.Set(h[0], h[1])
	}
	if auth != nil {
		auth(&req.Header)
	}
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	req.SetBodyRaw(body)
	resp := fasthttp.AcquireResponse()
	resp.StreamBody = stream
	call := *c
	call.Stream = stream
	if err := u.do(req, resp, &call); err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		var b []byte
		if stream {
			b = readLimited(resp, 64<<10)
			defer closeResponse(resp, true)
		} else {
			b = resp.Body()
			defer fasthttp.ReleaseResponse(resp)
		}
		return nil, upstreamError(u, code, b, resp.Header.Peek("Retry-After"), errorsOpenAI)
	}
	return resp, nil
}

// bearer sets "Authorization: Bearer <key>" when the upstream has a key.
func (u *Upstream) bearer(h *fasthttp.RequestHeader) {
	if u.Key.IsSet() {
		h.Set("Authorization", "Bearer "+u.Key.Reveal())
	}
}

// jsonResult wraps a translated answer as a Result.
func jsonResult(v any, usage Usage) (*Result, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fault.Internal("cannot encode the translated answer: %v", err)
	}
	return &Result{Body: b, Usage: usage}, nil
}

// decodeAnswer decodes an upstream's JSON answer, reporting a malformed one as the upstream's fault.
func decodeAnswer(u *Upstream, resp *fasthttp.Response, v any) error {
	if err := json.Unmarshal(resp.Body(), v); err != nil {
		return fault.Upstream(resp.StatusCode(), "upstream %s sent an answer that is not the expected JSON: %v", u.Provider, err)
	}
	return nil
}

// unsupported is the error for an operation an adapter cannot do.
func unsupported(u *Upstream, op Op) error {
	return fault.Invalid("model", "provider %s does not support %s requests", u.Provider, op)
}
