package translate

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxPhrase is the longest phrase, in words, looked up in the word table.
const maxPhrase = 3

// translate translates text into l: sentence by sentence, keeping the white space between
// sentences (and so the paragraphs) as it is.
func translate(text string, l *language) string {
	var b strings.Builder
	for _, part := range splitSentences(text) {
		if strings.TrimSpace(part) == "" {
			b.WriteString(part)
			continue
		}
		if t, ok := l.template(part); ok {
			b.WriteString(t)
		} else {
			b.WriteString(wordByWord(part, l.code))
		}
	}
	return b.String()
}

// splitSentences cuts text into sentences and the white space between them, alternately: a
// sentence ends with . ! or ? (and closing quotes or brackets) before white space or the end.
func splitSentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); {
		c := text[i]
		if c != '.' && c != '!' && c != '?' {
			i++
			continue
		}
		j := i + 1
		for j < len(text) && strings.IndexByte(".!?\"')]", text[j]) >= 0 {
			j++
		}
		if j < len(text) && !isSpace(text[j]) {
			i = j
			continue
		}
		out = append(out, text[start:j])
		k := j
		for k < len(text) && isSpace(text[k]) {
			k++
		}
		if k > j {
			out = append(out, text[j:k])
		}
		start, i = k, k
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

var tokenRE = regexp.MustCompile(`[\p{L}\p{N}'’-]+|[^\p{L}\p{N}'’-]+`)

// wordByWord translates a sentence outside the templates word by word, trying phrases of up to
// maxPhrase words first; unknown words pass through unchanged, and a capital first letter
// stays capital.
func wordByWord(s, lang string) string {
	toks := tokenRE.FindAllString(s, -1)
	isWord := func(t string) bool {
		r, _ := utf8.DecodeRuneInString(t)
		return unicode.IsLetter(r) || unicode.IsDigit(r)
	}
	var b strings.Builder
	for i := 0; i < len(toks); {
		if !isWord(toks[i]) {
			b.WriteString(toks[i])
			i++
			continue
		}
		done := false
		for n := maxPhrase; n >= 1 && !done; n-- {
			end := i + 2*n - 1 // words at i, i+2, …, separated by single spaces
			if end > len(toks) {
				continue
			}
			var parts []string
			ok := true
			for k := i; k < end; k++ {
				if (k-i)%2 == 1 {
					if toks[k] != " " {
						ok = false
						break
					}
					continue
				}
				if !isWord(toks[k]) {
					ok = false
					break
				}
				parts = append(parts, strings.ToLower(toks[k]))
			}
			if !ok {
				continue
			}
			key := strings.Join(parts, " ")
			t, found := words[lang][key]
			if !found {
				t, found = colourNames[lang][key]
			}
			if !found {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(toks[i]); unicode.IsUpper(r) {
				t = upperFirst(t)
			}
			b.WriteString(t)
			i = end
			done = true
		}
		if !done {
			b.WriteString(toks[i])
			i++
		}
	}
	return b.String()
}

func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[size:]
}
