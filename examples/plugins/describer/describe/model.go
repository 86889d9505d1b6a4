// Package describe is a local model: it describes an image in one to three plain English
// sentences, built from image-features' measurements, for chat completions (the last user
// message) and completions (the prompt):
//
//	A tiny landscape image, mostly navy with touches of orange. It is dark and high in
//	contrast. The colors are vivid.
//
// The input is image-features' JSON object, or any JSON holding it: the first object with a
// width, height or dominantColors is used, searched breadth first through members, elements
// and strings that are JSON themselves (a pipeline step's "text").
//
// The vocabulary is closed, so the translator example can translate every sentence: sizes by
// the longest side (tiny up to 64 pixels, small up to 512, medium up to 1600, large above);
// the orientation; the dominant colours by name, from image-features' list of 34, as "mostly"
// (a share of at least 0.5), "partly" (at least 0.3, or 0.2 when no colour is "mostly") and
// "touches of" (at least 0.03; less is left out); brightness: dark (below 0.25), dim (below
// 0.45), bright (below 0.75), very bright; contrast: flat (below 0.2), moderate (below 0.45),
// high; and, from the colorfulness, "The colors are muted." below 33 or "The colors are
// vivid." from 82 (Hasler and Süsstrunk's "moderately" and "highly colourful"), nothing in
// between. A measurement that is missing is left out. Usage counts whitespace-separated words.
package describe

import (
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// Answer answers one model call (iomwasm.Infer's handler). The model takes no config.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	model := c.Request.Get("model").Str()
	text, err := c.Text("the describer")
	if err != nil {
		return nil, err
	}
	features := iomwasm.Value(strings.TrimSpace(text)).Find(func(v iomwasm.Value) bool {
		return v.Get("width") != nil || v.Get("height") != nil || v.Get("dominantColors") != nil
	})
	if features == nil {
		return nil, iomwasm.Errorf("no_features", "the describer needs image-features' JSON (width, height, dominantColors…)")
	}
	d := describe(features)
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, d, iomwasm.Words(text), iomwasm.Words(d)), nil
	}
	return iomwasm.ChatCompletion(model, d, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(d)), nil
}
