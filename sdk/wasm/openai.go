package iomwasm

import (
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Helpers for plugins that answer OpenAI requests themselves (local models, adapters): reading
// the parts of a canonical request they need and writing canonical responses with usage.

// Text returns the text a chat or completion call asks about: the last user message of a chat,
// or a completion's prompt (its strings joined by newlines). Any other op is an error with code
// unsupported_op that names the model as who.
func (c *ModelCall) Text(who string) (string, error) {
	switch c.Op {
	case "chat":
		return LastUserMessage(c.Request), nil
	case "completion":
		return strings.Join(Strings(c.Request.Get("prompt")), "\n"), nil
	}
	return "", Errorf("unsupported_op", "%s answers chat and completion, not %s", who, c.Op)
}

// MessageText returns a chat message's text: its content string, or the text parts of a
// content array joined by newlines.
func MessageText(msg Value) string {
	content := msg.Get("content")
	if s, ok := content.Text(); ok {
		return s
	}
	var b strings.Builder
	content.Each(func(_ int, part Value) bool {
		if part.Get("type").Str() == "text" {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(part.Get("text").Str())
		}
		return true
	})
	return b.String()
}

// LastUserMessage returns the text of the last message with role user in a chat request.
func LastUserMessage(req Value) string {
	var last Value
	req.Get("messages").Each(func(_ int, m Value) bool {
		if m.Get("role").Str() == "user" {
			last = m
		}
		return true
	})
	if last == nil {
		return ""
	}
	return MessageText(last)
}

// PromptText returns a chat request's messages' text joined by newlines, for counting tokens.
func PromptText(req Value) string {
	var b strings.Builder
	req.Get("messages").Each(func(_ int, m Value) bool {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(MessageText(m))
		return true
	})
	return b.String()
}

// Strings returns a string value as one string, or an array's string elements: the shape of a
// completion's prompt and an embedding's input.
func Strings(v Value) []string {
	if s, ok := v.Text(); ok {
		return []string{s}
	}
	var out []string
	v.Each(func(_ int, e Value) bool {
		if s, ok := e.Text(); ok {
			out = append(out, s)
		}
		return true
	})
	return out
}

// Words counts whitespace-separated words: the token count the example models report.
func Words(s string) int {
	n, in := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

func responseID(prefix, text string) string {
	h := fnv.New64a()
	h.Write([]byte(text))
	return prefix + strconv.FormatUint(h.Sum64(), 36)
}

func appendUsage(dst []byte, prompt, completion int) []byte {
	dst = append(dst, `"usage":{"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, int64(prompt), 10)
	dst = append(dst, `,"completion_tokens":`...)
	dst = strconv.AppendInt(dst, int64(completion), 10)
	dst = append(dst, `,"total_tokens":`...)
	dst = strconv.AppendInt(dst, int64(prompt+completion), 10)
	return append(dst, '}')
}

func appendHead(dst []byte, id, object, model string) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, id)
	dst = append(dst, `,"object":`...)
	dst = AppendString(dst, object)
	dst = append(dst, `,"created":`...)
	dst = strconv.AppendInt(dst, time.Now().Unix(), 10)
	dst = append(dst, `,"model":`...)
	return AppendString(dst, model)
}

// ChatCompletion returns a chat.completion answering content, with usage.
func ChatCompletion(model, content string, promptTokens, completionTokens int) []byte {
	b := appendHead(make([]byte, 0, len(content)+256), responseID("chatcmpl-iom-", content), "chat.completion", model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = AppendString(b, content)
	b = append(b, `},"finish_reason":"stop"}],`...)
	b = appendUsage(b, promptTokens, completionTokens)
	return append(b, '}')
}

// TextCompletion returns a text_completion answering text, with usage.
func TextCompletion(model, text string, promptTokens, completionTokens int) []byte {
	b := appendHead(make([]byte, 0, len(text)+256), responseID("cmpl-iom-", text), "text_completion", model)
	b = append(b, `,"choices":[{"index":0,"text":`...)
	b = AppendString(b, text)
	b = append(b, `,"logprobs":null,"finish_reason":"stop"}],`...)
	b = appendUsage(b, promptTokens, completionTokens)
	return append(b, '}')
}

// EmbeddingList returns an embedding list with one embedding per vector, with usage.
func EmbeddingList(model string, vectors [][]float32, promptTokens int) []byte {
	size := 128 + len(model)
	for _, v := range vectors {
		size += 40 + 12*len(v)
	}
	b := make([]byte, 0, size)
	b = append(b, `{"object":"list","data":[`...)
	for i, vec := range vectors {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":[`...)
		for j, x := range vec {
			if j > 0 {
				b = append(b, ',')
			}
			if x != x || x > 3.4e38 || x < -3.4e38 { // NaN and infinities are not JSON
				x = 0
			}
			b = strconv.AppendFloat(b, float64(x), 'g', -1, 32)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"model":`...)
	b = AppendString(b, model)
	b = append(b, ',')
	b = appendUsage(b, promptTokens, 0)
	return append(b, '}')
}
