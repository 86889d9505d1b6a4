package write

import (
	"hash/fnv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var trained = train(corpus)

// brief is what the article is about.
type brief struct {
	Topic      string
	Audience   string
	Paragraphs int // 0: chosen from the seed (2–4)
}

// topic holds a brief's topic as the writer steers by it.
type topic struct {
	phrase  string          // as given, spaces normalised
	plural  bool            // its head noun looks plural
	words   map[string]bool // corpus words matching the topic's content words
	related map[string]float64
	paras   map[int]float64 // corpus paragraphs about the topic, weighted from 0 to 1 (the best)
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again all also am an and any are as at be because been before
		being below between both but by can could did do does each few for from further had has have how however i if in
		into is it its itself just may might more most much my no nor not now of off on once only or other our out over
		own same so some such than that the their them then there these they this those through to too under until up
		very was we were what when where which while who whom why will with would you your write article essay post
		blog short long piece please text`) {
		m[w] = true
	}
	return m
}()

func isContent(w string) bool { return len(w) >= 3 && !stopWords[w] }

// norm reduces a word to a rough stem: cities → city, robots → robot, computing → comput.
func norm(w string) string {
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "ing") && len(w) > 5:
		return w[:len(w)-3]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && len(w) > 3:
		return w[:len(w)-1]
	}
	return w
}

// matches reports whether two words share a stem: equal stems, or one a prefix of the other
// with at least five letters in common.
func matches(a, b string) bool {
	a, b = norm(a), norm(b)
	if a == b {
		return true
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 5 && strings.HasPrefix(b, a)
}

func newTopic(phrase string) *topic {
	t := &topic{phrase: strings.Join(strings.Fields(phrase), " "), words: map[string]bool{}, related: map[string]float64{}, paras: map[int]float64{}}
	var content []string
	head := ""
	for _, w := range strings.Fields(strings.ToLower(t.phrase)) {
		w = bare(w)
		if w == "of" || w == "in" || w == "for" || w == "on" || w == "at" || w == "with" || w == "about" {
			if head != "" {
				break
			}
			continue
		}
		if w != "" {
			head = w
		}
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(t.phrase), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if isContent(w) {
			content = append(content, w)
		}
	}
	t.plural = strings.HasSuffix(head, "s") && !strings.HasSuffix(head, "ss") && !strings.HasSuffix(head, "us") &&
		!strings.HasSuffix(head, "is") && !strings.HasSuffix(head, "ics") && head != "news"
	matched := map[string]string{} // corpus word → the topic word it matches
	for _, v := range trained.vocab {
		for _, w := range content {
			if matches(v, w) {
				t.words[v] = true
				matched[v] = w
			}
		}
	}
	// A paragraph is about the topic in proportion to the share of the topic's words it has,
	// and more the more often they occur: share × hits / (hits + 2), scaled so the best is 1.
	distinct := map[int]map[string]bool{}
	hits := map[int]int{}
	for _, s := range trained.sentences {
		for _, w := range s.words {
			if tw, ok := matched[bare(w)]; ok {
				if distinct[s.para] == nil {
					distinct[s.para] = map[string]bool{}
				}
				distinct[s.para][tw] = true
				hits[s.para]++
			}
		}
	}
	best := 0.0
	for p, ws := range distinct {
		h := float64(hits[p])
		t.paras[p] = float64(len(ws)) / float64(len(content)) * h / (h + 2)
		best = max(best, t.paras[p])
	}
	total := 0.0
	for p := range t.paras {
		t.paras[p] /= best
		total += t.paras[p]
	}
	// A word is related in proportion to the weight of the topic's paragraphs it appears in.
	for _, v := range trained.vocab {
		if t.words[v] {
			continue
		}
		sum := 0.0
		for _, p := range trained.paras[v] {
			sum += t.paras[p]
		}
		if sum > 0 {
			t.related[v] = sum / total
		}
	}
	return t
}

// pull is how strongly the chain is drawn to a word.
func (t *topic) pull(w string) float64 {
	b := bare(w)
	if t.words[b] {
		return 4
	}
	return 1.5 * t.related[b]
}

func (t *topic) near(p int) bool { return t.paras[p] >= 0.5 }

// score rates a sentence's closeness to the topic.
func (t *topic) score(words []string) float64 {
	s := 0.0
	for _, w := range words {
		b := bare(w)
		if t.words[b] {
			s += 3
		} else {
			s += t.related[b]
		}
	}
	return s
}

// verbs maps the singular form of the verbs a topic sentence may start with to the plural one;
// modals serve both.
var verbs = map[string]string{
	"is": "are", "has": "have", "was": "were", "remains": "remain", "offers": "offer", "shapes": "shape",
	"depends": "depend", "helps": "help", "needs": "need", "changes": "change", "provides": "provide",
	"plays": "play", "makes": "make", "gives": "give", "covers": "cover", "carries": "carry",
	"protects": "protect", "turns": "turn", "moves": "move", "uses": "use", "brings": "bring",
	"gathers": "gather", "rises": "rise", "describes": "describe", "takes": "take", "holds": "hold",
	"stores": "store", "lives": "live", "measures": "measure", "combines": "combine", "returns": "return",
	"keeps": "keep", "tells": "tell", "writes": "write", "studies": "study", "designs": "design",
	"raises": "raise", "cleans": "clean", "links": "link", "connects": "connect", "supports": "support",
	"teaches": "teach", "produces": "produce", "collects": "collect", "reflects": "reflect",
	"contains": "contain", "improves": "improve", "lets": "let", "allows": "allow", "creates": "create",
	"works": "work", "absorbs": "absorb", "forms": "form", "grows": "grow", "travels": "travel",
	"comes": "come", "feeds": "feed", "builds": "build", "looks": "look", "saves": "save", "tracks": "track",
	"can": "can", "may": "may", "will": "will", "often": "often",
}

var plurals = func() map[string]string {
	m := map[string]string{}
	for s, p := range verbs {
		m[p] = s
	}
	return m
}()

// notSubjects are sentence openers that cannot be replaced by a topic.
var notSubjects = map[string]bool{"it": true, "this": true, "that": true, "there": true, "these": true, "those": true,
	"they": true, "we": true, "he": true, "she": true, "most": true, "many": true, "some": true, "each": true,
	"every": true, "all": true, "such": true, "here": true, "even": true, "as": true, "when": true, "before": true,
	"during": true, "over": true, "today": true, "because": true, "good": true, "early": true, "modern": true}

// verbFor returns the form of a corpus sentence's second word that agrees with the topic, or
// "" when it is not a verb the writer knows.
func (t *topic) verbFor(w string) string {
	w = strings.ToLower(w)
	if p, ok := verbs[w]; ok {
		if t.plural {
			return p
		}
		return w
	}
	if s, ok := plurals[w]; ok {
		if t.plural {
			return w
		}
		return s
	}
	return ""
}

// seed derives the generator's seed from the brief, so the same brief gives the same article.
func seed(b brief) uint64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(strings.Join(strings.Fields(b.Topic), " "))))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(b.Audience)))
	h.Write([]byte{0, byte(b.Paragraphs)})
	return h.Sum64()
}

// writer composes one article.
type writer struct {
	t     *topic
	r     *rng
	used  map[string]bool // sentences and sentence openings already in the article
	start map[int]bool    // corpus sentences already used as starts
}

// maxSubject is the longest noun phrase a topic sentence replaces.
const maxSubject = 3

// subjectEnd returns where the verb of a corpus sentence opening with a short noun phrase is
// ("Sea water absorbs heat…": 2), or 0 when it does not open that way.
func (t *topic) subjectEnd(words []string) int {
	for j := 1; j <= maxSubject && j < len(words)-1; j++ {
		w := words[j-1]
		if b := bare(w); b != strings.ToLower(w) || stopWords[b] || notSubjects[b] {
			return 0 // punctuation, or not a noun phrase
		}
		if t.verbFor(words[j]) != "" {
			return j
		}
	}
	return 0
}

// topicSentence writes a sentence with the topic as its subject: it takes a corpus sentence
// opening with a noun phrase and a verb, puts the topic in the noun phrase's place, makes the
// verb agree and lets the chain go on from there.
func (w *writer) topicSentence() []string {
	subject := strings.Fields(w.t.phrase)
	subject[0] = capitalise(subject[0])
	var idx []int
	var weights []float64
	for i, s := range trained.sentences {
		if w.start[i] || w.t.subjectEnd(s.words) == 0 {
			continue
		}
		weight := 1 + w.t.score(s.words[:w.t.subjectEnd(s.words)])*10 + 40*w.t.paras[s.para]*w.t.paras[s.para]
		idx = append(idx, i)
		weights = append(weights, weight)
	}
	return w.best(10, func() ([]string, int) {
		k := w.r.pick(weights)
		if k < 0 {
			return nil, -1
		}
		s := trained.sentences[idx[k]]
		j := w.t.subjectEnd(s.words)
		out := append(append([]string{}, subject...), w.t.verbFor(s.words[j]))
		out, ok := trained.grow(out, s.words[j-1], s.words[j], s.para, w.t, w.r)
		if !ok {
			return nil, -1
		}
		return out, idx[k]
	})
}

// bodySentence writes a sentence starting like a corpus sentence, preferring those near the
// topic, and lets the chain go on.
func (w *writer) bodySentence() []string {
	weights := make([]float64, len(trained.sentences))
	for i, s := range trained.sentences {
		if w.start[i] {
			continue
		}
		weights[i] = 1 + w.t.score(s.words) + 30*w.t.paras[s.para]*w.t.paras[s.para]
	}
	return w.best(12, func() ([]string, int) {
		i := w.r.pick(weights)
		if i < 0 {
			return nil, -1
		}
		s := trained.sentences[i]
		out, ok := trained.grow(append([]string{}, s.words[:2]...), s.words[0], s.words[1], s.para, w.t, w.r)
		if !ok {
			return nil, -1
		}
		return out, i
	})
}

// best makes up to tries sentences and keeps the one closest to the topic, preferring new
// sentences to ones copied from the corpus; it returns nil when none came out.
func (w *writer) best(tries int, try func() ([]string, int)) []string {
	var best []string
	bestScore, bestStart := -1.0, -1
	for range tries {
		s, start := try()
		if s == nil {
			continue
		}
		text := strings.ToLower(strings.Join(s, " "))
		if w.used[text] || w.used[w.t.opening(s)] || strings.Count(text, strings.ToLower(w.t.phrase)) > 1 {
			continue
		}
		score := w.t.score(s) + w.r.float()*0.5
		if !trained.verbatim[text] {
			score += 0.5
		}
		if score > bestScore {
			best, bestScore, bestStart = s, score, start
		}
	}
	if best != nil {
		w.used[strings.ToLower(strings.Join(best, " "))] = true
		w.used[w.t.opening(best)] = true
		w.start[bestStart] = true
	}
	return best
}

// opening is a sentence's first four words after the topic, if it starts with it, lower-cased:
// two sentences of an article never open alike.
func (t *topic) opening(s []string) string {
	text := strings.ToLower(strings.Join(s, " "))
	if rest, ok := strings.CutPrefix(text, strings.ToLower(t.phrase)+" "); ok {
		s = strings.Fields(rest)
	}
	return "^" + strings.ToLower(strings.Join(s[:min(4, len(s))], " "))
}

// write returns the article: a title line, a blank line and paragraphs separated by blank
// lines.
func write(b brief) string {
	r := &rng{s: seed(b)}
	w := &writer{t: newTopic(b.Topic), r: r, used: map[string]bool{}, start: map[int]bool{}}
	paragraphs := b.Paragraphs
	if paragraphs == 0 {
		paragraphs = 2 + r.intn(3)
	}
	paragraphs = min(max(paragraphs, 2), 4)

	var sb strings.Builder
	sb.WriteString(title(b, r))
	for p := range paragraphs {
		sb.WriteString("\n\n")
		n := 3 + r.intn(3)
		written := 0
		for i := 0; i < n; i++ {
			var s []string
			if i == 0 {
				s = w.topicSentence()
			}
			if s == nil {
				s = w.bodySentence()
			}
			if s == nil {
				continue
			}
			if i == 1 && p == paragraphs-1 && b.Audience != "" && len(s)+len(strings.Fields(b.Audience))+1 <= maxWords {
				s = forAudience(b.Audience, s)
			}
			if written > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(finish(s))
			written++
		}
	}
	return sb.String()
}

// forAudience puts "For <audience>," before a sentence.
func forAudience(audience string, s []string) []string {
	first := s[0]
	if trained.midLower[bare(first)] {
		first = strings.ToLower(first)
	}
	out := append(strings.Fields("For "+audience), s...)
	out[len(out)-len(s)-1] += ","
	out[len(out)-len(s)] = first
	return out
}

// finish joins a sentence's words, capitalised and ending with a full stop.
func finish(words []string) string {
	s := capitalise(strings.Join(words, " "))
	if !endsSentence(s) {
		s = strings.TrimRight(s, ",") + "."
	}
	return s
}

func capitalise(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}

var titleForms = []string{"Understanding %s", "%s: An Overview", "A Closer Look at %s", "%s Explained",
	"Notes on %s", "%s in Everyday Life", "What to Know About %s"}

// title writes the title line: the topic in title case in one of a few forms.
func title(b brief, r *rng) string {
	minor := map[string]bool{"a": true, "an": true, "the": true, "of": true, "and": true, "or": true, "in": true,
		"on": true, "for": true, "to": true, "with": true, "at": true, "by": true}
	words := strings.Fields(b.Topic)
	for i, w := range words {
		if i == 0 || !minor[strings.ToLower(w)] {
			words[i] = capitalise(w)
		}
	}
	t := strings.Replace(titleForms[r.intn(len(titleForms))], "%s", strings.Join(words, " "), 1)
	if b.Audience != "" {
		t += " for " + capitalise(b.Audience)
	}
	return capitalise(t)
}
