package iomwasm

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The SDK is imported by guests built for wasip1: it must stay on the standard library.
func TestImportsOnlyStandardLibrary(t *testing.T) {
	for _, env := range [][]string{nil, {"GOOS=wasip1", "GOARCH=wasm"}} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %v: %v", env, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if pkg != "github.com/iomhq/iom/sdk/wasm" {
				t.Errorf("%v: imports %s, which is not in the standard library", env, pkg)
			}
		}
	}
}

const doc = ` {"model":"m","n":42,"f":-1.5e2,"ok":true,"none":null,"esc":"a\"b\\c\u00e9\ud83d\ude00\n",
	"k\u0065y":"escaped key","messages":[{"role":"system","content":"be brief"},{"role":"user",
	"content":[{"type":"text","text":"hello"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"world"}]}]} `

func TestValue(t *testing.T) {
	v := Value(doc)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"kind", v.Kind(), Object},
		{"string", v.Get("model").Str(), "m"},
		{"escapes", v.Get("esc").Str(), "a\"b\\cé😀\n"},
		{"escaped key", v.Get("key").Str(), "escaped key"},
		{"missing", v.Get("nope") == nil, true},
		{"int", first(v.Get("n").Int()), int64(42)},
		{"float", first(v.Get("f").Float()), -150.0},
		{"float as int", first(v.Get("f").Int()), int64(-150)},
		{"bool", v.Get("ok").Bool(), true},
		{"null", v.Get("none").IsNull(), true},
		{"absent is null", v.Get("nope").IsNull(), true},
		{"path", v.Path("messages").Len(), 2},
		{"not a string", first(v.Get("n").Text()), ""},
		{"valid", v.Valid(), true},
		{"invalid", Value(`{"a":1,}`).Valid(), false},
		{"bad escape", Value(`"\x"`).Valid(), false},
		{"bad utf8", Value("\"\xff\"").Valid(), false},
		{"trailing data", Value(`1 2`).Valid(), false},
		{"last user message", LastUserMessage(v), "hello\nworld"},
		{"prompt text", PromptText(v), "be brief\nhello\nworld"},
		{"strings of a string", Strings(Value(`"a"`)), []string{"a"}},
		{"strings of an array", Strings(Value(`["a",1,"b"]`)), []string{"a", "b"}},
		{"words", Words("  one two\tthree\n"), 3},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
	var roles []string
	v.Get("messages").Each(func(i int, m Value) bool {
		roles = append(roles, m.Get("role").Str())
		return true
	})
	if strings.Join(roles, ",") != "system,user" {
		t.Errorf("roles %v", roles)
	}
}

func TestFind(t *testing.T) {
	hasSeries := func(o Value) bool { return o.Get("series").Kind() == Array }
	tests := []struct {
		name, doc, want string
	}{
		{"top level", `{"series":[1]}`, `{"series":[1]}`},
		{"breadth first", `{"a":{"b":{"series":[2]}},"c":{"series":[1]}}`, `{"series":[1]}`},
		{"in an array", `[1,{"x":{"series":[3]}}]`, `{"series":[3]}`},
		{"json in a string", `{"text":" {\"series\":[4]} "}`, `{"series":[4]}`},
		{"none", `{"text":"{not json","series":"no"}`, ``},
		{"not json", `plain words`, ``},
	}
	for _, tt := range tests {
		if got := Value(tt.doc).Find(hasSeries); string(got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestModelCallText(t *testing.T) {
	chat := &ModelCall{Op: "chat", Request: Value(doc)}
	if got, err := chat.Text("m"); err != nil || got != "hello\nworld" {
		t.Errorf("chat: %q, %v", got, err)
	}
	completion := &ModelCall{Op: "completion", Request: Value(`{"prompt":["a","b"]}`)}
	if got, err := completion.Text("m"); err != nil || got != "a\nb" {
		t.Errorf("completion: %q, %v", got, err)
	}
	_, err := (&ModelCall{Op: "embedding"}).Text("the model")
	var e *Error
	if !errors.As(err, &e) || e.Code != "unsupported_op" || e.Message != "the model answers chat and completion, not embedding" {
		t.Errorf("embedding: %v", err)
	}
}

func first[T any](v T, _ bool) T { return v }

func TestSplice(t *testing.T) {
	d := []byte(`{"model":"m","temperature":0.7,"x":[1]}`)
	got := Splice(d, Value(d).Get("temperature"), []byte("0"))
	if string(got) != `{"model":"m","temperature":0,"x":[1]}` {
		t.Fatalf("got %s", got)
	}
	if string(d) != `{"model":"m","temperature":0.7,"x":[1]}` {
		t.Fatal("Splice changed its input")
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\ nl\n tab\t ctl\x01", "é😀", "bad \xff utf8"} {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s is not JSON: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); got != want {
			t.Errorf("round trip %q: got %q", s, got)
		}
		if string(AppendStringBytes(nil, []byte(s))) != string(b) {
			t.Errorf("AppendStringBytes differs for %q", s)
		}
	}
}

const envelope = `{"abi":1,"stage":"request","body":{"model":"m","messages":[]},
	"config":{"k":"v"},"metadata":{"requestId":"r","model":"m","provider":"openai","key":"app","org":"o","op":"chat","stream":true,
	"outputSchema":{"type":"object"}}}`

func TestTransformJSON(t *testing.T) {
	var seen *Envelope
	unchanged := TransformJSON([]byte(envelope), func(env *Envelope) (Result, error) {
		seen = env
		return Result{}, nil
	})
	if unchanged != nil {
		t.Fatalf("unchanged output %s", unchanged)
	}
	want := Metadata{RequestID: "r", Model: "m", Provider: "openai", Key: "app", Org: "o", Op: "chat", Stream: true,
		OutputSchema: Value(`{"type":"object"}`)}
	if seen.Stage != "request" || !reflect.DeepEqual(seen.Metadata, want) || seen.Config.Get("k").Str() != "v" ||
		string(seen.Body) != `{"model":"m","messages":[]}` {
		t.Fatalf("envelope %+v", seen)
	}

	tests := []struct {
		name string
		res  Result
		err  error
		want string
	}{
		{"body", Result{Body: []byte(`{"a":1}`)}, nil, `{"body":{"a":1}}`},
		{"scalar body", Result{Body: []byte(`1`)}, nil, `{"body":1}`},
		{"drop", Result{Drop: true}, nil, `{"drop":true}`},
		{"error", Result{}, errors.New("bad \"thing\""), `{"error":{"message":"bad \"thing\""}}`},
		{"coded error", Result{}, Errorf("json_guard", "no %d", 1), `{"error":{"message":"no 1","code":"json_guard"}}`},
	}
	for _, tt := range tests {
		out := TransformJSON([]byte(envelope), func(*Envelope) (Result, error) { return tt.res, tt.err })
		if string(out) != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, out, tt.want)
		}
	}
}

func TestModelRoles(t *testing.T) {
	call := `{"abi":1,"op":"chat","request":{"model":"x","messages":[{"role":"user","content":"hi there"}]},
		"model":{"id":"local","upstreamModel":"up","endpoint":"http://h"},"config":null}`
	out := InferJSON([]byte(call), func(c *ModelCall) ([]byte, error) {
		if c.Op != "chat" || c.Model != (Model{"local", "up", "http://h"}) || !c.Config.IsNull() {
			t.Errorf("call %+v", c)
		}
		text := LastUserMessage(c.Request)
		return ChatCompletion("x", "echo "+text, Words(text), 3), nil
	})
	var resp struct {
		Response struct {
			Object  string
			Choices []struct{ Message struct{ Content string } }
			Usage   struct{ PromptTokens, CompletionTokens, TotalTokens int } `json:"usage"`
		}
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.Response.Object != "chat.completion" ||
		resp.Response.Choices[0].Message.Content != "echo hi there" {
		t.Fatalf("infer output %s: %v", out, err)
	}

	out = AdapterRequestJSON([]byte(call), func(c *ModelCall) (*HTTPRequest, error) {
		return &HTTPRequest{URL: c.Model.Endpoint + "/gen", Headers: map[string]string{"Authorization": "Bearer ${apiKey}"}, Text: "plain"}, nil
	})
	if string(out) != `{"method":"POST","url":"http://h/gen","headers":{"Authorization":"Bearer ${apiKey}"},"body":"plain"}` {
		t.Fatalf("adapter request %s", out)
	}

	upstream := `{"abi":1,"op":"chat","status":503,"headers":{},"body":"overloaded","request":{},"model":{"id":"a"},"config":null}`
	out = AdapterResponseJSON([]byte(upstream), func(r *UpstreamResponse) ([]byte, error) {
		return nil, &Error{Message: "upstream said " + r.Body.Str(), Code: "upstream_error", Status: 502}
	})
	if string(out) != `{"error":{"message":"upstream said overloaded","code":"upstream_error","status":502}}` {
		t.Fatalf("adapter response %s", out)
	}

	emb := EmbeddingList("e", [][]float32{{0.5, -0.25}, {1, 0}}, 4)
	var list struct {
		Data []struct {
			Index     int
			Embedding []float64
		}
		Usage struct{ PromptTokens int } `json:"usage"`
	}
	if err := json.Unmarshal(emb, &list); err != nil || len(list.Data) != 2 || list.Data[1].Index != 1 || list.Data[0].Embedding[1] != -0.25 {
		t.Fatalf("embedding list %s: %v", emb, err)
	}
}

func TestConfigCache(t *testing.T) {
	var c ConfigCache[struct{ N int }]
	v, err := c.Get(Value(`{"N":3}`))
	if err != nil || v.N != 3 {
		t.Fatalf("%v %v", v, err)
	}
	if again, _ := c.Get(Value(`{"N":3}`)); again != v {
		t.Fatal("the same config was decoded again")
	}
	if v, err := c.Get(Value(`null`)); err != nil || v.N != 0 {
		t.Fatalf("null config: %v %v", v, err)
	}
	if _, err := c.Get(Value(`{"N":"x"}`)); err == nil || !strings.Contains(err.Error(), "invalid plugin config") {
		t.Fatalf("bad config: %v", err)
	}
}

// FuzzValue checks the scanner against encoding/json: it must agree on validity (encoding/json
// also accepts invalid UTF-8, which RFC 8259 and the ABI do not), never panic, and read strings
// the same way.
func FuzzValue(f *testing.F) {
	for _, s := range []string{doc, envelope, `"\ud800"`, `[1,[2,{"a":[]}]]`, `{"a" 1}`, `-0.5e+3`, `01`, "\"\xff\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Value(s)
		if got, want := v.Valid(), json.Valid([]byte(s)) && utf8.ValidString(s); got != want {
			t.Fatalf("Valid(%q) = %v, encoding/json says %v", s, got, want)
		}
		v.Members(func(k []byte, m Value) bool { _ = m.Str(); return true })
		v.Each(func(_ int, e Value) bool { _, _ = e.Int(); return true })
		if v.Valid() && v.Kind() == String {
			var want string
			if err := json.Unmarshal([]byte(s), &want); err != nil {
				t.Fatal(err)
			}
			if got := v.Str(); got != want {
				t.Fatalf("Str(%q) = %q, encoding/json says %q", s, got, want)
			}
		}
	})
}
