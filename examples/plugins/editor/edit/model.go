// Package edit is a local model: a rule-based copy editor that answers chat completions (the
// last user message) and completions (the prompt) with the edited text itself, plain, so a
// later step can use it as it is, and reports what it changed in the answer's "edits" member
// (see report.go).
//
// The input is a text, or a JSON object {"text": "…"}. Paragraphs are separated by blank lines;
// the lines of a paragraph are joined into one, except in lists, headings and tables (lines
// starting with -, *, +, a number and a full stop, # or |), which are edited line by line. Each
// paragraph gets, in order:
//
//   - single spaces; a space before , . ; : ! ? moved after it when a letter follows ("mat .it"
//     → "mat. it"); no space before , . ; : ! ? ) ] or after ( [, one before ( after a word;
//     one after a comma, a semicolon, a colon between words and a full stop, ! or ? between a
//     lower-case word and a capital ("end.Next" → "end. Next"); runs of !, ? or commas and
//     doubled full stops (not ellipses) reduced to one;
//   - doubled words removed ("the the" → "the"; "had had" and "that that" stay);
//   - with tighten (the default), the fillers very, really, basically, actually, literally,
//     essentially and totally removed, with a comma that set them off, except right after a
//     negation ("not very"); and wordy phrases shortened: "in order to" → "to", "due to the
//     fact that" → "because", "is able to" → "can", "the majority of" → "most", "prior to" →
//     "before", "it is important to note that" removed… (the table wordy in edit.go);
//   - with spelling "us" or "uk", British or American spellings (a table of some 850 forms:
//     -our/-or, -ise/-ize, -yse/-yze, -re/-er, doubled l, and single words) turned into the
//     other variety; with "consistent", into whichever the text uses more;
//   - a capital letter at the start of each sentence (not after e.g., i.e., etc. or an
//     ellipsis) and for the pronoun I;
//   - with smartQuotes, straight quotes turned into typographic ones.
//
// The first line is kept as the title when it is a Markdown heading, or a short line (at most
// twelve words) without closing punctuation followed by more text; otherwise the editor adds
// one made of the text's key phrases ("Solar Power and Batteries") unless title is false. The
// answer is the title, a blank line and the paragraphs separated by blank lines.
//
// Config (optional): {"tighten": true, "spelling": "", "smartQuotes": false, "title": true}.
// Usage counts whitespace-separated words.
package edit

import (
	"strconv"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

type config struct {
	Tighten     *bool  `json:"tighten"`
	Spelling    string `json:"spelling"` // "", "us", "uk" or "consistent"
	SmartQuotes bool   `json:"smartQuotes"`
	Title       *bool  `json:"title"`
}

func (c *config) tighten() bool  { return c.Tighten == nil || *c.Tighten }
func (c *config) addTitle() bool { return c.Title == nil || *c.Title }

var cfg iomwasm.ConfigCache[config]

// Answer answers one model call (iomwasm.Infer's handler). The model's config, as the package
// comment describes it, is c.Config; null means the defaults.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	conf, err := cfg.Get(c.Config)
	if err != nil {
		return nil, err
	}
	model := c.Request.Get("model").Str()
	text, err := c.Text("the editor")
	if err != nil {
		return nil, err
	}
	if v := iomwasm.Value(strings.TrimSpace(text)); v.Kind() == iomwasm.Object && v.Valid() {
		if s, ok := v.Get("text").Text(); ok {
			text = s
		}
	}
	if strings.TrimSpace(text) == "" {
		return nil, iomwasm.Errorf("no_text", "the editor needs a text to edit")
	}
	edited, n := edit(text, conf)
	iomwasm.Log(iomwasm.LevelDebug, "editor: "+strconv.Itoa(n.total())+" changes")
	var answer []byte
	if c.Op == "completion" {
		answer = iomwasm.TextCompletion(model, edited, iomwasm.Words(text), iomwasm.Words(edited))
	} else {
		answer = iomwasm.ChatCompletion(model, edited, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(edited))
	}
	// The report goes in a member of its own, so the answer's text stays the edited text.
	answer = append(answer[:len(answer)-1], `,"edits":`...)
	return append(n.appendJSON(answer), '}'), nil
}

// edit returns the edited text and what changed.
func edit(text string, c *config) (string, counts) {
	var n counts
	conf := *c
	conf.Spelling = resolveSpelling(text, c.Spelling)

	var blocks [][]string // paragraphs as lines
	var cur []string
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}

	title := ""
	if len(blocks) > 0 && isTitle(blocks[0][0], len(blocks[0]) > 1 || len(blocks) > 1) {
		title = editTitle(blocks[0][0], conf.Spelling, &n)
		if blocks[0] = blocks[0][1:]; len(blocks[0]) == 0 {
			blocks = blocks[1:]
		}
	}

	paragraphs := make([]string, 0, len(blocks))
	for _, b := range blocks {
		if structured(b) {
			for i, line := range b {
				b[i] = editParagraph(line, &conf, &n)
			}
			paragraphs = append(paragraphs, strings.Join(b, "\n"))
			continue
		}
		if p := editParagraph(strings.Join(b, " "), &conf, &n); p != "" {
			paragraphs = append(paragraphs, p)
		}
	}
	body := strings.Join(paragraphs, "\n\n")
	if title == "" && conf.addTitle() {
		if title = makeTitle(body); title != "" {
			n.titled = true
			n.note("title added: %q", title)
		}
	}
	if title == "" {
		return body, n
	}
	if body == "" {
		return title, n
	}
	return title + "\n\n" + body, n
}

// structured reports whether a paragraph is a list, headings or a table, edited line by line.
func structured(lines []string) bool {
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "+ ") ||
			strings.HasPrefix(l, "#") || strings.HasPrefix(l, "|") {
			return true
		}
		if i := strings.IndexByte(l, '.'); i > 0 && i <= 3 {
			if _, err := strconv.Atoi(l[:i]); err == nil {
				return true
			}
		}
	}
	return false
}
