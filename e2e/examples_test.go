package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	gt "github.com/iomhq/iom/internal/gatewaytest"
)

// defaultGateway serves configs/iom.yaml, as `make run` does, offline, with the plugins built
// for the tests and its own listeners and data dir.
func defaultGateway(t *testing.T) *gt.Gateway {
	t.Helper()
	plugins := examplePlugins(t)
	src, err := os.ReadFile("../configs/iom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(src), "bin/plugins/", plugins+"/")
	dir := t.TempDir()
	start, end := strings.Index(cfg, "server:\n"), strings.Index(cfg, "keys:\n")
	cfg = cfg[:start] + gt.Header(filepath.Join(dir, "data")) + cfg[end+len("keys:\n"):]
	cfg = strings.Replace(cfg, "keys:\n", "keys:\n", 1)
	path := filepath.Join(dir, "iom.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return gt.StartFile(t, dir, path)
}

// runPipeline runs pipeline id on the data plane and returns its answer and the answer's size;
// trace asks for the execution's steps.
func runPipeline(t *testing.T, g *gt.Gateway, id string, input any, trace bool) (map[string]any, int) {
	t.Helper()
	path := "/v1/pipelines/" + id + "/run"
	if trace {
		path += "?trace=1"
	}
	r := g.Data("POST", path, gt.Key, input)
	var res map[string]any
	if err := json.Unmarshal(r.Body, &res); err != nil || r.Status != 200 || res["status"] != "ok" {
		t.Fatalf("%s: %d %.2000s", id, r.Status, r.Body)
	}
	if _, has := res["execution"]; has != trace {
		t.Fatalf("%s: the answer has the execution: %v, trace asked for: %v", id, has, trace)
	}
	return res, len(r.Body)
}

// stepOutput is the output of step id in a traced answer.
func stepOutput(t *testing.T, res map[string]any, id string) any {
	t.Helper()
	for _, s := range res["execution"].(map[string]any)["steps"].([]any) {
		if m := s.(map[string]any); m["id"] == id {
			return m["output"]
		}
	}
	t.Fatalf("no step %q", id)
	return nil
}

// quoted is the text between the first pair of double quotes in s.
func quoted(s string) string {
	_, rest, _ := strings.Cut(s, `"`)
	q, _, _ := strings.Cut(rest, `"`)
	return q
}

// occurrences counts the whole-word, case-insensitive occurrences of phrase in text.
func occurrences(text, phrase string) int {
	return len(regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(phrase)+`\b`).FindAllStringIndex(text, -1))
}

// TestSeedExamplePipelines runs the seed's three examples end to end on the default config,
// offline, through the data plane.
func TestSeedExamplePipelines(t *testing.T) {
	g := defaultGateway(t)

	t.Run("content generation", func(t *testing.T) {
		input := map[string]any{"topic": "city parks and rivers", "audience": "mail questions to jane@example.com"}
		res, size := runPipeline(t, g, "content-generation", input, false)
		out := res["output"].(map[string]any)
		article := out["text"].(string)
		if !strings.Contains(strings.ToLower(article), "city parks and rivers") || strings.Count(article, "\n\n") < 2 || res["text"] != article {
			t.Fatalf("article: %q\ntext: %q", article, res["text"])
		}
		// The answer is compact: the output, its text and the totals, no steps.
		usage := res["usage"].(map[string]any)
		if size > 4096 || usage["prompt_tokens"].(float64) == 0 || usage["total_tokens"] != usage["prompt_tokens"].(float64)+usage["completion_tokens"].(float64) {
			t.Fatalf("the answer: %d bytes, usage %v", size, usage)
		}
		traced, tracedSize := runPipeline(t, g, "content-generation", input, true)
		t.Logf("content-generation answers %d bytes (%d with ?trace=1)", size, tracedSize)

		// The quality check scored readability and coherence, and passed.
		quality := out["quality"].(map[string]any)
		if quality["words"].(float64) < 80 || quality["passed"] != true || quality["coherence"].(float64) < 0.5 || len(quality["topicWords"].([]any)) == 0 {
			t.Fatalf("quality: %v", quality)
		}

		// The editor changed the draft, and says how: each change it lists is one the draft
		// had and the article has not.
		edits := out["edits"].(map[string]any)
		details := edits["details"].([]any)
		if edits["changes"].(float64) < 1 || len(details) == 0 {
			t.Fatalf("the editor changed nothing: %v", edits)
		}
		draft := stepOutput(t, traced, "draft").(map[string]any)["text"].(string)
		if draft == article || len(traced["execution"].(map[string]any)["steps"].([]any)) != 5 {
			t.Fatalf("the draft is the article:\n%s", draft)
		}
		for _, d := range details {
			d := d.(string)
			if !strings.HasPrefix(d, "filler removed: ") && !strings.HasPrefix(d, "wordy phrase") {
				continue
			}
			phrase := quoted(d)
			if before, after := occurrences(draft, phrase), occurrences(article, phrase); before == 0 || after >= before {
				t.Errorf("%s: %q is %d times in the draft, %d in the article", d, phrase, before, after)
			}
		}

		if r := g.Data("POST", "/v1/pipelines/content-generation/run", gt.Key, `{"topic":"x"}`); r.Status != 400 {
			t.Fatalf("the input is validated: %d %s", r.Status, r.Body)
		}
	})

	t.Run("the quality check fails an incoherent text", func(t *testing.T) {
		// Readable, long enough, and about nothing: each sentence on a subject of its own.
		text := "The cat slept on the warm mat all afternoon. Quantum computers store information in qubits. " +
			"My grandmother bakes bread on Sunday mornings. The stock market fell sharply after the announcement. " +
			"Volcanoes erupt when pressure builds deep underground. Football draws huge crowds in Brazil every weekend. " +
			"Jazz was born in New Orleans more than a century ago. The moon circles the earth about once a month. " +
			"Glaciers carve wide valleys as they slowly slide downhill. Tax forms arrive in the post each spring. " +
			"Penguins huddle together to survive the polar winter."
		var report struct {
			Words      int
			Coherence  float64
			Passed     bool
			Issues     []string
			TopicWords []string
		}
		if err := json.Unmarshal([]byte(answer(t, chat(t, g, "local-quality", text, ""))), &report); err != nil {
			t.Fatal(err)
		}
		if report.Words < 80 || report.Passed || report.Coherence >= 0.5 || len(report.Issues) != 1 || !strings.HasPrefix(report.Issues[0], "incoherent: ") {
			t.Fatalf("an incoherent text: %+v", report)
		}
	})

	t.Run("multi-modal analysis", func(t *testing.T) {
		png, err := os.ReadFile("../examples/pipelines/sample.png")
		if err != nil {
			t.Fatal(err)
		}
		res, _ := runPipeline(t, g, "multimodal-analysis", map[string]any{
			"image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), "language": "es"}, false)
		out := res["output"].(map[string]any)
		features := out["features"].(map[string]any)
		if features["width"] != 40.0 || features["height"] != 20.0 || features["orientation"] != "landscape" {
			t.Fatalf("features: %v", features)
		}
		dominant := features["dominantColors"].([]any)[0].(map[string]any)
		if dominant["name"] != "navy" {
			t.Fatalf("dominant colour: %v", dominant)
		}
		if d := out["description"].(string); !strings.Contains(d, "navy") || !strings.Contains(d, "orange") {
			t.Fatalf("description: %q", d)
		}
		if tr := out["translation"].(string); !strings.Contains(tr, "azul marino") {
			t.Fatalf("translation: %q", tr)
		}
		if out["summary"].(string) == "" {
			t.Fatal("no summary")
		}
	})

	t.Run("data processing chain", func(t *testing.T) {
		input := map[string]any{"label": "Weekly signups", "horizon": 3, "series": []any{10, 12, "13", nil, 15, 16, 400, 18, 20}}
		res, size := runPipeline(t, g, "data-processing", input, false)
		report := res["text"].(string)
		for _, want := range []string{"# Weekly signups", "| Count | 7 |", "rising", "## Forecast", "| 3 |"} {
			if !strings.Contains(report, want) {
				t.Fatalf("report lacks %q:\n%s", want, report)
			}
		}
		if res["output"] != report || size > 2*len(report)+1024 {
			t.Fatalf("the answer is the report, once as the output and once as its text: %d bytes for a report of %d", size, len(report))
		}
		res, traced := runPipeline(t, g, "data-processing", input, true)
		t.Logf("data-processing answers %d bytes (%d with ?trace=1)", size, traced)
		if clean := stepOutput(t, res, "clean"); !strings.Contains(string(mustJSON(clean)), `"removed":2`) {
			t.Fatalf("the clean step: %v", clean)
		}
	})

	t.Run("a transform node's own config", func(t *testing.T) {
		// The same plugin as the clean step, configured by the node: a lenient outlier threshold
		// keeps the 400 the default one drops.
		if r := g.Admin("POST", "/api/pipelines", `{"id":"lenient-clean","name":"Lenient clean","nodes":[
			{"id":"in","type":"input"},
			{"id":"clean","type":"transform","data":{"plugin":"data-clean","config":{"madThreshold":1000}}},
			{"id":"out","type":"output"}],
			"edges":[{"source":"in","target":"clean"},{"source":"clean","target":"out"}]}`); r.Status != 201 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		res, _ := runPipeline(t, g, "lenient-clean", map[string]any{"series": []any{10, 12, "13", nil, 15, 16, 400, 18, 20}}, false)
		if out := string(mustJSON(res["output"])); !strings.Contains(out, `"removed":1`) || !strings.Contains(out, "400") {
			t.Fatalf("lenient clean: %s", out)
		}
	})

	t.Run("a local model", func(t *testing.T) {
		r := g.Data("POST", "/v1/chat/completions", gt.Key, `{"model":"local-summarizer","messages":[{"role":"user","content":"The river flooded the town. Volunteers built walls of sand. The water fell by morning."}]}`)
		if r.Status != 200 || !strings.Contains(string(r.Body), "river") {
			t.Fatalf("a local model: %d %s", r.Status, r.Body)
		}
		// The default config lets local-models read the real clock: its answers carry the time
		// they were made, not the sandbox's fixed date.
		var answer struct{ Created int64 }
		if err := json.Unmarshal(r.Body, &answer); err != nil {
			t.Fatal(err)
		}
		if age := time.Since(time.Unix(answer.Created, 0)); age < -time.Minute || age > time.Minute {
			t.Errorf("a local model's answer was created %s ago: %s", age, r.Body)
		}
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestSeedPipelinesAsChatModels asks the seed's three pipelines plain chat questions with the
// official OpenAI SDK, answered whole and streamed: each takes what it needs from the last user
// message (its chatInput, or its one required string property).
func TestSeedPipelinesAsChatModels(t *testing.T) {
	g := defaultGateway(t)
	c := client(g, gt.Key)
	ctx := context.Background()
	png, err := os.ReadFile("../examples/pipelines/sample.png")
	if err != nil {
		t.Fatal(err)
	}
	image := openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
		openai.TextContentPart("What is in this picture?"),
		openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)}),
	})
	for _, tt := range []struct {
		pipeline string
		messages []openai.ChatCompletionMessageParamUnion
		opts     []option.RequestOption
		want     []string
	}{
		{"content-generation", []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You write for a city newsletter."),
			openai.UserMessage("city parks and rivers")}, nil, []string{"City parks and rivers", "\n\n"}},
		{"multimodal-analysis", []openai.ChatCompletionMessageParamUnion{image},
			[]option.RequestOption{option.WithJSONSet("language", "es")}, []string{`"navy"`, "azul marino"}},
		{"data-processing", []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weekly signups: 10, 12, 13, 15, 16, 400, 18, 20")},
			[]option.RequestOption{option.WithJSONSet("label", "Weekly signups")}, []string{"# Weekly signups", "| Count | 7 |", "## Forecast"}},
	} {
		t.Run(tt.pipeline, func(t *testing.T) {
			params := openai.ChatCompletionNewParams{Model: "pipeline:" + tt.pipeline, Messages: tt.messages}
			resp, err := c.Chat.Completions.New(ctx, params, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			whole := resp.Choices[0].Message.Content
			for _, want := range tt.want {
				if !strings.Contains(whole, want) {
					t.Fatalf("the answer lacks %q:\n%s", want, whole)
				}
			}
			if resp.Usage.TotalTokens == 0 || resp.Choices[0].FinishReason != "stop" {
				t.Fatalf("usage %+v, finish %q", resp.Usage, resp.Choices[0].FinishReason)
			}
			stream := c.Chat.Completions.NewStreaming(ctx, params, tt.opts...)
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != whole {
				t.Fatalf("streamed:\n%s\nwhole:\n%s", got, whole)
			}
		})
	}

	// What a pipeline cannot take from a message is a 400 that says what to send.
	for _, tt := range []struct{ pipeline, message, want string }{
		{"content-generation", "x", `the last user message fills "topic"`},
		{"multimodal-analysis", "describe a sunset", `send the image as an image_url content part`},
		{"data-processing", "no numbers here", `takes "series", a list of numbers`},
		{"data-processing", "just 1 and 2", `the last user message fills "series"`},
	} {
		_, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "pipeline:" + tt.pipeline,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(tt.message)}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, tt.want) {
			t.Errorf("%s with %q: %v, want a 400 saying %q", tt.pipeline, tt.message, err, tt.want)
		}
	}
}
