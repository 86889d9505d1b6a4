package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"
)

// validate checks v (decoded with UseNumber) against a JSON Schema subset:
//
//	type                  a name or a list of names: object, array, string, number, integer,
//	                      boolean, null
//	properties, required  for objects; additionalProperties: false forbids other members
//	items                 one schema for every element of an array; minItems, maxItems
//	enum                  the value equals one of the listed values
//	const                 the value equals this one
//	minimum, maximum      for numbers (inclusive)
//	minLength, maxLength  for strings, in Unicode code points
//
// Other keywords are ignored. The first violation found is reported, with its JSON path.
func validate(schema, v any, path string) error {
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true, or a schema this subset cannot read: accept
	}
	if t, ok := s["type"]; ok {
		if !typeMatches(t, v) {
			return errorf(path, "expected %s, got %s", typeList(t), typeOf(v))
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if equal(x, v) {
				found = true
				break
			}
		}
		if !found {
			return errorf(path, "%s is not one of %s", show(v), show(e))
		}
	}
	if c, ok := s["const"]; ok && !equal(c, v) {
		return errorf(path, "%s is not %s", show(v), show(c))
	}
	switch x := v.(type) {
	case map[string]any:
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if name, _ := r.(string); name != "" {
					if _, ok := x[name]; !ok {
						return errorf(path, "missing required property %q", name)
					}
				}
			}
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // report the same violation every time
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				if err := validate(ps, x[k], path+"."+k); err != nil {
					return err
				}
			} else if ap, ok := s["additionalProperties"].(bool); ok && !ap {
				return errorf(path, "property %q is not allowed", k)
			}
		}
	case []any:
		if n, ok := number(s["minItems"]); ok && float64(len(x)) < n {
			return errorf(path, "has %d items, fewer than %v", len(x), n)
		}
		if n, ok := number(s["maxItems"]); ok && float64(len(x)) > n {
			return errorf(path, "has %d items, more than %v", len(x), n)
		}
		if items, ok := s["items"]; ok {
			for i, e := range x {
				if err := validate(items, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case string:
		n := float64(utf8.RuneCountInString(x))
		if m, ok := number(s["minLength"]); ok && n < m {
			return errorf(path, "is %v characters long, shorter than %v", n, m)
		}
		if m, ok := number(s["maxLength"]); ok && n > m {
			return errorf(path, "is %v characters long, longer than %v", n, m)
		}
	case json.Number:
		f, _ := x.Float64()
		if m, ok := number(s["minimum"]); ok && f < m {
			return errorf(path, "%v is less than the minimum %v", x, m)
		}
		if m, ok := number(s["maximum"]); ok && f > m {
			return errorf(path, "%v is greater than the maximum %v", x, m)
		}
	}
	return nil
}

type pathError struct{ path, msg string }

func (e *pathError) Error() string { return e.path + ": " + e.msg }

func errorf(path, format string, args ...any) error {
	return &pathError{path, fmt.Sprintf(format, args...)}
}

func number(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func typeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func typeMatches(t, v any) bool {
	names, ok := t.([]any)
	if !ok {
		names = []any{t}
	}
	got := typeOf(v)
	for _, n := range names {
		if n == got || n == "number" && got == "integer" {
			return true
		}
		if n == "integer" && got == "number" {
			if f, err := v.(json.Number).Float64(); err == nil && f == float64(int64(f)) {
				return true
			}
		}
	}
	return false
}

func typeList(t any) string {
	if names, ok := t.([]any); ok {
		s := make([]string, len(names))
		for i, n := range names {
			s[i] = fmt.Sprint(n)
		}
		return strings.Join(s, " or ")
	}
	return fmt.Sprint(t)
}

// equal compares a schema value (float64 numbers) with an instance value (json.Number).
func equal(schemaVal, v any) bool {
	return reflect.DeepEqual(normalize(schemaVal), normalize(v))
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

func show(v any) string {
	b, err := json.Marshal(normalize(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
