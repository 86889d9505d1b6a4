package server

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/policy"
	"github.com/iomhq/iom/gateway/provider"
	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/iomhq/iom/gateway/spec"
)

// parsed is what the data plane reads of a request body; the body itself is relayed unchanged.
type parsed struct {
	fields []rawjson.Field
	model  []byte
	stream bool
	shape  vectorShape // embeddings only
}

// parseRequest validates a data-plane body for op without decoding it: it must be one JSON
// object with no duplicate keys (parsers disagree on which duplicate wins, which would let a
// body route and bill as one model and run as another), a string model, a boolean stream, and
// the operation's required input.
func parseRequest(op provider.Op, body []byte, p *parsed) *fault.Error {
	fields, err := rawjson.ScanObject(body, p.fields[:0])
	p.fields = fields
	if err != nil {
		if errors.Is(err, rawjson.ErrNotObject) {
			return fault.Invalid("", "the request body must be a JSON object")
		}
		if len(body) == 0 {
			return fault.Invalid("", "the request body is empty; send a JSON object")
		}
		return fault.Invalid("", "the request body is not valid JSON: %v", err)
	}
	if fe := duplicates(fields); fe != nil {
		return fe
	}
	mv := rawjson.Get(fields, "model")
	if mv == nil {
		return fault.Invalid("model", "you must provide a model parameter")
	}
	model, ok := rawjson.StringBytes(mv)
	if !ok || len(model) == 0 {
		return fault.Invalid("model", "model must be a non-empty string, got %s", describe(mv))
	}
	p.model = model
	p.stream = false
	if sv := rawjson.Get(fields, "stream"); sv != nil {
		switch string(sv) {
		case "true":
			p.stream = true
		case "false", "null":
		default:
			return fault.Invalid("stream", "stream must be a boolean, got %s", describe(sv))
		}
	}
	switch op {
	case provider.Chat:
		return checkMessages(rawjson.Get(fields, "messages"))
	case provider.Completion:
		return requireText(fields, "prompt")
	case provider.Embedding:
		if p.stream {
			return fault.Invalid("stream", "embeddings cannot be streamed")
		}
		var fe *fault.Error
		if p.shape, fe = readVectorShape(fields); fe != nil {
			return fe
		}
		return requireText(fields, "input")
	}
	return nil
}

// duplicates rejects a body with a key given twice, or with model or stream given twice in any
// letter case. It takes time in proportion to the number of keys: a small object (the usual
// request) is checked pair by pair, allocating nothing; a larger one through a set.
func duplicates(fields []rawjson.Field) *fault.Error {
	var seen map[string]struct{}
	if len(fields) > smallObject {
		seen = make(map[string]struct{}, len(fields))
	}
	var model, stream bool
	for i, f := range fields {
		dup := false
		if seen != nil {
			if _, dup = seen[string(f.Key)]; !dup {
				seen[string(f.Key)] = struct{}{}
			}
		} else {
			for j := 0; j < i && !dup; j++ {
				dup = bytes.Equal(f.Key, fields[j].Key)
			}
		}
		switch {
		case dup:
		case bytes.EqualFold(f.Key, []byte("model")):
			dup, model = model, true
		case bytes.EqualFold(f.Key, []byte("stream")):
			dup, stream = stream, true
		}
		if dup {
			return fault.Invalid(string(f.Key), "duplicate key %q in the request body", f.Key)
		}
	}
	return nil
}

// smallObject is the most keys duplicates checks pair by pair.
const smallObject = 16

// scanBody checks a body is one JSON object without duplicate keys.
func scanBody(body []byte) ([]rawjson.Field, *fault.Error) {
	fields, err := rawjson.ScanObject(body, nil)
	if err != nil {
		if errors.Is(err, rawjson.ErrNotObject) {
			return nil, fault.Invalid("", "the request body must be a JSON object")
		}
		return nil, fault.Invalid("", "the request body is not valid JSON: %v", err)
	}
	return fields, duplicates(fields)
}

func checkMessages(v []byte) *fault.Error {
	if v == nil {
		return fault.Invalid("messages", "you must provide messages")
	}
	if rawjson.KindOf(v) != rawjson.Array {
		return fault.Invalid("messages", "messages must be an array, got %s", describe(v))
	}
	n := 0
	var ferr *fault.Error
	var buf [8]rawjson.Field
	err := rawjson.Elements(v, func(m []byte) error {
		i := n
		n++
		if rawjson.KindOf(m) != rawjson.Object {
			param := "messages[" + itoa(i) + "]"
			ferr = fault.Invalid(param, "%s must be an object, got %s", param, describe(m))
			return ferr
		}
		fs, _ := rawjson.Members(m, buf[:0])
		if _, ok := rawjson.StringBytes(rawjson.Get(fs, "role")); !ok {
			param := "messages[" + itoa(i) + "]"
			ferr = fault.Invalid(param+".role", "%s.role must be a string", param)
			return ferr
		}
		return nil
	})
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return fault.Invalid("messages", "messages: %v", err)
	}
	if n == 0 {
		return fault.Invalid("messages", "messages must not be empty")
	}
	return nil
}

func requireText(fields []rawjson.Field, name string) *fault.Error {
	v := rawjson.Get(fields, name)
	switch rawjson.KindOf(v) {
	case rawjson.StringKind, rawjson.Array:
		return nil
	case rawjson.Invalid:
		return fault.Invalid(name, "you must provide %s", name)
	}
	return fault.Invalid(name, "%s must be a string or an array, got %s", name, describe(v))
}

func describe(v []byte) string {
	k := rawjson.KindOf(v)
	switch k {
	case rawjson.StringKind, rawjson.Number, rawjson.Bool, rawjson.Null:
		s := string(v)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return k.String() + " " + s
	}
	return "an " + k.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// estimateCost is the most a call of m may cost, which it holds of its budgets while it runs:
// its input tokens estimated from the request (as count_tokens estimates them) at the input
// price, and the most output it may produce (max_completion_tokens, max_tokens or
// max_output_tokens, else policy.DefaultOutputTokens; none for embeddings) at the output price.
// A model without prices costs nothing, and the body is not read.
func estimateCost(m *spec.Model, op provider.Op, body []byte, fields []rawjson.Field) float64 {
	in, out := m.InputCost(), m.OutputCost()
	if in <= 0 && out <= 0 {
		return 0
	}
	input := int64(len(body)+3) / 4 // the whole body, at four characters a token
	if op == provider.Chat {
		input = provider.EstimateInputTokens(fields)
	}
	var output int64
	if op != provider.Embedding {
		output = policy.DefaultOutputTokens
		for _, name := range [...]string{"max_completion_tokens", "max_tokens", "max_output_tokens"} {
			if n, err := strconv.ParseInt(string(rawjson.Get(fields, name)), 10, 64); err == nil && n > 0 {
				output = n
				break
			}
		}
	}
	return float64(input)*in + float64(output)*out
}
