package wasm

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The host reads guest output with a small validating scanner rather than encoding/json: a
// transform's answer is mostly a body the host relays as raw bytes, so it only needs the spans
// of a few top-level members, and decoding the body into Go values would cost more than the
// guest call itself.

// maxDepth bounds nesting, so a hostile guest cannot exhaust the host's stack.
const maxDepth = 512

// member is one member of a JSON object: its key, unescaped, and its raw value.
type member struct {
	key   string
	value []byte
}

type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg + " at offset " + strconv.Itoa(e.off) }

func syntaxErr(off int, msg string) error { return &syntaxError{off, msg} }

var errNotObject = errors.New("expected a JSON object")

// scanObject validates data as exactly one JSON object and appends its members to fields.
func scanObject(data []byte, fields []member) ([]member, error) {
	i := skipSpace(data, 0)
	if i >= len(data) {
		return fields, syntaxErr(i, "unexpected end of JSON input")
	}
	if data[i] != '{' {
		if _, err := skipDocument(data); err != nil {
			return fields, err
		}
		return fields, errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		i++
	} else {
		for {
			if i >= len(data) || data[i] != '"' {
				return fields, syntaxErr(i, "expected a string key in object")
			}
			kend, err := skipString(data, i)
			if err != nil {
				return fields, err
			}
			key, _ := unquote(data[i:kend])
			i = skipSpace(data, kend)
			if i >= len(data) || data[i] != ':' {
				return fields, syntaxErr(i, "expected ':' after object key")
			}
			i = skipSpace(data, i+1)
			vend, err := skipValue(data, i, 1)
			if err != nil {
				return fields, err
			}
			fields = append(fields, member{key: key, value: data[i:vend]})
			i = skipSpace(data, vend)
			if i >= len(data) {
				return fields, syntaxErr(i, "unexpected end of JSON input")
			}
			if data[i] == '}' {
				i++
				break
			}
			if data[i] != ',' {
				return fields, syntaxErr(i, "expected ',' or '}' in object")
			}
			i = skipSpace(data, i+1)
		}
	}
	if j := skipSpace(data, i); j != len(data) {
		return fields, syntaxErr(j, "unexpected data after top-level value")
	}
	return fields, nil
}

// skipDocument validates data as exactly one JSON value and returns its span without spaces.
func skipDocument(data []byte) ([]byte, error) {
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

func get(fields []member, key string) []byte {
	for i := range fields {
		if fields[i].key == key {
			return fields[i].value
		}
	}
	return nil
}

func skipValue(data []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, syntaxErr(i, "JSON nested too deeply")
	}
	if i >= len(data) {
		return i, syntaxErr(i, "unexpected end of JSON input")
	}
	switch c := data[i]; c {
	case '{', '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == closing {
			return i + 1, nil
		}
		for {
			var err error
			if c == '{' {
				if i >= len(data) || data[i] != '"' {
					return i, syntaxErr(i, "expected a string key in object")
				}
				if i, err = skipString(data, i); err != nil {
					return i, err
				}
				i = skipSpace(data, i)
				if i >= len(data) || data[i] != ':' {
					return i, syntaxErr(i, "expected ':' after object key")
				}
				i = skipSpace(data, i+1)
			}
			if i, err = skipValue(data, i, depth+1); err != nil {
				return i, err
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return i, syntaxErr(i, "unexpected end of JSON input")
			}
			if data[i] == closing {
				return i + 1, nil
			}
			if data[i] != ',' {
				return i, syntaxErr(i, "expected ',' or '"+string(closing)+"'")
			}
			i = skipSpace(data, i+1)
		}
	case '"':
		return skipString(data, i)
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
	digits := func() int {
		d := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i - d
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		digits()
	default:
		return i, syntaxErr(start, "invalid number")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			return i, syntaxErr(start, "invalid number")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, syntaxErr(start, "invalid number")
		}
	}
	return i, nil
}

// skipString validates the string at data[i] == '"' and returns the offset past its closing quote.
func skipString(data []byte, i int) (int, error) {
	start := i
	for i++; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(data) {
				return i, syntaxErr(i, "unexpected end of string escape")
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(data)-i < 6 || hex4(data[i+2:i+6]) < 0 {
					return i, syntaxErr(i, "invalid \\u escape in string")
				}
				i += 6
			default:
				return i, syntaxErr(i, "invalid escape in string")
			}
		case c < 0x20:
			return i, syntaxErr(i, "control character in string")
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return i, syntaxErr(i, "invalid UTF-8 in string")
			}
			i += size
		}
	}
	return start, syntaxErr(start, "unterminated string")
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// unquote returns the value of the validated JSON string v, and false if v is not a string.
func unquote(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	in := v[1 : len(v)-1]
	esc := -1
	for i, c := range in {
		if c == '\\' {
			esc = i
			break
		}
	}
	if esc < 0 {
		return string(in), true
	}
	out := make([]byte, 0, len(in))
	out = append(out, in[:esc]...)
	for i := esc; i < len(in); {
		c := in[i]
		if c != '\\' || i+1 >= len(in) {
			out = append(out, c)
			i++
			continue
		}
		switch in[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+6 > len(in) {
				return string(out), true
			}
			r := hex4(in[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) && i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u' {
				if r2 := utf16.DecodeRune(r, hex4(in[i+2:i+6])); r2 != utf8.RuneError {
					r = r2
					i += 6
				}
			}
			if r < 0 || utf16.IsSurrogate(r) {
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, in[i+1])
		}
		i += 2
	}
	return string(out), true
}

// appendQuoted appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, so the result is
// always valid JSON whatever a header or metadata value held.
func appendQuoted(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
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
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
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

// appendRaw appends v, or null when v is empty, so an absent value still makes valid JSON.
func appendRaw(dst, v []byte) []byte {
	if len(v) == 0 {
		return append(dst, "null"...)
	}
	return append(dst, v...)
}

// decodeStringMap reads a JSON object of strings; a value that is not a string is an error.
func decodeStringMap(v []byte) (map[string]string, error) {
	var buf [16]member
	fields, err := scanObject(v, buf[:0])
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(fields))
	for _, f := range fields {
		s, ok := unquote(f.value)
		if !ok {
			return nil, errors.New("value of " + strconv.Quote(f.key) + " is not a string")
		}
		m[f.key] = s
	}
	return m, nil
}
