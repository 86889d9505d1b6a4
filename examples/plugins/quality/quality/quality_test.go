package quality

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

type result struct {
	Words              int
	Sentences          int
	FleschReadingEase  float64
	Coherence          *float64
	ConnectedSentences *float64
	TopicCoverage      *float64
	TopicWords         []string
	Passed             bool
	Issues             []string
}

func check(t *testing.T, text string, c *config) result {
	t.Helper()
	var r result
	if err := json.Unmarshal([]byte(report(text, c)), &r); err != nil {
		t.Fatalf("the report is not JSON: %v", err)
	}
	return r
}

// walk is a readable text of ten sentences about one outing.
func walk() string {
	var b strings.Builder
	b.WriteString("A Walk in the Park\n\n")
	for i := range 9 {
		fmt.Fprintf(&b, "We walked to the park on day %d and sat in the sun for a while. ", i+1)
		if i == 4 {
			b.WriteString("\n\n")
		}
	}
	b.WriteString("Then we went home and talked about the park, the sun and the birds we saw by the lake that day.")
	return b.String()
}

// unrelated is eleven readable sentences, each on a subject of its own.
const unrelated = `The cat slept on the warm mat all afternoon. Quantum computers store information in qubits.
My grandmother bakes bread on Sunday mornings. The stock market fell sharply after the announcement.
Volcanoes erupt when pressure builds deep underground. Football draws huge crowds in Brazil every weekend.
Jazz was born in New Orleans more than a century ago. The moon circles the earth about once a month.
Glaciers carve wide valleys as they slowly slide downhill. Tax forms arrive in the post each spring.
Penguins huddle together to survive the polar winter.`

func TestCoherentTextPasses(t *testing.T) {
	r := check(t, walk(), &config{})
	if r.Coherence == nil || *r.Coherence != 1 || *r.ConnectedSentences != 1 || *r.TopicCoverage != 1 || !r.Passed || len(r.Issues) != 0 {
		t.Fatalf("%+v", r)
	}
	if strings.Join(r.TopicWords, ",") != "park,day,sun,walked,sat" {
		t.Fatalf("topic words %q", r.TopicWords)
	}
}

func TestIncoherentTextFails(t *testing.T) {
	r := check(t, unrelated, &config{})
	if r.Words < 80 || r.FleschReadingEase < 30 {
		t.Fatalf("the text should pass the other checks: %+v", r)
	}
	if r.Coherence == nil || *r.Coherence != 0 || r.Passed || len(r.TopicWords) != 0 {
		t.Fatalf("%+v", r)
	}
	if len(r.Issues) != 1 || !strings.HasPrefix(r.Issues[0], "incoherent: coherence 0 is below 0.5 (0% of the sentences share a word with a neighbour") {
		t.Fatalf("issues %q", r.Issues)
	}
	// A lower threshold lets it through; minCoherence 0 turns the check off.
	zero := 0.0
	if r := check(t, unrelated, &config{MinCoherence: &zero}); !r.Passed {
		t.Fatalf("minCoherence 0: %+v", r)
	}
}

// Half the sentences linked to a neighbour, all of them on the topic: (0.5 + 1) / 2.
func TestCoherenceMeasures(t *testing.T) {
	text := "Rivers carry water to the sea. Rivers flood in spring. Rivers freeze in cold winters. " +
		"Rivers host salmon and trout. Bridges cross rivers. Children swim in rivers."
	r := check(t, text, &config{})
	if *r.ConnectedSentences != 1 || *r.TopicCoverage != 1 || *r.Coherence != 1 || r.TopicWords[0] != "rivers" {
		t.Fatalf("%+v", r)
	}
	c := measureCoherence([][]string{{"bread", "flour"}, {"flour", "yeast"}, {"cats"}, {"dogs"}, {"bread"}, {"kites"}})
	// connected: sentences 1 and 2; topic words: bread and flour (two sentences each), in
	// sentences 1, 2 and 5.
	if !c.judged || c.connected != 0.33 || c.coverage != 0.5 || c.score != 0.42 || strings.Join(c.topic, ",") != "bread,flour" {
		t.Fatalf("%+v", c)
	}
	if c := measureCoherence([][]string{{"a"}, {"b"}}); c.judged {
		t.Fatal("two sentences are not judged")
	}
	if r := check(t, "Short text. Two sentences.", &config{}); r.Coherence != nil || strings.Contains(strings.Join(r.Issues, "|"), "incoherent") {
		t.Fatalf("two sentences: %+v", r)
	}
}

func TestStems(t *testing.T) {
	for w, want := range map[string]string{"cities": "city", "parks": "park", "walked": "walk", "walking": "walk",
		"boxes": "box", "glass": "glass", "bus": "bus", "seed": "seed"} {
		if got := stem(w); got != want {
			t.Errorf("stem(%q) = %q, want %q", w, got, want)
		}
	}
	if got := strings.Join(contentWords(strings.Fields("The cat, and 3 of the Dogs were well-fed!")), ","); got != "cat,dogs,well-fed" {
		t.Errorf("content words %q", got)
	}
}
