// Command pii-redact-go is examples/plugins/pii-redact (C) in Go: a request transform that
// replaces e-mail addresses, phone numbers and Luhn-checked card numbers in a chat request's
// messages with [REDACTED]. The rules are documented in redact.go; both versions share them, so
// the benchmarks compare the languages on the same work.
package main

import iomwasm "github.com/iomhq/iom/sdk/wasm"

func main() {}

//go:wasmexport iom_transform
func transform(ptr, size uint32) uint64 { return iomwasm.Transform(ptr, size, apply) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "pii-redact-go", Language: "go", Roles: []string{"transform"}, Version: "1.0.0"})
}

// Buffers reused from call to call (the SDK copies the result out before the next call), so a
// request costs no allocation once they have grown.
var text, clean, body []byte

func apply(env *iomwasm.Envelope) (iomwasm.Result, error) {
	if env.Stage != "request" {
		return iomwasm.Result{}, nil
	}
	messages := env.Body.Get("messages")
	if messages.Kind() != iomwasm.Array {
		return iomwasm.Result{}, nil
	}
	out := append(body[:0], env.Body[:cap(env.Body)-cap(messages)]...)
	count := 0
	out = append(out, '[')
	messages.Each(func(i int, m iomwasm.Value) bool {
		if i > 0 {
			out = append(out, ',')
		}
		out, count = putObject(out, m, "content", count)
		return true
	})
	out = append(out, ']')
	out = append(out, env.Body[cap(env.Body)-cap(messages)+len(messages):]...)
	body = out
	if count == 0 {
		return iomwasm.Result{}, nil
	}
	return iomwasm.Result{Body: out}, nil
}

// putObject copies an object, redacting the string value of member field and the text parts of
// a content array.
func putObject(out []byte, obj iomwasm.Value, field string, count int) ([]byte, int) {
	if obj.Kind() != iomwasm.Object {
		return append(out, obj...), count
	}
	out = append(out, '{')
	first := true
	obj.Members(func(k []byte, v iomwasm.Value) bool {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = iomwasm.AppendStringBytes(out, k)
		out = append(out, ':')
		switch {
		case string(k) == field && v.Kind() == iomwasm.String:
			out, count = putText(out, v, count)
		case string(k) == "content" && v.Kind() == iomwasm.Array:
			out = append(out, '[')
			v.Each(func(i int, part iomwasm.Value) bool {
				if i > 0 {
					out = append(out, ',')
				}
				out, count = putObject(out, part, "text", count)
				return true
			})
			out = append(out, ']')
		default:
			out = append(out, v...)
		}
		return true
	})
	return append(out, '}'), count
}

func putText(out []byte, v iomwasm.Value, count int) ([]byte, int) {
	text, _ = v.TextBytes(text[:0])
	var n int
	clean, n = redact(clean[:0], text)
	if n == 0 {
		return append(out, v...), count // unchanged: keep the original escaping
	}
	return iomwasm.AppendStringBytes(out, clean), count + n
}
