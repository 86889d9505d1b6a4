package server

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/iomhq/iom/gateway/provider"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`,
		`{"model":"gpt","model":"other","messages":[]}`, `{"model":"e","input":["a","b"]}`, `{"model":"c","prompt":"x"}`,
		`{"MODEL":"x","model":"y"}`, `[]`, `{"model":"\u0067pt"}`,
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, op uint8) {
		var p parsed
		fe := parseRequest(provider.Op(op%3), body, &p)
		if fe != nil {
			if fe.Status != 400 || fe.Message == "" {
				t.Fatalf("bad rejection %+v", fe)
			}
			return
		}
		if len(p.model) == 0 {
			t.Fatalf("accepted %q without a model", body)
		}
		seen := map[string]bool{}
		for _, fl := range p.fields {
			k := strings.ToLower(string(fl.Key))
			if (k == "model" || k == "stream") && seen[k] {
				t.Fatalf("accepted a duplicate %s in %q", k, body)
			}
			seen[k] = true
		}
	})
}

// FuzzWriteEvent checks that any chunk, however it is broken into lines, is relayed as exactly
// one event that a client reassembles to the same data.
func FuzzWriteEvent(f *testing.F) {
	f.Add([]byte(`{"choices":[{"delta":{"content":"hi"}}]}`))
	f.Add([]byte("{\n  \"pretty\": true\n}"))
	f.Add([]byte("a\r\nb\n\nc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.IndexByte(data, '\r') >= 0 {
			return // a lone CR is a line break to SSE parsers; upstream chunks never hold one
		}
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		writeEvent(w, data)
		w.Flush()
		out := buf.String()
		if strings.Index(out, "\n\n") != len(out)-2 {
			t.Fatalf("event not ended by a blank line: %q", out)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n\n"), "\n") {
			if !strings.HasPrefix(l, "data: ") {
				t.Fatalf("line %q of %q is not a data line", l, out)
			}
			lines = append(lines, strings.TrimPrefix(l, "data: "))
		}
		if got := strings.Join(lines, "\n"); got != string(data) {
			t.Fatalf("reassembled %q, sent %q", got, data)
		}
	})
}

// The latency header reads as strconv.AppendFloat(ms, 'f', 3) would write it.
func TestSetLatency(t *testing.T) {
	var h fasthttp.ResponseHeader
	for _, us := range []int64{0, 1, 9, 10, 99, 100, 999, 1000, 1001, 12345, 999999, 1000000, 86_400_000_000} {
		d := time.Duration(us) * time.Microsecond
		setLatency(&h, d+999*time.Nanosecond) // below a microsecond does not count
		want := strconv.FormatFloat(float64(us)/1000, 'f', 3, 64)
		if got := string(h.Peek("X-Iom-Latency-Ms")); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	setLatency(&h, -time.Millisecond)
	if got := string(h.Peek("X-Iom-Latency-Ms")); got != "0.000" {
		t.Errorf("a negative duration: %q", got)
	}
}
