package server

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"

	"github.com/iomhq/iom/gateway/fault"
	"github.com/iomhq/iom/gateway/rawjson"
)

// vectorShape is what an embeddings request asks of its vectors: OpenAI's encoding_format
// ("float", the default, or "base64": little-endian float32s) and dimensions. The official SDKs
// ask for base64 unless told otherwise, and decode whatever comes as base64.
type vectorShape struct {
	base64     bool
	dimensions int
}

// readVectorShape reads encoding_format and dimensions from an embeddings request.
func readVectorShape(fields []rawjson.Field) (vectorShape, *fault.Error) {
	var s vectorShape
	switch v := rawjson.Get(fields, "encoding_format"); string(v) {
	case "", "null", `"float"`:
	case `"base64"`:
		s.base64 = true
	default:
		return s, fault.Invalid("encoding_format", "encoding_format must be \"float\" or \"base64\", got %s", describe(v))
	}
	if v := rawjson.Get(fields, "dimensions"); v != nil && string(v) != "null" {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			return s, fault.Invalid("dimensions", "dimensions must be a positive integer, got %s", describe(v))
		}
		s.dimensions = n
	}
	return s, nil
}

// shapeEmbeddings makes an embeddings answer's vectors what the request asked, whatever the
// upstream did with the request: an upstream that honoured it (OpenAI) is left alone, one that
// did not (a local model, Ollama, a server without base64) is converted. A vector longer than
// dimensions is cut to it and scaled back to unit length, as OpenAI's shortened embeddings are.
func shapeEmbeddings(body []byte, s vectorShape) ([]byte, *fault.Error) {
	if !s.base64 && s.dimensions == 0 && !bytes.Contains(body, []byte(`"embedding":"`)) {
		return body, nil // floats asked and given
	}
	var answer map[string]json.RawMessage
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fault.Upstream(0, "the embeddings answer is not a JSON object: %v", err)
	}
	var data []map[string]json.RawMessage
	if err := json.Unmarshal(answer["data"], &data); err != nil {
		return nil, fault.Upstream(0, "the embeddings answer's data is not a list of objects: %v", err)
	}
	changed := false
	for i, item := range data {
		vec, wasString, err := decodeVector(item["embedding"])
		if err != nil {
			return nil, fault.Upstream(0, "embedding %d: %v", i, err)
		}
		cut := s.dimensions > 0 && len(vec) > s.dimensions
		if cut {
			vec = normalize(vec[:s.dimensions])
		}
		if !cut && wasString == s.base64 {
			continue
		}
		if item["embedding"], err = encodeVector(vec, s.base64); err != nil {
			return nil, fault.Upstream(0, "embedding %d: %v", i, err)
		}
		changed = true
	}
	if !changed {
		return body, nil
	}
	answer["data"], _ = json.Marshal(data)
	out, err := json.Marshal(answer)
	if err != nil {
		return nil, fault.Internal("cannot encode the embeddings answer: %v", err)
	}
	return out, nil
}

// decodeVector reads a vector given as a JSON array of numbers or a base64 string of
// little-endian float32s.
func decodeVector(raw json.RawMessage) (vec []float64, wasString bool, err error) {
	var str string
	if json.Unmarshal(raw, &str) == nil {
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil || len(b)%4 != 0 {
			return nil, true, strconv.ErrSyntax
		}
		vec = make([]float64, len(b)/4)
		for i := range vec {
			vec[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
		}
		return vec, true, nil
	}
	if err := json.Unmarshal(raw, &vec); err != nil {
		return nil, false, err
	}
	return vec, false, nil
}

// encodeVector writes vec as a JSON array, or as base64 of little-endian float32s.
func encodeVector(vec []float64, asBase64 bool) (json.RawMessage, error) {
	if !asBase64 {
		return json.Marshal(vec) // fails on NaN and infinities, which JSON cannot carry
	}
	b := make([]byte, 4*len(vec))
	for i, f := range vec {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(f)))
	}
	return json.RawMessage(strconv.Quote(base64.StdEncoding.EncodeToString(b))), nil
}

// normalize scales vec to unit length (a zero vector stays as it is).
func normalize(vec []float64) []float64 {
	var sum float64
	for _, f := range vec {
		sum += f * f
	}
	if sum == 0 {
		return vec
	}
	n := math.Sqrt(sum)
	for i := range vec {
		vec[i] /= n
	}
	return vec
}
