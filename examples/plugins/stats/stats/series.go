package stats

import (
	"math"
	"strconv"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// input is the series a call carries and the object it came in (nil for a bare array or text).
type input struct {
	values []float64
	holder iomwasm.Value
}

// readSeries finds the series in a message's text: a JSON array, the first object with a
// "series" array (breadth first through members, elements and strings holding JSON, such as a
// pipeline step's "text"), or numbers separated by commas, semicolons or white space. Values
// that are not numbers or numeric strings are skipped.
func readSeries(text string) (input, bool) {
	v := iomwasm.Value(strings.TrimSpace(text))
	if v.Valid() {
		switch v.Kind() {
		case iomwasm.Array:
			return input{values: numbers(v)}, true
		case iomwasm.Object, iomwasm.String:
			o := find(v, func(o iomwasm.Value) bool { return o.Get("series").Kind() == iomwasm.Array })
			if o == nil {
				return input{}, false
			}
			return input{values: numbers(o.Get("series")), holder: o}, true
		}
	}
	var values []float64
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return input{}, false
		}
		values = append(values, x)
	}
	return input{values: values}, len(values) > 0
}

// numbers reads an array's numbers and numeric strings.
func numbers(arr iomwasm.Value) []float64 {
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

// find returns the first object, breadth first through v's members and elements and the JSON
// held in its strings, for which ok holds; nil if none does.
func find(v iomwasm.Value, ok func(iomwasm.Value) bool) iomwasm.Value {
	queue := []iomwasm.Value{v}
	for steps := 0; len(queue) > 0 && steps < 10000; steps++ {
		x := queue[0]
		queue = queue[1:]
		switch x.Kind() {
		case iomwasm.Object:
			if ok(x) {
				return x
			}
			x.Members(func(_ []byte, m iomwasm.Value) bool { queue = append(queue, m); return true })
		case iomwasm.Array:
			x.Each(func(_ int, e iomwasm.Value) bool { queue = append(queue, e); return true })
		case iomwasm.String:
			s := strings.TrimSpace(x.Str())
			if len(s) > 1 && (s[0] == '{' || s[0] == '[') && iomwasm.Value(s).Valid() {
				queue = append(queue, iomwasm.Value(s))
			}
		}
	}
	return nil
}

// obj writes a JSON object with a space after each colon and comma, so the answer reads (and
// counts words) like formatted JSON.
type obj struct{ b []byte }

func (o *obj) key(k string) {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ", "...)
	}
	o.b = iomwasm.AppendString(o.b, k)
	o.b = append(o.b, ": "...)
}

// num writes a number, rounded to 10 significant digits.
func (o *obj) num(k string, x float64) {
	o.key(k)
	o.b = iomwasm.AppendFloat(o.b, round(x))
}

func (o *obj) raw(k string, v []byte) {
	o.key(k)
	o.b = append(o.b, v...)
}

func (o *obj) str(k, s string) {
	o.key(k)
	o.b = iomwasm.AppendString(o.b, s)
}

func (o *obj) done() []byte {
	if len(o.b) == 0 {
		return []byte("{}")
	}
	return append(o.b, '}')
}

// round keeps 10 significant digits, so float noise (0.30000000000000004) does not show.
func round(x float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 10, 64), 64)
	if err != nil {
		return x
	}
	return r
}
