// Package imagefeatures is a local model: it measures an image and answers chat completions
// and completions with the measurements as JSON text:
//
//	{"format": "png", "width": 40, "height": 20, "aspectRatio": 2, "orientation": "landscape",
//	 "meanColor": "#402960", "brightness": 0.213, "contrast": 0.538, "colorfulness": 166.2,
//	 "histogram": {"r": [0.75, 0, 0, 0, 0, 0, 0, 0.25], "g": […], "b": […]},
//	 "dominantColors": [{"hex": "#000080", "name": "navy", "share": 0.75}, …]}
//
// The image is a PNG, JPEG or GIF as a data URL (data:image/png;base64,…) or bare base64: an
// image_url part of the last user message (OpenAI's multi-part content; its url or the part's
// string), else the message's text, or {"image": …} in it ("image_url", "url" and "data" are
// read too, as a string or an object with "url"); for completions, the prompt. URLs are not
// fetched: the sandbox has no network. Images over 4 megapixels (4 × 2²⁰ pixels) or 12 MB of
// base64 are refused (code image_too_large); what does not decode, code bad_image.
//
// Measurements, on a grid of at most 512×512 pixels spread over the whole image (transparent
// pixels composited over white): the mean colour; brightness, the mean Rec. 601 luma in
// [0, 1]; contrast, the luma's standard deviation doubled into [0, 1] (RMS contrast);
// colorfulness, Hasler and Süsstrunk's metric on the 0–255 scale (0 for greys, above 100 for
// vivid images); histograms of 8 equal bins per channel as shares of the pixels. Orientation
// is square within 2% of an aspect ratio of 1. The dominant colours come from k-means (k = 4)
// on a grid of at most 4096 pixels with a deterministic start (kmeans.go), each cluster named
// after the nearest of 34 basic colours (colors.go), clusters of the same name merged, largest
// share first.
//
// Usage: prompt tokens are the length of the image's base64 divided by 4 (rounded up);
// completion tokens count the answer's whitespace-separated words.
package imagefeatures

import (
	"encoding/json"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// Answer answers one model call (iomwasm.Infer's handler). The model takes no config.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	if c.Op != "chat" && c.Op != "completion" {
		return nil, iomwasm.Errorf("unsupported_op", "image-features answers chat and completion, not %s", c.Op)
	}
	src := imageText(c)
	img, format, err := decode(src)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(measure(img, format))
	if err != nil {
		return nil, err
	}
	out := spaced(b)
	prompt := max(1, (encodedLength(src)+3)/4)
	model := c.Request.Get("model").Str()
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, out, prompt, iomwasm.Words(out)), nil
	}
	return iomwasm.ChatCompletion(model, out, prompt, iomwasm.Words(out)), nil
}

// spaced puts a space after each colon and comma outside strings of compact JSON, so the
// answer reads (and counts words) like prose-formatted JSON.
func spaced(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/4)
	in, esc := false, false
	for _, c := range b {
		sb.WriteByte(c)
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == ':' || c == ','):
			sb.WriteByte(' ')
		}
	}
	return sb.String()
}
