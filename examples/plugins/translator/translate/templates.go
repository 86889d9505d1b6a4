package translate

import (
	"regexp"
	"strings"
)

// The describer's three sentence shapes, parsed into their parts and written again in the
// target language with its word order and agreement.
var (
	// "A tiny landscape image, mostly navy and partly gray with touches of orange and red."
	imageSentence = regexp.MustCompile(`^An? (?:(tiny|small|medium|large) )?(?:(landscape|portrait|square) )?image(?:, (.+?))?(?: with touches of (.+?))?\.$`)
	// "It is dark and high in contrast." / "It is dark." / "It is high in contrast."
	lightSentence    = regexp.MustCompile(`^It is (dark|dim|bright|very bright)(?: and (flat|moderate|high) in contrast)?\.$`)
	contrastSentence = regexp.MustCompile(`^It is (flat|moderate|high) in contrast\.$`)
	// "The colors are vivid."
	colourSentence = regexp.MustCompile(`^The colou?rs are (muted|vivid)\.$`)
)

// picture is an image sentence's parts.
type picture struct {
	size, orientation   string
	most, part, touches []string // colour names in English
}

// parseColours reads "navy", "navy and orange" or "gray, sky blue and white" into names, all of
// which must be known colours.
func parseColours(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(s, " and ", ", "), ", ") {
		if _, ok := colourNames["fr"][p]; !ok {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

// parsePicture reads an image sentence.
func parsePicture(s string) (picture, bool) {
	m := imageSentence.FindStringSubmatch(s)
	if m == nil {
		return picture{}, false
	}
	p := picture{size: m[1], orientation: m[2]}
	clauses := m[3]
	var most, part string
	switch {
	case strings.HasPrefix(clauses, "mostly "):
		most = strings.TrimPrefix(clauses, "mostly ")
		if i := strings.Index(most, " and partly "); i >= 0 {
			most, part = most[:i], most[i+len(" and partly "):]
		}
	case strings.HasPrefix(clauses, "partly "):
		part = strings.TrimPrefix(clauses, "partly ")
	case clauses != "":
		return picture{}, false
	}
	var ok1, ok2, ok3 bool
	p.most, ok1 = parseColours(most)
	p.part, ok2 = parseColours(part)
	p.touches, ok3 = parseColours(m[4])
	return p, ok1 && ok2 && ok3
}

// language writes the describer's sentences in one language.
type language struct {
	code string
	// picture writes an image sentence.
	picture func(p picture, colour func(string) string) string
	// light writes "It is <brightness> [and <contrast> in contrast]."; either may be "".
	light func(brightness, contrast string) string
	// colours writes "The colors are muted|vivid."
	colours func(quality string) string
}

func joinList(and string) func([]string) string {
	return func(items []string) string {
		if len(items) <= 1 {
			return strings.Join(items, "")
		}
		last := items[len(items)-1]
		conj := and
		// Spanish y becomes e before an i sound.
		if and == "y" && (strings.HasPrefix(last, "i") || strings.HasPrefix(last, "í")) {
			conj = "e"
		}
		return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + last
	}
}

func mapAll(xs []string, f func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

var languages = map[string]*language{
	"fr": {
		code: "fr",
		picture: func(p picture, colour func(string) string) string {
			pre := map[string]string{"tiny": "très petite ", "small": "petite ", "large": "grande "}[p.size]
			s := "Une " + pre + "image"
			if p.orientation == "square" {
				s += " carrée"
			}
			if p.size == "medium" {
				s += " de taille moyenne"
			}
			switch p.orientation {
			case "landscape":
				s += " au format paysage"
			case "portrait":
				s += " au format portrait"
			}
			var clauses []string
			if len(p.most) > 0 {
				clauses = append(clauses, "principalement "+joinList("et")(mapAll(p.most, colour)))
			}
			if len(p.part) > 0 {
				clauses = append(clauses, "en partie "+joinList("et")(mapAll(p.part, colour)))
			}
			if len(clauses) > 0 {
				s += ", " + strings.Join(clauses, " et ")
			}
			if len(p.touches) > 0 {
				// "de" before each colour, elided before a vowel: d'orange, de bleu.
				s += " avec des touches " + joinList("et")(mapAll(p.touches, func(c string) string {
					name := colour(c)
					if strings.ContainsRune("aeiouéh", rune(name[0])) {
						return "d'" + name
					}
					return "de " + name
				}))
			}
			return s + "."
		},
		light: func(b, c string) string {
			bs := map[string]string{"dark": "sombre", "dim": "peu lumineuse", "bright": "lumineuse", "very bright": "très lumineuse"}[b]
			cs := map[string]string{"flat": "peu contrastée", "moderate": "moyennement contrastée", "high": "très contrastée"}[c]
			return "Elle est " + joinList("et")(nonEmpty(bs, cs)) + "."
		},
		colours: func(q string) string {
			return "Les couleurs sont " + map[string]string{"muted": "ternes", "vivid": "vives"}[q] + "."
		},
	},
	"es": {
		code: "es",
		picture: func(p picture, colour func(string) string) string {
			pre := map[string]string{"tiny": "diminuta ", "small": "pequeña ", "large": "gran "}[p.size]
			s := "Una " + pre + "imagen"
			if o := map[string]string{"landscape": "horizontal", "portrait": "vertical", "square": "cuadrada"}[p.orientation]; o != "" {
				s += " " + o
			}
			if p.size == "medium" {
				s += " de tamaño mediano"
			}
			var clauses []string
			if len(p.most) > 0 {
				clauses = append(clauses, "mayormente "+joinList("y")(mapAll(p.most, colour)))
			}
			if len(p.part) > 0 {
				clauses = append(clauses, "en parte "+joinList("y")(mapAll(p.part, colour)))
			}
			if len(clauses) > 0 {
				s += ", " + joinList("y")(clauses)
			}
			if len(p.touches) > 0 {
				s += " con toques de " + joinList("y")(mapAll(p.touches, colour))
			}
			return s + "."
		},
		light: func(b, c string) string {
			bs := map[string]string{"dark": "oscura", "dim": "tenue", "bright": "luminosa", "very bright": "muy luminosa"}[b]
			cs := map[string]string{"flat": "de bajo contraste", "moderate": "de contraste moderado", "high": "de alto contraste"}[c]
			return "Es " + joinList("y")(nonEmpty(bs, cs)) + "."
		},
		colours: func(q string) string {
			return "Los colores son " + map[string]string{"muted": "apagados", "vivid": "vivos"}[q] + "."
		},
	},
	"de": {
		code: "de",
		picture: func(p picture, colour func(string) string) string {
			// Neuter adjectives after "ein" end in -es.
			s := "Ein"
			if a := map[string]string{"tiny": "winziges", "small": "kleines", "medium": "mittelgroßes", "large": "großes"}[p.size]; a != "" {
				s += " " + a
			}
			if p.orientation == "square" {
				s += " quadratisches"
			}
			s += " Bild"
			switch p.orientation {
			case "landscape":
				s += " im Querformat"
			case "portrait":
				s += " im Hochformat"
			}
			var clauses []string
			if len(p.most) > 0 {
				clauses = append(clauses, "überwiegend "+joinList("und")(mapAll(p.most, colour)))
			}
			if len(p.part) > 0 {
				clauses = append(clauses, "teilweise "+joinList("und")(mapAll(p.part, colour)))
			}
			if len(clauses) > 0 {
				s += ", " + strings.Join(clauses, " und ")
			}
			if len(p.touches) > 0 {
				s += " mit Akzenten in " + joinList("und")(mapAll(p.touches, colour))
			}
			return s + "."
		},
		light: func(b, c string) string {
			bs := map[string]string{"dark": "dunkel", "dim": "eher dunkel", "bright": "hell", "very bright": "sehr hell"}[b]
			cs := map[string]string{"flat": "kontrastarm", "moderate": "mäßig kontrastreich", "high": "kontrastreich"}[c]
			return "Es ist " + joinList("und")(nonEmpty(bs, cs)) + "."
		},
		colours: func(q string) string {
			return "Die Farben sind " + map[string]string{"muted": "gedämpft", "vivid": "kräftig"}[q] + "."
		},
	},
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// template translates one of the describer's sentences, or reports that s is not one.
func (l *language) template(s string) (string, bool) {
	colour := func(c string) string { return colourNames[l.code][c] }
	if p, ok := parsePicture(s); ok {
		return l.picture(p, colour), true
	}
	if m := lightSentence.FindStringSubmatch(s); m != nil {
		return l.light(m[1], m[2]), true
	}
	if m := contrastSentence.FindStringSubmatch(s); m != nil {
		return l.light("", m[1]), true
	}
	if m := colourSentence.FindStringSubmatch(s); m != nil {
		return l.colours(m[1]), true
	}
	return "", false
}
