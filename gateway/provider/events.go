package provider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/iomhq/iom/gateway/wire/openai"
)

// eventReader reads server-sent events (or, with ndjson set, newline-delimited JSON) from a
// streamed upstream answer. It is the framing under every translated stream.
type eventReader struct {
	body   *answerBody
	br     *bufio.Reader
	name   []byte // the event: field of the current event
	data   []byte
	ndjson bool
}

func newEventReader(body *answerBody, ndjson bool) *eventReader {
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(body)
	return &eventReader{body: body, br: br, ndjson: ndjson, data: make([]byte, 0, 512)}
}

// next returns the next event's name and data (valid until the following call), or io.EOF.
func (r *eventReader) next() (name, data []byte, err error) {
	r.name, r.data = r.name[:0], r.data[:0]
	has := false
	for {
		line, err := readLine(r.br)
		if err != nil {
			if errors.Is(err, io.EOF) && has {
				return r.name, r.data, nil
			}
			if errors.Is(err, io.EOF) {
				return nil, nil, io.EOF
			}
			return nil, nil, streamError(err)
		}
		if r.ndjson {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			r.data = append(r.data, line...)
			return nil, r.data, nil
		}
		if len(line) == 0 {
			if has {
				return r.name, r.data, nil
			}
			continue
		}
		switch {
		case bytes.HasPrefix(line, []byte("data:")):
			v := bytes.TrimPrefix(line[5:], []byte(" "))
			if has {
				r.data = append(r.data, '\n')
			}
			r.data = append(r.data, v...)
			has = true
		case bytes.HasPrefix(line, []byte("event:")):
			r.name = append(r.name, bytes.TrimSpace(line[6:])...)
		}
	}
}

func (r *eventReader) buffered() bool { return r.br != nil && eventBuffered(r.br, r.ndjson) }

// eventBuffered reports whether br holds a whole event (a whole line, for NDJSON), which the next
// read returns without waiting: bytes of an event still arriving do not count.
func eventBuffered(br *bufio.Reader, ndjson bool) bool {
	n := br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := br.Peek(n)
	if ndjson {
		return bytes.IndexByte(b, '\n') >= 0
	}
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n"))
}

// close releases the reader and the answer; done says whether the stream ended, so that what
// is left of the body (its terminator, usually) is worth reading for the connection to be kept.
func (r *eventReader) close(done bool) {
	if r.body == nil {
		return
	}
	if done {
		_, _ = io.CopyN(io.Discard, r.br, 64<<10)
	}
	r.br.Reset(nil)
	readerPool.Put(r.br)
	r.body.Close()
	r.body, r.br = nil, nil
}

// readLine returns the next line without its line ending.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
			if len(long) > 16<<20 {
				return nil, fmt.Errorf("stream event larger than 16 MiB")
			}
		}
		line = long
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// chunker builds canonical chat chunks for translated streams.
type chunker struct {
	id, model    string
	created      int64
	includeUsage bool
	usage        Usage
	queue        [][]byte
}

func (k *chunker) push(delta openai.Delta, finish string) {
	c := openai.Chunk{ID: k.id, Object: "chat.completion.chunk", Created: k.created, Model: k.model,
		Choices: []openai.ChunkChoice{{Delta: delta}}}
	if finish != "" {
		c.Choices[0].FinishReason = &finish
	}
	b, _ := json.Marshal(c)
	k.queue = append(k.queue, b)
}

// pushUsage queues the final usage chunk when the client asked for one.
func (k *chunker) pushUsage() {
	if !k.includeUsage {
		return
	}
	u := openaiUsage(k.usage)
	b, _ := json.Marshal(openai.Chunk{ID: k.id, Object: "chat.completion.chunk", Created: k.created, Model: k.model,
		Choices: []openai.ChunkChoice{}, Usage: u})
	k.queue = append(k.queue, b)
}

func (k *chunker) pop() ([]byte, bool) {
	if len(k.queue) == 0 {
		return nil, false
	}
	c := k.queue[0]
	k.queue = k.queue[1:]
	return c, true
}
