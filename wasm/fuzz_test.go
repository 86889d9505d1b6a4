package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iomhq/iom/gateway/rawjson"
	"github.com/tetratelabs/wazero"
)

// FuzzGuestOutput feeds arbitrary guest output to every role's decoder. None may panic; what
// they accept must be valid JSON where the gateway relays it, and the scanner must agree with
// encoding/json about which outputs are JSON objects.
func FuzzGuestOutput(f *testing.F) {
	for _, s := range []string{
		`{"body":{"a":1},"headers":{"x":"y"}}`, `{"drop":true}`, `{"error":{"message":"m","code":"c","status":429}}`,
		`{"error":"plain"}`, `{"method":"GET","url":"https://x/y","headers":{"a":"b"},"body":"text"}`,
		`{"response":{"usage":{"prompt_tokens":1}}}`, `{"body":` + strings.Repeat("[", 600) + `}`, `{"a":"\ud800"}`, "\"\xff\"", ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		var buf [8]rawjson.Field
		_, scanErr := rawjson.ScanObject(out, buf[:0])
		isObject := json.Valid(out) && utf8.Valid(out) && bytes.HasPrefix(bytes.TrimLeft(out, " \t\r\n"), []byte("{"))
		if (scanErr == nil) != isObject && depth(out) <= rawjson.MaxDepth {
			t.Fatalf("rawjson.ScanObject(%q) error %v, but encoding/json says object=%v", out, scanErr, isObject)
		}
		res, err := decodeTransform("p", ExportTransformChunk, out)
		if err == nil && res.Body != nil && !json.Valid(res.Body) {
			t.Fatalf("accepted a body that is not JSON: %q", res.Body)
		}
		if err != nil && len(out) == 0 {
			t.Fatalf("empty output is unchanged, not %v", err)
		}
		if req, err := decodeHTTPRequest("p", out); err == nil {
			if !strings.HasPrefix(req.URL, "http") || req.Method == "" || req.Headers == nil {
				t.Fatalf("accepted request %+v", req)
			}
		}
		if resp, err := decodeResponse("p", ExportInfer, OpChat, out); err == nil && !json.Valid(resp) {
			t.Fatalf("accepted a response that is not JSON: %q", resp)
		}
	})
}

func depth(b []byte) int {
	d, m := 0, 0
	for _, c := range b {
		switch c {
		case '{', '[':
			d++
			m = max(m, d)
		case '}', ']':
			d--
		}
	}
	return m
}

// FuzzEnvelope encodes envelopes with arbitrary strings: the result must be JSON that decodes
// back to the same values (invalid UTF-8 replaced, byte by byte, with U+FFFD).
func FuzzEnvelope(f *testing.F) {
	f.Add("request", "x-key", "v\"al\\ue\n", "req-1", "model", []byte(`{"a":[1,2]}`), []byte(`null`))
	f.Add("chunk", "", "\xff\xfe", "\u2028", "é😀", []byte(`"s"`), []byte(`{"k":true}`))
	f.Fuzz(func(t *testing.T, stage, hk, hv, reqID, model string, body, config []byte) {
		if _, err := rawjson.Document(body); err != nil {
			body = nil // the gateway only sends valid JSON bodies
		}
		if _, err := rawjson.Document(config); err != nil {
			config = nil
		}
		env := Envelope{Stage: Stage(stage), Body: body, Headers: map[string]string{hk: hv},
			Metadata: Metadata{RequestID: reqID, Model: model, Op: OpChat, Stream: true}}
		enc := AppendEnvelope(nil, env, config)
		var got struct {
			ABI      int               `json:"abi"`
			Stage    string            `json:"stage"`
			Body     json.RawMessage   `json:"body"`
			Headers  map[string]string `json:"headers"`
			Config   json.RawMessage   `json:"config"`
			Metadata Metadata          `json:"metadata"`
		}
		if !json.Valid(enc) {
			t.Fatalf("not JSON: %s", enc)
		}
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatal(err)
		}
		if got.ABI != 1 || got.Stage != fixUTF8(stage) || got.Headers[fixUTF8(hk)] != fixUTF8(hv) ||
			got.Metadata.RequestID != fixUTF8(reqID) || got.Metadata.Model != fixUTF8(model) || !got.Metadata.Stream {
			t.Fatalf("round trip of %q: %+v", enc, got)
		}
		if len(body) > 0 && !bytes.Equal(got.Body, bytes.TrimSpace(body)) {
			t.Fatalf("body %s became %s", body, got.Body)
		}
	})
}

func fixUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for each invalid byte
		i += n
	}
	return b.String()
}

// FuzzInstrument mutates a small module: the rewriter must never panic, and whenever wazero
// accepts the original, it must accept the rewritten module too.
func FuzzInstrument(f *testing.F) {
	f.Add(countdown)
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := instrument(bin)
		if err != nil {
			return
		}
		orig, origErr := rt.CompileModule(ctx, bin)
		if origErr != nil {
			return
		}
		orig.Close(ctx)
		c, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero accepts the module but not its rewrite: %v\n% x", err, bin)
		}
		c.Close(ctx)
	})
}
