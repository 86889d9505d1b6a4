package wasm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	f.Fuzz(func(t *testing.T, stage, key, org, reqID, model string, body, config []byte) {
		if _, err := rawjson.Document(body); err != nil {
			body = nil // the gateway only sends valid JSON bodies
		}
		if _, err := rawjson.Document(config); err != nil {
			config = nil
		}
		env := Envelope{Stage: Stage(stage), Body: body,
			Metadata: Metadata{RequestID: reqID, Model: model, Key: key, Org: org, Op: OpChat, Stream: true}}
		enc := AppendEnvelope(nil, env, config)
		var got struct {
			ABI      int             `json:"abi"`
			Stage    string          `json:"stage"`
			Body     json.RawMessage `json:"body"`
			Config   json.RawMessage `json:"config"`
			Metadata Metadata        `json:"metadata"`
		}
		if !json.Valid(enc) {
			t.Fatalf("not JSON: %s", enc)
		}
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatal(err)
		}
		if got.ABI != 1 || got.Stage != fixUTF8(stage) || got.Metadata.Key != fixUTF8(key) || got.Metadata.Org != fixUTF8(org) ||
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

// FuzzInstrument mutates small modules: the rewriter must never panic, and whenever wazero
// accepts the original, the rewriter must read it (unless it has no memory or uses a reserved
// name, which the host refuses anyway) and wazero must accept the rewritten module too.
func FuzzInstrument(f *testing.F) {
	f.Add(countdown)
	for _, name := range []string{"sizeguard", "shapes", "runaway", "startloop"} {
		f.Add(watModule(f, name))
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := instrument(bin)
		if !wazeroCanDecode(bin) {
			return
		}
		orig, origErr := rt.CompileModule(ctx, bin)
		if origErr != nil {
			return
		}
		orig.Close(ctx)
		if errors.Is(err, errNoMemory) || errors.Is(err, errReservedName) {
			return
		}
		if err != nil {
			t.Fatalf("wazero accepts the module but the rewriter cannot read it: %v\n% x", err, bin)
		}
		c, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero accepts the module but not its rewrite: %v\n% x", err, bin)
		}
		c.Close(ctx)
	})
}

// wazeroCanDecode reports whether wazero v1.12 can decode bin without running out of memory.
// Its decoder sizes slices by the counts a module claims before it reads the items, so one
// mutated count has it allocate gigabytes (a count of imports, of locals, a name's length…).
// This accepts a module only when every such count fits in the bytes left; it gives up on the
// sections it does not read (elements, names).
func wazeroCanDecode(bin []byte) bool {
	if len(bin) < 8 {
		return true // refused before anything is allocated
	}
	r := &reader{b: bin, i: 8}
	for r.i < len(r.b) {
		id := r.byte()
		size := int(r.u32())
		if r.err != nil {
			return true // refused before the section is decoded
		}
		if id == 0 && size > len(r.b)-r.i {
			return false // wazero allocates a custom section's declared size before reading it
		}
		// wazero decodes the start of a section that is cut short, so check what there is.
		body := r.b[r.i:min(r.i+size, len(r.b))]
		r.i += len(body)
		sr := &reader{b: body}
		// count reads a vector's length, which must fit in what is left of the section.
		count := func() uint32 {
			n := sr.u32()
			if sr.err == nil && int(n) > len(sr.b)-sr.i {
				sr.err = errTruncated
			}
			return n
		}
		name := func() { sr.bytes(int(count())) }
		valTypes := func() {
			for n := count(); n > 0 && sr.err == nil; n-- {
				if t := sr.byte(); t == 0x63 || t == 0x64 {
					sr.leb()
				}
			}
		}
		constExpr := func() {
			for sr.err == nil {
				switch op := sr.byte(); op {
				case 0x0b:
					return
				case 0x41, 0x42, 0x23, 0xd0, 0xd2:
					sr.leb()
				case 0x43:
					sr.bytes(4)
				case 0x44:
					sr.bytes(8)
				case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e:
				default:
					sr.err = errUnknownOpcode
				}
			}
		}
		switch id {
		case 0:
			if name := sr.name(); name == "name" {
				return false
			}
		case 1:
			for n := count(); n > 0 && sr.err == nil; n-- {
				sr.byte()
				valTypes()
				valTypes()
			}
		case 2:
			for n := count(); n > 0 && sr.err == nil; n-- {
				name()
				name()
				switch sr.byte() {
				case 0, 4:
					sr.leb()
				case 1:
					sr.byte()
					sr.limits()
				case 2:
					sr.limits()
				case 3:
					sr.byte()
					sr.byte()
				}
			}
		case 3, 4, 5, 6, 13:
			count()
		case 7:
			for n := count(); n > 0 && sr.err == nil; n-- {
				name()
				sr.byte()
				sr.leb()
			}
		case 9:
			return false
		case 10:
			for n := count(); n > 0 && sr.err == nil; n-- {
				code := &reader{b: sr.bytes(int(count()))}
				locals := uint64(0)
				for k := code.u32(); k > 0 && code.err == nil; k-- {
					locals += uint64(code.u32())
					code.byte()
				}
				if locals > 1<<16 {
					return false
				}
			}
		case 11:
			for n := count(); n > 0 && sr.err == nil; n-- {
				switch sr.u32() {
				case 0:
					constExpr()
				case 2:
					sr.leb()
					constExpr()
				}
				sr.bytes(int(count()))
			}
		}
		if sr.err != nil {
			return false
		}
	}
	return true
}
