package provider

import (
	"bufio"
	"context"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/telemetry"
)

// staleRetries is how many times a call goes again, on a new connection, after finding a
// kept-alive one stale: once is enough unless new connections are closed before use too.
const staleRetries = 2

// A sendError is a call's transport failure and how far its request got.
type sendError struct {
	err error
	// written: the request went out whole before the failure, so the upstream may be running it.
	written bool
	// stale: a kept-alive connection turned out closed (or spoiled) before any byte of the answer;
	// the request goes again, on a new connection.
	stale bool
	// cancelled: the call's context ended (the failure is the connection's closing under it).
	cancelled error
}

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// exchange sends req over a connection of u's pool and reads the answer into resp: its head, and
// its body unless resp.StreamBody is set, in which case it returns the body to read and close.
// It retries only a request that cannot have reached the upstream (CONNECTIONS.md). A deadline
// bounds all but a streamed body's read; ctx interrupts everything by closing the connection.
func (u *Upstream) exchange(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) (*answerBody, error) {
	if len(req.Header.UserAgent()) == 0 {
		req.Header.SetUserAgent(userAgent)
	}
	if u.hop != "" {
		req.Header.Set(HopHeader, hopOf(ctx, u.hop))
	}
	telemetry.Inject(ctx, &req.Header)
	req.URI().DisablePathNormalizing = true
	stream := resp.StreamBody
	for attempt := 0; ; attempt++ {
		resp.Reset()
		resp.StreamBody = stream
		body, err := u.roundTrip(ctx, req, resp, deadline)
		if se, ok := err.(*sendError); !ok || !se.stale || attempt == staleRetries {
			return body, err
		}
		// The pool's other idle connections are likely as stale (an upstream that restarted, or
		// one whose keep-alive ran out while all of them waited): the next attempt dials.
		u.client.CloseIdleConnections()
	}
}

const userAgent = "iom"

func (u *Upstream) roundTrip(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) (*answerBody, error) {
	var timeout time.Duration
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return nil, &sendError{err: fasthttp.ErrTimeout}
		}
	}
	if ctx != nil {
		if err := ctx.Err(); err != nil {
			return nil, &sendError{err: err, cancelled: err}
		}
	}
	hc := u.client
	cc, err := hc.AcquireConn(timeout, false)
	if err != nil {
		return nil, &sendError{err: err}
	}
	conn := cc.Conn()
	s := socketOf(conn)
	if err := s.claim(); err != nil {
		hc.CloseConn(cc)
		return nil, &sendError{err: err, stale: true}
	}
	var stop func() bool
	if ctx != nil && ctx.Done() != nil {
		stop = context.AfterFunc(ctx, s.abort)
	}
	fail := func(err error, written, stale bool) (*answerBody, error) {
		if stop != nil {
			stop()
		}
		hc.CloseConn(cc)
		se := &sendError{err: err, written: written}
		if ctx != nil && ctx.Err() != nil {
			se.cancelled = ctx.Err()
		} else {
			se.stale = stale
		}
		return nil, se
	}
	reused := s.answers > 0
	_ = conn.SetWriteDeadline(deadline)
	_ = conn.SetReadDeadline(deadline)
	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		// Refused on a kept-alive connection: the upstream had closed it.
		return fail(err, false, reused && !isTimeout(err))
	}
	br := hc.AcquireReader(conn)
	if err := resp.ReadLimitBody(br, hc.MaxResponseBodySize); err != nil {
		hc.ReleaseReader(br)
		// io.EOF is fasthttp's word for a connection that ended, or failed other than by a
		// timeout, before the answer's first byte: on a kept-alive connection, most likely one
		// the upstream had closed as the request went out.
		return fail(err, true, reused && err == io.EOF)
	}
	if stream := resp.BodyStream(); stream != nil {
		b := &answerBody{u: u, ctx: ctx, resp: resp, r: stream, br: br, s: s, stop: stop, closing: req.ConnectionClose()}
		b.put = func(keep bool) {
			if keep {
				release(hc, u.idle, cc, s)
			} else {
				hc.CloseConn(cc)
			}
		}
		return b, nil
	}
	keep := reusable(req.ConnectionClose(), resp, br, s)
	hc.ReleaseReader(br)
	if stop != nil && !stop() {
		keep = false // closed under the call, which has its answer
	}
	if keep {
		release(hc, u.idle, cc, s)
	} else {
		hc.CloseConn(cc)
	}
	return nil, nil
}

// reusable reports whether a connection whose answer was read whole may take another request:
// neither side closes it, and nothing came after the answer (bytes past its end would be read as
// the next one's).
func reusable(closing bool, resp *fasthttp.Response, br *bufio.Reader, s *socket) bool {
	return !closing && !resp.ConnectionClose() && br.Buffered() == 0 && len(s.held) == 0
}

// release returns a connection to the pool, to be watched if it stays idle. (It is generic for
// fasthttp's type of a pooled connection, which is unexported.)
func release[C any](hc interface{ ReleaseConn(C) }, w *idleWatch, cc C, s *socket) {
	s.answers++
	w.add(s, s.rest())
	hc.ReleaseConn(cc)
}

// An answerBody is a streamed answer's body, read from the connection it came on. Its errors are
// faults. Close returns the connection to the pool when the body was read to its end, and closes
// it otherwise.
type answerBody struct {
	u    *Upstream
	ctx  context.Context
	resp *fasthttp.Response
	r    io.Reader // resp's body stream
	eof  bool
	br   *bufio.Reader
	s    *socket
	// closing: the request asked to close the connection after its answer.
	closing bool
	stop    func() bool     // unregisters the abort on ctx; nil: none
	put     func(keep bool) // returns the connection (fasthttp's type for it is unexported)
}

func (b *answerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		b.eof = true
	default:
		err = b.fault(err)
	}
	return n, err
}

// fault makes a failure to read the body a fault: the request was delivered, and answered in
// part.
func (b *answerBody) fault(err error) *fault.Error {
	var fe *fault.Error
	switch {
	case b.ctx != nil && b.ctx.Err() != nil:
		fe = cancelledFault(b.u, b.ctx.Err())
	case isTimeout(err):
		fe = fault.Timeout("upstream %s went quiet for %s", b.u.Provider, seconds(b.u.Timeout))
	default:
		fe = fault.Upstream(0, "upstream %s broke off its answer: %s", b.u.Provider, reason(err, true))
	}
	fe.Delivered = true
	fe.Detail = b.u.where + ": " + err.Error()
	return fe
}

// Close releases the body and its connection; it is safe to call more than once.
func (b *answerBody) Close() {
	if b.resp == nil {
		return
	}
	keep := b.eof && b.br != nil && reusable(b.closing, b.resp, b.br, b.s)
	if b.stop != nil && !b.stop() {
		keep = false
	}
	_ = b.resp.CloseBodyStream()
	if b.br != nil {
		b.u.client.ReleaseReader(b.br)
		b.put(keep)
	}
	fasthttp.ReleaseResponse(b.resp)
	b.resp, b.r, b.br = nil, nil, nil
}

// readLimited reads up to n bytes of the body (of an error answer, say).
func (b *answerBody) readLimited(n int64) []byte {
	out, _ := io.ReadAll(io.LimitReader(b, n))
	return out
}
