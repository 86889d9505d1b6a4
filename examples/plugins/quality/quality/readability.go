package quality

import (
	"strings"
	"unicode"
)

// measures are a text's counts.
type measures struct {
	words, sentences, paragraphs, syllables int
	longSentences                           int
	longestParagraph                        int // in words
	doubled                                 []string
	content                                 [][]string // each sentence's content words, stemmed (coherence.go)
}

// measure counts a text's words, sentences, paragraphs and syllables. Paragraphs are separated
// by blank lines; a first line that is a title (short, without closing punctuation, followed
// by more text) and Markdown headings are left out. A sentence ends with . ! or ? before a
// space or the end of its paragraph, and every paragraph ends one.
func measure(text string, maxSentence int) measures {
	var m measures
	blocks := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n")
	first := true
	for _, block := range blocks {
		var lines []string
		for _, l := range strings.Split(block, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			lines = append(lines, l)
		}
		if len(lines) == 0 {
			continue
		}
		if first {
			first = false
			more := len(lines) > 1 || len(blocks) > 1
			if more && isTitle(lines[0]) {
				lines = lines[1:]
				if len(lines) == 0 {
					continue
				}
			}
		}
		m.paragraphs++
		pw := 0
		for _, s := range sentences(strings.Join(lines, " ")) {
			words := strings.Fields(s)
			n := 0
			prev := ""
			for _, w := range words {
				core := strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
				if core == "" {
					continue
				}
				n++
				m.syllables += syllables(core)
				if core == prev && len(m.doubled) < 5 {
					m.doubled = append(m.doubled, core+" "+core)
				}
				prev = core
			}
			if n == 0 {
				continue
			}
			m.content = append(m.content, contentWords(words))
			m.sentences++
			m.words += n
			pw += n
			if n > maxSentence {
				m.longSentences++
			}
		}
		m.longestParagraph = max(m.longestParagraph, pw)
	}
	return m
}

func isTitle(line string) bool {
	return len(strings.Fields(line)) <= 12 && !strings.ContainsRune(".!?,;:", rune(line[len(line)-1]))
}

// sentences splits a paragraph after . ! or ? (and any closing quotes or brackets) followed by
// a space, and at its end.
func sentences(p string) []string {
	var out []string
	start := 0
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '.' && rs[i] != '!' && rs[i] != '?' {
			continue
		}
		j := i
		for j+1 < len(rs) && strings.ContainsRune(".!?\"')]”’", rs[j+1]) {
			j++
		}
		if j+1 == len(rs) || unicode.IsSpace(rs[j+1]) {
			out = append(out, string(rs[start:j+1]))
			start = j + 1
			i = j
		}
	}
	if s := strings.TrimSpace(string(rs[start:])); s != "" {
		out = append(out, s)
	}
	return out
}

func isVowel(c byte) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'
}

// syllables estimates a lower-case word's syllables by counting groups of vowels (y counts as
// a vowel except at the start), then correcting for the commonest exceptions: a silent final e
// (but not in -le after a consonant), silent -es and -ed endings, a silent e before -ly, -ful
// and -ness, and vowel pairs spoken as two syllables (-ia- as in Australian, -ua- as in
// actual, -io- as in radio, -ea at the end as in area, -ier/-iest, and -ing after a vowel as in
// going). A number counts as one syllable; every word has at least one.
func syllables(w string) int {
	b := make([]byte, 0, len(w))
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= 'a' && c <= 'z' {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return 1
	}
	if len(b) <= 3 {
		return 1
	}
	n := 0
	for i := 0; i < len(b); i++ {
		if isVowel(b[i]) && !(i == 0 && b[i] == 'y') && (i == 0 || !isVowel(b[i-1]) || (i == 1 && b[0] == 'y')) {
			n++
		}
	}
	s := string(b)
	consonantAt := func(i int) bool { return i >= 0 && i < len(b) && !isVowel(b[i]) }
	last := len(b) - 1
	switch {
	case b[last] == 'e' && consonantAt(last-1) && !(b[last-1] == 'l' && consonantAt(last-2)):
		n-- // silent e: make, while, but table
	case strings.HasSuffix(s, "es") && consonantAt(last-2) && !strings.ContainsRune("sxzcg", rune(b[last-2])) &&
		!strings.HasSuffix(s, "ches") && !strings.HasSuffix(s, "shes") && !(b[last-2] == 'l' && consonantAt(last-3)):
		n-- // makes, times; not boxes, places, tables
	case strings.HasSuffix(s, "ed") && consonantAt(last-2) && b[last-2] != 't' && b[last-2] != 'd':
		n-- // jumped; not wanted
	}
	for _, suf := range []string{"ely", "eful", "eness"} {
		if strings.HasSuffix(s, suf) && consonantAt(len(b)-len(suf)-1) {
			n-- // lovely, careful
		}
	}
	for i := 1; i+1 < len(b); i++ {
		pair := s[i : i+2]
		prev := b[i-1]
		switch {
		case pair == "ia" && !strings.ContainsRune("ctsgx", rune(prev)):
			n++ // Australian, media; not social, Asia
		case pair == "ua" && prev != 'q' && prev != 'g':
			n++ // actual; not equal, language
		case pair == "io" && !strings.ContainsRune("ctsgx", rune(prev)) && (i+2 == len(b) || (b[i+2] != 'n' && b[i+2] != 'u')):
			n++ // radio, period; not nation, million, various
		}
	}
	if strings.HasSuffix(s, "ea") && len(b) > 3 {
		n++ // area, idea
	}
	if strings.HasSuffix(s, "ier") || strings.HasSuffix(s, "iest") {
		n++ // easier, earliest
	}
	if strings.HasSuffix(s, "ing") && len(b) > 4 && isVowel(b[len(b)-4]) {
		n++ // going, playing
	}
	return max(n, 1)
}
