package edit

import (
	"sort"
	"strings"
	"unicode"
)

// maxTitleWords is the longest first line taken for a title.
const maxTitleWords = 12

// isTitle reports whether the first line of a text is a title: a Markdown heading, or a short
// line without closing punctuation followed by more text.
func isTitle(line string, more bool) bool {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "#") {
		return true
	}
	if !more || line == "" || len(strings.Fields(line)) > maxTitleWords {
		return false
	}
	return !strings.ContainsRune(".!?,;:", rune(line[len(line)-1]))
}

// editTitle tidies a title: single spaces, the spelling variety, a capital first letter.
func editTitle(line, variety string, n *counts) string {
	toks := strings.Fields(line)
	if variety != "" {
		toks = respell(toks, variety, n)
	}
	for i, t := range toks {
		if t2 := upperFirstLetter(t); t2 != t {
			toks[i] = t2
			n.capitals++
		}
		if !strings.HasPrefix(t, "#") {
			break
		}
	}
	return strings.Join(toks, " ")
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again against all also am an and any are as at be because been
		before being below between both but by can could did do does doing down during each even every few for from
		further had has have having he her here hers him his how however i if in into is it its itself just less let
		many may me might more most much must my no nor not now of off often on once one only or other our ours out over
		own same she should so some such than that the their theirs them then there these they this those through to
		too two under until up upon us very was we well were what when where which while who whom why will with within
		without would yet you your also like way ways make makes made new used use uses using each`) {
		m[w] = true
	}
	return m
}()

// makeTitle writes a title for a text without one from its key phrases: the most frequent pair
// of adjacent content words if it occurs twice, else the most frequent content word, then the
// most frequent other content word if it occurs twice: "Solar Power and Batteries". Ties go
// to the phrase that comes first.
func makeTitle(text string) string {
	type stat struct {
		n, first int
	}
	words := map[string]*stat{}
	pairs := map[string]*stat{}
	pos := 0
	for _, sentence := range strings.FieldsFunc(text, func(r rune) bool { return strings.ContainsRune(".!?;:,\n", r) }) {
		prev := ""
		for _, w := range strings.FieldsFunc(strings.ToLower(sentence), func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) {
			pos++
			if len(w) < 3 || stopWords[w] {
				prev = ""
				continue
			}
			if words[w] == nil {
				words[w] = &stat{first: pos}
			}
			words[w].n++
			if prev != "" {
				p := prev + " " + w
				if pairs[p] == nil {
					pairs[p] = &stat{first: pos}
				}
				pairs[p].n++
			}
			prev = w
		}
	}
	rank := func(m map[string]*stat) []string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := m[keys[i]], m[keys[j]]
			if a.n != b.n {
				return a.n > b.n
			}
			return a.first < b.first
		})
		return keys
	}
	var parts []string
	if ps := rank(pairs); len(ps) > 0 && pairs[ps[0]].n >= 2 {
		parts = append(parts, ps[0])
	}
	for _, w := range rank(words) {
		if len(parts) == 2 || len(parts) == 1 && words[w].n < 2 {
			break
		}
		if len(parts) == 1 && strings.Contains(" "+parts[0]+" ", " "+w+" ") {
			continue
		}
		parts = append(parts, w)
	}
	if len(parts) == 0 {
		return ""
	}
	for i, p := range parts {
		ws := strings.Fields(p)
		for j, w := range ws {
			ws[j] = upperFirstLetter(w)
		}
		parts[i] = strings.Join(ws, " ")
	}
	return strings.Join(parts, " and ")
}
