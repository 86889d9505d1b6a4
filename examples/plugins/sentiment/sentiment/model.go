// Package sentiment is a local model: a lexicon sentiment classifier that answers chat
// completions (the last user message) and completions (the prompt) with a JSON verdict as the
// answer's text:
//
//	{"label":"positive","score":0.84,"compound":0.84}
//
// Each word of the lexicon (lexicon.go) carries a valence from -3 to 3. A negator ("not",
// "never", "…n't") within the three words before flips and dampens it, an intensifier ("very")
// strengthens it and a diminisher ("slightly") weakens it, words after "but" count 1.5 times
// and those before it half, and exclamation marks add emphasis. The sum is squashed into
// compound = sum / sqrt(sum² + 15), in [-1, 1]; the label is positive above 0.05, negative below
// -0.05, else neutral, and score is the label's confidence in [0, 1]. Usage counts
// whitespace-separated words.
package sentiment

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
		v := verdict(classify(iomwasm.LastUserMessage(c.Request)))
		return iomwasm.ChatCompletion(model, v, iomwasm.Words(iomwasm.PromptText(c.Request)), 3), nil
	case "completion":
		text := strings.Join(iomwasm.Strings(c.Request.Get("prompt")), "\n")
		return iomwasm.TextCompletion(model, verdict(classify(text)), iomwasm.Words(text), 3), nil
	}
	return nil, iomwasm.Errorf("unsupported_op", "the sentiment model answers chat and completion, not %s", c.Op)
}

func verdict(label string, score, compound float64) string {
	round := func(f float64) string { return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64) }
	return `{"label":"` + label + `","score":` + round(score) + `,"compound":` + round(compound) + `}`
}

// classify returns the label, its confidence and the compound score of text.
func classify(text string) (label string, score, compound float64) {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
	but := -1
	for i, w := range words {
		if w == "but" || w == "however" {
			but = i
		}
	}
	sum := 0.0
	for i, w := range words {
		v, ok := lexicon[w]
		if !ok {
			continue
		}
		for k := 1; k <= 3 && i-k >= 0; k++ {
			p := words[i-k]
			switch {
			case negators[p] || strings.HasSuffix(p, "n't") || strings.HasSuffix(p, "n’t"):
				v *= -0.74
			case k == 1 && intensifiers[p]:
				v *= 1.5
			case k == 1 && diminishers[p]:
				v *= 0.5
			}
		}
		if but >= 0 {
			if i > but {
				v *= 1.5
			} else if i < but {
				v *= 0.5
			}
		}
		sum += v
	}
	if sum != 0 {
		bangs := float64(min(strings.Count(text, "!"), 4)) * 0.292
		sum += math.Copysign(bangs, sum)
	}
	compound = sum / math.Sqrt(sum*sum+15)
	switch {
	case compound >= 0.05:
		return "positive", compound, compound
	case compound <= -0.05:
		return "negative", -compound, compound
	}
	return "neutral", 1 - math.Abs(compound)/0.05*0.5, compound
}
