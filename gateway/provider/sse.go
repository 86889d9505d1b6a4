package provider

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
)

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// sseStream reads an OpenAI-style server-sent event stream from an upstream answer.
type sseStream struct {
	body  *answerBody
	br    *bufio.Reader
	data  []byte
	usage Usage
	// stripUsage drops the usage-only chunk the gateway asked for on the client's behalf.
	stripUsage bool
	finished   bool // a chunk carried a finish_reason
	done       bool
	fields     []rawjson.Field
	fieldsBuf  [8]rawjson.Field // fields' first backing array: a chunk has about six members
}

func newSSEStream(body *answerBody, stripUsage bool) *sseStream {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(body)
	s := &sseStream{body: body, br: br, stripUsage: stripUsage, data: make([]byte, 0, 1024)}
	s.fields = s.fieldsBuf[:0]
	return s
}

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
	usageKey   = []byte(`"usage"`)
	finishKey  = []byte(`"finish_reason":"`)
)

func (s *sseStream) Next() ([]byte, error) {
	for {
		chunk, err := s.event()
		if err != nil {
			return nil, err
		}
		if chunk == nil {
			continue
		}
		if bytes.Contains(chunk, finishKey) {
			s.finished = true
		}
		if bytes.Contains(chunk, usageKey) && s.readUsage(chunk) && s.stripUsage {
			continue
		}
		return chunk, nil
	}
}

// readUsage records a chunk's usage and reports whether the chunk is the usage-only one (no
// choices), which exists only because the gateway asked for it.
func (s *sseStream) readUsage(chunk []byte) bool {
	fields, err := rawjson.ScanObject(chunk, s.fields[:0])
	s.fields = fields
	if err != nil {
		return false
	}
	uv := rawjson.Get(fields, "usage")
	if rawjson.KindOf(uv) != rawjson.Object {
		return false
	}
	s.usage = usageOf(uv)
	choices := rawjson.Get(fields, "choices")
	return choices == nil || bytes.Equal(bytes.TrimSpace(choices[1:len(choices)-1]), nil)
}

// event reads one event and returns its data, or nil for an event without data.
func (s *sseStream) event() ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	s.data = s.data[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.done = true
				if hasData && !bytes.Equal(s.data, doneMarker) {
					return s.data, nil
				}
				if s.finished {
					return nil, io.EOF
				}
				return nil, streamFault("upstream closed the stream before it ended")
			}
			return nil, streamError(err)
		}
		if len(line) == 0 {
			if !hasData {
				continue
			}
			if bytes.Equal(s.data, doneMarker) {
				s.done = true
				return nil, io.EOF
			}
			return s.data, nil
		}
		if bytes.HasPrefix(line, dataPrefix) {
			v := line[len(dataPrefix):]
			if len(v) > 0 && v[0] == ' ' {
				v = v[1:]
			}
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, v...)
			hasData = true
		}
		// event:, id:, retry: and comments carry nothing the canonical stream needs.
	}
}

func (s *sseStream) readLine() ([]byte, error) { return readLine(s.br) }

// streamError makes a failure to read a stream a fault. The body's own failures are faults
// already (answerBody); what is left is the framing's (an event too large).
func streamError(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe
	}
	return streamFault("upstream stream failed: %v", err)
}

// streamFault is the fault of a stream that failed once it had begun: the request was
// delivered.
func streamFault(format string, args ...any) *fault.Error {
	fe := fault.Upstream(0, format, args...)
	fe.Delivered = true
	return fe
}

// Buffered reports whether a whole event is already read: bytes of an event the upstream has not
// finished sending do not count, since Next would wait for the rest.
func (s *sseStream) Buffered() bool { return s.br != nil && eventBuffered(s.br, false) }

func (s *sseStream) Usage() Usage { return s.usage }

func (s *sseStream) Close() {
	if s.body == nil {
		return
	}
	if s.done {
		// Read past [DONE] to the end of the body (the chunked terminator, usually), so the
		// connection goes back to the pool instead of being closed.
		_, _ = io.CopyN(io.Discard, s.br, 64<<10)
	}
	s.br.Reset(nil)
	readerPool.Put(s.br)
	s.br = nil
	s.body.Close()
	s.body = nil
}
