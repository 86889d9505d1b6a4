package provider

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func streamOf(body string, strip bool) *sseStream {
	return newSSEStream(&answerBody{r: strings.NewReader(body)}, strip)
}

func drain(t *testing.T, s Stream) ([]string, error) {
	t.Helper()
	defer s.Close()
	var out []string
	for range 10000 {
		c, err := s.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(c))
	}
	t.Fatal("stream never ended")
	return nil, nil
}

func TestSSEStream(t *testing.T) {
	body := ": comment\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":null}\n\n" +
		"event: message\r\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\r\n\r\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n" +
		"data: [DONE]\n\n"
	s := streamOf(body, true)
	chunks, err := drain(t, s)
	if !errors.Is(err, io.EOF) || len(chunks) != 2 {
		t.Fatalf("chunks %q, err %v", chunks, err)
	}
	if u := s.Usage(); u.Input != 7 || u.Output != 3 {
		t.Fatalf("usage %+v", u)
	}
	if chunks, _ := drain(t, streamOf(body, false)); len(chunks) != 3 {
		t.Fatalf("a client that asked for usage gets its chunk: %q", chunks)
	}
}

func TestSSEStreamEndsEarly(t *testing.T) {
	_, err := drain(t, streamOf("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", true))
	if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "closed the stream") {
		t.Fatalf("a stream cut before its end must be an error, got %v", err)
	}
	// Some servers omit [DONE]; a finish_reason is end enough.
	_, err = drain(t, streamOf("data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", true))
	if !errors.Is(err, io.EOF) {
		t.Fatalf("finished stream without [DONE]: %v", err)
	}
}

func TestSSEStreamLongLine(t *testing.T) {
	long := `{"choices":[{"delta":{"content":"` + strings.Repeat("x", 100<<10) + `"}}]}`
	chunks, err := drain(t, streamOf("data: "+long+"\n\ndata: [DONE]\n\n", true))
	if !errors.Is(err, io.EOF) || len(chunks) != 1 || chunks[0] != long {
		t.Fatalf("long line: %d chunks, %v", len(chunks), err)
	}
}

func FuzzSSEStream(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("data: x\ndata: y\n\n\n\n:c\nid: 1\nretry: 5\ndata:{\"usage\":{\"prompt_tokens\":1},\"choices\":[]}\n\n"))
	f.Add([]byte("data: {\"usage\":"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := streamOf(string(body), true)
		defer s.Close()
		for range len(body) + 2 {
			c, err := s.Next()
			if err != nil {
				return
			}
			if bytes.Equal(c, doneMarker) {
				t.Fatalf("[DONE] must end the stream, not be relayed as a chunk")
			}
		}
		t.Fatalf("more chunks than input bytes from %q", body)
	})
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://api.openai.com/v1/chat/completions": "https://api.openai.com/v1",
		"https://api.openai.com/v1/":                 "https://api.openai.com/v1",
		"http://localhost:11434/v1/embeddings":       "http://localhost:11434/v1",
		"http://vllm:8000/v1/completions":            "http://vllm:8000/v1",
		"https://api.groq.com/openai/v1":             "https://api.groq.com/openai/v1",
	} {
		if got := BaseURL(in); got != want {
			t.Errorf("BaseURL(%q) = %q, want %q", in, got, want)
		}
	}
}
