// Package rawjson scans and splices JSON documents without decoding them into Go values, so the
// data plane reads a handful of fields (model, stream, usage) from bodies it relays unchanged
// with no allocations or reflection. It validates the whole document as RFC 8259 JSON, so a body
// the gateway accepts is one every upstream parser accepts too. It must not import anything of
// the gateway.
package rawjson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// MaxDepth bounds nesting, so a hostile document cannot exhaust the stack.
const MaxDepth = 512

// Field is one member of an object: its key (unescaped only when it had escapes) and the raw
// bytes of its value, both pointing into the scanned document.
type Field struct {
	Key   []byte
	Value []byte
}

// SyntaxError says where a document stops being JSON.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return e.Msg + " at offset " + strconv.Itoa(e.Offset)
}

func syntaxErr(off int, msg string) error { return &SyntaxError{Offset: off, Msg: msg} }

// ErrNotObject is returned by ScanObject for a document that is valid JSON but not an object.
var ErrNotObject = errors.New("expected a JSON object")

// ScanObject validates data as one JSON object and appends its members, in order, to fields.
func ScanObject(data []byte, fields []Field) ([]Field, error) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return fields, syntaxErr(i, "unexpected end of JSON input")
	}
	if data[i] != '{' {
		if end, err := skipValue(data, i, 0); err != nil {
			return fields, err
		} else if skipSpace(data, end) != len(data) {
			return fields, syntaxErr(end, "unexpected data after top-level value")
		}
		return fields, ErrNotObject
	}
	fields, end, err := scanMembers(data, i, 0, fields)
	if err != nil {
		return fields, err
	}
	if j := skipSpace(data, end); j != len(data) {
		return fields, syntaxErr(j, "unexpected data after top-level value")
	}
	return fields, nil
}

// Members appends the members of the object value v to fields. v must be valid JSON (a value of
// a document ScanObject, Skip or Document accepted): Members looks only for where strings and
// values end, which is several times cheaper than validating them again. On anything else it
// stops early, without reading out of bounds.
func Members(v []byte, fields []Field) ([]Field, error) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return fields, ErrNotObject
	}
	i = skipSpace(v, i+1)
	for i < len(v) && v[i] == '"' {
		kend := skipKnownString(v, i)
		if kend < i+2 || v[kend-1] != '"' {
			return fields, syntaxErr(i, "unterminated string")
		}
		key := v[i+1 : kend-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = unescape(v[i:kend])
		}
		i = skipSpace(v, kend)
		if i >= len(v) || v[i] != ':' {
			return fields, syntaxErr(i, "expected ':' after object key")
		}
		i = skipSpace(v, i+1)
		end := skipKnown(v, i)
		fields = append(fields, Field{Key: key, Value: v[i:end]})
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return fields, nil
}

// Elements calls fn with each element of the array value v, which must be valid JSON as for
// Members.
func Elements(v []byte, fn func(elem []byte) error) error {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return errors.New("expected a JSON array")
	}
	i = skipSpace(v, i+1)
	for i < len(v) && v[i] != ']' {
		end := skipKnown(v, i)
		if end == i {
			return syntaxErr(i, "expected a value in array")
		}
		if err := fn(v[i:end]); err != nil {
			return err
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
	return nil
}

// skipKnown returns the offset just past the value that starts at data[i], which is known to be
// valid JSON: it looks only for the end of strings and for the matching bracket.
func skipKnown(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipKnownString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipKnownString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(data) { // a number or a literal
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipKnownString returns the offset past the closing quote of the valid string that starts at
// data[i].
func skipKnownString(data []byte, i int) int {
	start := i
	i++
	for {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return len(data)
		}
		i += j
		k := i // a quote ends the string unless an odd run of backslashes escapes it
		for k > start+1 && data[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i + 1
		}
		i++
	}
}

func scanMembers(data []byte, i, depth int, fields []Field) ([]Field, int, error) {
	// data[i] == '{'
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return fields, i + 1, nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return fields, i, syntaxErr(i, "expected a string key in object")
		}
		kend, escaped, err := skipString(data, i)
		if err != nil {
			return fields, i, err
		}
		key := data[i+1 : kend-1]
		if escaped {
			key = unescape(data[i:kend])
		}
		i = skipSpace(data, kend)
		if i >= len(data) || data[i] != ':' {
			return fields, i, syntaxErr(i, "expected ':' after object key")
		}
		i = skipSpace(data, i+1)
		vend, err := skipValue(data, i, depth+1)
		if err != nil {
			return fields, i, err
		}
		fields = append(fields, Field{Key: key, Value: data[i:vend]})
		i = skipSpace(data, vend)
		if i >= len(data) {
			return fields, i, syntaxErr(i, "unexpected end of JSON input")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return fields, i + 1, nil
		default:
			return fields, i, syntaxErr(i, "expected ',' or '}' in object")
		}
	}
}

// Document validates data as exactly one JSON value and returns its span without the white
// space around it.
func Document(data []byte) ([]byte, error) {
	i := skipSpace(data, 0)
	end, err := skipValue(data, i, 0)
	if err != nil {
		return nil, err
	}
	if j := skipSpace(data, end); j != len(data) {
		return nil, syntaxErr(j, "unexpected data after top-level value")
	}
	return data[i:end], nil
}

// Skip validates the value starting at data[i] and returns the offset just past it.
func Skip(data []byte, i int) (int, error) { return skipValue(data, skipSpace(data, i), 0) }

func skipValue(data []byte, i, depth int) (int, error) {
	if depth > MaxDepth {
		return i, syntaxErr(i, "JSON nested too deeply")
	}
	if i >= len(data) {
		return i, syntaxErr(i, "unexpected end of JSON input")
	}
	switch c := data[i]; c {
	case '{':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(data) || data[i] != '"' {
				return i, syntaxErr(i, "expected a string key in object")
			}
			end, _, err := skipString(data, i)
			if err != nil {
				return i, err
			}
			i = skipSpace(data, end)
			if i >= len(data) || data[i] != ':' {
				return i, syntaxErr(i, "expected ':' after object key")
			}
			if i, err = skipValue(data, skipSpace(data, i+1), depth+1); err != nil {
				return i, err
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return i, syntaxErr(i, "unexpected end of JSON input")
			}
			if data[i] == '}' {
				return i + 1, nil
			}
			if data[i] != ',' {
				return i, syntaxErr(i, "expected ',' or '}' in object")
			}
			i = skipSpace(data, i+1)
		}
	case '[':
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipValue(data, i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return i, syntaxErr(i, "unexpected end of JSON input")
			}
			if data[i] == ']' {
				return i + 1, nil
			}
			if data[i] != ',' {
				return i, syntaxErr(i, "expected ',' or ']' in array")
			}
			i = skipSpace(data, i+1)
		}
	case '"':
		end, _, err := skipString(data, i)
		return end, err
	case 't':
		return skipLiteral(data, i, "true")
	case 'f':
		return skipLiteral(data, i, "false")
	case 'n':
		return skipLiteral(data, i, "null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return skipNumber(data, i)
		}
		return i, syntaxErr(i, "invalid character "+strconv.QuoteRune(rune(c))+" looking for a value")
	}
}

func skipLiteral(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, syntaxErr(i, "invalid literal, expected "+lit)
	}
	return i + len(lit), nil
}

func skipNumber(data []byte, i int) (int, error) {
	start := i
	if data[i] == '-' {
		i++
	}
	if i >= len(data) {
		return i, syntaxErr(start, "invalid number")
	}
	switch {
	case data[i] == '0':
		i++
	case data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return i, syntaxErr(start, "invalid number")
	}
	if i < len(data) && data[i] == '.' {
		i++
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return i, syntaxErr(start, "invalid number")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == d {
			return i, syntaxErr(start, "invalid number")
		}
	}
	return i, nil
}

// skipString validates the string starting at data[i] == '"' and returns the offset past its
// closing quote and whether it holds escapes.
func skipString(data []byte, i int) (int, bool, error) {
	start := i
	i++
	escaped := false
	for i < len(data) {
		// Eight bytes at a time while none of them ends the string, escapes, is a control
		// character or starts a multi-byte sequence: most of a prompt is plain ASCII text.
		for i+8 <= len(data) && plain8(binary.LittleEndian.Uint64(data[i:])) {
			i += 8
		}
		if i >= len(data) {
			break
		}
		c := data[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				return i, escaped, syntaxErr(i, "unexpected end of string escape")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(data)-i < 6 || !isHex4(data[i+2:i+6]) {
					return i, escaped, syntaxErr(i, "invalid \\u escape in string")
				}
				i += 6
			default:
				return i, escaped, syntaxErr(i, "invalid escape in string")
			}
		case c < 0x20:
			return i, escaped, syntaxErr(i, "control character in string")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return i, escaped, syntaxErr(i, "invalid UTF-8 in string")
			}
			i += size
		}
	}
	return start, escaped, syntaxErr(start, "unterminated string")
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether none of the eight bytes in x is '"', '\\', below 0x20 or above 0x7f.
func plain8(x uint64) bool {
	quote := x ^ (ones * '"')
	backslash := x ^ (ones * '\\')
	// A byte b of v is zero (or below n) when (b - n) borrows into its high bit while b's own
	// high bit is clear; x's high bits are checked on their own.
	special := (quote-ones) & ^quote | (backslash-ones) & ^backslash | (x-ones*0x20) & ^x
	return (special|x)&highs == 0
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func unescape(quoted []byte) []byte {
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return quoted[1 : len(quoted)-1]
	}
	return []byte(s)
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// String returns the value of a JSON string v (already validated), and false if v is not a string.
func String(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	return string(unescape(v)), true
}

// StringBytes is String without a copy when v has no escapes; the result aliases v.
func StringBytes(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner, true
	}
	return unescape(v), true
}

// Int returns the value of a JSON number v that is a non-negative integer.
func Int(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// Kind classifies a value by its first byte.
type Kind uint8

const (
	Invalid Kind = iota
	Null
	Bool
	Number
	StringKind
	Array
	Object
)

// KindOf classifies the raw value v.
func KindOf(v []byte) Kind {
	if len(v) == 0 {
		return Invalid
	}
	switch c := v[0]; {
	case c == '{':
		return Object
	case c == '[':
		return Array
	case c == '"':
		return StringKind
	case c == 't' || c == 'f':
		return Bool
	case c == 'n':
		return Null
	case c == '-' || (c >= '0' && c <= '9'):
		return Number
	}
	return Invalid
}

func (k Kind) String() string {
	return [...]string{"invalid", "null", "boolean", "number", "string", "array", "object"}[k]
}

// Get returns the value of the first member named key, or nil.
func Get(fields []Field, key string) []byte {
	for i := range fields {
		if string(fields[i].Key) == key {
			return fields[i].Value
		}
	}
	return nil
}

// AppendString appends s to dst as a JSON string.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hex = "0123456789abcdef"
