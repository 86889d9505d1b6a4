// Package summarize is a local model: an extractive summarizer that answers chat completions
// (the last user message) and completions (the prompt) with a summary made of the text's own
// most representative sentences, so the gateway can serve it offline.
//
// Sentences are scored by the frequency of their content words (stop words left out), each
// word's count normalised by the most frequent word's, summed and divided by the square root of
// the sentence's content-word count, so neither long nor one-word sentences win by length; the
// first sentence gets a 10% lead bonus. The best ones are returned in their original order.
// Config (optional): {"sentences": 3}. Usage counts whitespace-separated words.
package summarize

import (
	"math"
	"sort"
	"strings"
	"unicode"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

type config struct {
	Sentences int `json:"sentences"`
}

var cfg iomwasm.ConfigCache[config]

// Answer answers one model call (iomwasm.Infer's handler). The model's config, as the package
// comment describes it, is c.Config; null means the defaults.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	conf, err := cfg.Get(c.Config)
	if err != nil {
		return nil, err
	}
	n := conf.Sentences
	if n <= 0 {
		n = 3
	}
	model := c.Request.Get("model").Str()
	switch c.Op {
	case "chat":
		text := iomwasm.LastUserMessage(c.Request)
		s := summarize(text, n)
		return iomwasm.ChatCompletion(model, s, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(s)), nil
	case "completion":
		text := strings.Join(iomwasm.Strings(c.Request.Get("prompt")), "\n")
		s := summarize(text, n)
		return iomwasm.TextCompletion(model, s, iomwasm.Words(text), iomwasm.Words(s)), nil
	}
	return nil, iomwasm.Errorf("unsupported_op", "the summarizer answers chat and completion, not %s", c.Op)
}

// summarize returns the n best sentences of text in their original order.
func summarize(text string, n int) string {
	sentences := splitSentences(text)
	if len(sentences) <= n {
		return strings.Join(sentences, " ")
	}
	freq := map[string]float64{}
	words := make([][]string, len(sentences))
	maxFreq := 0.0
	for i, s := range sentences {
		for _, w := range tokens(s) {
			if stopWords[w] {
				continue
			}
			words[i] = append(words[i], w)
			freq[w]++
			maxFreq = max(maxFreq, freq[w])
		}
	}
	type scored struct {
		i     int
		score float64
	}
	scores := make([]scored, len(sentences))
	for i, ws := range words {
		sum := 0.0
		for _, w := range ws {
			sum += freq[w] / maxFreq
		}
		if len(ws) > 0 {
			sum /= math.Sqrt(float64(len(ws)))
		}
		if i == 0 {
			sum *= 1.1
		}
		scores[i] = scored{i, sum}
	}
	sort.SliceStable(scores, func(a, b int) bool { return scores[a].score > scores[b].score })
	best := scores[:n]
	sort.Slice(best, func(a, b int) bool { return best[a].i < best[b].i })
	out := make([]string, n)
	for k, s := range best {
		out[k] = sentences[s.i]
	}
	return strings.Join(out, " ")
}

// splitSentences splits at ., ! or ? followed by a space (or the end), and at blank lines.
func splitSentences(text string) []string {
	var out []string
	rs := []rune(text)
	start := 0
	flush := func(end int) {
		if s := strings.Join(strings.Fields(string(rs[start:end])), " "); s != "" {
			out = append(out, s)
		}
		start = end
	}
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '.' || r == '!' || r == '?':
			j := i
			for j+1 < len(rs) && (rs[j+1] == '.' || rs[j+1] == '!' || rs[j+1] == '?' || rs[j+1] == '"' || rs[j+1] == '\'' || rs[j+1] == ')') {
				j++
			}
			if j+1 == len(rs) || unicode.IsSpace(rs[j+1]) {
				flush(j + 1)
				i = j
			}
		case r == '\n' && i+1 < len(rs) && rs[i+1] == '\n':
			flush(i)
		}
	}
	flush(len(rs))
	return out
}

func tokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' })
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all am an and any are aren't as at be because been
		before being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
		during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
		herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most
		mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she
		she'd she'll she's should shouldn't so some such than that that's the their theirs them themselves then there
		there's these they they'd they'll they're they've this those through to too under until up very was wasn't we
		we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom why why's
		with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves also just may might will
		one two new like said says`) {
		m[w] = true
	}
	return m
}()
