// Package series holds what the stats and forecast example models share: reading a series of
// numbers out of a message (a JSON array, an object with a "series" array anywhere in a pipeline
// step's output, or plain numbers) and writing their answers as readable JSON objects.
package series

import (
	"math"
	"strconv"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// Input is the series a call carries and the object it came in (nil for a bare array or text).
type Input struct {
	Values []float64
	Holder iomwasm.Value
}

// Read finds the series in a message's text: a JSON array, the first object with a
// "series" array (breadth first through members, elements and strings holding JSON, such as a
// pipeline step's "text"), or numbers separated by commas, semicolons or white space. Values
// that are not numbers or numeric strings are skipped.
func Read(text string) (Input, bool) {
	v := iomwasm.Value(strings.TrimSpace(text))
	if v.Valid() {
		switch v.Kind() {
		case iomwasm.Array:
			return Input{Values: Numbers(v)}, true
		case iomwasm.Object, iomwasm.String:
			o := v.Find(func(o iomwasm.Value) bool { return o.Get("series").Kind() == iomwasm.Array })
			if o == nil {
				return Input{}, false
			}
			return Input{Values: Numbers(o.Get("series")), Holder: o}, true
		}
	}
	var values []float64
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return Input{}, false
		}
		values = append(values, x)
	}
	return Input{Values: values}, len(values) > 0
}

// Numbers reads an array's numbers and numeric strings.
func Numbers(arr iomwasm.Value) []float64 {
	var out []float64
	arr.Each(func(_ int, e iomwasm.Value) bool {
		switch e.Kind() {
		case iomwasm.Number:
			if x, ok := e.Float(); ok {
				out = append(out, x)
			}
		case iomwasm.String:
			if x, err := strconv.ParseFloat(strings.TrimSpace(e.Str()), 64); err == nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
				out = append(out, x)
			}
		}
		return true
	})
	return out
}

// Object writes a JSON object with a space after each colon and comma, so the answer reads (and
// counts words) like formatted JSON.
type Object struct{ b []byte }

func (o *Object) key(k string) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ", "...)
	}
	o.b = iomwasm.AppendString(o.b, k)
	o.b = append(o.b, ": "...)
}

// Num writes a number, rounded to 10 significant digits.
func (o *Object) Num(k string, x float64) {
	o.key(k)
	o.b = iomwasm.AppendFloat(o.b, Round(x))
}

// Raw writes a member whose value is JSON already.
func (o *Object) Raw(k string, v []byte) {
	o.key(k)
	o.b = append(o.b, v...)
}

// Str writes a string member.
func (o *Object) Str(k, s string) {
	o.key(k)
	o.b = iomwasm.AppendString(o.b, s)
}

// Done returns the object.
func (o *Object) Done() []byte {
	if len(o.b) == 0 {
		return []byte("{}")
	}
	return append(o.b, '}')
}

// Round keeps 10 significant digits, so float noise (0.30000000000000004) does not show.
func Round(x float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 10, 64), 64)
	if err != nil {
		return x
	}
	return r
}
