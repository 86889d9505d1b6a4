// Package secret holds the type of every credential the gateway keeps: upstream API keys, gateway
// keys, the admin token. A Secret prints, logs and marshals as [REDACTED]; only Reveal gives its
// value, so a secret cannot reach a log line or a response by accident.
package secret

import "log/slog"

// Redacted is what a Secret shows instead of its value.
const Redacted = "[REDACTED]"

// Secret is a credential. The zero value is "not set".
type Secret struct{ v string }

// New wraps a value.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the value, for the one place that must send it.
func (s Secret) Reveal() string { return s.v }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.v != "" }

func (s Secret) String() string   { return s.show() }
func (s Secret) GoString() string { return s.show() }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.show()) }

// MarshalJSON never writes the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.show() + `"`), nil }

// MarshalText never writes the value (YAML and other text encoders use it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.show()), nil }

func (s Secret) show() string {
	if s.v == "" {
		return ""
	}
	return Redacted
}

// UnmarshalText sets the value (config files and admin API bodies are decoded through it).
func (s *Secret) UnmarshalText(b []byte) error {
	s.v = string(b)
	return nil
}
