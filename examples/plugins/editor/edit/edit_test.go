package edit

import (
	"encoding/json"
	"strings"
	"testing"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func defaults() *config { return &config{} }

func TestEditFixes(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// doubled words, spacing before punctuation, sentence capitals, fillers, "i"
		{"A day at the park\n\nthe the cat sat on the mat .it was very happy ,and i think it was basically fine!!",
			"A day at the park\n\nThe cat sat on the mat. It was happy, and I think it was fine!"},
		{"Notes\n\nBasically, the plan works.It was, actually, fine( mostly ) .\nThe bus was not very late.",
			"Notes\n\nThe plan works. It was fine (mostly). The bus was not very late."},
		// wordy phrases, with a capital kept and punctuation carried over
		{"Plans\n\nIn order to grow, the city is able to plant trees prior to the summer. the majority of people agree.",
			"Plans\n\nTo grow, the city can plant trees before the summer. Most people agree."},
		{"Plans\n\nIt is important to note that the river rises. We wait due to the fact that it rains.",
			"Plans\n\nThe river rises. We wait because it rains."},
		// a quantity keeps its "of" before a determiner or a pronoun
		{"Ice\n\nThe majority of it is frozen. The majority of birds fly. A large number of the visitors walk.",
			"Ice\n\nMost of it is frozen. Most birds fly. Many of the visitors walk."},
		// a phrase broken by punctuation is not one
		{"Plans\n\nWe went in, order to be safe.", "Plans\n\nWe went in, order to be safe."},
	} {
		got, _ := edit(tt.in, defaults())
		if got != tt.want {
			t.Errorf("input %q\ngot  %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestEditCountsAndDetails(t *testing.T) {
	_, n := edit("Title\n\nthe the cat is very able to run in order to eat .it ran", defaults())
	if n.doubled != 1 || n.fillers != 1 || n.phrases != 2 || n.spacing != 1 || n.capitals != 2 || n.titled {
		t.Fatalf("counts %+v", n)
	}
	want := []string{`spacing: " .i" → ". i"`, `doubled word: "the the" → "the"`, `filler removed: "very"`,
		`wordy phrase: "is able to" → "can"`, `wordy phrase: "in order to" → "to"`, `capital: "it" → "It"`}
	for _, w := range want {
		if !strings.Contains(strings.Join(n.details, "|"), w) {
			t.Errorf("details %q lack %q", n.details, w)
		}
	}
	if n.total() != 7 {
		t.Fatalf("total %d", n.total())
	}

	// A clean text with a title changes nothing; one without gets a title, which counts.
	clean := "Solar Power\n\nSolar power is cheap. Solar power is clean."
	if got, n := edit(clean, defaults()); got != clean || n.total() != 0 || len(n.details) != 0 {
		t.Fatalf("a clean text: %q %+v", got, n)
	}
	if got, n := edit("Solar power is cheap. Solar power is clean.", defaults()); !strings.HasPrefix(got, "Solar Power\n\n") || !n.titled || n.total() != 1 {
		t.Fatalf("a title added: %q %+v", got, n)
	}

	// Details stop at maxDetails; the counts go on.
	_, n = edit("Title\n\n"+strings.Repeat("it was very good. ", 20), defaults())
	if len(n.details) != maxDetails || n.fillers != 20 || n.capitals != 20 {
		t.Fatalf("many changes: %d details, %+v", len(n.details), n)
	}
}

// The answer is a chat completion whose text is the edited text and whose "edits" member
// reports the changes.
func TestAnswerReportsEdits(t *testing.T) {
	b, err := Answer(&iomwasm.ModelCall{Op: "chat", Request: iomwasm.Value(`{"model":"local-editor","messages":[{"role":"user","content":"Notes\n\nthe the plan works really well"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Choices []struct {
			Message struct{ Content string }
		}
		Edits struct {
			Changes, DoubledWords, Fillers int
			Details                        []string
		}
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if resp.Choices[0].Message.Content != "Notes\n\nThe plan works well" || resp.Edits.Changes != 3 || resp.Edits.DoubledWords != 1 ||
		resp.Edits.Fillers != 1 || len(resp.Edits.Details) != 3 {
		t.Fatalf("answer %s", b)
	}
}
