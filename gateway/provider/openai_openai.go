package provider

import (
	"bytes"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
)

// openAI relays canonical requests to OpenAI-compatible upstreams (OpenAI, vLLM, Ollama's /v1,
// LM Studio, Groq, Together…). The body is passed through with two splices: the model becomes
// the upstream's name for it, and streams ask for usage so the gateway can count tokens exactly.
type openAI struct{}

func (openAI) Prepare(u *Upstream, m *spec.Model) error {
	u.base = BaseURL(m.Endpoint)
	for op := Op(0); op < numOps; op++ {
		u.urls[op] = u.base + opPaths[op]
	}
	return u.compileHeads()
}

func (openAI) Do(u *Upstream, c *Call) (*Result, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	body := c.Body
	if !namesModel(c.Fields, u.Model) {
		buf := acquireBuf()
		defer releaseBuf(buf)
		*buf = appendOpenAIBody((*buf)[:0], c, u.Model, false)
		body = *buf
	}
	u.prepare(req, c.Op, false, body)
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
	return &Result{Body: answer, Usage: ParseUsage(answer), resp: resp}, nil
}

func (openAI) Stream(u *Upstream, c *Call) (Stream, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	buf := acquireBuf()
	defer releaseBuf(buf)
	*buf = appendOpenAIBody((*buf)[:0], c, u.Model, true)
	u.prepare(req, c.Op, true, *buf)
	b, err := u.openWith(req, c, true)
	if err != nil {
		return nil, err
	}
	return newSSEStream(b, !clientWantsUsage(c.Fields)), nil
}

// appendOpenAIBody appends the upstream body: c.Body with "model" replaced and, for streams,
// stream_options.include_usage set.
func appendOpenAIBody(dst []byte, c *Call, model string, stream bool) []byte {
	dst = append(dst, '{')
	first := true
	member := func(key string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = rawjson.AppendString(dst, key)
		dst = append(dst, ':')
	}
	sawModel, sawOptions := false, false
	for _, f := range c.Fields {
		switch string(f.Key) {
		case "model":
			member("model")
			dst = rawjson.AppendString(dst, model)
			sawModel = true
			continue
		case "stream_options":
			if !stream {
				break
			}
			member("stream_options")
			dst = appendStreamOptions(dst, f.Value)
			sawOptions = true
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = rawjson.AppendString(dst, string(f.Key)) // unescaped if it had escapes
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	if !sawModel {
		member("model")
		dst = rawjson.AppendString(dst, model)
	}
	if stream && !sawOptions {
		member("stream_options")
		dst = append(dst, `{"include_usage":true}`...)
	}
	return append(dst, '}')
}

// namesModel reports whether a body's "model" is model already, so a call that needs nothing
// else rewritten (not a stream) can send the client's body as it is.
func namesModel(fields []rawjson.Field, model string) bool {
	m, ok := rawjson.StringBytes(rawjson.Get(fields, "model"))
	return ok && string(m) == model
}

// appendStreamOptions rewrites the client's stream_options with include_usage set.
func appendStreamOptions(dst, v []byte) []byte {
	var fields [4]rawjson.Field
	fs, err := rawjson.Members(v, fields[:0])
	if err != nil {
		return append(dst, `{"include_usage":true}`...)
	}
	dst = append(dst, `{"include_usage":true`...)
	for _, f := range fs {
		if string(f.Key) == "include_usage" {
			continue
		}
		dst = append(dst, ',')
		dst = rawjson.AppendString(dst, string(f.Key))
		dst = append(dst, ':')
		dst = append(dst, f.Value...)
	}
	return append(dst, '}')
}

// clientWantsUsage reports whether the client asked for the final usage chunk itself.
func clientWantsUsage(fields []rawjson.Field) bool {
	opts := rawjson.Get(fields, "stream_options")
	if rawjson.KindOf(opts) != rawjson.Object {
		return false
	}
	var buf [4]rawjson.Field
	fs, err := rawjson.Members(opts, buf[:0])
	return err == nil && bytes.Equal(rawjson.Get(fs, "include_usage"), []byte("true"))
}
