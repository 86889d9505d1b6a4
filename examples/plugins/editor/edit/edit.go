package edit

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// counts tallies the editor's changes, for the log.
type counts struct {
	doubled, fillers, capitals, spelling int
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
var fillers = map[string]bool{"very": true, "really": true, "basically": true, "actually": true, "literally": true}

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
	p = strings.Join(strings.Fields(p), " ")
	for _, rule := range spacing {
		p = rule.re.ReplaceAllString(p, rule.repl)
	}
	toks := strings.Fields(p)
	toks = removeDoubled(toks, n)
	if c.tighten() {
		toks = removeFillers(toks, n)
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
		switch punct := trailing(t); {
		case punct == "," && len(out) > 0 && strings.HasSuffix(out[len(out)-1], ","):
			out[len(out)-1] = strings.TrimSuffix(out[len(out)-1], ",")
		case punct != "" && punct != "," && len(out) > 0:
			out[len(out)-1] = strings.TrimRight(out[len(out)-1], ",;:") + punct
		}
	}
	return out
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
			}
		}
		if start {
			if t2 := upperFirstLetter(toks[i]); t2 != toks[i] && !strings.Contains(t, "://") && !strings.Contains(t, "@") {
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
