package write

import (
	"sort"
	"strings"
	"unicode"
)

// A word-level Markov chain of order 2 over the corpus: for each pair of consecutive words
// (lower-cased, punctuation kept, so "rivers," and "rivers" are different states) the words
// that follow it and how often.

type successor struct {
	word  string // as written in the corpus
	n     int
	paras []int // the corpus paragraphs the transition occurs in, sorted
}

type model struct {
	next      map[string][]successor // state key → successors, sorted by word
	sentences []corpusSentence
	paras     map[string][]int // content word → the corpus paragraphs it appears in (sorted)
	vocab     []string         // content words, sorted
	midLower  map[string]bool  // lower-case words seen in lower case inside a sentence
	verbatim  map[string]bool  // the corpus's sentences, lower-cased and joined by spaces
}

type corpusSentence struct {
	words []string
	para  int
}

func key(a, b string) string { return strings.ToLower(a) + " " + strings.ToLower(b) }

func endsSentence(w string) bool {
	return strings.HasSuffix(w, ".") || strings.HasSuffix(w, "!") || strings.HasSuffix(w, "?")
}

// bare returns a word lower-cased without surrounding punctuation.
func bare(w string) string {
	return strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
}

// train builds the model from text: paragraphs separated by blank lines, sentences ending with
// a full stop, exclamation or question mark.
func train(text string) *model {
	m := &model{next: map[string][]successor{}, paras: map[string][]int{}, midLower: map[string]bool{}, verbatim: map[string]bool{}}
	type seen struct {
		n     int
		paras []int
	}
	counts := map[string]map[string]*seen{}
	for p, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		var cur []string
		for _, w := range strings.Fields(para) {
			cur = append(cur, w)
			if !endsSentence(w) {
				continue
			}
			m.sentences = append(m.sentences, corpusSentence{words: cur, para: p})
			m.verbatim[strings.ToLower(strings.Join(cur, " "))] = true
			for i, w := range cur {
				if i > 0 && w == strings.ToLower(w) {
					m.midLower[bare(w)] = true
				}
				if b := bare(w); isContent(b) {
					if ps := m.paras[b]; len(ps) == 0 || ps[len(ps)-1] != p {
						m.paras[b] = append(ps, p)
					}
				}
				if i >= 2 {
					k := key(cur[i-2], cur[i-1])
					if counts[k] == nil {
						counts[k] = map[string]*seen{}
					}
					c := counts[k][w]
					if c == nil {
						c = &seen{}
						counts[k][w] = c
					}
					c.n++
					if len(c.paras) == 0 || c.paras[len(c.paras)-1] != p {
						c.paras = append(c.paras, p)
					}
				}
			}
			cur = nil
		}
	}
	for k, ws := range counts {
		list := make([]successor, 0, len(ws))
		for w, c := range ws {
			list = append(list, successor{w, c.n, c.paras})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].word < list[j].word })
		m.next[k] = list
	}
	for w := range m.paras {
		m.vocab = append(m.vocab, w)
	}
	sort.Strings(m.vocab)
	return m
}

// rng is splitmix64: a small deterministic generator, seeded from the input.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// intn returns a number in [0, n).
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// pick returns an index chosen with probability proportional to its weight, or -1 when every
// weight is 0.
func (r *rng) pick(weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	if total <= 0 {
		return -1
	}
	x := r.float() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

const (
	minWords = 8
	maxWords = 28
	// softMax is where the chain starts to prefer words that end the sentence.
	softMax = 20
)

// stay is the weight of a transition seen only outside the corpus paragraph the sentence is
// drawing from, relative to one seen inside it: the chain may wander to another paragraph where
// they share a pair of words, but mostly keeps to one subject, which keeps the prose coherent.
const stay = 0.05

// grow continues a sentence from the chain state (a, b), drawn from corpus paragraph para, after
// the words already in out, until a word ends it. The steer weighs each candidate word and
// paragraph (topic steering). It fails when the chain has no way on or the sentence would leave
// [minWords, maxWords].
func (m *model) grow(out []string, a, b string, para int, st steer, r *rng) ([]string, bool) {
	weights := make([]float64, 0, 8)
	for len(out) < maxWords {
		cands := m.next[key(a, b)]
		if len(cands) == 0 {
			return nil, false
		}
		n := len(out) + 1 // the sentence's length with the candidate
		hasEnd, hasMore := false, false
		for _, c := range cands {
			if endsSentence(c.word) {
				hasEnd = true
			} else {
				hasMore = true
			}
		}
		weights = weights[:0]
		for _, c := range cands {
			w := float64(c.n) * (1 + st.pull(c.word))
			if !contains(c.paras, para) {
				w *= stay
			}
			end := endsSentence(c.word)
			switch {
			case end && n < minWords && hasMore:
				w = 0 // too early to stop while the chain can go on
			case !end && n >= softMax && hasEnd:
				w *= 0.15 // long enough: prefer to stop
			}
			weights = append(weights, w)
		}
		c := cands[r.pick(weights)]
		out = append(out, c.word)
		a, b = b, c.word
		if !contains(c.paras, para) {
			para = c.paras[0]
			for _, p := range c.paras {
				if st.near(p) {
					para = p
					break
				}
			}
		}
		if endsSentence(c.word) {
			return out, n >= minWords
		}
	}
	return nil, false
}

// steer is what the chain is drawn to.
type steer interface {
	pull(word string) float64 // extra weight of a word, 0 for none
	near(para int) bool       // whether a corpus paragraph is about the topic
}

func contains(sorted []int, x int) bool {
	i := sort.SearchInts(sorted, x)
	return i < len(sorted) && sorted[i] == x
}
