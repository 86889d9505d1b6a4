package server

import (
	"bufio"
	"errors"
	"io"
	"sync"

	"github.com/valyala/fasthttp"
)

// setStreamBody makes fn write the response body, as fasthttp's SetBodyStreamWriter does, but on
// the connection's own goroutine, each flush of w one chunk, saving the hand-offs through that
// writer's goroutine and pipe (bench/README.md). fn runs exactly once: if the body is never sent
// (HEAD, a lost connection, a reset response), it runs in the background with a writer whose
// first flush fails, so what it holds (an upstream response, a call to record) is released.
func setStreamBody(ctx *fasthttp.RequestCtx, fn func(w *bufio.Writer)) {
	ctx.Response.SetBodyStream(&streamBody{fn: fn}, -1)
}

type streamBody struct {
	fn      func(w *bufio.Writer)
	started bool
	pipe    io.ReadCloser // Read's fallback (see Read)
}

// SupportsBodyWriteTo tells fasthttp to send the body with WriteTo.
func (b *streamBody) SupportsBodyWriteTo() bool { return true }

// WriteTo runs fn with a writer whose every flush is one write to dst (fasthttp's chunk writer,
// which frames and flushes each write).
func (b *streamBody) WriteTo(dst io.Writer) (int64, error) {
	if b.started {
		return 0, nil
	}
	b.started = true
	cw := countingWriter{w: dst}
	bw := streamWriters.Get().(*bufio.Writer)
	bw.Reset(&cw)
	b.fn(bw)
	err := bw.Flush()
	bw.Reset(nil)
	streamWriters.Put(bw)
	return cw.n, err
}

// Read serves a reader of the body other than fasthttp's chunked sender, which uses WriteTo: fn
// then runs as SetBodyStreamWriter runs it, in a goroutine writing into a pipe.
func (b *streamBody) Read(p []byte) (int, error) {
	if b.pipe == nil {
		if b.started {
			return 0, io.EOF
		}
		b.started = true
		b.pipe = fasthttp.NewStreamReader(b.fn)
	}
	return b.pipe.Read(p)
}

// Close is called by fasthttp once it is done with the body, sent or not.
func (b *streamBody) Close() error {
	if b.pipe != nil {
		return b.pipe.Close()
	}
	if !b.started {
		b.started = true
		go b.fn(bufio.NewWriterSize(goneWriter{}, 4096))
	}
	return nil
}

var streamWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// goneWriter is the writer of a body that is not sent.
type goneWriter struct{}

func (goneWriter) Write([]byte) (int, error) { return 0, errBodyNotSent }

var errBodyNotSent = errors.New("the response body is not sent")
