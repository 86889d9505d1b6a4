package provider

import (
	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
)

// countTokens passes Anthropic's count_tokens through to an anthropic upstream: the Messages
// request, with "model" set to the upstream's name, goes to its /v1/messages/count_tokens with
// the key and version headers the adapter sends with messages. The answer ({"input_tokens": n})
// is relayed as it is; it uses no tokens.
func (u *Upstream) countTokens(c *Call) (*Result, error) {
	if u.Provider != "anthropic" {
		return nil, unsupported(u, c.Op)
	}
	buf := acquireBuf()
	defer releaseBuf(buf)
	*buf = appendWithModel((*buf)[:0], c, u.Model)
	resp, err := u.send(c, u.base+"/v1/messages/count_tokens", *buf, anthropicAdapter{}.auth(u), false)
	if err != nil {
		return nil, err
	}
	var fb [8]rawjson.Field
	fields, err := rawjson.ScanObject(resp.Body(), fb[:0])
	if _, ok := rawjson.Int(rawjson.Get(fields, "input_tokens")); err != nil || !ok {
		code := resp.StatusCode()
		fasthttp.ReleaseResponse(resp)
		return nil, fault.Upstream(code, "upstream %s answered count_tokens without input_tokens", u.Provider)
	}
	return &Result{Body: resp.Body(), resp: resp}, nil
}
