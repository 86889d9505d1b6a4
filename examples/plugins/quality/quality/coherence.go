package quality

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// Coherence: whether a text's sentences hang together. Two signs, each a share of the sentences
// from 0 to 1:
//
//   - connected: the sentences that share a content word with the sentence before or after
//     them (across paragraphs too), as each sentence of a text that develops an idea picks up
//     something of its neighbours';
//   - coverage: the sentences that mention one of the text's topic words, the (at most five)
//     content words found in the most sentences, and in at least two.
//
// coherence is their mean, rounded to two decimals. Content words are words of three letters
// or more that are not function words, compared by a rough stem (parks and park, cities and
// city, walked and walk). Unrelated sentences put side by side share no words and have no
// topic, and score near 0; a paragraph that develops one subject scores near 1.

// coherence is a text's coherence and the measures it comes from.
type coherence struct {
	score, connected, coverage float64
	topic                      []string // the topic words, commonest first
	judged                     bool     // the text has the minCoherenceSentences to tell
}

// minCoherenceSentences is the fewest sentences whose coherence is judged: one or two
// sentences have too few neighbours to tell.
const minCoherenceSentences = 3

// maxTopicWords bounds the topic words.
const maxTopicWords = 5

// measureCoherence scores a text by its sentences' content words (contentWords).
func measureCoherence(content [][]string) coherence {
	var c coherence
	n := len(content)
	if n < minCoherenceSentences {
		return c
	}
	c.judged = true
	surface := map[string]string{} // a stem's first form in the text
	sentences := make([][]string, n)
	sets := make([]map[string]bool, n)
	for i, ws := range content {
		sets[i] = map[string]bool{}
		for _, w := range ws {
			st := stem(w)
			if _, ok := surface[st]; !ok {
				surface[st] = w
			}
			sentences[i] = append(sentences[i], st)
			sets[i][st] = true
		}
	}
	shares := func(a, b map[string]bool) bool {
		for w := range a {
			if b[w] {
				return true
			}
		}
		return false
	}
	connected := 0
	for i := range sets {
		if i > 0 && shares(sets[i], sets[i-1]) || i+1 < n && shares(sets[i], sets[i+1]) {
			connected++
		}
	}

	// Topic words: in the most sentences, ties to the word that came first.
	type stat struct{ sentences, first int }
	stats := map[string]*stat{}
	pos := 0
	for _, ws := range sentences {
		seen := map[string]bool{}
		for _, w := range ws {
			pos++
			if stats[w] == nil {
				stats[w] = &stat{first: pos}
			}
			if !seen[w] {
				seen[w] = true
				stats[w].sentences++
			}
		}
	}
	var words []string
	for w, s := range stats {
		if s.sentences >= 2 {
			words = append(words, w)
		}
	}
	sort.Slice(words, func(i, j int) bool {
		a, b := stats[words[i]], stats[words[j]]
		if a.sentences != b.sentences {
			return a.sentences > b.sentences
		}
		return a.first < b.first
	})
	words = words[:min(len(words), maxTopicWords)]
	covered := 0
	for _, set := range sets {
		for _, w := range words {
			if set[w] {
				covered++
				break
			}
		}
	}
	for _, w := range words {
		c.topic = append(c.topic, surface[w])
	}
	c.connected = round2(float64(connected) / float64(n))
	c.coverage = round2(float64(covered) / float64(n))
	c.score = round2((float64(connected)/float64(n) + float64(covered)/float64(n)) / 2)
	return c
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// functionWords are left out of the content words: articles, pronouns, prepositions,
// conjunctions, auxiliaries and other words that say nothing of a text's subject.
var functionWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`about above across after again against all almost along also although always among
		and another any are around because been before behind being below beside between both but can cannot could did
		does doing done down during each either else enough even ever every few for from further had has have having
		her here hers herself him himself his how however into its itself just least less let like many may might more
		most much must near neither never next nor not now off often once one only onto other others our ours out over
		own per quite rather same several she should since some still such than that the their theirs them themselves
		then there these they this those though through thus too toward towards two under unless until upon very via
		was way ways were what whatever when where whether which while who whom whose why will with within without
		would yet you your yours get gets got make makes made new use used uses using well also each thing things`) {
		m[w] = true
	}
	return m
}()

// contentWords returns a sentence's content words, lower-cased: words of three letters or more
// (hyphens allowed) that are not function words.
func contentWords(words []string) []string {
	var out []string
	for _, w := range words {
		w = strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }))
		if len([]rune(w)) < 3 || functionWords[w] || strings.ContainsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) {
			continue
		}
		out = append(out, w)
	}
	return out
}

// stem reduces a lower-case word to a rough stem, so the forms of a word match: cities → city,
// parks → park, walked → walk, running → runn (both forms of a pair reduce alike, which is all
// that matters here).
func stem(w string) string {
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		return w[:len(w)-3]
	case strings.HasSuffix(w, "ed") && len(w) > 4:
		return w[:len(w)-2]
	case strings.HasSuffix(w, "es") && len(w) > 4 && strings.ContainsRune("sxz", rune(w[len(w)-3])):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && len(w) > 3:
		return w[:len(w)-1]
	}
	return w
}
