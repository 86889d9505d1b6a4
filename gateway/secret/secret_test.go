package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverShows(t *testing.T) {
	const value = "sk-live-123456"
	s := New(value)
	if s.Reveal() != value || !s.IsSet() {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "key", s, "struct", struct{ K Secret }{s})
	js, _ := json.Marshal(map[string]any{"k": s, "p": &s})
	txt, _ := s.MarshalText()
	for name, out := range map[string]string{
		"fmt %v": fmt.Sprintf("%v", s), "fmt %+v": fmt.Sprintf("%+v", struct{ K Secret }{s}),
		"fmt %#v": fmt.Sprintf("%#v", s), "fmt %s": fmt.Sprintf("%s", s),
		"json": string(js), "slog": logged.String(), "text": string(txt),
	} {
		if strings.Contains(out, value) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s does not say %s: %s", name, Redacted, out)
		}
	}
	if New("").String() != "" {
		t.Errorf("an unset secret should print empty")
	}
}
