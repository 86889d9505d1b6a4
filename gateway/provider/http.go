package provider

import (
	"errors"
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

// prepare fills a POST of body to op's URL with the upstream's headers.
func (u *Upstream) prepare(req *fasthttp.Request, op Op, body []byte) {
	req.SetRequestURI(u.urls[op])
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	for _, h := range u.headers {
		req.Header.Set(h[0], h[1])
	}
	req.SetBodyRaw(body)
}

// do sends req and maps transport failures to provider faults.
func (u *Upstream) do(req *fasthttp.Request, resp *fasthttp.Response, c *Call) error {
	var err error
	if c.Stream {
		err = u.client.Do(req, resp)
	} else {
		deadline := c.Deadline
		if d := time.Now().Add(u.Timeout); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
		err = u.client.DoDeadline(req, resp, deadline)
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
