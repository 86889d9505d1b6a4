package provider

import (
	"unicode/utf8"

	"github.com/iomhq/iom/gateway/rawjson"
)

// Token estimates, for when no tokenizer of the model is at hand.
const (
	charsPerToken    = 4    // English text averages about four characters a token
	tokensPerMessage = 4    // a message's role and framing
	tokensPerImage   = 1600 // a mid-sized image, at Anthropic's and OpenAI's rates
)

// EstimateInputTokens estimates the prompt tokens of a chat request from its top-level fields:
// its text at about four characters a token, a few tokens of framing per message, tool
// definitions and calls as their JSON, and a fixed cost per image. It reads the raw JSON, as it
// runs before every call that holds a budget; it is for budgeting, not a count.
func EstimateInputTokens(fields []rawjson.Field) int64 {
	var chars, tokens int
	var msg, part, call, fn [8]rawjson.Field
	text := func(v []byte) {
		if s, ok := rawjson.StringBytes(v); ok {
			chars += utf8.RuneCount(s)
		}
	}
	_ = rawjson.Elements(rawjson.Get(fields, "messages"), func(m []byte) error {
		tokens += tokensPerMessage
		ms, _ := rawjson.Members(m, msg[:0])
		switch c := rawjson.Get(ms, "content"); rawjson.KindOf(c) {
		case rawjson.StringKind:
			text(c)
		case rawjson.Array:
			_ = rawjson.Elements(c, func(p []byte) error {
				ps, _ := rawjson.Members(p, part[:0])
				switch t, _ := rawjson.StringBytes(rawjson.Get(ps, "type")); string(t) {
				case "text":
					text(rawjson.Get(ps, "text"))
				case "image_url":
					tokens += tokensPerImage
				}
				return nil
			})
		}
		_ = rawjson.Elements(rawjson.Get(ms, "tool_calls"), func(c []byte) error {
			cs, _ := rawjson.Members(c, call[:0])
			fs, _ := rawjson.Members(rawjson.Get(cs, "function"), fn[:0])
			text(rawjson.Get(fs, "name"))
			text(rawjson.Get(fs, "arguments"))
			return nil
		})
		return nil
	})
	_ = rawjson.Elements(rawjson.Get(fields, "tools"), func(t []byte) error {
		chars += utf8.RuneCount(t)
		return nil
	})
	return int64(tokens + (chars+charsPerToken-1)/charsPerToken)
}
