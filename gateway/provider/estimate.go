package provider

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/iomhq/iom/gateway/wire/openai"
)

// Token estimates, for when no tokenizer of the model is at hand.
const (
	charsPerToken    = 4    // English text averages about four characters a token
	tokensPerMessage = 4    // a message's role and framing
	tokensPerImage   = 1600 // a mid-sized image, at Anthropic's and OpenAI's rates
)

// EstimateInputTokens estimates the prompt tokens of a chat request: its text at about four
// characters a token, a few tokens of framing per message, tool definitions and calls as their
// JSON, and a fixed cost per image. It is for budgeting a request before it is sent, not a count.
func EstimateInputTokens(req *openai.ChatRequest) int64 {
	var chars, tokens int
	for _, m := range req.Messages {
		tokens += tokensPerMessage
		if parts, err := openai.Parts(m.Content); err == nil {
			for _, p := range parts {
				switch p.Type {
				case "text":
					chars += utf8.RuneCountInString(p.Text)
				case "image_url":
					tokens += tokensPerImage
				}
			}
		}
		for _, tc := range m.ToolCalls {
			chars += utf8.RuneCountInString(tc.Function.Name) + utf8.RuneCountInString(tc.Function.Arguments)
		}
	}
	for _, t := range req.Tools {
		if b, err := json.Marshal(t); err == nil {
			chars += utf8.RuneCount(b)
		}
	}
	return int64(tokens + (chars+charsPerToken-1)/charsPerToken)
}
