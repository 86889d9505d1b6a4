// Package translate is a local model: it translates the describer's English into French,
// Spanish or German, answering chat completions (the last user message) and completions (the
// prompt) with the translated text alone, plain.
//
// The input is a text, or a JSON object {"text": "…", "to": "es"} (or any JSON holding such an
// object, searched breadth first through members, elements and strings that are JSON
// themselves: a pipeline step's output). The target language is the input's "to", else the
// config's {"to": "de"}, else French; "fr", "es" and "de" (or fr-FR, French, français, …)
// are known, "en" leaves the text as it is, anything else is an error.
//
// The describer's three sentence shapes ("A tiny landscape image, mostly navy with touches of
// orange.", "It is dark and high in contrast.", "The colors are vivid.") are parsed and written
// again from templates that put each language's words in its order and make them agree: the
// image is feminine in French and Spanish (une petite image carrée, una pequeña imagen
// cuadrada) and neuter in German (ein kleines quadratisches Bild), and the 34 colour names are
// used as nouns, which do not agree. Any other sentence is translated word by word from a
// table of common short words (phrases of up to three words first): unknown words pass
// through unchanged and word order stays English. Usage counts whitespace-separated words.
package translate

import (
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

type config struct {
	To string `json:"to"`
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
	input, err := c.Text("the translator")
	if err != nil {
		return nil, err
	}
	text, to := input, ""
	if v := iomwasm.Value(strings.TrimSpace(input)); (v.Kind() == iomwasm.Object || v.Kind() == iomwasm.Array) && v.Valid() {
		if t := v.Find(func(o iomwasm.Value) bool { return o.Get("text").Kind() == iomwasm.String }); t != nil {
			text = t.Get("text").Str()
		}
		if t := v.Find(func(o iomwasm.Value) bool { return o.Get("to").Kind() == iomwasm.String }); t != nil {
			to = t.Get("to").Str()
		}
	}
	if to == "" {
		to = conf.To
	}
	code, ok := languageCode(to)
	if !ok {
		return nil, iomwasm.Errorf("unsupported_language", "the translator translates into fr, es and de, not %q", to)
	}
	out := text
	if code != "en" {
		out = translate(text, languages[code])
	}
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, out, iomwasm.Words(input), iomwasm.Words(out)), nil
	}
	return iomwasm.ChatCompletion(model, out, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(out)), nil
}

// languageCode reads a language's name or tag; "" is French.
func languageCode(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "", "french", "français", "francais":
		return "fr", true
	case "spanish", "español", "espanol", "castellano":
		return "es", true
	case "german", "deutsch":
		return "de", true
	case "english":
		return "en", true
	}
	if i := strings.IndexAny(s, "-_"); i > 0 {
		s = s[:i]
	}
	switch s {
	case "fr", "es", "de", "en":
		return s, true
	}
	return "", false
}
