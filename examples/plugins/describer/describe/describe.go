package describe

import (
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// colours is the closed list of colour names, the same as image-features gives.
var colours = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"black", "dark gray", "gray", "silver", "white", "maroon", "red", "crimson", "pink",
		"salmon", "coral", "orange", "gold", "yellow", "cream", "beige", "khaki", "tan", "brown", "olive", "lime",
		"green", "dark green", "teal", "turquoise", "cyan", "sky blue", "blue", "navy", "indigo", "purple", "violet",
		"magenta", "lavender"} {
		m[n] = true
	}
	return m
}()

// Thresholds of the closed vocabulary.
const (
	mostly       = 0.5  // a colour covering at least this much is "mostly"
	partly       = 0.3  // "partly"
	partlyAlone  = 0.2  // "partly" when no colour is "mostly"
	touches      = 0.03 // "touches of"; less is not mentioned
	mutedBelow   = 33   // colorfulness, Hasler and Süsstrunk's "moderately colourful"
	vividAtLeast = 82   // their "highly colourful"
)

// size names an image's size by its longest side.
func size(w, h int64) string {
	switch side := max(w, h); {
	case side <= 64:
		return "tiny"
	case side <= 512:
		return "small"
	case side <= 1600:
		return "medium"
	}
	return "large"
}

func brightness(b float64) string {
	switch {
	case b < 0.25:
		return "dark"
	case b < 0.45:
		return "dim"
	case b < 0.75:
		return "bright"
	}
	return "very bright"
}

func contrast(c float64) string {
	switch {
	case c < 0.2:
		return "flat"
	case c < 0.45:
		return "moderate"
	}
	return "high"
}

// list joins words as English does: "a", "a and b", "a, b and c".
func list(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

// describe writes one to three sentences about the features f (image-features' object).
func describe(f iomwasm.Value) string {
	var sentences []string
	w, okW := f.Get("width").Int()
	h, okH := f.Get("height").Int()
	orientation := f.Get("orientation").Str()
	if orientation != "landscape" && orientation != "portrait" && orientation != "square" {
		switch {
		case !okW || !okH:
			orientation = ""
		case float64(w) > 1.02*float64(h):
			orientation = "landscape"
		case float64(h) > 1.02*float64(w):
			orientation = "portrait"
		default:
			orientation = "square"
		}
	}
	subject := "An image"
	if okW && okH && w > 0 && h > 0 {
		subject = "A " + size(w, h) + " " + orientation + " image"
	}

	type share struct {
		name  string
		share float64
	}
	var shares []share
	f.Get("dominantColors").Each(func(_ int, c iomwasm.Value) bool {
		name := c.Get("name").Str()
		s, ok := c.Get("share").Float()
		if colours[name] && ok {
			shares = append(shares, share{name, s})
		}
		return true
	})
	var most, part, touch []string
	hasMost := false
	for _, s := range shares {
		if s.share >= mostly {
			hasMost = true
		}
	}
	for _, s := range shares {
		switch {
		case s.share >= mostly:
			most = append(most, s.name)
		case s.share >= partly || !hasMost && s.share >= partlyAlone:
			part = append(part, s.name)
		case s.share >= touches:
			touch = append(touch, s.name)
		}
	}
	var clauses []string
	if len(most) > 0 {
		clauses = append(clauses, "mostly "+list(most))
	}
	if len(part) > 0 {
		clauses = append(clauses, "partly "+list(part))
	}
	first := subject
	if len(clauses) > 0 {
		first += ", " + strings.Join(clauses, " and ")
	}
	if len(touch) > 0 {
		first += " with touches of " + list(touch)
	}
	sentences = append(sentences, first+".")

	b, okB := f.Get("brightness").Float()
	c, okC := f.Get("contrast").Float()
	switch {
	case okB && okC:
		sentences = append(sentences, "It is "+brightness(b)+" and "+contrast(c)+" in contrast.")
	case okB:
		sentences = append(sentences, "It is "+brightness(b)+".")
	case okC:
		sentences = append(sentences, "It is "+contrast(c)+" in contrast.")
	}
	if cf, ok := f.Get("colorfulness").Float(); ok {
		switch {
		case cf < mutedBelow:
			sentences = append(sentences, "The colors are muted.")
		case cf >= vividAtLeast:
			sentences = append(sentences, "The colors are vivid.")
		}
	}
	return strings.Join(sentences, " ")
}
