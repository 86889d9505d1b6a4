package provider

import (
	"time"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/wire/openai"
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
	u := Usage{Input: in, Output: out}
	if d := rawjson.Get(fields, "prompt_tokens_details"); d != nil {
		u.CachedInput = min(detail(d, "cached_tokens"), in)
	}
	if d := rawjson.Get(fields, "completion_tokens_details"); d != nil {
		u.Reasoning = min(detail(d, "reasoning_tokens"), out)
	}
	return u
}

// detail reads one count of a usage details object (OpenAI's prompt_tokens_details and
// completion_tokens_details); zero when absent or malformed.
func detail(obj []byte, name string) int64 {
	if rawjson.KindOf(obj) != rawjson.Object {
		return 0
	}
	var buf [8]rawjson.Field
	fields, err := rawjson.Members(obj, buf[:0])
	if err != nil {
		return 0
	}
	n, _ := rawjson.Int(rawjson.Get(fields, name))
	return max(n, 0)
}

// openaiUsage is u as OpenAI reports it, with the cached and reasoning parts in its details.
func openaiUsage(u Usage) *openai.Usage {
	out := &openai.Usage{PromptTokens: u.Input, CompletionTokens: u.Output, TotalTokens: u.Input + u.Output}
	if u.CachedInput > 0 {
		out.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: u.CachedInput}
	}
	if u.Reasoning > 0 {
		out.CompletionTokensDetails = &openai.CompletionTokensDetails{ReasoningTokens: u.Reasoning}
	}
	return out
}
