package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"

	"github.com/iomhq/iom/gateway/rawjson"
)

func base64Vector(v ...float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// An embeddings answer is made what the request asked, whichever form the upstream gave.
func TestShapeEmbeddings(t *testing.T) {
	floats := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[3,4,0.5]}],"usage":{"prompt_tokens":1}}`
	b64 := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":"` + base64Vector(3, 4, 0.5) + `"}],"usage":{"prompt_tokens":1}}`
	vector := func(t *testing.T, body []byte) any {
		var a struct {
			Data  []struct{ Embedding any } `json:"data"`
			Usage map[string]int            `json:"usage"`
		}
		if err := json.Unmarshal(body, &a); err != nil || len(a.Data) != 1 || a.Usage["prompt_tokens"] != 1 {
			t.Fatalf("answer %s: %v", body, err)
		}
		return a.Data[0].Embedding
	}
	tests := []struct {
		name, in string
		shape    vectorShape
		want     any
	}{
		{"floats asked and given", floats, vectorShape{}, []any{3.0, 4.0, 0.5}},
		{"base64 asked, floats given", floats, vectorShape{base64: true}, base64Vector(3, 4, 0.5)},
		{"base64 asked and given", b64, vectorShape{base64: true}, base64Vector(3, 4, 0.5)},
		{"floats asked, base64 given", b64, vectorShape{}, []any{3.0, 4.0, 0.5}},
		{"shortened", floats, vectorShape{dimensions: 2}, []any{0.6, 0.8}},
		{"shortened, base64", b64, vectorShape{base64: true, dimensions: 2}, base64Vector(0.6, 0.8)},
		{"dimensions above the length", floats, vectorShape{dimensions: 8}, []any{3.0, 4.0, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, fe := shapeEmbeddings([]byte(tt.in), tt.shape)
			if fe != nil {
				t.Fatal(fe)
			}
			got := vector(t, out)
			if g, ok := got.([]any); ok {
				w := tt.want.([]any)
				for i := range w {
					if len(g) != len(w) || math.Abs(g[i].(float64)-w[i].(float64)) > 1e-6 {
						t.Fatalf("got %v, want %v", got, tt.want)
					}
				}
				return
			}
			if got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, fe := shapeEmbeddings([]byte(`{"data":[{"embedding":"not base64!"}]}`), vectorShape{}); fe == nil {
		t.Fatal("a broken base64 vector should fail")
	}
}

func TestReadVectorShape(t *testing.T) {
	for body, want := range map[string]string{
		`{"encoding_format":"base64","dimensions":64}`: "",
		`{"encoding_format":"float"}`:                  "",
		`{"encoding_format":"int8"}`:                   `encoding_format must be "float" or "base64", got string "int8"`,
		`{"dimensions":0}`:                             "dimensions must be a positive integer, got number 0",
		`{"dimensions":"64"}`:                          `dimensions must be a positive integer, got string "64"`,
	} {
		fields, err := rawjson.ScanObject([]byte(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, fe := readVectorShape(fields)
		if (fe == nil) != (want == "") || fe != nil && fe.Message != want {
			t.Errorf("%s: got %v, want %q", body, fe, want)
		}
	}
}
