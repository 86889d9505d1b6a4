package rawjson

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// AppendFloat formats f as encoding/json does: the shortest representation, with an exponent
// only for very large or small values.
func AppendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// AppendValue appends v as compact JSON, with object keys sorted as encoding/json sorts them.
// The values encoding/json decodes into an any (maps, slices, strings, float64s, bools, nil)
// and a few common Go types are written directly; any other type goes through encoding/json.
// Unlike encoding/json it does not escape <, > and & in strings.
func AppendValue(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, t), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return dst, fmt.Errorf("unsupported value: %v", t)
		}
		return AppendFloat(dst, t), nil
	case int:
		return strconv.AppendInt(dst, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(dst, t, 10), nil
	case json.Number:
		return append(dst, t...), nil
	case json.RawMessage:
		if len(t) == 0 {
			return append(dst, "null"...), nil
		}
		return append(dst, t...), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendValue(dst, e); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(AppendString(dst, k), ':')
			var err error
			if dst, err = AppendValue(dst, t[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// ObjectWriter writes a JSON object onto B member by member, in the order of the calls, until
// End returns it. Member names are written as they are, so they must need no escaping; an omit
// argument leaves the member out when its value is the zero value, as `omitempty` does.
type ObjectWriter struct {
	B    []byte
	open bool
}

// Key writes a member's name; the caller appends its value to B.
func (o *ObjectWriter) Key(name string) {
	if o.open {
		o.B = append(o.B, ',', '"')
	} else {
		o.B = append(o.B, '{', '"')
		o.open = true
	}
	o.B = append(o.B, name...)
	o.B = append(o.B, '"', ':')
}

// Str writes a string member.
func (o *ObjectWriter) Str(name, v string, omit bool) {
	if v == "" && omit {
		return
	}
	o.Key(name)
	o.B = AppendString(o.B, v)
}

// Num writes a number member.
func (o *ObjectWriter) Num(name string, v float64, omit bool) {
	if v == 0 && omit {
		return
	}
	o.Key(name)
	o.B = AppendFloat(o.B, v)
}

// Int writes an integer member.
func (o *ObjectWriter) Int(name string, v int64, omit bool) {
	if v == 0 && omit {
		return
	}
	o.Key(name)
	o.B = strconv.AppendInt(o.B, v, 10)
}

// Bool writes a boolean member.
func (o *ObjectWriter) Bool(name string, v, omit bool) {
	if !v && omit {
		return
	}
	o.Key(name)
	o.B = strconv.AppendBool(o.B, v)
}

// Time writes a time member as encoding/json does (RFC 3339 with nanoseconds).
func (o *ObjectWriter) Time(name string, t time.Time) {
	o.Key(name)
	o.B = append(o.B, '"')
	o.B = t.AppendFormat(o.B, time.RFC3339Nano)
	o.B = append(o.B, '"')
}

// End closes the object and returns the buffer.
func (o *ObjectWriter) End() []byte {
	if !o.open {
		return append(o.B, '{', '}')
	}
	return append(o.B, '}')
}
