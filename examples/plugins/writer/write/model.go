// Package write is a local model: it writes a short article — a title line, a blank line, then
// two to four paragraphs of three to five sentences separated by blank lines — about the topic
// of chat completions (the last user message) and completions (the prompt), as plain text.
//
// The input is a topic ("solar power"), a request naming one ("Write about solar power": the
// words after "about"), or a JSON object {"topic": "solar power", "audience": "students",
// "paragraphs": 3} (audience and paragraphs optional; "subject" is read when "topic" is absent).
// Topics are cut to eight words. An audience puts " for Students" after the title and "For
// students, " before the second sentence of the last paragraph. Paragraphs are clamped to 2–4;
// without them, the config's {"paragraphs": 3} is used, else the number is drawn from the
// seed.
//
// The model is a word-level Markov chain of order 2 trained on an embedded corpus of neutral
// expository prose (corpus.go). Everything random comes from a generator seeded with a hash of
// the topic, audience and paragraph count, so the same input always gives the same article.
// The chain is steered towards the topic: words of the topic (matched by a rough stem) and
// words sharing a corpus paragraph with them weigh more when the chain picks the next word,
// sentences start from corpus sentences near the topic, and each paragraph opens with a
// sentence whose subject is the topic itself (a corpus sentence's subject replaced, its verb
// made to agree). Sentences keep between 8 and 28 words: the best of several drafts is kept,
// the one closest to the topic and not already in the article. Usage counts
// whitespace-separated words.
package write

import (
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

type config struct {
	Paragraphs int `json:"paragraphs"`
}

var cfg iomwasm.ConfigCache[config]

// Answer answers one model call (iomwasm.Infer's handler). The model's config, as the package
// comment describes it, is c.Config; null means the defaults.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	conf, err := cfg.Get(c.Config)
	if err != nil {
		return nil, err
	}
	model := c.Request.Get("model").Str()
	text, err := c.Text("the writer")
	if err != nil {
		return nil, err
	}
	b := parseBrief(text)
	if b.Paragraphs == 0 {
		b.Paragraphs = conf.Paragraphs
	}
	if b.Topic == "" {
		return nil, iomwasm.Errorf("no_topic", "the writer needs a topic: a text, or {\"topic\": \"…\"}")
	}
	article := write(b)
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, article, iomwasm.Words(text), iomwasm.Words(article)), nil
	}
	return iomwasm.ChatCompletion(model, article, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(article)), nil
}

// maxTopicWords bounds a topic taken from free text.
const maxTopicWords = 8

// parseBrief reads the input: a JSON object with a topic, a JSON string, or free text.
func parseBrief(text string) brief {
	v := iomwasm.Value(strings.TrimSpace(text))
	if v.Valid() {
		switch v.Kind() {
		case iomwasm.Object:
			b := brief{Topic: v.Get("topic").Str(), Audience: strings.TrimSpace(v.Get("audience").Str())}
			if b.Topic == "" {
				b.Topic = v.Get("subject").Str()
			}
			if n, ok := v.Get("paragraphs").Int(); ok {
				b.Paragraphs = int(min(max(n, 2), 4))
			}
			words := strings.Fields(b.Topic)
			b.Topic = strings.Join(words[:min(len(words), maxTopicWords)], " ")
			return b
		case iomwasm.String:
			text = v.Str()
		}
	}
	// Free text: the words after "about", else the first line, up to maxTopicWords words.
	line := strings.TrimSpace(text)
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	if i := strings.Index(strings.ToLower(line), "about "); i >= 0 {
		line = line[i+len("about "):]
	}
	words := strings.Fields(line)
	if len(words) > maxTopicWords {
		words = words[:maxTopicWords]
	}
	topic := strings.TrimRight(strings.Join(words, " "), ".!?,;:")
	return brief{Topic: topic}
}
