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

func TestDuplicates(t *testing.T) {
	f := func(body, dup string) {
		t.Helper()
		var p parsed
		fe := parseRequest(provider.Chat, []byte(body), &p)
		switch {
		case dup == "" && fe != nil:
			t.Fatalf("%s: %v", body, fe)
		case dup != "" && (fe == nil || fe.Param != dup || !strings.Contains(fe.Message, "duplicate")):
			t.Fatalf("%s: %+v, want a duplicate %q", body, fe, dup)
		}
	}
	msgs := `"messages":[{"role":"user","content":"x"}]`
	f(`{"model":"m",`+msgs+`}`, "")
	f(`{"model":"m",`+msgs+`,"model":"n"}`, "model")
	f(`{"model":"m","MODEL":"n",`+msgs+`}`, "MODEL")
	f(`{"model":"m","stream":false,`+msgs+`,"Stream":true}`, "Stream")
	f(`{"model":"m",`+msgs+`,"x":1,"X":2}`, "") // only model and stream fold case
	f(`{"model":"m",`+msgs+`,"x":1,"x":2}`, "x")
	// The same past the small-object size, where a set finds them.
	var many strings.Builder
	for i := range 40 {
		many.WriteString(`"k` + strconv.Itoa(i) + `":1,`)
	}
	f(`{`+many.String()+`"model":"m",`+msgs+`}`, "")
	f(`{`+many.String()+`"model":"m",`+msgs+`,"k7":2}`, "k7")
	f(`{`+many.String()+`"model":"m",`+msgs+`,"mOdEl":"n"}`, "mOdEl")
	f(`{"stream":true,`+many.String()+`"model":"m",`+msgs+`,"STREAM":false}`, "STREAM")
}

// manyKeys is a body of about size bytes with a key every 40 bytes (about 100,000 in 4 MiB),
// and a model and messages.
func manyKeys(size int) []byte {
	b := []byte(`{"model":"m","messages":[{"role":"user","content":"x"}]`)
	pad := strings.Repeat("v", 26)
	for i := 0; len(b) < size-64; i++ {
		b = append(b, `,"key`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":"`+pad+`"`...)
	}
	return append(b, '}')
}

// A body of many keys is checked in time proportional to them (an 86 KB body took 6.8 s when
// every key was compared with every other): 64 times the keys take well under 512 times as long
// (4,096 times, were the check quadratic). The best of five runs of each size is compared, and
// the margin is wide, so the ratio holds under the race detector, beside other test binaries
// and through a garbage collection.
func TestManyKeysParseQuickly(t *testing.T) {
	best := func(body []byte, p *parsed) time.Duration {
		var min time.Duration
		for range 5 {
			start := time.Now()
			if fe := parseRequest(provider.Chat, body, p); fe != nil {
				t.Fatal(fe)
			}
			if d := time.Since(start); min == 0 || d < min {
				min = d
			}
		}
		return min
	}
	var p parsed
	small := best(manyKeys(1<<16), &p)
	body := manyKeys(4 << 20)
	large := best(body, &p)
	t.Logf("%d keys in %d bytes: %v; a sixty-fourth of them: %v", len(p.fields), len(body), large, small)
	if len(p.fields) < 90_000 {
		t.Fatalf("only %d keys", len(p.fields))
	}
	if large > 512*small {
		t.Fatalf("64x the keys took %.1fx as long (%v, %v): not linear", float64(large)/float64(small), large, small)
	}
	dup := append(body[:len(body)-1:len(body)-1], `,"key99999":1}`...)
	if fe := parseRequest(provider.Chat, dup, &p); fe == nil || fe.Param != "key99999" {
		t.Fatalf("a duplicate among many keys: %+v", fe)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"chat", []byte(`{"model":"gpt","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],"temperature":0.2,"max_tokens":64,"stream":false}`)},
		{"100k keys", manyKeys(4 << 20)},
	} {
		b.Run(c.name, func(b *testing.B) {
			var p parsed
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if fe := parseRequest(provider.Chat, c.body, &p); fe != nil {
					b.Fatal(fe)
				}
			}
		})
	}
}
