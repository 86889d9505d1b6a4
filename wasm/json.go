package wasm

import (
	"errors"
	"strconv"

	"github.com/iomhq/iom/gateway/rawjson"
)

// The host reads guest output with rawjson's validating scanner rather than encoding/json: a
// transform's answer is mostly a body the host relays as raw bytes, so it only needs the spans
// of a few top-level members, and decoding the body into Go values would cost more than the
// guest call itself.

// appendRaw appends v, or null when v is empty, so an absent value still makes valid JSON.
func appendRaw(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, v...)
}

// decodeStringMap reads a JSON object of strings; a value that is not a string is an error.
func decodeStringMap(v []byte) (map[string]string, error) {
	var buf [16]rawjson.Field
	fields, err := rawjson.ScanObject(v, buf[:0])
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		s, ok := rawjson.String(f.Value)
		if !ok {
			return nil, errors.New("value of " + strconv.Quote(string(f.Key)) + " is not a string")
		}
		m[string(f.Key)] = s
	}
	return m, nil
}
