// Command process-transformer is an example IoM transformer plugin: a keyword filter. It masks
// listed words in chat messages on the way in, and in answers and stream chunks on the way out,
// or refuses requests that contain them.
//
// Its config (the plugin entry's "config" in the gateway's file, which the gateway puts in every
// envelope):
//
//	{"words": ["darn", "heck"], "replacement": "****", "block": false}
//
// Words match whole and case-insensitively, as the regular expression (?i)\b(?:darn|heck)\b
// would. With "block": true a request containing one is refused (HTTP 400, code
// "content_blocked") instead of being masked. Answers are always masked; a word split across two
// stream chunks slips through, which a real filter would have to buffer for.
//
// The plugin reads the envelope without decoding it into Go values, and writes back the body it
// was given with only the masked strings replaced, so every other byte (numbers too large for a
// float64, key order, fields it does not know) reaches the model as the client sent it. See
// filter.go for the matching.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/iomhq/iom/gateway/rawjson"
	iomplugin "github.com/iomhq/iom/sdk/plugin"
)

type config struct {
	Words       []string `json:"words"`
	Replacement string   `json:"replacement"`
	Block       bool     `json:"block"`
}

// compiled is a config and the filter made from it.
type compiled struct {
	raw    []byte
	filter *filter
}

type keywordFilter struct {
	// The config comes with every envelope and rarely changes: the filter made from the last
	// one is kept, and used while the envelopes bring the same bytes.
	last atomic.Pointer[compiled]
}

func (k *keywordFilter) filter(raw []byte) (*filter, error) {
	if c := k.last.Load(); c != nil && bytes.Equal(c.raw, raw) {
		return c.filter, nil
	}
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("bad plugin config: %w", err)
		}
	}
	f := newFilter(c.Words, c.Replacement, c.Block)
	k.last.Store(&compiled{raw: bytes.Clone(raw), filter: f})
	return f, nil
}

var (
	noChange = []byte(`{}`)
	blocked  = []byte(`{"error":{"message":"the request contains a blocked word","code":"content_blocked","status":400}}`)
)

func (k *keywordFilter) Transform(_ context.Context, in []byte) ([]byte, error) {
	env, err := rawjson.ScanObject(in, make([]rawjson.Field, 0, 8))
	if err != nil {
		return nil, fmt.Errorf("bad envelope: %w", err)
	}
	f, err := k.filter(rawjson.Get(env, "config"))
	if err != nil {
		return nil, err
	}
	body := rawjson.Get(env, "body")
	if len(f.words) == 0 || rawjson.KindOf(body) != rawjson.Object {
		return noChange, nil // nothing to look for, or a body this filter does not know how to read
	}
	stage, _ := rawjson.String(rawjson.Get(env, "stage"))
	e := edits{doc: body, f: f}
	switch stage {
	case "request":
		e.members(body, func(key, v []byte) {
			switch string(key) {
			case "messages":
				e.elements(v, func(msg []byte) { e.members(msg, e.content) })
			case "prompt":
				e.mask(v)
			}
		})
		if e.found > 0 && f.block {
			return blocked, nil
		}
	case "response", "chunk":
		e.members(body, func(key, v []byte) {
			if string(key) != "choices" {
				return
			}
			e.elements(v, func(choice []byte) {
				e.members(choice, func(key, v []byte) {
					switch string(key) {
					case "message", "delta":
						e.members(v, e.content)
					case "text":
						e.mask(v)
					}
				})
			})
		})
	}
	if len(e.spans) == 0 {
		return noChange, nil
	}
	return e.result(), nil
}

// edits collects the strings of doc to replace, in document order.
type edits struct {
	doc   []byte
	f     *filter
	found int // words found, masked or not
	spans []span
	buf   []rawjson.Field
}

// span is a value of doc, at off with length n, to be replaced by with.
type span struct {
	off, n int
	with   []byte
}

// members calls fn with each member of v when v is an object. Every member counts, repeated
// keys too: which of two a model's server would read is not for the filter to guess.
func (e *edits) members(v []byte, fn func(key, v []byte)) {
	if rawjson.KindOf(v) != rawjson.Object {
		return
	}
	start := len(e.buf)
	fields, err := rawjson.Members(v, e.buf)
	if err != nil {
		return
	}
	e.buf = fields
	for i := start; i < len(fields); i++ {
		fn(fields[i].Key, fields[i].Value)
	}
	e.buf = e.buf[:start]
}

// elements calls fn with each element of v when v is an array.
func (e *edits) elements(v []byte, fn func(elem []byte)) {
	if rawjson.KindOf(v) == rawjson.Array {
		_ = rawjson.Elements(v, func(elem []byte) error { fn(elem); return nil })
	}
}

// content masks a message's "content": a string, or an array of parts whose "text" is read.
func (e *edits) content(key, v []byte) {
	if string(key) != "content" {
		return
	}
	if rawjson.KindOf(v) == rawjson.StringKind {
		e.mask(v)
		return
	}
	e.elements(v, func(part []byte) {
		e.members(part, func(key, v []byte) {
			if string(key) == "text" {
				e.mask(v)
			}
		})
	})
}

// mask records the replacement of the JSON string v (a slice of doc) if it holds a word.
func (e *edits) mask(v []byte) {
	s, ok := rawjson.StringBytes(v)
	if !ok {
		return
	}
	out, n := e.f.replace(s)
	if n == 0 {
		return
	}
	e.found += n
	e.spans = append(e.spans, span{off: cap(e.doc) - cap(v), n: len(v), with: rawjson.AppendString(nil, string(out))})
}

// result is the transformer's answer: {"body": doc with the spans replaced}.
func (e *edits) result() []byte {
	out := make([]byte, 0, len(e.doc)+16)
	out = append(out, `{"body":`...)
	at := 0
	for _, s := range e.spans {
		out = append(out, e.doc[at:s.off]...)
		out = append(out, s.with...)
		at = s.off + s.n
	}
	out = append(out, e.doc[at:]...)
	return append(out, '}')
}

func main() { iomplugin.ServeTransformer(&keywordFilter{}) }
