package rawjson

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// AppendValue writes what encoding/json writes for the values it decodes into an any.
func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`null`, `true`, `"plain"`, `"quote \" backslash \\ newline \n tab \t control \u0001 é 😀"`,
		`0`, `-0.5`, `1e21`, `1e20`, `123456789012345678`, `1e-7`, `0.000001`, `-3.25e-10`, `1.7976931348623157e308`,
		`[]`, `{}`, `[1,"a",null,[true,{}]]`,
		`{"z":1,"a":{"y":[1,2],"b":"x"},"m":null,"é":"accent","A":"upper","":"empty"}`,
		`{"messages":[{"role":"user","content":"hi"}],"temperature":0.2,"stream":false}`,
	}
	for _, doc := range docs {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(doc, err)
		}
		want, _ := json.Marshal(v)
		got, err := AppendValue([]byte("prefix:"), v)
		if err != nil || string(got) != "prefix:"+string(want) {
			t.Errorf("%s: got %s (%v), encoding/json %s", doc, got, err, want)
		}
	}
	// Go values beyond the decoded ones: through encoding/json, or written directly.
	for _, c := range []struct {
		v    any
		want string
	}{
		{42, "42"}, {int64(-7), "-7"}, {json.Number("1.50"), "1.50"}, {json.RawMessage(`{"a":1}`), `{"a":1}`},
		{json.RawMessage(nil), "null"}, {[]string{"a"}, `["a"]`}, {struct{ A int }{1}, `{"A":1}`},
	} {
		if got, err := AppendValue(nil, c.v); err != nil || string(got) != c.want {
			t.Errorf("%#v: %s %v", c.v, got, err)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), []any{math.Inf(-1)}, map[string]any{"x": make(chan int)}} {
		if _, err := AppendValue(nil, bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestObjectWriter(t *testing.T) {
	o := ObjectWriter{}
	if got := string(o.End()); got != "{}" {
		t.Fatalf("empty: %s", got)
	}
	o = ObjectWriter{B: []byte("x")}
	o.Str("s", "", true)
	o.Str("t", "v\"", false)
	o.Num("n", 0, true)
	o.Num("f", 0.5, false)
	o.Int("i", 0, false)
	o.Bool("b", false, true)
	o.Bool("c", true, true)
	o.Time("at", time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC))
	if got := string(o.End()); got != `x{"t":"v\"","f":0.5,"i":0,"c":true,"at":"2026-01-02T03:04:05.0000006Z"}` {
		t.Fatalf("members: %s", got)
	}
}
