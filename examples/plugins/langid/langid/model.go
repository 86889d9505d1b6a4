// Package langid is a local model: a language identifier that answers chat completions (the
// last user message) and completions (the prompt) with a JSON verdict as the answer's text:
//
//	{"language":"fr","confidence":0.97}
//
// It knows nine languages (ISO 639-1: en, fr, de, es, it, pt, nl, sv, pl), each by a profile of
// character 1-, 2- and 3-grams counted at start-up from a sample text (samples.go). A text is
// scored against each profile as a naive Bayes model with add-one smoothing; the confidence is
// a softmax over the per-n-gram log-likelihoods, so it reflects the margin between the best
// languages rather than the text's length. A text with no letters is "und" with confidence 0.
// Usage counts whitespace-separated words.
package langid

import (
	"math"
	"strconv"
	"strings"
	"unicode"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// Answer answers one model call (iomwasm.Infer's handler). The model takes no config.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	model := c.Request.Get("model").Str()
	switch c.Op {
	case "chat":
		return iomwasm.ChatCompletion(model, verdict(identify(iomwasm.LastUserMessage(c.Request))), iomwasm.Words(iomwasm.PromptText(c.Request)), 2), nil
	case "completion":
		text := strings.Join(iomwasm.Strings(c.Request.Get("prompt")), "\n")
		return iomwasm.TextCompletion(model, verdict(identify(text)), iomwasm.Words(text), 2), nil
	}
	return nil, iomwasm.Errorf("unsupported_op", "langid answers chat and completion, not %s", c.Op)
}

func verdict(lang string, confidence float64) string {
	return `{"language":"` + lang + `","confidence":` + strconv.FormatFloat(math.Round(confidence*1000)/1000, 'f', -1, 64) + `}`
}

type profile struct {
	lang   string
	counts map[string]float64
	total  float64
}

var profiles = func() []profile {
	out := make([]profile, 0, len(samples))
	for _, s := range samples {
		p := profile{lang: s.lang, counts: map[string]float64{}}
		grams(s.text, func(g string) { p.counts[g]++; p.total++ })
		out = append(out, p)
	}
	return out
}()

// vocabulary is the number of distinct n-grams over all profiles, for add-one smoothing.
var vocabulary = func() float64 {
	seen := map[string]bool{}
	for _, p := range profiles {
		for g := range p.counts {
			seen[g] = true
		}
	}
	return float64(len(seen))
}()

// grams calls fn with every 1-, 2- and 3-gram of the letters of text, lower-cased, with words
// padded by a space on each side so beginnings and endings count.
func grams(text string, fn func(string)) {
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		rs := []rune(" " + w + " ")
		for n := 1; n <= 3; n++ {
			for i := 0; i+n <= len(rs); i++ {
				g := string(rs[i : i+n])
				if g != " " {
					fn(g)
				}
			}
		}
	}
}

// identify returns the most likely language of text and its confidence.
func identify(text string) (string, float64) {
	ll := make([]float64, len(profiles))
	n := 0
	grams(text, func(g string) {
		n++
		for i, p := range profiles {
			ll[i] += math.Log((p.counts[g] + 1) / (p.total + vocabulary))
		}
	})
	if n == 0 {
		return "und", 0
	}
	best, sum := 0, 0.0
	for i := range ll {
		if ll[i] > ll[best] {
			best = i
		}
	}
	// A softmax over the mean log-likelihood per n-gram, sharpened: the confidence grows with
	// the margin, not with the text's length.
	const sharpness = 12
	for i := range ll {
		sum += math.Exp((ll[i] - ll[best]) / float64(n) * sharpness)
	}
	return profiles[best].lang, 1 / sum
}
