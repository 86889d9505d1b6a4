// Package decode turns parsed YAML or JSON into typed structs strictly: unknown fields and wrong
// types are errors carrying the path of the value at fault (`models[2].latency: expected a number,
// got string "fast"`), the same for the config file and the admin API. Fields are matched by
// their json tag exactly (no case folding); values of type any keep the generic value, with
// numbers as json.Number.
package decode

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/iomhq/iom/gateway/rawjson"
)

// Error is one problem at one path.
type Error struct {
	Path string
	Msg  string
}

func (e Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Errors is every problem found in one document, in document order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es as an error, or nil when empty.
func (es Errors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Add appends a problem at path.
func (es *Errors) Add(path, format string, args ...any) {
	*es = append(*es, Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Join returns a path for key under base (`models[2]` + `id` → `models[2].id`).
func Join(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

// Index returns the path of element i under base.
func Index(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

// ParseJSON parses data into a generic value with numbers as json.Number, rejecting trailing data
// and duplicate keys.
func ParseJSON(data []byte) (any, error) {
	end, err := rawjson.Skip(data, 0)
	if err == nil && len(bytes.TrimSpace(data[end:])) > 0 {
		err = errors.New("unexpected data after the top-level value")
	}
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if key, ok := duplicateKey(data); ok {
		return nil, fmt.Errorf("invalid JSON: duplicate key %q", key)
	}
	return v, nil
}

// JSON parses data and decodes it into dst.
func JSON(data []byte, dst any) Errors {
	v, err := ParseJSON(data)
	if err != nil {
		return Errors{{Msg: err.Error()}}
	}
	return Into(v, dst, "")
}

// Into decodes the generic value src into dst, which must be a non-nil pointer.
func Into(src any, dst any, path string) Errors {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("decode: Into needs a non-nil pointer")
	}
	var es Errors
	decodeValue(src, rv.Elem(), path, &es)
	return es
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessage      = reflect.TypeFor[json.RawMessage]()
	anyType         = reflect.TypeFor[any]()
)

func decodeValue(src any, dst reflect.Value, path string, es *Errors) {
	if src == nil {
		dst.SetZero()
		return
	}
	t := dst.Type()
	if t == rawMessage {
		b, err := json.Marshal(Normalize(src))
		if err != nil {
			es.Add(path, "%v", err)
			return
		}
		dst.SetBytes(b)
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		s, ok := src.(string)
		if !ok {
			es.Add(path, "expected a string, got %s", describe(src))
			return
		}
		if err := dst.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			es.Add(path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		v := reflect.New(t.Elem())
		decodeValue(src, v.Elem(), path, es)
		dst.Set(v)
	case reflect.Interface:
		if t != anyType {
			es.Add(path, "cannot decode into %s", t)
			return
		}
		dst.Set(reflect.ValueOf(Normalize(src)))
	case reflect.Struct:
		m, ok := src.(map[string]any)
		if !ok {
			es.Add(path, "expected an object, got %s", describe(src))
			return
		}
		decodeStruct(m, dst, path, es)
	case reflect.Map:
		m, ok := src.(map[string]any)
		if !ok {
			es.Add(path, "expected an object, got %s", describe(src))
			return
		}
		if t.Key().Kind() != reflect.String {
			es.Add(path, "cannot decode into %s", t)
			return
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for _, k := range sortedKeys(m) {
			v := reflect.New(t.Elem()).Elem()
			decodeValue(m[k], v, Join(path, k), es)
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), v)
		}
		dst.Set(out)
	case reflect.Slice:
		a, ok := src.([]any)
		if !ok {
			es.Add(path, "expected a list, got %s", describe(src))
			return
		}
		out := reflect.MakeSlice(t, len(a), len(a))
		for i, e := range a {
			decodeValue(e, out.Index(i), Index(path, i), es)
		}
		dst.Set(out)
	case reflect.String:
		s, ok := src.(string)
		if !ok {
			es.Add(path, "expected a string, got %s", describe(src))
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		b, ok := src.(bool)
		if !ok {
			es.Add(path, "expected true or false, got %s", describe(src))
			return
		}
		dst.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		f, ok := number(src)
		if !ok || f != math.Trunc(f) {
			es.Add(path, "expected an integer, got %s", describe(src))
			return
		}
		if dst.OverflowInt(int64(f)) || math.Abs(f) > 1<<53 {
			es.Add(path, "integer %v is out of range", f)
			return
		}
		dst.SetInt(int64(f))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		f, ok := number(src)
		if !ok || f != math.Trunc(f) || f < 0 {
			es.Add(path, "expected a non-negative integer, got %s", describe(src))
			return
		}
		if dst.OverflowUint(uint64(f)) || f > 1<<53 {
			es.Add(path, "integer %v is out of range", f)
			return
		}
		dst.SetUint(uint64(f))
	case reflect.Float32, reflect.Float64:
		f, ok := number(src)
		if !ok {
			es.Add(path, "expected a number, got %s", describe(src))
			return
		}
		dst.SetFloat(f)
	default:
		es.Add(path, "cannot decode into %s", t)
	}
}

type fieldInfo struct {
	index []int
	name  string
}

func structFields(t reflect.Type) map[string]fieldInfo {
	fields := make(map[string]fieldInfo, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, sub := range structFields(f.Type) {
				fields[k] = fieldInfo{index: append([]int{i}, sub.index...), name: k}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = fieldInfo{index: []int{i}, name: name}
	}
	return fields
}

func decodeStruct(m map[string]any, dst reflect.Value, path string, es *Errors) {
	fields := structFields(dst.Type())
	for _, k := range sortedKeys(m) {
		f, ok := fields[k]
		if !ok {
			es.Add(Join(path, k), "unknown field%s", suggest(k, fields))
			continue
		}
		decodeValue(m[k], dst.FieldByIndex(f.index), Join(path, k), es)
	}
}

func suggest(k string, fields map[string]fieldInfo) string {
	for name := range fields {
		if strings.EqualFold(name, k) {
			return fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func number(src any) (float64, bool) {
	switch v := src.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint32:
		return float64(v), true
	}
	return 0, false
}

func describe(src any) string {
	switch v := src.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		return "string " + strconv.Quote(v)
	case bool:
		return "boolean " + strconv.FormatBool(v)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	if f, ok := number(src); ok {
		return "number " + strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprintf("%T", src)
}

// Normalize returns src with every number as json.Number and every map as map[string]any, the
// form JSON Schema compilers and encoding/json agree on.
func Normalize(src any) any {
	switch v := src.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = Normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = Normalize(e)
		}
		return out
	case json.Number, string, bool, nil:
		return v
	}
	switch v := src.(type) {
	case float64:
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64))
	case float32:
		return json.Number(strconv.FormatFloat(float64(v), 'g', -1, 32))
	case int:
		return json.Number(strconv.Itoa(v))
	case int64:
		return json.Number(strconv.FormatInt(v, 10))
	case uint64:
		return json.Number(strconv.FormatUint(v, 10))
	}
	return src
}
