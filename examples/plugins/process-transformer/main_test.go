package main

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func transform(t *testing.T, stage, body, config string) string {
	t.Helper()
	out, err := (&keywordFilter{}).Transform(context.Background(),
		[]byte(`{"version":1,"stage":"`+stage+`","body":`+body+`,"config":`+config+`}`))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

const words = `{"words":["darn","heck"]}`

func TestMasksRequests(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		// Only the masked strings change: key order, spacing and a number no float64 holds stay.
		{`{"seed": 12345678901234567890, "messages":[{"role":"user","content":"Darn, what the HECK"}], "model":"m"}`,
			`{"body":{"seed": 12345678901234567890, "messages":[{"role":"user","content":"****, what the ****"}], "model":"m"}}`},
		// Escapes are read: the word is found, and the answer is written with JSON's escapes.
		{`{"messages":[{"role":"user","content":"d\u0061rn\n\"heck\""}]}`,
			`{"body":{"messages":[{"role":"user","content":"****\n\"****\""}]}}`},
		// Content parts, a legacy prompt, and a repeated key (the server might read either).
		{`{"messages":[{"role":"user","content":[{"type":"text","text":"oh heck"},{"type":"image_url","image_url":{"url":"heck"}}]}],"prompt":"darn","messages":[{"content":"heck"}]}`,
			`{"body":{"messages":[{"role":"user","content":[{"type":"text","text":"oh ****"},{"type":"image_url","image_url":{"url":"heck"}}]}],"prompt":"****","messages":[{"content":"****"}]}}`},
		// Whole words only; a role or a model name is not content.
		{`{"model":"darn","messages":[{"role":"heck","content":"darned hecks darn_it"}]}`, `{}`},
		{`[1,2]`, `{}`},
		{`{"messages":"darn"}`, `{}`},
	} {
		if got := transform(t, "request", c.body, words); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.body, got, c.want)
		}
	}
}

func TestBlocksRequests(t *testing.T) {
	cfg := `{"words":["darn"],"block":true}`
	if got := transform(t, "request", `{"messages":[{"role":"user","content":"darn"}]}`, cfg); !strings.Contains(got, `"code":"content_blocked"`) {
		t.Fatalf("blocked request: %s", got)
	}
	if got := transform(t, "request", `{"messages":[{"role":"user","content":"fine"}]}`, cfg); got != `{}` {
		t.Fatalf("clean request: %s", got)
	}
	// Even a replacement equal to the word blocks: what counts is that a word was found.
	if got := transform(t, "request", `{"messages":[{"content":"darn"}]}`, `{"words":["darn"],"replacement":"darn","block":true}`); !strings.Contains(got, "content_blocked") {
		t.Fatalf("blocked with an identity replacement: %s", got)
	}
}

func TestMasksAnswersAndChunks(t *testing.T) {
	got := transform(t, "response", `{"choices":[{"message":{"role":"assistant","content":"heck yes"}},{"text":"darn"}],"usage":{"total_tokens":3}}`, words)
	if got != `{"body":{"choices":[{"message":{"role":"assistant","content":"**** yes"}},{"text":"****"}],"usage":{"total_tokens":3}}}` {
		t.Fatalf("response: %s", got)
	}
	got = transform(t, "chunk", `{"choices":[{"delta":{"content":"heck"}}]}`, `{"words":["heck"],"replacement":"[x]"}`)
	if got != `{"body":{"choices":[{"delta":{"content":"[x]"}}]}}` {
		t.Fatalf("chunk: %s", got)
	}
}

func TestBadInput(t *testing.T) {
	k := &keywordFilter{}
	if _, err := k.Transform(context.Background(), []byte(`{"stage":`)); err == nil {
		t.Fatal("a broken envelope should be an error")
	}
	if _, err := k.Transform(context.Background(), []byte(`{"stage":"request","body":{},"config":{"words":"darn"}}`)); err == nil || !strings.Contains(err.Error(), "bad plugin config") {
		t.Fatalf("a bad config: %v", err)
	}
}

// The filter finds what (?i)\b(?:words)\b finds, on texts made to hit the edges: case folding
// beyond ASCII, boundaries next to non-ASCII letters and punctuation, invalid UTF-8, words that
// start or end with a non-word character, and words that are prefixes of each other.
func TestMatchesLikeTheRegexp(t *testing.T) {
	wordSets := [][]string{
		{"darn"}, {"heck", "he"}, {"he", "heck"}, {"kelvin"}, {"#tag"}, {"ok!"}, {"straße"}, {"σ"}, {"a b"},
	}
	alphabet := []string{"d", "a", "r", "n", "D", "A", "R", "N", "h", "e", "c", "k", "H", "E", "K",
		"\u212a", "ſ", "s", "ß", "t", "g", "#", "!", "o", " ", "_", "1", "é", "Σ", "σ", "ς", "\xff", "l", "v", "i", "b", "ẞ"}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ws := range wordSets {
		quoted := make([]string, len(ws))
		for i, w := range ws {
			quoted[i] = regexp.QuoteMeta(w)
		}
		re := regexp.MustCompile(`(?i)\b(?:` + strings.Join(quoted, "|") + `)\b`)
		f := newFilter(ws, "*", false)
		for range 3000 {
			var b strings.Builder
			for range rng.IntN(14) {
				if rng.IntN(6) == 0 {
					b.WriteString(ws[rng.IntN(len(ws))])
				} else {
					b.WriteString(alphabet[rng.IntN(len(alphabet))])
				}
			}
			s := b.String()
			want := re.ReplaceAllString(s, "*")
			got, n := f.replace([]byte(s))
			if string(got) != want || (n > 0) != (len(re.FindAllStringIndex(s, -1)) > 0) {
				t.Fatalf("words %q in %q: got %q (%d found), the regexp %q", ws, s, got, n, want)
			}
		}
	}
}

func BenchmarkTransformRequest1KB(b *testing.B) {
	sentence := "Please write to jane.doe@example.com or call +1 415 555 0100 about the darn invoice. "
	content := strings.Repeat(sentence, 1000/len(sentence)+1)[:960]
	env := []byte(`{"version":1,"stage":"request","body":{"model":"m","messages":[{"role":"user","content":"` + content + `"}]},"config":{"words":["darn"],"replacement":"****"}}`)
	k := &keywordFilter{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Transform(context.Background(), env); err != nil {
			b.Fatal(err)
		}
	}
}
