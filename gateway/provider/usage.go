package provider

import (
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
)

func fastNow() time.Time { return time.Now() }

// ParseUsage reads OpenAI's usage object from a response or a chunk: prompt_tokens and
// completion_tokens (embeddings have only prompt_tokens). Missing or malformed usage is zero.
// The body is relayed as the upstream sent it, not validated: ParseUsage only finds where its
// members end (half the time of a validating scan), which reads a valid body exactly and an
// invalid one safely (its usage is then whatever its members say, or zero).
func ParseUsage(body []byte) Usage {
	var buf [16]rawjson.Field
	fields, err := rawjson.Members(body, buf[:0])
	if err != nil {
		return Usage{}
	}
	return usageOf(rawjson.Get(fields, "usage"))
}

func usageOf(v []byte) Usage {
	if rawjson.KindOf(v) != rawjson.Object {
		return Usage{}
	}
	var buf [8]rawjson.Field
	fields, err := rawjson.Members(v, buf[:0])
	if err != nil {
		return Usage{}
	}
	in, _ := rawjson.Int(rawjson.Get(fields, "prompt_tokens"))
	out, _ := rawjson.Int(rawjson.Get(fields, "completion_tokens"))
	return Usage{Input: in, Output: out}
}
