// Command process-transformer is an example IoM transformer plugin: a keyword filter. It masks
// listed words in chat messages on the way in, and in answers and stream chunks on the way out,
// or refuses requests that contain them.
//
// Its config (the plugin entry's "config" in the gateway's file, which the gateway puts in every
// envelope):
//
//	{"words": ["darn", "heck"], "replacement": "****", "block": false}
//
// Words match whole and case-insensitively. With "block": true a request containing one fails
// with code "content_blocked" instead of being masked. Answers are always masked; a word split
// across two stream chunks slips through, which a real filter would have to buffer for.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	iomplugin "github.com/iomhq/iom/sdk/plugin"
)

type config struct {
	Words       []string `json:"words"`
	Replacement string   `json:"replacement"`
	Block       bool     `json:"block"`
}

type filter struct {
	re          *regexp.Regexp // nil: no words
	replacement string
	block       bool
}

// envelope is the part of the WASM ABI v1 envelope this plugin reads.
type envelope struct {
	Stage  string          `json:"stage"`
	Body   json.RawMessage `json:"body"`
	Config json.RawMessage `json:"config"`
}

type keywordFilter struct {
	// The config rarely changes, and compiling it for every envelope would cost more than the
	// filtering, so the filters are kept per config text.
	filters sync.Map // string(config) → *filter
}

func (k *keywordFilter) filter(raw json.RawMessage) (*filter, error) {
	if f, ok := k.filters.Load(string(raw)); ok {
		return f.(*filter), nil
	}
	var c config
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("bad plugin config: %w", err)
		}
	}
	f := &filter{replacement: c.Replacement, block: c.Block}
	if f.replacement == "" {
		f.replacement = "****"
	}
	var quoted []string
	for _, w := range c.Words {
		if w = strings.TrimSpace(w); w != "" {
			quoted = append(quoted, regexp.QuoteMeta(w))
		}
	}
	if len(quoted) > 0 {
		f.re = regexp.MustCompile(`(?i)\b(?:` + strings.Join(quoted, "|") + `)\b`)
	}
	k.filters.Store(string(raw), f)
	return f, nil
}

func (k *keywordFilter) Transform(_ context.Context, in []byte) ([]byte, error) {
	var env envelope
	if err := json.Unmarshal(in, &env); err != nil {
		return nil, fmt.Errorf("bad envelope: %w", err)
	}
	f, err := k.filter(env.Config)
	if err != nil {
		return nil, err
	}
	if f.re == nil || len(env.Body) == 0 {
		return []byte(`{}`), nil
	}
	var body map[string]any
	if err := json.Unmarshal(env.Body, &body); err != nil {
		return []byte(`{}`), nil // not an object: nothing this filter knows how to read
	}
	changed := false
	mask := func(s string) string {
		out := f.re.ReplaceAllString(s, f.replacement)
		changed = changed || out != s
		return out
	}
	switch env.Stage {
	case "request":
		messages, _ := body["messages"].([]any)
		for _, m := range messages {
			msg, _ := m.(map[string]any)
			if s, ok := msg["content"].(string); ok {
				msg["content"] = mask(s)
			}
		}
		if s, ok := body["prompt"].(string); ok {
			body["prompt"] = mask(s)
		}
		if changed && f.block {
			return []byte(`{"error":{"message":"the request contains a blocked word","code":"content_blocked"}}`), nil
		}
	case "response", "chunk":
		choices, _ := body["choices"].([]any)
		for _, c := range choices {
			choice, _ := c.(map[string]any)
			for _, key := range []string{"message", "delta"} {
				if part, ok := choice[key].(map[string]any); ok {
					if s, ok := part["content"].(string); ok {
						part["content"] = mask(s)
					}
				}
			}
			if s, ok := choice["text"].(string); ok {
				choice["text"] = mask(s)
			}
		}
	}
	if !changed {
		return []byte(`{}`), nil
	}
	out, err := json.Marshal(map[string]any{"body": body})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func main() { iomplugin.ServeTransformer(&keywordFilter{}) }
