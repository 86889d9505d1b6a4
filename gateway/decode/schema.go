package decode

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// SchemaOf reflects the JSON Schema of what Into accepts for type t (and what encoding/json
// writes of it): objects with their json-tagged fields and no others. Named structs are put in
// defs and referred to as refPrefix+name, so cycles and repeats stay small.
func SchemaOf(t reflect.Type, defs map[string]any, refPrefix string) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType || t.Kind() == reflect.Interface:
		return map[string]any{}
	case t.PkgPath() == "github.com/iomhq/iom/gateway/secret":
		return map[string]any{"type": "string", "writeOnly": true}
	case reflect.PointerTo(t).Implements(reflect.TypeFor[json.Marshaler]()) && t.Kind() == reflect.Struct:
		return map[string]any{} // encodes itself: any JSON value
	case reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": SchemaOf(t.Elem(), defs, refPrefix)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": SchemaOf(t.Elem(), defs, refPrefix)}
	case reflect.Struct:
		name := defName(t)
		if name == "" {
			return structSchema(t, defs, refPrefix)
		}
		if _, done := defs[name]; !done {
			defs[name] = map[string]any{} // breaks cycles while the definition is made
			defs[name] = structSchema(t, defs, refPrefix)
		}
		return map[string]any{"$ref": refPrefix + name}
	}
	return map[string]any{}
}

// defName names a struct's definition after its package and type: RegistryModel.
func defName(t reflect.Type) string {
	if t.Name() == "" || strings.Contains(t.Name(), "[") {
		return ""
	}
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	return strings.ToUpper(pkg[:1]) + pkg[1:] + t.Name()
}

func structSchema(t reflect.Type, defs map[string]any, refPrefix string) map[string]any {
	props := map[string]any{}
	fields := structFields(t)
	for name, f := range fields {
		props[name] = SchemaOf(t.FieldByIndex(f.index).Type, defs, refPrefix)
	}
	return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
}
