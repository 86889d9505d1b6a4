package main

import "testing"

func TestUpstreamBody(t *testing.T) {
	for _, c := range []struct {
		in, model string
		stream    bool
		want      string
	}{
		{`{"model":"m","messages":[],"seed":12345678901234567890}`, "up", false, `{"messages":[],"seed":12345678901234567890,"model":"up"}`},
		{`{"model":"m","stream":true,"stream_options":{"include_usage":false},"model":"x"}`, "up", true, `{"stream":true,"model":"up","stream_options":{"include_usage":true}}`},
		{`{"model":"m"}`, "", false, `{"model":"m"}`},
		{`{}`, "", true, `{"stream_options":{"include_usage":true}}`},
		{`{}`, "", false, `{}`},
		{`{"m\u006fdel":"m","a\"b":1}`, "u\"p", false, `{"a\"b":1,"model":"u\"p"}`},
	} {
		got, err := upstreamBody([]byte(c.in), c.model, c.stream)
		if err != nil || string(got) != c.want {
			t.Errorf("%s (%q, %v): got %s, %v; want %s", c.in, c.model, c.stream, got, err, c.want)
		}
	}
	for _, bad := range []string{`[]`, `{"model":`, ``} {
		if _, err := upstreamBody([]byte(bad), "up", false); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
