package cluster

import (
	"bytes"
	"testing"
)

// A sealed entry opens only with the same secret, as the same kind and id.
func TestSeal(t *testing.T) {
	a, _ := newSealer([]byte("the-cluster-secret-0123"))
	b, _ := newSealer([]byte("another-secret-0123456"))
	blob := a.seal("models", "m1", []byte(`{"storedApiKey":"sk-1"}`))
	if bytes.Contains(blob, []byte("sk-1")) {
		t.Fatal("the sealed entry holds the key in the clear")
	}
	if got, err := a.open("models", "m1", blob); err != nil || string(got) != `{"storedApiKey":"sk-1"}` {
		t.Fatalf("open: %q %v", got, err)
	}
	for _, c := range []struct {
		s        *sealer
		kind, id string
	}{{b, "models", "m1"}, {a, "models", "m2"}, {a, "keys", "m1"}} {
		if _, err := c.s.open(c.kind, c.id, blob); err != errSealed {
			t.Errorf("opened as %s/%s with the wrong secret or place: %v", c.kind, c.id, err)
		}
	}
	if _, err := a.open("models", "m1", blob[:5]); err != errSealed {
		t.Errorf("a truncated entry: %v", err)
	}
}
