package wasm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"regexp"
	"strings"
	"testing"
)

// The example plugins of the gateway's three example pipelines (content generation,
// multi-modal analysis, data processing), run by the host on real inputs, each step fed what
// the step before it answers.

func init() {
	for _, name := range []string{"writer", "editor", "quality", "image-features", "describer", "translator",
		"data-clean", "stats", "forecast", "report"} {
		guests[name] = "examples/plugins/" + name
	}
}

// wantGuestCode returns err as a guest's *Error with the given code, or fails.
func wantGuestCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindGuest || e.Code != code {
		t.Fatalf("want a guest error with code %q, got %v", code, err)
	}
	return e
}

// inferJSON runs a chat completion of one user message and decodes the answer's JSON text.
func inferJSON(t *testing.T, p *Plugin, text string, v any) (string, chatCompletion) {
	t.Helper()
	answer, c := inferChat(t, p, text)
	if err := json.Unmarshal([]byte(answer), v); err != nil {
		t.Fatalf("the answer is not the JSON expected: %v: %s", err, answer)
	}
	return answer, c
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

var sentenceEnd = regexp.MustCompile(`[.!?]( |$)`)

func TestPipelineWriter(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "writer", Config{})
	input := `{"topic": "solar power", "paragraphs": 3}`
	article, c := inferChat(t, p, input)
	blocks := strings.Split(article, "\n\n")
	if len(blocks) != 4 {
		t.Fatalf("want a title and 3 paragraphs, got %d blocks:\n%s", len(blocks), article)
	}
	title := blocks[0]
	if strings.Contains(title, "\n") || strings.ContainsAny(title[len(title)-1:], ".!?") || !strings.Contains(title, "Solar Power") {
		t.Fatalf("bad title %q", title)
	}
	for i, para := range blocks[1:] {
		sentences := sentenceEnd.Split(strings.TrimSpace(para), -1)
		if sentences[len(sentences)-1] == "" {
			sentences = sentences[:len(sentences)-1]
		}
		if len(sentences) < 3 || len(sentences) > 5 || !strings.HasSuffix(para, ".") {
			t.Fatalf("paragraph %d has %d sentences, want 3 to 5: %q", i+1, len(sentences), para)
		}
		for _, s := range sentences {
			if n := len(strings.Fields(s)); n < 8 || n > 28 {
				t.Fatalf("a sentence of %d words, want 8 to 28: %q", n, s)
			}
			if s[0] < 'A' || s[0] > 'Z' {
				t.Fatalf("a sentence without a capital: %q", s)
			}
		}
		if !strings.HasPrefix(para, "Solar power ") {
			t.Fatalf("paragraph %d does not open with the topic as its subject: %q", i+1, para)
		}
	}
	if c.Usage.PromptTokens != len(strings.Fields(input)) || c.Usage.CompletionTokens != len(strings.Fields(article)) {
		t.Fatalf("usage %+v", c.Usage)
	}

	// Deterministic for the same input, different for another topic.
	again, _ := inferChat(t, p, input)
	if again != article {
		t.Fatalf("not deterministic:\n%s\n---\n%s", article, again)
	}
	other, _ := inferChat(t, p, `{"topic":"city parks","audience":"students"}`)
	if other == article || !strings.Contains(other, "City parks ") || !strings.Contains(other, "For students, ") {
		t.Fatalf("another topic:\n%s", other)
	}
	if n := len(strings.Split(other, "\n\n")) - 1; n < 2 || n > 4 {
		t.Fatalf("%d paragraphs, want 2 to 4", n)
	}
	// Steered towards the topic: the corpus's words about it show up beyond the topic sentences.
	if body := strings.ToLower(article); strings.Count(body, "solar")+strings.Count(body, "power")+strings.Count(body, "energy") < 6 {
		t.Fatalf("the article strays from its topic:\n%s", article)
	}

	// A request in words, and the completion op.
	free, _ := inferChat(t, p, "Write a short piece about ocean currents.")
	if !strings.Contains(strings.SplitN(free, "\n", 2)[0], "Ocean Currents") {
		t.Fatalf("topic from free text:\n%s", free)
	}
	resp, err := p.Infer(context.Background(), ModelCall{Op: OpCompletion, Request: json.RawMessage(`{"model":"w","prompt":"bread"}`)})
	if err != nil || !strings.Contains(decodeChat(t, resp).Choices[0].Text, "Bread ") {
		t.Fatalf("completion: %s %v", resp, err)
	}
	_, err = p.Infer(context.Background(), ModelCall{Op: OpChat, Request: chatRequest("user", `{"audience":"kids"}`)})
	wantGuestCode(t, err, "no_topic")
}

func TestPipelineEditor(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "editor", Config{})
	tests := []struct{ in, want string }{
		{"A day at the park\n\nthe the cat sat on the mat .it was very happy ,and i think it was basically fine!!",
			"A day at the park\n\nThe cat sat on the mat. It was happy, and I think it was fine!"},
		{"Notes\n\nBasically, the plan works.It was, actually, fine( mostly ) .\nThe bus was not very late.",
			"Notes\n\nThe plan works. It was fine (mostly). The bus was not very late."},
		{"Solar power is cheap.  Solar power is clean and   i'm glad. solar power helps.",
			"Solar Power\n\nSolar power is cheap. Solar power is clean and I'm glad. Solar power helps."},
		{`{"text":"Title\n\nthis is is a list:\n- one  item\n- two items"}`,
			"Title\n\nThis is a list:\n- one item\n- two items"},
	}
	for _, tt := range tests {
		got, c := inferChat(t, p, tt.in)
		if got != tt.want {
			t.Fatalf("input %q\ngot  %q\nwant %q", tt.in, got, tt.want)
		}
		if c.Usage.CompletionTokens != len(strings.Fields(got)) {
			t.Fatalf("usage %+v", c.Usage)
		}
	}

	us := load(t, "editor", Config{Name: "editor-us", Config: []byte(`{"tighten":false,"spelling":"us","smartQuotes":true}`)})
	got, _ := inferChat(t, us, "Colours\n\nThe colour of the centre is very \"grey\", I realised. It's the neighbours' favourite.")
	want := "Colors\n\nThe color of the center is very “gray”, I realized. It’s the neighbors’ favorite."
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	consistent := load(t, "editor", Config{Name: "editor-consistent", Config: []byte(`{"spelling":"consistent","title":false}`)})
	got, _ = inferChat(t, consistent, "We organised the programme around the colour theory. The center was organized too.")
	if want := "We organised the programme around the colour theory. The centre was organised too."; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestPipelineQuality(t *testing.T) {
	skipUnderRace(t)
	p := load(t, "quality", Config{})
	type report struct {
		Words, Sentences, Paragraphs int
		FleschReadingEase            float64
		FleschKincaidGrade           float64
		AverageSentenceLength        float64
		LongSentences                int
		Passed                       *bool
		Issues                       []string
	}
	// The textbook example (13 words, 26 syllables in a dictionary): reading ease
	// 206.835 − 1.015 × 13 − 84.6 × 2 = 24.4, grade 0.39 × 13 + 11.8 × 2 − 15.59 = 13.1.
	var r report
	inferJSON(t, p, "The Australian platypus is seemingly a hybrid of a mammal and reptilian creature.", &r)
	if r.Words != 13 || r.Sentences != 1 || r.Paragraphs != 1 || !near(r.FleschReadingEase, 24.4, 2) || !near(r.FleschKincaidGrade, 13.1, 0.3) {
		t.Fatalf("platypus: %+v", r)
	}
	if r.Passed == nil || *r.Passed || len(r.Issues) != 2 || !strings.HasPrefix(r.Issues[0], "too short: 13 words") || !strings.HasPrefix(r.Issues[1], "hard to read") {
		t.Fatalf("platypus verdict: %+v", r)
	}
	// 21 words, 25 syllables, 2 sentences: 206.835 − 1.015 × 10.5 − 84.6 × 25/21 = 95.5.
	r = report{}
	inferJSON(t, p, "The quick brown fox jumps over the lazy dog. It was a sunny day, and the children played in the park.", &r)
	if r.Words != 21 || r.Sentences != 2 || !near(r.FleschReadingEase, 95.5, 2) || r.AverageSentenceLength != 10.5 {
		t.Fatalf("fox: %+v", r)
	}

	// A title is not counted; a long enough, readable text passes; a long sentence and a
	// doubled word are reported.
	var b strings.Builder
	b.WriteString("A Walk in the Park\n\n")
	for i := range 9 {
		fmt.Fprintf(&b, "We walked to the park on day %d and sat in the sun for a while. ", i+1)
		if i == 4 {
			b.WriteString("\n\n")
		}
	}
	b.WriteString("Then we went home and we had a nice long talk about the the trip and the weather and the birds we saw in the trees by the lake that day.")
	r = report{}
	inferJSON(t, p, b.String(), &r)
	if r.Words != 9*16+31 || r.Sentences != 10 || r.Paragraphs != 2 || r.LongSentences != 1 || r.Passed == nil || !*r.Passed {
		t.Fatalf("walk: %+v", r)
	}
	if strings.Join(r.Issues, "|") != "1 sentence is longer than 25 words|doubled word: the the" {
		t.Fatalf("issues %q", r.Issues)
	}
	strict := load(t, "quality", Config{Name: "quality-strict", Config: []byte(`{"minWords":500,"minReadingEase":90}`)})
	r = report{}
	inferJSON(t, strict, b.String(), &r)
	if *r.Passed || !strings.HasPrefix(r.Issues[0], "too short: 175 words, at least 500") {
		t.Fatalf("strict: %+v", r)
	}
}

// testImage is a w×h image, its left three quarters navy and its right quarter orange.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{0x00, 0x00, 0x80, 0xff}
			if x >= w*3/4 {
				c = color.RGBA{0xff, 0xa5, 0x00, 0xff}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

type imageFeatures struct {
	Format       string
	Width        int
	Height       int
	AspectRatio  float64
	Orientation  string
	MeanColor    string
	Brightness   float64
	Contrast     float64
	Colorfulness float64
	Histogram    struct{ R, G, B []float64 }
	Dominant     []struct {
		Hex, Name string
		Share     float64
	} `json:"dominantColors"`
}

func TestPipelineMultiModal(t *testing.T) {
	skipUnderRace(t)
	features := load(t, "image-features", Config{})
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(40, 20)); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(buf.Bytes())
	dataURL := "data:image/png;base64," + b64

	answer, c := inferJSON(t, features, `{"image":"`+dataURL+`"}`, new(imageFeatures))
	var f imageFeatures
	json.Unmarshal([]byte(answer), &f)
	if f.Format != "png" || f.Width != 40 || f.Height != 20 || f.AspectRatio != 2 || f.Orientation != "landscape" || f.MeanColor != "#402960" {
		t.Fatalf("features %s", answer)
	}
	luma := func(r, g, b float64) float64 { return (0.299*r + 0.587*g + 0.114*b) / 255 }
	navy, orange := luma(0, 0, 128), luma(255, 165, 0)
	if !near(f.Brightness, 0.75*navy+0.25*orange, 0.001) || !near(f.Contrast, 2*(orange-navy)*math.Sqrt(0.75*0.25), 0.002) || f.Colorfulness < 100 {
		t.Fatalf("brightness, contrast, colorfulness: %s", answer)
	}
	if f.Histogram.R[0] != 0.75 || f.Histogram.R[7] != 0.25 || f.Histogram.G[5] != 0.25 || f.Histogram.B[4] != 0.75 {
		t.Fatalf("histogram %+v", f.Histogram)
	}
	if len(f.Dominant) != 2 || f.Dominant[0].Name != "navy" || f.Dominant[0].Hex != "#000080" || !near(f.Dominant[0].Share, 0.75, 0.01) ||
		f.Dominant[1].Name != "orange" || !near(f.Dominant[1].Share, 0.25, 0.01) {
		t.Fatalf("dominant colours %+v", f.Dominant)
	}
	if c.Usage.PromptTokens != (len(b64)+3)/4 || c.Usage.CompletionTokens != len(strings.Fields(answer)) {
		t.Fatalf("usage %+v for %d bytes of base64", c.Usage, len(b64))
	}

	// The same image as an image_url part of a multi-part message, and as bare base64.
	parts := fmt.Sprintf(`{"model":"local","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":%q}}]}]}`, dataURL)
	resp, err := features.Infer(context.Background(), ModelCall{Op: OpChat, Request: json.RawMessage(parts)})
	if err != nil || decodeChat(t, resp).Choices[0].Message.Content != answer {
		t.Fatalf("image_url part: %v %.300s", err, resp)
	}
	if bare, _ := inferChat(t, features, b64); bare != answer {
		t.Fatalf("bare base64: %s", bare)
	}
	// JPEG (lossy, so near the colours) and a portrait GIF.
	buf.Reset()
	jpeg.Encode(&buf, testImage(64, 32), &jpeg.Options{Quality: 90})
	var fj imageFeatures
	inferJSON(t, features, "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(buf.Bytes()), &fj)
	if fj.Format != "jpeg" || len(fj.Dominant) < 2 || fj.Dominant[0].Name != "navy" || fj.Dominant[1].Name != "orange" || !near(fj.Dominant[0].Share, 0.75, 0.03) {
		t.Fatalf("jpeg: %+v", fj)
	}
	buf.Reset()
	red := image.NewPaletted(image.Rect(0, 0, 10, 30), color.Palette{color.RGBA{0xff, 0, 0, 0xff}})
	gif.Encode(&buf, red, nil)
	var fg imageFeatures
	inferJSON(t, features, base64.StdEncoding.EncodeToString(buf.Bytes()), &fg)
	if fg.Format != "gif" || fg.Orientation != "portrait" || len(fg.Dominant) != 1 || fg.Dominant[0].Name != "red" || fg.Dominant[0].Share != 1 {
		t.Fatalf("gif: %+v", fg)
	}
	_, err = features.Infer(context.Background(), ModelCall{Op: OpChat, Request: chatRequest("user", "data:image/png;base64,AAAA")})
	wantGuestCode(t, err, "bad_image")

	// The describer, on image-features' answer as a pipeline passes it on (the step's text),
	// and wrapped in a merge of steps.
	describer := load(t, "describer", Config{})
	description, _ := inferChat(t, describer, answer)
	want := "A tiny landscape image, mostly navy with touches of orange. It is dark and high in contrast. The colors are vivid."
	if description != want {
		t.Fatalf("got  %q\nwant %q", description, want)
	}
	merged, _ := json.Marshal(map[string]any{"features": map[string]any{"text": answer, "model": "image-features"}})
	if d, _ := inferChat(t, describer, string(merged)); d != want {
		t.Fatalf("merged input: %q", d)
	}
	square, _ := inferChat(t, describer, `{"width":800,"height":800,"brightness":0.8,"contrast":0.1,"colorfulness":50,
		"dominantColors":[{"name":"gray","share":0.4},{"name":"sky blue","share":0.35},{"name":"white","share":0.15},{"name":"indigo","share":0.1}]}`)
	if want := "A medium square image, partly gray and sky blue with touches of white and indigo. It is very bright and flat in contrast."; square != want {
		t.Fatalf("got  %q\nwant %q", square, want)
	}

	// The translator: French by default, the input's "to", or the config's.
	translator := load(t, "translator", Config{})
	fr, _ := inferChat(t, translator, description)
	if want := "Une très petite image au format paysage, principalement bleu marine avec des touches d'orange. Elle est sombre et très contrastée. Les couleurs sont vives."; fr != want {
		t.Fatalf("fr: got  %q\nwant %q", fr, want)
	}
	in, _ := json.Marshal(map[string]string{"text": description, "to": "es"})
	es, _ := inferChat(t, translator, string(in))
	if want := "Una diminuta imagen horizontal, mayormente azul marino con toques de naranja. Es oscura y de alto contraste. Los colores son vivos."; es != want {
		t.Fatalf("es: got  %q\nwant %q", es, want)
	}
	german := load(t, "translator", Config{Name: "translator-de", Config: []byte(`{"to":"de"}`)})
	de, _ := inferChat(t, german, description+"\n\n"+square)
	if want := "Ein winziges Bild im Querformat, überwiegend Marineblau mit Akzenten in Orange. Es ist dunkel und kontrastreich. Die Farben sind kräftig.\n\n" +
		"Ein mittelgroßes quadratisches Bild, teilweise Grau und Himmelblau mit Akzenten in Weiß und Indigo. Es ist sehr hell und kontrastarm."; de != want {
		t.Fatalf("de: got  %q\nwant %q", de, want)
	}
	// Outside the describer's sentences, word by word; unknown words pass through.
	if got, _ := inferChat(t, translator, "The dog and the cat. Zebra!"); got != "Le chien et le chat. Zebra!" {
		t.Fatalf("word by word: %q", got)
	}
	_, err = translator.Infer(context.Background(), ModelCall{Op: OpChat, Request: chatRequest("user", `{"text":"hi","to":"xx"}`)})
	wantGuestCode(t, err, "unsupported_language")
}

func TestPipelineDataChain(t *testing.T) {
	skipUnderRace(t)
	clean := load(t, "data-clean", Config{})
	run := func(p *Plugin, body string) (json.RawMessage, error) {
		env := requestEnv(json.RawMessage(body))
		env.Metadata.Op = OpInvoke
		res, err := p.Transform(context.Background(), env)
		return res.Body, err
	}
	cleaned, err := run(clean, `{"series":[1,2,"3",null,"x",4,1000],"label":"Sales","horizon":2}`)
	if want := `{"series":[1,2,3,4],"removed":3,"reasons":{"nonNumeric":2,"outliers":1},"label":"Sales","horizon":2}`; err != nil || string(cleaned) != want {
		t.Fatalf("got  %s %v\nwant %s", cleaned, err, want)
	}
	if got, err := run(clean, `[10, 11, "9.5", 10.5, -40, true]`); err != nil || string(got) != `{"series":[10,11,9.5,10.5],"removed":2,"reasons":{"nonNumeric":1,"outliers":1}}` {
		t.Fatalf("bare array: %s %v", got, err)
	}
	_, err = run(clean, `{"series":[1,"x",null,2]}`)
	wantGuestCode(t, err, "too_few_points")
	_, err = run(clean, `{"values":[1,2,3]}`)
	wantGuestCode(t, err, "no_series")
	lenient := load(t, "data-clean", Config{Name: "data-clean-lenient", Config: []byte(`{"madThreshold":1000}`)})
	if got, err := run(lenient, `[1,2,3,4,1000]`); err != nil || !strings.HasPrefix(string(got), `{"series":[1,2,3,4,1000],"removed":0`) {
		t.Fatalf("lenient: %s %v", got, err)
	}

	// stats on hand-computed values: 2 4 4 4 5 5 7 9 has mean 5, sample variance 32/7, linear
	// quartiles 4 and 5.5, and least-squares slope 34/42 with r² = (34²/42)/32.
	stats := load(t, "stats", Config{})
	var s struct {
		Count, Mean, Median, Stdev, Min, Max, Q1, Q3, Sum float64
		Trend                                             struct{ Slope, Intercept, R2 float64 }
		Label                                             string
	}
	inferJSON(t, stats, `{"series":[2,4,4,4,5,5,7,9],"label":"Demo"}`, &s)
	if s.Count != 8 || s.Mean != 5 || s.Median != 4.5 || !near(s.Stdev, math.Sqrt(32.0/7), 1e-8) || s.Min != 2 || s.Max != 9 ||
		s.Q1 != 4 || s.Q3 != 5.5 || s.Sum != 40 || s.Label != "Demo" {
		t.Fatalf("stats %+v", s)
	}
	if !near(s.Trend.Slope, 34.0/42, 1e-9) || !near(s.Trend.Intercept, 5-34.0/42*3.5, 1e-9) || !near(s.Trend.R2, 34.0*34/42/32, 1e-9) {
		t.Fatalf("trend %+v", s.Trend)
	}
	statsAnswer, _ := inferChat(t, stats, string(cleaned)) // data-clean's body, as the next step's input

	// forecast: a straight line is predicted exactly, with no band.
	forecast := load(t, "forecast", Config{})
	type fc struct {
		Method   string
		Horizon  int
		Forecast []struct{ Step, Value, Low, High float64 }
		Alpha    float64
		Beta     float64
		RMSE     float64
	}
	var line fc
	inferJSON(t, forecast, `{"series":[2,5,8,11,14,17,20,23,26,29]}`, &line)
	if line.Method != "holt" || line.Horizon != 3 || len(line.Forecast) != 3 || line.Alpha != 0.5 || line.Beta != 0.3 || line.RMSE != 0 {
		t.Fatalf("line %+v", line)
	}
	for i, p := range line.Forecast {
		if want := 29 + 3*float64(i+1); p.Step != float64(i+1) || !near(p.Value, want, 1e-9) || p.Low != p.Value || p.High != p.Value {
			t.Fatalf("step %d: %+v, want %v", i+1, p, want)
		}
	}
	// A noisy series: the band holds the forecast and widens with the step; horizon from the
	// input's top level.
	var noisy fc
	inferJSON(t, forecast, `{"horizon":5,"data":{"series":[10,12,11,14,15,13,17,18]}}`, &noisy)
	if noisy.Horizon != 5 || len(noisy.Forecast) != 5 || noisy.RMSE <= 0 {
		t.Fatalf("noisy %+v", noisy)
	}
	for i, p := range noisy.Forecast {
		if !(p.Low < p.Value && p.Value < p.High) || i > 0 && p.High-p.Low <= noisy.Forecast[i-1].High-noisy.Forecast[i-1].Low {
			t.Fatalf("band at step %d: %+v", i+1, noisy.Forecast)
		}
	}
	_, err = forecast.Infer(context.Background(), ModelCall{Op: OpChat, Request: chatRequest("user", "[1, 2]")})
	wantGuestCode(t, err, "too_few_points")
	forecastAnswer, _ := inferChat(t, forecast, string(cleaned)) // horizon 2, kept by data-clean

	// report, on a merge of the steps' outputs as the pipeline gives it.
	report := load(t, "report", Config{})
	merged, _ := json.Marshal(map[string]any{
		"clean":    json.RawMessage(cleaned),
		"stats":    map[string]any{"text": statsAnswer, "model": "stats", "usage": map[string]int{"input": 9, "output": 30}},
		"forecast": map[string]any{"text": forecastAnswer, "model": "forecast"},
	})
	md, c := inferChat(t, report, string(merged))
	for _, want := range []string{
		"# Sales\n", "| Statistic | Value |\n| --- | ---: |\n", "| Count | 4 |\n", "| Mean | 2.5 |\n", "| Standard deviation | 1.29 |\n",
		"| Minimum | 1 |\n", "| Maximum | 4 |\n", "The series is rising by about 1 per step (R² = 1.00).",
		"## Forecast\n", "| Step | Forecast | Low | High |\n", "| 1 | 5 | 5 | 5 |\n", "| 2 | 6 | 6 | 6 |\n",
		"If the recent trend holds, the series should be about 6 in 2 steps.",
	} {
		if !strings.Contains(md, want) {
			t.Fatalf("the report lacks %q:\n%s", want, md)
		}
	}
	if c.Usage.CompletionTokens != len(strings.Fields(md)) {
		t.Fatalf("usage %+v", c.Usage)
	}
	flat, _ := inferChat(t, report, `{"text":"{\"count\": 5, \"mean\": 100, \"min\": 99, \"max\": 101, \"trend\": {\"slope\": 0.1, \"r2\": 0.2}}"}`)
	if !strings.HasPrefix(flat, "# Data report\n") || !strings.Contains(flat, "The series is flat (R² = 0.20).") || strings.Contains(flat, "## Forecast") ||
		!strings.Contains(flat, "Over 5 values the series averaged 100, from 99 to 101.") {
		t.Fatalf("flat report:\n%s", flat)
	}
	_, err = report.Infer(context.Background(), ModelCall{Op: OpChat, Request: chatRequest("user", `{"a":1}`)})
	wantGuestCode(t, err, "nothing_to_report")
}
