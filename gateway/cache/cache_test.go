package cache

import (
	"bytes"
	"testing"

	"github.com/iomhq/iom/gateway/rawjson"
)

func fields(t testing.TB, body string) []rawjson.Field {
	t.Helper()
	fs, err := rawjson.ScanObject([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestKeyScopes(t *testing.T) {
	q := fields(t, `{"model":"m","messages":[{"role":"user","content":"same"}],"stream":true}`)
	base := Key("org\x00acme", "m", "chat", q)
	if !bytes.Equal(base, Key("org\x00acme", "m", "chat", fields(t, `{"messages":[{"role":"user","content":"same"}],"model":"m"}`))) {
		t.Fatal("the same request in the same scope must share a key")
	}
	for _, other := range [][]byte{
		Key("org\x00globex", "m", "chat", q),
		Key("key\x00config:app", "m", "chat", q),
		Key("", "m", "chat", q),
		Key("org\x00acme\x00m", "", "chat", q), // a scope cannot spill into the model
		Key("org\x00acme", "n", "chat", q),
	} {
		if bytes.Equal(base, other) {
			t.Fatalf("another scope or model shares the key %x", base)
		}
	}
}

func BenchmarkKey(b *testing.B) {
	q := fields(b, `{"model":"m","messages":[{"role":"user","content":"what is the capital of France?"}],"temperature":0,"max_tokens":64}`)
	b.ReportAllocs()
	for b.Loop() {
		Key("org\x00acme", "m", "chat", q)
	}
}
