package provider

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/iomhq/iom/gateway/spec"
)

func TestResponsesUsage(t *testing.T) {
	f := func(body string, want Usage) {
		t.Helper()
		if got := ResponsesUsage([]byte(body)); got != want {
			t.Fatalf("%s: got %+v, want %+v", body, got, want)
		}
	}
	f(`{"id":"resp_1","usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":3},"total_tokens":17}}`,
		Usage{Input: 10, Output: 7, CachedInput: 4, Reasoning: 3})
	f(`{"id":"resp_1","usage":{"input_tokens":2,"input_tokens_details":{"cached_tokens":9},"output_tokens":1}}`, Usage{Input: 2, Output: 1, CachedInput: 2})
	f(`{"id":"resp_1","usage":null}`, Usage{})
	f(`{"usage":{"prompt_tokens":5}}`, Usage{})
	f(`not json`, Usage{})
}

// A Responses stream relays every event's data; it is complete once a final event came, whose
// response's usage it keeps, and broken when the body ends before one.
func TestResponsesStream(t *testing.T) {
	const events = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r\",\"usage\":null}}\n\n" +
		"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"sequence_number\":1,\"delta\":\"say \\\"response.completed\\\"\"}\n\n"
	const done = "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":2,\"response\":{\"id\":\"r\",\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}}\n\n"
	read := func(body string) (n int, usage Usage, err error) {
		s := &responsesStream{sseStream: streamOf(body, false)}
		defer s.Close()
		for {
			data, err := s.Next()
			if err != nil {
				return n, s.Usage(), err
			}
			if !strings.Contains(string(data), `"sequence_number"`) {
				t.Fatalf("event data %s", data)
			}
			n++
		}
	}
	n, usage, err := read(events + done)
	if n != 3 || !errors.Is(err, io.EOF) || usage != (Usage{Input: 3, Output: 4}) {
		t.Fatalf("whole: %d %+v %v", n, usage, err)
	}
	// A text that quotes a final event's name does not end the stream.
	if n, _, err := read(events); n != 2 || errors.Is(err, io.EOF) || err == nil {
		t.Fatalf("cut: %d %v", n, err)
	}
}

// Which upstreams have the Responses API, and where.
func TestServesResponses(t *testing.T) {
	pool := NewPool()
	f := func(provider, endpoint, url string) {
		t.Helper()
		u, err := pool.Upstream(&spec.Model{ID: "m", Provider: provider, Endpoint: endpoint, UpstreamModel: "dep"}, Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		if got := u.ServesResponses(); got != (url != "") || url != "" && u.URL(Responses) != url {
			t.Fatalf("%s %s: serves %v at %q", provider, endpoint, got, u.URL(Responses))
		}
	}
	f("openai", "https://api.openai.com/v1", "https://api.openai.com/v1/responses")
	f("openai", "http://127.0.0.1:8000/v1/chat/completions", "http://127.0.0.1:8000/v1/responses")
	f("azure", "https://proj.services.ai.azure.com/openai/v1/", "https://proj.services.ai.azure.com/openai/v1/responses")
	f("azure", "https://proj.services.ai.azure.com/openai/v1?api-version=preview", "https://proj.services.ai.azure.com/openai/v1/responses?api-version=preview")
	f("azure", "https://res.openai.azure.com", "")
	f("anthropic", "https://api.anthropic.com", "")
	f("ollama", "http://127.0.0.1:11434", "")
}
