package rawjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScanObject(t *testing.T) {
	doc := []byte(` {"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi \"x\""}],"n":1.5e3,"o":null,"mod\u0065l":2} `)
	fields, err := ScanObject(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range fields {
		keys = append(keys, string(f.Key)+"="+string(f.Value))
	}
	want := `model="gpt",stream=true,messages=[{"role":"user","content":"hi \"x\""}],n=1.5e3,o=null,model=2`
	if strings.Join(keys, ",") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(keys, ","), want)
	}
	if s, ok := String(Get(fields, "model")); !ok || s != "gpt" {
		t.Fatalf("String: %q", s)
	}
}

func TestScanObjectRejects(t *testing.T) {
	f := func(doc string) {
		t.Helper()
		if _, err := ScanObject([]byte(doc), nil); err == nil {
			t.Errorf("accepted %q", doc)
		}
	}
	for _, d := range []string{``, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{a:1}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`,
		`{"a":"\x"}`, "{\"a\":\"\x01\"}", `{"a":tru}`, `{"a":[1,]}`, `{"a":1} {}`, `[1]`, `"s"`, "{\"a\":\"\xff\"}",
		`{"a":"\u12"}`, strings.Repeat("[", MaxDepth+5) + strings.Repeat("]", MaxDepth+5)} {
		f(d)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\slash", "ctl\x00\x1f\n\t\r", "ünïcødé ✓", "bad\xffutf8", "</script>"} {
		b := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); back != want {
			t.Fatalf("round trip %q → %q", s, back)
		}
	}
}

func TestElementsAndMembers(t *testing.T) {
	var got []string
	err := Elements([]byte(`[ 1 , "two", {"three":3}, [4] ]`), func(e []byte) error { got = append(got, string(e)); return nil })
	if err != nil || strings.Join(got, "|") != `1|"two"|{"three":3}|[4]` {
		t.Fatalf("%v %v", got, err)
	}
	fs, err := Members([]byte(`{"a":{"b":1},"c":[]}`), nil)
	if err != nil || len(fs) != 2 || string(fs[0].Value) != `{"b":1}` {
		t.Fatalf("%v %v", fs, err)
	}
}

// FuzzScanObject checks the scanner agrees with encoding/json on what is valid JSON, and that
// the members it finds are the document's.
func FuzzScanObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"model":"x","messages":[{"role":"user","content":"hi"}],"stream":true}`,
		`{"a":[1,2,{"b":null}],"c":-0.5e-7}`, `{"a":"\u00e9\ud83d\ude00"}`, `[1]`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		// Given bytes that are not valid JSON, Members and Elements may answer anything but
		// must not panic or read out of bounds.
		Members(doc, nil)
		Elements(doc, func([]byte) error { return nil })
		fields, err := ScanObject(doc, nil)
		// RFC 8259 requires UTF-8; encoding/json lets invalid bytes through, we do not.
		valid := json.Valid(doc) && utf8.Valid(doc)
		if err == nil && !valid {
			t.Fatalf("accepted invalid JSON %q", doc)
		}
		if err != nil && valid && err != ErrNotObject && !strings.Contains(err.Error(), "nested too deeply") {
			t.Fatalf("rejected valid JSON %q: %v", doc, err)
		}
		if err != nil {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(doc, &m) != nil {
			t.Fatalf("encoding/json cannot decode what we accepted: %q", doc)
		}
		for _, fl := range fields {
			if _, ok := m[string(fl.Key)]; !ok {
				t.Fatalf("member %q not in the document %q", fl.Key, doc)
			}
			if !json.Valid(fl.Value) {
				t.Fatalf("member %q value %q is not JSON", fl.Key, fl.Value)
			}
		}
		// Members and Elements, which trust that what they are given is valid, find what the
		// validating scan finds, at every level.
		checkKnown(t, doc, fields)
	})
}

func checkKnown(t *testing.T, obj []byte, want []Field) {
	got, err := Members(obj, nil)
	if err != nil || len(got) != len(want) {
		t.Fatalf("Members(%q) = %d members, %v; the validating scan found %d", obj, len(got), err, len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Fatalf("Members(%q)[%d] = %q: %q, want %q: %q", obj, i, got[i].Key, got[i].Value, want[i].Key, want[i].Value)
		}
		checkValue(t, got[i].Value)
	}
}

func checkValue(t *testing.T, v []byte) {
	switch KindOf(v) {
	case Object:
		want, _, err := scanMembers(v, 0, 0, nil)
		if err != nil {
			t.Fatalf("member %q: %v", v, err)
		}
		checkKnown(t, v, want)
	case Array:
		var got [][]byte
		if err := Elements(v, func(e []byte) error { got = append(got, e); return nil }); err != nil {
			t.Fatalf("Elements(%q): %v", v, err)
		}
		var want []json.RawMessage
		if err := json.Unmarshal(v, &want); err != nil || len(want) != len(got) {
			t.Fatalf("Elements(%q) found %d elements, encoding/json %d (%v)", v, len(got), len(want), err)
		}
		for _, e := range got {
			if end, err := Skip(e, 0); err != nil || skipSpace(e, end) != len(e) {
				t.Fatalf("Elements(%q): element %q is not one value", v, e)
			}
			checkValue(t, e)
		}
	}
}

func BenchmarkScanChatRequest(b *testing.B) {
	doc := []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"` + strings.Repeat("Tell me about the weather. ", 40) + `"}],"temperature":0.7,"stream":false}`)
	fields := make([]Field, 0, 16)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if fields, err = ScanObject(doc, fields[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// plain8 must agree with a byte-by-byte check on every byte value in every position.
func TestPlain8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			word := []byte("abcdefgh")
			word[pos] = byte(c)
			if got := plain8(binary.LittleEndian.Uint64(word)); got != plain(byte(c)) {
				t.Fatalf("byte %#x at %d: plain8 = %v", c, pos, got)
			}
		}
	}
}
