package rules

import (
	"strings"
	"testing"
)

func TestCompileChecksNames(t *testing.T) {
	if _, err := Compile(`request.messages[0].content + config.suffix`, "request", "config"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`reqest.x`, `1 +`, ``, `foo(1)`} {
		if _, err := Compile(bad, "request"); err == nil {
			t.Errorf("Compile(%q) should fail", bad)
		}
	}
}

func TestRun(t *testing.T) {
	env := map[string]any{"input": map[string]any{"text": "Hello", "n": 3.0}, "steps": map[string]any{"a": map[string]any{"output": map[string]any{"text": "x"}}}}
	f := func(src string, want string) {
		t.Helper()
		p, err := Compile(src, "input", "steps")
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.String(env)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
	f(`input.text`, "Hello")
	f(`upper(input.text) + "!"`, "HELLO!")
	f(`input.n > 2`, "true")
	f(`{"prompt": input.text, "max": input.n}`, `{"max":3,"prompt":"Hello"}`)
	f(`steps.a.output.text`, "x")
	f(`input.missing ?? "default"`, "default")
	f(`let x = input.n; x + 1`, "4")
	f(`map([1, 2], # * input.n)`, "[3,6]")
	p, _ := Compile(`input.text`, "input")
	if _, err := p.Bool(env); err == nil || !strings.Contains(err.Error(), "not true or false") {
		t.Errorf("Bool on a string: %v", err)
	}
}
