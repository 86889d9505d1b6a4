package provider

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/rawjson"
)

// A call of op Responses passes OpenAI's Responses API through to an upstream that serves it
// (an openai model, or an azure one on the /openai/v1 API): its body is a Responses request,
// sent with "model" set to the upstream's name, and the answer is relayed as it comes, the
// response object or each event of the stream, its usage read from the response's usage.

// ServesResponses reports whether the upstream has OpenAI's Responses API at /responses.
func (u *Upstream) ServesResponses() bool {
	if u.heads == nil || u.urls[Responses] == "" {
		return false
	}
	return u.Provider == "openai" || u.Provider == "azure" && strings.HasSuffix(u.base, "/openai/v1")
}

func (u *Upstream) doResponses(c *Call) (*Result, error) {
	if !u.ServesResponses() {
		return nil, unsupported(u, c.Op)
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	buf := acquireBuf()
	defer releaseBuf(buf)
	*buf = appendWithModel((*buf)[:0], c, u.Model)
	u.prepare(req, Responses, false, *buf)
	resp := fasthttp.AcquireResponse()
	if _, err := u.do(req, resp, c, false); err != nil {
		fasthttp.ReleaseResponse(resp)
		return nil, err
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		defer fasthttp.ReleaseResponse(resp)
		return nil, upstreamError(u, code, resp.Body(), resp.Header.Peek("Retry-After"), true)
	}
	answer := resp.Body()
	return &Result{Body: answer, Usage: ResponsesUsage(answer), resp: resp}, nil
}

func (u *Upstream) streamResponses(c *Call) (Stream, error) {
	if !u.ServesResponses() {
		return nil, unsupported(u, c.Op)
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	buf := acquireBuf()
	defer releaseBuf(buf)
	*buf = appendWithModel((*buf)[:0], c, u.Model)
	u.prepare(req, Responses, true, *buf)
	b, err := u.openWith(req, c, true)
	if err != nil {
		return nil, err
	}
	return &responsesStream{sseStream: newSSEStream(b, false)}, nil
}

// appendWithModel appends c.Body with "model" set to model (first), its other members as they are.
func appendWithModel(dst []byte, c *Call, model string) []byte {
	if namesModel(c.Fields, model) {
		return append(dst, c.Body...)
	}
	dst = append(dst, `{"model":`...)
	dst = rawjson.AppendString(dst, model)
	for _, f := range c.Fields {
		if string(f.Key) == "model" {
			continue
		}
		dst = append(dst, ',')
		dst = rawjson.AppendString(dst, string(f.Key))
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	return append(dst, '}')
}

// responsesStream relays a Responses event stream: the data of each event, whose type names it.
// The stream ends with the upstream's body; it is complete when a final event came
// (response.completed, response.incomplete, response.failed or error), whose usage it keeps.
type responsesStream struct {
	*sseStream
}

var finalEvents = [][]byte{[]byte(`"response.completed"`), []byte(`"response.incomplete"`), []byte(`"response.failed"`), []byte(`"error"`)}

func (s *responsesStream) Next() ([]byte, error) {
	for {
		data, err := s.event()
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue
		}
		for _, name := range finalEvents {
			if bytes.Contains(data, name) { // cheap first: a text quoting the name has it escaped
				s.final(data)
				break
			}
		}
		return data, nil
	}
}

// final records a final event's usage, when data is one.
func (s *responsesStream) final(data []byte) {
	fields, err := rawjson.ScanObject(data, s.fields[:0])
	s.fields = fields
	if err != nil {
		return
	}
	typ, _ := rawjson.StringBytes(rawjson.Get(fields, "type"))
	for _, name := range finalEvents {
		if string(typ) == string(name[1:len(name)-1]) {
			s.finished = true
			if r := rawjson.Get(fields, "response"); rawjson.KindOf(r) == rawjson.Object {
				s.usage = ResponsesUsage(r)
			}
			return
		}
	}
}

// ResponsesUsage reads the usage of a response object (input_tokens, output_tokens and their
// details); missing or malformed usage is zero.
func ResponsesUsage(response []byte) Usage {
	var buf [32]rawjson.Field
	fields, err := rawjson.Members(response, buf[:0])
	if err != nil {
		return Usage{}
	}
	v := rawjson.Get(fields, "usage")
	if rawjson.KindOf(v) != rawjson.Object {
		return Usage{}
	}
	var ubuf [8]rawjson.Field
	uf, err := rawjson.Members(v, ubuf[:0])
	if err != nil {
		return Usage{}
	}
	in, _ := rawjson.Int(rawjson.Get(uf, "input_tokens"))
	out, _ := rawjson.Int(rawjson.Get(uf, "output_tokens"))
	u := Usage{Input: in, Output: out}
	if d := rawjson.Get(uf, "input_tokens_details"); d != nil {
		u.CachedInput = min(detail(d, "cached_tokens"), in)
	}
	if d := rawjson.Get(uf, "output_tokens_details"); d != nil {
		u.Reasoning = min(detail(d, "reasoning_tokens"), out)
	}
	return u
}
