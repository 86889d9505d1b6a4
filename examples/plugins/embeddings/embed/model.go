// Package embed is a local model: feature-hashing text embeddings for the embeddings op,
// so the gateway can serve /v1/embeddings offline.
//
// A text is lower-cased and split into words (runs of letters and digits); every word and every
// pair of adjacent words is hashed (FNV-1a, 64 bits) into one of d dimensions, adding +1 or -1
// by the hash's top bit (the signed hashing trick, which keeps collisions from biasing the
// inner product); the vector is then L2-normalised, so texts sharing words and phrases have a
// high cosine similarity. d comes from the request's "dimensions", else the config's
// {"dimensions": 256}, else 256. Usage counts words.
package embed

import (
	"hash/fnv"
	"math"
	"strings"
	"unicode"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

type config struct {
	Dimensions int `json:"dimensions"`
}

var cfg iomwasm.ConfigCache[config]

// maxDimensions bounds a request's dimensions, so one call cannot take the instance's memory.
const maxDimensions = 8192

// Answer answers one model call (iomwasm.Infer's handler). The model's config, as the package
// comment describes it, is c.Config; null means the defaults.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	if c.Op != "embedding" {
		return nil, iomwasm.Errorf("unsupported_op", "the embeddings model answers the embedding op, not %s", c.Op)
	}
	conf, err := cfg.Get(c.Config)
	if err != nil {
		return nil, err
	}
	dim := conf.Dimensions
	if n, ok := c.Request.Get("dimensions").Int(); ok {
		dim = int(n)
	}
	if dim == 0 {
		dim = 256
	}
	if dim < 1 || dim > maxDimensions {
		return nil, &iomwasm.Error{Code: "invalid_dimensions", Status: 400, Message: "dimensions must be between 1 and 8192"}
	}
	inputs := iomwasm.Strings(c.Request.Get("input"))
	if len(inputs) == 0 {
		return nil, &iomwasm.Error{Code: "invalid_input", Status: 400, Message: "input must be a string or an array of strings"}
	}
	vectors := make([][]float32, len(inputs))
	tokens := 0
	for i, text := range inputs {
		var words int
		vectors[i], words = embed(text, dim)
		tokens += words
	}
	return iomwasm.EmbeddingList(c.Request.Get("model").Str(), vectors, tokens), nil
}

// embed returns text's embedding and its word count.
func embed(text string, dim int) ([]float32, int) {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	acc := make([]float64, dim)
	add := func(feature string) {
		h := fnv.New64a()
		h.Write([]byte(feature))
		sum := h.Sum64()
		sign := 1.0
		if sum>>63 == 1 {
			sign = -1
		}
		acc[(sum&(1<<63-1))%uint64(dim)] += sign
	}
	for i, w := range words {
		add(w)
		if i > 0 {
			add(words[i-1] + " " + w)
		}
	}
	norm := 0.0
	for _, x := range acc {
		norm += x * x
	}
	out := make([]float32, dim)
	if norm > 0 {
		norm = math.Sqrt(norm)
		for i, x := range acc {
			out[i] = float32(x / norm)
		}
	}
	return out, len(words)
}
