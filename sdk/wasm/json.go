package iomwasm

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Value is one raw JSON value, usually a sub-slice of the document it was found in: reading a
// field costs a scan, never a decode into Go values, and a transform can splice a new value in
// its place (Splice) and leave the rest of the document byte for byte as it came.
//
// The methods are lenient: on a value that is not of the kind asked for, or not JSON at all,
// they return the zero result rather than panicking. The host only ever sends valid JSON.
type Value []byte

// Kind is the type of a JSON value.
type Kind uint8

const (
	Invalid Kind = iota
	Null
	Bool
	Number
	String
	Array
	Object
)

// Kind returns the value's type, from its first byte.
func (v Value) Kind() Kind {
	i := skipSpace(v, 0)
	if i >= len(v) {
		return Invalid
	}
	switch c := v[i]; {
	case c == 'n':
		return Null
	case c == 't' || c == 'f':
		return Bool
	case c == '"':
		return String
	case c == '[':
		return Array
	case c == '{':
		return Object
	case c == '-' || c >= '0' && c <= '9':
		return Number
	}
	return Invalid
}

// IsNull reports whether v is absent (empty) or null.
func (v Value) IsNull() bool { k := v.Kind(); return k == Null || k == Invalid }

// Get returns the member key of an object, or nil.
func (v Value) Get(key string) Value {
	var found Value
	v.Members(func(k []byte, val Value) bool {
		if string(k) == key {
			found = val
			return false
		}
		return true
	})
	return found
}

// Path follows keys through nested objects: v.Path("a", "b") is v.Get("a").Get("b").
func (v Value) Path(keys ...string) Value {
	for _, k := range keys {
		v = v.Get(k)
	}
	return v
}

// Members calls fn with each member of an object, in order, until fn returns false. A key with
// escapes is passed unescaped; others alias the document.
func (v Value) Members(fn func(key []byte, val Value) bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return
	}
	i = skipSpace(v, i+1)
	for i < len(v) && v[i] == '"' {
		kend := skipString(v, i)
		if kend < 0 {
			return
		}
		key := []byte(v[i+1 : kend-1])
		if hasEscape(key) {
			key = unescape(nil, v[i+1:kend-1])
		}
		i = skipSpace(v, kend)
		if i >= len(v) || v[i] != ':' {
			return
		}
		i = skipSpace(v, i+1)
		end := skipValue(v, i, 0)
		if end < 0 {
			return
		}
		if !fn(key, v[i:end]) {
			return
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
}

// Each calls fn with each element of an array, in order, until fn returns false.
func (v Value) Each(fn func(i int, elem Value) bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return
	}
	i = skipSpace(v, i+1)
	for n := 0; i < len(v) && v[i] != ']'; n++ {
		end := skipValue(v, i, 0)
		if end < 0 {
			return
		}
		if !fn(n, v[i:end]) {
			return
		}
		i = skipSpace(v, end)
		if i < len(v) && v[i] == ',' {
			i = skipSpace(v, i+1)
		}
	}
}

// Len returns the number of elements of an array (0 for anything else).
func (v Value) Len() int {
	n := 0
	v.Each(func(int, Value) bool { n++; return true })
	return n
}

// Str returns a string value, unescaped ("" for anything else).
func (v Value) Str() string {
	s, _ := v.Text()
	return s
}

// Text returns a string value, unescaped, and whether v is a string.
func (v Value) Text() (string, bool) {
	b, ok := v.TextBytes(nil)
	return string(b), ok
}

// TextBytes appends a string value, unescaped, to dst; it returns dst unchanged and false when
// v is not a string. It allocates nothing when dst has room.
func (v Value) TextBytes(dst []byte) ([]byte, bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '"' {
		return dst, false
	}
	end := skipString(v, i)
	if end < 0 {
		return dst, false
	}
	return unescape(dst, v[i+1:end-1]), true
}

// Int returns an integer number value.
func (v Value) Int() (int64, bool) {
	n, err := strconv.ParseInt(string(trimSpace(v)), 10, 64)
	if err != nil {
		f, ok := v.Float()
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		return int64(f), true
	}
	return n, true
}

// Float returns a number value.
func (v Value) Float() (float64, bool) {
	if v.Kind() != Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(trimSpace(v)), 64)
	return f, err == nil
}

// Bool returns true for the value true, false for anything else.
func (v Value) Bool() bool { return string(trimSpace(v)) == "true" }

// Valid reports whether v is exactly one well-formed JSON value.
func (v Value) Valid() bool {
	i := skipSpace(v, 0)
	end := skipValue(v, i, 0)
	return end >= 0 && validStrings(v[i:end]) && skipSpace(v, end) == len(v)
}

// Find returns the first object, breadth first through v's members and elements and the JSON
// held in its strings (such as a pipeline step's "text"), for which ok holds; nil if none does.
// It looks at 10000 values at most.
func (v Value) Find(ok func(Value) bool) Value {
	queue := []Value{v}
	for steps := 0; len(queue) > 0 && steps < 10000; steps++ {
		x := queue[0]
		queue = queue[1:]
		switch x.Kind() {
		case Object:
			if ok(x) {
				return x
			}
			x.Members(func(_ []byte, m Value) bool { queue = append(queue, m); return true })
		case Array:
			x.Each(func(_ int, e Value) bool { queue = append(queue, e); return true })
		case String:
			if s := trimSpace(Value(x.Str())); len(s) > 1 && (s[0] == '{' || s[0] == '[') && s.Valid() {
				queue = append(queue, s)
			}
		}
	}
	return nil
}

// Splice returns doc with the value old, which must be a sub-slice of doc (as every Value read
// from doc is), replaced by repl. The result is a new slice; doc is not modified.
func Splice(doc []byte, old Value, repl []byte) []byte {
	off := cap(doc) - cap(old)
	if off < 0 || off+len(old) > len(doc) {
		panic("iomwasm.Splice: old is not a sub-slice of doc")
	}
	out := make([]byte, 0, len(doc)-len(old)+len(repl))
	out = append(out, doc[:off]...)
	out = append(out, repl...)
	return append(out, doc[off+len(old):]...)
}

// AppendString appends s as a JSON string.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// AppendStringBytes appends b as a JSON string, without converting it to a string first.
func AppendStringBytes(dst, b []byte) []byte { return appendString(dst, b) }

func appendString[S string | []byte](dst []byte, s S) []byte {
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
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func decodeRune[S string | []byte](s S) (rune, int) {
	switch v := any(s).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	return utf8.RuneError, 1
}

// AppendFloat appends f as a JSON number (NaN and infinities, which JSON lacks, become 0).
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

func trimSpace(v Value) Value {
	i := skipSpace(v, 0)
	j := len(v)
	for j > i && (v[j-1] == ' ' || v[j-1] == '\t' || v[j-1] == '\n' || v[j-1] == '\r') {
		j--
	}
	return v[i:j]
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the offset just past the value at v[i], or -1 if it is not well-formed.
// Strings are delimited but their contents not validated (Valid does that).
func skipValue(v []byte, i, depth int) int {
	if i >= len(v) || depth > 512 {
		return -1
	}
	switch c := v[i]; {
	case c == '"':
		return skipString(v, i)
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = skipSpace(v, i+1)
		if i < len(v) && v[i] == closing {
			return i + 1
		}
		for {
			if c == '{' {
				if i >= len(v) || v[i] != '"' {
					return -1
				}
				if i = skipString(v, i); i < 0 {
					return -1
				}
				i = skipSpace(v, i)
				if i >= len(v) || v[i] != ':' {
					return -1
				}
				i = skipSpace(v, i+1)
			}
			if i = skipValue(v, i, depth+1); i < 0 {
				return -1
			}
			i = skipSpace(v, i)
			if i >= len(v) {
				return -1
			}
			if v[i] == closing {
				return i + 1
			}
			if v[i] != ',' {
				return -1
			}
			i = skipSpace(v, i+1)
		}
	case c == 't':
		return skipLiteral(v, i, "true")
	case c == 'f':
		return skipLiteral(v, i, "false")
	case c == 'n':
		return skipLiteral(v, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		start := i
		if v[i] == '-' {
			i++
		}
		digits := 0
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
			digits++
		}
		if digits == 0 || digits > 1 && v[start] == '0' || digits > 1 && v[start] == '-' && v[start+1] == '0' {
			return -1
		}
		if i < len(v) && v[i] == '.' {
			i++
			d := i
			for i < len(v) && v[i] >= '0' && v[i] <= '9' {
				i++
			}
			if i == d {
				return -1
			}
		}
		if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
			i++
			if i < len(v) && (v[i] == '+' || v[i] == '-') {
				i++
			}
			d := i
			for i < len(v) && v[i] >= '0' && v[i] <= '9' {
				i++
			}
			if i == d {
				return -1
			}
		}
		return i
	}
	return -1
}

func skipLiteral(v []byte, i int, lit string) int {
	if len(v)-i >= len(lit) && string(v[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// skipString returns the offset past the closing quote of the string at v[i] == '"', or -1.
func skipString(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '"':
			return i + 1
		case '\\':
			i++
		}
	}
	return -1
}

// validStrings checks the escapes, control characters and UTF-8 of every string in a value
// that skipValue accepted.
func validStrings(v []byte) bool {
	in := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !in {
			if c == '"' {
				in = true
			}
			continue
		}
		switch {
		case c == '"':
			in = false
		case c == '\\':
			if i+1 >= len(v) {
				return false
			}
			switch v[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+6 > len(v) || hex4(v[i+2:i+6]) < 0 {
					return false
				}
				i += 5
			default:
				return false
			}
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(v[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size - 1
		}
	}
	return !in
}

func hasEscape(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
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

// unescape appends the unescaped contents of a JSON string (without its quotes) to dst.
func unescape(dst, in []byte) []byte {
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' || i+1 >= len(in) {
			// Copy the run up to the next escape in one go.
			j := i + 1
			for j < len(in) && in[j] != '\\' {
				j++
			}
			dst = append(dst, in[i:j]...)
			i = j
			continue
		}
		switch in[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+6 > len(in) {
				return dst
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
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			dst = append(dst, in[i+1])
		}
		i += 2
	}
	return dst
}
