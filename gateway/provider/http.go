package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/wire/openai"
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

// do sends req and reads the answer into resp: all of it, or, for a stream, its head, and
// returns its body to read. Transport failures become faults.
func (u *Upstream) do(req *fasthttp.Request, resp *fasthttp.Response, c *Call, stream bool) (*answerBody, error) {
	budget := u.Timeout
	var deadline time.Time
	if !stream {
		// A streamed answer runs as long as it runs; each of its reads is bounded (the dialer's
		// ReadLimit), and so is the wait for its head.
		now := time.Now()
		deadline = now.Add(budget)
		if !c.Deadline.IsZero() && c.Deadline.Before(deadline) {
			deadline, budget = c.Deadline, c.Deadline.Sub(now)
		}
		if c.Ctx != nil {
			if d, ok := c.Ctx.Deadline(); ok && d.Before(deadline) {
				deadline, budget = d, d.Sub(now)
			}
		}
	}
	resp.StreamBody = stream
	body, err := u.exchange(c.Ctx, req, resp, deadline)
	if err != nil {
		return nil, transportError(u, err, budget)
	}
	return body, nil
}

// request fills a POST of body (JSON) to url with the upstream's headers plus the ones set by
// auth.
func (u *Upstream) request(req *fasthttp.Request, url string, body []byte, stream bool, auth func(*fasthttp.RequestHeader)) {
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
}

// send POSTs body (JSON) to url with the upstream's headers plus the ones set by auth, and returns
// the answer when it is a 2xx; the caller releases it. errorsOpenAI says whether an error body may
// be passed through to OpenAI clients as it is.
func (u *Upstream) send(c *Call, url string, body []byte, auth func(*fasthttp.RequestHeader), errorsOpenAI bool) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	u.request(req, url, body, false, auth)
	resp := fasthttp.AcquireResponse()
	if _, err := u.do(req, resp, c, false); err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		defer fasthttp.ReleaseResponse(resp)
		return nil, upstreamError(u, code, resp.Body(), resp.Header.Peek("Retry-After"), errorsOpenAI)
	}
	return resp, nil
}

// open is send for a streamed answer: it returns the answer's body when it is a 2xx; the caller
// closes it.
func (u *Upstream) open(c *Call, url string, body []byte, auth func(*fasthttp.RequestHeader), errorsOpenAI bool) (*answerBody, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	u.request(req, url, body, true, auth)
	return u.openWith(req, c, errorsOpenAI)
}

// openWith sends a prepared request for a streamed answer and returns the answer's body when it
// is a 2xx.
func (u *Upstream) openWith(req *fasthttp.Request, c *Call, errorsOpenAI bool) (*answerBody, error) {
	resp := fasthttp.AcquireResponse()
	b, err := u.do(req, resp, c, true)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if b == nil { // an answer without a body
		b = &answerBody{u: u, resp: resp, r: http.NoBody}
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		defer b.Close()
		return nil, upstreamError(u, code, b.readLimited(64<<10), resp.Header.Peek("Retry-After"), errorsOpenAI)
	}
	return b, nil
}

// bearer sets "Authorization: Bearer <key>" when the upstream has a key.
func (u *Upstream) bearer(h *fasthttp.RequestHeader) {
	if u.Key.IsSet() {
		h.Set("Authorization", "Bearer "+u.Key.Reveal())
	}
}

// vendorBody reads a call's chat request and encodes it in a vendor's format.
func vendorBody(u *Upstream, c *Call, encode func(*openai.ChatRequest) ([]byte, error)) (*openai.ChatRequest, []byte, error) {
	req, err := chatOf(u, c)
	if err != nil {
		return nil, nil, err
	}
	body, err := encode(req)
	if err != nil {
		return nil, nil, err
	}
	return req, body, nil
}

// vendorAnswer reads a vendor's answer into A and translates it back with back: a chat
// completion, or a legacy completion for a Completion call. It releases resp.
func vendorAnswer[A any](u *Upstream, c *Call, resp *fasthttp.Response, back func(*A) (*openai.ChatResponse, Usage)) (*Result, error) {
	defer fasthttp.ReleaseResponse(resp)
	var a A
	if err := decodeAnswer(u, resp, &a); err != nil {
		return nil, err
	}
	chat, usage := back(&a)
	if c.Op == Completion {
		return jsonResult(chatAsCompletion(chat), usage)
	}
	return jsonResult(chat, usage)
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
