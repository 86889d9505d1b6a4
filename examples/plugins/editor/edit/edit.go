package edit

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// counts tallies the editor's changes, for the answer's report (report.go).
type counts struct {
	doubled, fillers, phrases, capitals, spacing, spelling int
	titled                                                 bool     // a title was added
	details                                                []string // the first maxDetails changes, in words
}

// maxDetails bounds the changes the report spells out; the counts hold them all.
const maxDetails = 12

// note records one change in words, while there is room.
func (n *counts) note(format string, args ...any) {
	if len(n.details) < maxDetails {
		n.details = append(n.details, fmt.Sprintf(format, args...))
	}
}

// total is the number of changes.
func (n *counts) total() int {
	t := n.doubled + n.fillers + n.phrases + n.capitals + n.spacing + n.spelling
	if n.titled {
		t++
	}
	return t
}

// Spacing rules, applied to a paragraph whose runs of white space are already single spaces.
var spacing = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(` +([,.;:!?])(\pL)`), "$1 $2"},               // a misplaced space: "end .Next" → "end. Next"
	{regexp.MustCompile(` +([,.;:!?)\]])`), "$1"},                    // no space before punctuation
	{regexp.MustCompile(`([(\[]) +`), "$1"},                          // nor after an opening bracket
	{regexp.MustCompile(`(\pL)\(`), "$1 ("},                          // but one before it, after a word
	{regexp.MustCompile(`,{2,}`), ","},                               // doubled commas
	{regexp.MustCompile(`!{2,}`), "!"},                               // !!! → !
	{regexp.MustCompile(`\?{2,}`), "?"},                              // ??? → ?
	{regexp.MustCompile(`([^.])\.\.([^.]|$)`), "$1.$2"},              // a doubled full stop, not an ellipsis
	{regexp.MustCompile(`([,;])(\pL)`), "$1 $2"},                     // a space after a comma or semicolon
	{regexp.MustCompile(`(\pL):(\pL)`), "$1: $2"},                    // and after a colon between words
	{regexp.MustCompile(`(\p{Ll}\p{Ll})([.!?])(\p{Lu})`), "$1$2 $3"}, // and after a sentence's end
}

// fillers are removed when tightening.
var fillers = map[string]bool{"very": true, "really": true, "basically": true, "actually": true, "literally": true,
	"essentially": true, "totally": true}

// wordy phrases are replaced by their short forms when tightening (an empty one removes the
// phrase). Each is matched word by word, case aside, when no punctuation interrupts it. A
// quantity ("the majority of" → "most") keeps its "of" before a determiner or a pronoun:
// "most of the people", "most of it", but "most people".
var wordy = func() [][2][]string {
	var out [][2][]string
	for _, pair := range []string{
		"in order to:to", "due to the fact that:because", "owing to the fact that:because",
		"in spite of the fact that:although", "despite the fact that:although", "at this point in time:now",
		"at the present time:now", "in the event that:if", "the majority of:most of", "a large number of:many of",
		"is able to:can", "are able to:can", "has the ability to:can", "have the ability to:can",
		"for the purpose of:for", "in close proximity to:near", "prior to:before", "each and every:every",
		"first and foremost:first", "it is important to note that:", "it should be noted that:",
	} {
		long, short, _ := strings.Cut(pair, ":")
		out = append(out, [2][]string{strings.Fields(long), strings.Fields(short)})
	}
	return out
}()

// determiners and pronouns keep the "of" of a shortened quantity before them.
var determiners = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`the a an this that these those it its them they their theirs our ours us we my mine
		your yours his her hers him whom which what whose each all both`) {
		m[w] = true
	}
	return m
}()

// negations keep the filler after them: "not very good" is not "not good".
var negations = map[string]bool{"not": true, "never": true, "no": true, "hardly": true}

// doubledOK are words that may legitimately repeat ("had had", "that that").
var doubledOK = map[string]bool{"had": true, "that": true}

// abbreviations end with a full stop that does not end a sentence.
var abbreviations = map[string]bool{"e.g.": true, "i.e.": true, "etc.": true, "vs.": true, "cf.": true, "approx.": true,
	"mr.": true, "mrs.": true, "ms.": true, "dr.": true, "st.": true, "no.": true, "fig.": true, "p.": true}

// core returns a token's word: lower-cased, without leading and trailing punctuation.
func core(tok string) string {
	return strings.ToLower(strings.TrimFunc(tok, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’' }))
}

// trailing returns the punctuation at the end of a token.
func trailing(tok string) string {
	return tok[len(strings.TrimRightFunc(tok, unicode.IsPunct)):]
}

// editParagraph applies the word-level rules to one paragraph (or one line of a list).
func editParagraph(p string, c *config, n *counts) string {
	if runs := strings.Count(strings.TrimSpace(p), "  "); runs > 0 {
		n.spacing += runs
		n.note("spacing: runs of spaces made single")
	}
	p = strings.Join(strings.Fields(p), " ")
	for _, rule := range spacing {
		p = rule.re.ReplaceAllStringFunc(p, func(m string) string {
			fixed := rule.re.ReplaceAllString(m, rule.repl)
			if fixed != m {
				n.spacing++
				n.note("spacing: %q → %q", m, fixed)
			}
			return fixed
		})
	}
	toks := strings.Fields(p)
	toks = removeDoubled(toks, n)
	if c.tighten() {
		toks = removeFillers(toks, n)
		toks = shortenPhrases(toks, n)
	}
	if c.Spelling != "" {
		toks = respell(toks, c.Spelling, n)
	}
	capitalise(toks, n)
	p = strings.Join(toks, " ")
	if c.SmartQuotes {
		p = smartQuotes(p)
	}
	return p
}

// removeDoubled drops a word that repeats the one before it ("the the"), when nothing but a
// space separates them.
func removeDoubled(toks []string, n *counts) []string {
	out := toks[:0]
	for i, t := range toks {
		if i > 0 && len(out) > 0 {
			prev := out[len(out)-1]
			w := core(t)
			if w != "" && w == core(prev) && trailing(prev) == "" && !doubledOK[w] && isWord(prev) {
				n.doubled++
				n.note("doubled word: %q → %q", prev+" "+t, prev+trailing(t))
				// Keep the second one's trailing punctuation: "the the." → "the."
				out[len(out)-1] = prev + trailing(t)
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

func isWord(tok string) bool {
	for _, r := range tok {
		if !unicode.IsLetter(r) && r != '\'' && r != '’' {
			return false
		}
	}
	return tok != ""
}

// removeFillers drops filler words, unless a negation comes right before, taking a comma that
// set them off with them ("It was, actually, fine" → "It was fine").
func removeFillers(toks []string, n *counts) []string {
	out := toks[:0]
	for _, t := range toks {
		w := core(t)
		if !fillers[w] || strings.ToLower(strings.TrimRight(t, ",.!?;:")) != w {
			out = append(out, t)
			continue
		}
		if len(out) > 0 {
			prev := core(out[len(out)-1])
			if negations[prev] || strings.HasSuffix(prev, "n't") || strings.HasSuffix(prev, "n’t") {
				out = append(out, t)
				continue
			}
		}
		n.fillers++
		n.note("filler removed: %q", strings.TrimRight(t, ",.!?;:"))
		switch punct := trailing(t); {
		case punct == "," && len(out) > 0 && strings.HasSuffix(out[len(out)-1], ","):
			out[len(out)-1] = strings.TrimSuffix(out[len(out)-1], ",")
		case punct != "" && punct != "," && len(out) > 0:
			out[len(out)-1] = strings.TrimRight(out[len(out)-1], ",;:") + punct
		}
	}
	return out
}

// shortenPhrases replaces wordy phrases by their short forms ("in order to" → "to"), keeping
// a capital at the start and the punctuation after the phrase's last word.
func shortenPhrases(toks []string, n *counts) []string {
	out := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		long, short, ok := wordyAt(toks[i:])
		if !ok {
			out = append(out, toks[i])
			continue
		}
		last := toks[i+len(long)-1]
		repl := append([]string(nil), short...)
		if len(repl) > 1 && repl[len(repl)-1] == "of" && (i+len(long) == len(toks) || !determiners[core(toks[i+len(long)])]) {
			repl = repl[:len(repl)-1] // "most people", not "most of people"
		}
		if len(repl) > 0 && upperFirstLetter(toks[i]) == toks[i] {
			repl[0] = upperFirstLetter(repl[0])
		}
		n.phrases++
		phrase := strings.Join(toks[i:i+len(long)], " ")
		if len(repl) == 0 {
			n.note("wordy phrase removed: %q", strings.TrimRight(phrase, ",.!?;:"))
			if punct := trailing(last); punct != "" && punct != "," && len(out) > 0 {
				out[len(out)-1] = strings.TrimRight(out[len(out)-1], ",;:") + punct
			}
		} else {
			n.note("wordy phrase: %q → %q", strings.TrimRight(phrase, ",.!?;:"), strings.Join(repl, " "))
			repl[len(repl)-1] += trailing(last)
			out = append(out, repl...)
		}
		i += len(long) - 1
	}
	return out
}

// wordyAt returns the wordy phrase toks start with and its short form: its words match, and
// no word but the last carries punctuation.
func wordyAt(toks []string) (long, short []string, ok bool) {
next:
	for _, w := range wordy {
		long, short = w[0], w[1]
		if len(toks) < len(long) {
			continue
		}
		for j, word := range long {
			t := toks[j]
			if core(t) != word || j < len(long)-1 && trailing(t) != "" || !isWord(strings.TrimRight(t, ",.!?;:")) {
				continue next
			}
		}
		return long, short, true
	}
	return nil, nil, false
}

// capitalise upper-cases the first letter of each sentence and the pronoun "i".
func capitalise(toks []string, n *counts) {
	start := true
	for i, t := range toks {
		switch w := core(t); w {
		case "i", "i'm", "i've", "i'll", "i'd", "i’m", "i’ve", "i’ll", "i’d":
			if t2 := upperFirstLetter(t); t2 != t {
				toks[i] = t2
				n.capitals++
				n.note("capital: %q → %q", t, t2)
			}
		}
		if start {
			if t2 := upperFirstLetter(toks[i]); t2 != toks[i] && !strings.Contains(t, "://") && !strings.Contains(t, "@") {
				n.note("capital: %q → %q", toks[i], t2)
				toks[i] = t2
				n.capitals++
			}
		}
		start = endsSentence(toks[i])
	}
}

// endsSentence reports whether a token ends a sentence: a full stop, question or exclamation
// mark (before any closing quotes or brackets), not an abbreviation or an ellipsis.
func endsSentence(tok string) bool {
	t := strings.TrimRight(tok, `"')]”’`)
	if t == "" || abbreviations[strings.ToLower(t)] || strings.HasSuffix(t, "...") || strings.HasSuffix(t, "…") {
		return false
	}
	last := t[len(t)-1]
	return last == '.' || last == '!' || last == '?'
}

// upperFirstLetter upper-cases the first letter of a token, after any opening quotes or
// brackets.
func upperFirstLetter(tok string) string {
	for i, r := range tok {
		if unicode.IsLetter(r) {
			if !unicode.IsLower(r) {
				return tok
			}
			return tok[:i] + string(unicode.ToUpper(r)) + tok[i+utf8.RuneLen(r):]
		}
		if unicode.IsDigit(r) {
			return tok
		}
	}
	return tok
}

// smartQuotes turns straight quotes into typographic ones: an opening quote at the start or
// after a space or an opening bracket, a closing quote (or apostrophe) elsewhere.
func smartQuotes(p string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range p {
		opening := unicode.IsSpace(prev) || prev == '(' || prev == '[' || prev == '—' || prev == '“' || prev == '‘'
		switch {
		case r == '"' && opening:
			b.WriteRune('“')
		case r == '"':
			b.WriteRune('”')
		case r == '\'' && opening:
			b.WriteRune('‘')
		case r == '\'':
			b.WriteRune('’')
		default:
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}
