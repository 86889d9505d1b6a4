package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/iomhq/iom/internal/fakeupstream"
)

// The example provider, with its own HTTP client, in front of a fake OpenAI upstream (fasthttp,
// speaking OpenAI's JSON and SSE).
func TestProviderExampleAgainstAnUpstream(t *testing.T) {
	up, err := fakeupstream.StartOpenAI()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	up.Faults = func(_ int64, r *fakeupstream.Received) fakeupstream.Fault {
		if strings.Contains(string(r.Body), "please fail") {
			return fakeupstream.Fault{Status: 429, RetryAfter: "3"}
		}
		return fakeupstream.Fault{}
	}
	m, _ := newManager(t, Options{})
	load(t, m,
		// One finds its upstream in its config, the other in the model's endpoint.
		Config{Name: "by-config", Path: providerBin, Config: json.RawMessage(`{"baseURL":"` + up.URL + `"}`)},
		Config{Name: "by-model", Path: providerBin})
	model := Model{ID: "local", UpstreamModel: "llama-up", Endpoint: up.URL}
	ctx := context.Background()

	for _, name := range []string{"by-config", "by-model"} {
		t.Run(name, func(t *testing.T) {
			resp, err := m.Complete(ctx, name, ProviderCall{Op: "chat", Model: model, APIKey: "sk-up",
				Request: []byte(`{"model":"local","messages":[{"role":"user","content":"hello there"}]}`)})
			if err != nil {
				t.Fatal(err)
			}
			var answer struct {
				Model   string
				Choices []struct{ Message struct{ Content string } }
				Usage   struct {
					PromptTokens int `json:"prompt_tokens"`
				}
			}
			if err := json.Unmarshal(resp, &answer); err != nil {
				t.Fatal(err)
			}
			if answer.Model != "llama-up" || answer.Choices[0].Message.Content != "echo: hello there" || answer.Usage.PromptTokens != 2 {
				t.Fatalf("answer: %s", resp)
			}
			if last := up.Last(); last.Authorization != "Bearer sk-up" || last.Path != "/v1/chat/completions" {
				t.Fatalf("the upstream got %+v", last)
			}
		})
	}

	t.Run("stream", func(t *testing.T) {
		s, err := m.Stream(ctx, "by-config", ProviderCall{Op: "chat", Model: model,
			Request: []byte(`{"model":"local","stream":true,"messages":[{"role":"user","content":"one two three four five"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		chunks := readAll(t, s)
		var text strings.Builder
		for _, c := range chunks[:len(chunks)-1] {
			var chunk struct {
				Object  string
				Choices []struct{ Delta struct{ Content string } }
			}
			if err := json.Unmarshal([]byte(c), &chunk); err != nil || chunk.Object != "chat.completion.chunk" {
				t.Fatalf("chunk %q: %v", c, err)
			}
			for _, ch := range chunk.Choices {
				text.WriteString(ch.Delta.Content)
			}
		}
		if text.String() != "echo: one two three four five" {
			t.Fatalf("streamed text %q from %q", text.String(), chunks)
		}
		// The provider asked for usage, which comes last, as OpenAI sends it.
		last := chunks[len(chunks)-1]
		if !strings.Contains(last, `"choices":[]`) || !strings.Contains(last, `"prompt_tokens":5`) {
			t.Fatalf("last chunk %s", last)
		}
		if !strings.Contains(string(up.Last().Body), `"include_usage":true`) {
			t.Fatalf("the upstream got %s", up.Last().Body)
		}
	})

	t.Run("upstream error", func(t *testing.T) {
		for _, stream := range []bool{false, true} {
			call := ProviderCall{Op: "chat", Model: model, Request: []byte(`{"messages":[{"role":"user","content":"please fail"}]}`)}
			var err error
			if stream {
				var s ChunkStream
				if s, err = m.Stream(ctx, "by-model", call); err == nil {
					_, err = s.Next()
					s.Close()
				}
			} else {
				_, err = m.Complete(ctx, "by-model", call)
			}
			var ue *UpstreamError
			if !errors.As(err, &ue) || ue.Status != 429 || ue.RetryAfter != 3 || ue.Code != "injected" ||
				!strings.Contains(string(ue.Body), "injected failure 429") {
				t.Fatalf("stream %v: got %#v", stream, err)
			}
		}
	})

	t.Run("upstream unreachable", func(t *testing.T) {
		_, err := m.Complete(ctx, "by-model", ProviderCall{Op: "chat", Request: []byte(`{}`),
			Model: Model{Endpoint: "http://127.0.0.1:1/v1"}})
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Status != 0 || ue.Code != "upstream_unreachable" {
			t.Fatalf("got %#v", err)
		}
	})
}

func TestTransformerExample(t *testing.T) {
	m, _ := newManager(t, Options{})
	load(t, m, Config{Name: "filter", Path: transformerBin})
	const mask = `{"words":["darn","heck"],"replacement":"[x]"}`
	const block = `{"words":["darn"],"block":true}`
	for _, tc := range []struct {
		name, envelope, want string
	}{
		{"request masked",
			`{"abi":1,"stage":"request","config":` + mask + `,"body":{"model":"m","messages":[{"role":"user","content":"Darn it, what the heck"}]}}`,
			`{"body":{"model":"m","messages":[{"role":"user","content":"[x] it, what the [x]"}]}}`},
		{"request blocked",
			`{"abi":1,"stage":"request","config":` + block + `,"body":{"messages":[{"role":"user","content":"darn"}]}}`,
			`{"error":{"message":"the request contains a blocked word","code":"content_blocked","status":400}}`},
		{"clean request unchanged",
			`{"abi":1,"stage":"request","config":` + block + `,"body":{"messages":[{"role":"user","content":"darning socks"}]}}`,
			`{}`},
		{"response masked",
			`{"abi":1,"stage":"response","config":` + mask + `,"body":{"choices":[{"message":{"content":"oh heck"}}]}}`,
			`{"body":{"choices":[{"message":{"content":"oh [x]"}}]}}`},
		{"chunk masked",
			`{"abi":1,"stage":"chunk","config":` + mask + `,"body":{"choices":[{"delta":{"content":"HECK"}}]}}`,
			`{"body":{"choices":[{"delta":{"content":"[x]"}}]}}`},
		{"no config", `{"abi":1,"stage":"request","config":null,"body":{"messages":[]}}`, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := m.Transform(context.Background(), "filter", []byte(tc.envelope))
			if err != nil || string(out) != tc.want {
				t.Fatalf("Transform = %s, %v\nwant %s", out, err, tc.want)
			}
		})
	}
	_, err := m.Transform(context.Background(), "filter", []byte(`not json`))
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != Failed || !strings.Contains(err.Error(), "bad envelope") {
		t.Fatalf("a bad envelope: %v", err)
	}
}
