// Package quality is a local model: it scores a text's readability, coherence and basic quality
// and answers chat completions (the last user message) and completions (the prompt) with a JSON
// report as the answer's text:
//
//	{"words": 212, "sentences": 14, "paragraphs": 3, "fleschReadingEase": 58.2,
//	 "fleschKincaidGrade": 9.1, "averageSentenceLength": 15.1, "longSentences": 1,
//	 "coherence": 0.82, "connectedSentences": 0.71, "topicCoverage": 0.93,
//	 "topicWords": ["rivers", "city", "parks"], "passed": true,
//	 "issues": ["1 sentence is longer than 25 words"]}
//
// The input is a text, or a JSON object {"text": "…"}. Paragraphs are separated by blank lines;
// a first line that is a title (at most twelve words, no closing punctuation, more text after
// it) and Markdown headings are not counted. Sentences end with . ! or ? before a space or the
// end of their paragraph. Words are runs of non-space characters holding a letter or digit.
// Syllables are estimated by counting vowel groups with corrections for the commonest
// exceptions (readability.go). Then
//
//	fleschReadingEase  = 206.835 − 1.015 × words/sentences − 84.6 × syllables/words
//	fleschKincaidGrade = 0.39 × words/sentences + 11.8 × syllables/words − 15.59
//
// rounded to one decimal. Coherence (coherence.go) is the mean of two shares of the sentences:
// connectedSentences, those sharing a content word with a neighbouring sentence, and
// topicCoverage, those mentioning one of the topicWords (the content words found in the most
// sentences, in two at least); it is null, and not judged, for fewer than three sentences.
// The text passes when it has at least minWords words, a reading ease of at least
// minReadingEase and a coherence of at least minCoherence; issues lists, in words, what fails
// and what else could be better: sentences longer than maxSentenceWords, doubled words (up to
// five), a single paragraph of more than 150 words.
// Config (optional): {"minWords": 80, "minReadingEase": 30, "minCoherence": 0.5,
// "maxSentenceWords": 25}. Usage counts whitespace-separated words.
package quality

import (
	"math"
	"strconv"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

type config struct {
	MinWords         *int     `json:"minWords"`
	MinReadingEase   *float64 `json:"minReadingEase"`
	MinCoherence     *float64 `json:"minCoherence"`
	MaxSentenceWords int      `json:"maxSentenceWords"`
}

// Defaults of the config.
const (
	defaultMinWords       = 80
	defaultMinReadingEase = 30.0
	defaultMinCoherence   = 0.5
	defaultMaxSentence    = 25
)

var cfg iomwasm.ConfigCache[config]

// Answer answers one model call (iomwasm.Infer's handler). The model's config, as the package
// comment describes it, is c.Config; null means the defaults.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	conf, err := cfg.Get(c.Config)
	if err != nil {
		return nil, err
	}
	model := c.Request.Get("model").Str()
	text, err := c.Text("the quality model")
	if err != nil {
		return nil, err
	}
	if v := iomwasm.Value(strings.TrimSpace(text)); v.Kind() == iomwasm.Object && v.Valid() {
		if s, ok := v.Get("text").Text(); ok {
			text = s
		}
	}
	r := report(text, conf)
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, r, iomwasm.Words(text), iomwasm.Words(r)), nil
	}
	return iomwasm.ChatCompletion(model, r, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(r)), nil
}

// report measures text and writes the JSON report.
func report(text string, c *config) string {
	minWords, minEase, minCoherence, maxSentence := defaultMinWords, defaultMinReadingEase, defaultMinCoherence, defaultMaxSentence
	if c.MinWords != nil {
		minWords = *c.MinWords
	}
	if c.MinReadingEase != nil {
		minEase = *c.MinReadingEase
	}
	if c.MinCoherence != nil {
		minCoherence = *c.MinCoherence
	}
	if c.MaxSentenceWords > 0 {
		maxSentence = c.MaxSentenceWords
	}
	m := measure(text, maxSentence)

	var ease, grade, avg float64
	if m.words > 0 {
		avg = float64(m.words) / float64(m.sentences)
		perWord := float64(m.syllables) / float64(m.words)
		ease = 206.835 - 1.015*avg - 84.6*perWord
		grade = 0.39*avg + 11.8*perWord - 15.59
	}
	ease, grade, avg = round1(ease), round1(grade), round1(avg)
	co := measureCoherence(m.content)
	coherent := !co.judged || co.score >= minCoherence
	passed := m.words >= minWords && m.words > 0 && ease >= minEase && coherent

	var issues []string
	if m.words < minWords {
		issues = append(issues, "too short: "+strconv.Itoa(m.words)+" words, at least "+strconv.Itoa(minWords)+" wanted")
	}
	if m.words > 0 && ease < minEase {
		issues = append(issues, "hard to read: reading ease "+num(ease)+" is below "+num(minEase))
	}
	if !coherent {
		issues = append(issues, "incoherent: coherence "+num(co.score)+" is below "+num(minCoherence)+" ("+
			percent(co.connected)+" of the sentences share a word with a neighbour, "+percent(co.coverage)+" mention its topic words)")
	}
	switch m.longSentences {
	case 0:
	case 1:
		issues = append(issues, "1 sentence is longer than "+strconv.Itoa(maxSentence)+" words")
	default:
		issues = append(issues, strconv.Itoa(m.longSentences)+" sentences are longer than "+strconv.Itoa(maxSentence)+" words")
	}
	for _, d := range m.doubled {
		issues = append(issues, "doubled word: "+d)
	}
	if m.paragraphs == 1 && m.words > 150 {
		issues = append(issues, "one paragraph of "+strconv.Itoa(m.words)+" words: consider splitting it")
	}

	b := make([]byte, 0, 256)
	b = append(b, `{"words": `...)
	b = strconv.AppendInt(b, int64(m.words), 10)
	b = append(b, `, "sentences": `...)
	b = strconv.AppendInt(b, int64(m.sentences), 10)
	b = append(b, `, "paragraphs": `...)
	b = strconv.AppendInt(b, int64(m.paragraphs), 10)
	b = append(b, `, "fleschReadingEase": `...)
	b = append(b, num(ease)...)
	b = append(b, `, "fleschKincaidGrade": `...)
	b = append(b, num(grade)...)
	b = append(b, `, "averageSentenceLength": `...)
	b = append(b, num(avg)...)
	b = append(b, `, "longSentences": `...)
	b = strconv.AppendInt(b, int64(m.longSentences), 10)
	b = append(b, `, "coherence": `...)
	if co.judged {
		b = append(b, num(co.score)...)
		b = append(b, `, "connectedSentences": `...)
		b = append(b, num(co.connected)...)
		b = append(b, `, "topicCoverage": `...)
		b = append(b, num(co.coverage)...)
	} else {
		b = append(b, `null, "connectedSentences": null, "topicCoverage": null`...)
	}
	b = append(b, `, "topicWords": [`...)
	for i, w := range co.topic {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = iomwasm.AppendString(b, w)
	}
	b = append(b, `], "passed": `...)
	b = strconv.AppendBool(b, passed)
	b = append(b, `, "issues": [`...)
	for i, s := range issues {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = iomwasm.AppendString(b, s)
	}
	b = append(b, "]}"...)
	return string(b)
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// percent writes a share from 0 to 1 as a whole percentage.
func percent(f float64) string { return strconv.Itoa(int(math.Round(f*100))) + "%" }

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
