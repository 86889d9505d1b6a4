// Command data-clean is a request transform that cleans a numeric series for the steps after
// it (in a pipeline, the transform sees the step's value as the request body):
//
//	{"series": [1, 2, "3", null, "x", 4, 1000], "label": "Sales"}
//	→ {"series": [1, 2, 3, 4], "removed": 3, "reasons": {"nonNumeric": 2, "outliers": 1}, "label": "Sales"}
//
// The body is an object with a "series" array, or a bare array. Numbers are kept, strings that
// parse as finite numbers ("3", " 2.5e3 ") become numbers, and everything else (null, text,
// booleans, objects, arrays) is dropped as non-numeric. Then outliers are removed: values whose
// robust z-score, 0.6745 × (x − median) / MAD with MAD the median absolute deviation from the
// median, exceeds madThreshold in magnitude (Iglewicz and Hoaglin's modified z-score; when
// the MAD is 0, the mean absolute deviation × 1.2533 stands in for it, and when that is 0 too
// nothing is an outlier). The answer's body is the series left, the number of values removed
// and why, then the input object's other members ("label", "horizon"…) as they came. Fewer
// than three values left is an error with code too_few_points; a body with no series, code
// no_series. A chat request (a body with "messages") and the response stage pass unchanged.
//
// Config (optional): {"madThreshold": 3.5}.
package main

import (
	"math"
	"sort"
	"strconv"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

type config struct {
	MADThreshold float64 `json:"madThreshold"`
}

var cfg iomwasm.ConfigCache[config]

// minPoints is the fewest values the later steps (statistics, a forecast) can use.
const minPoints = 3

//go:wasmexport iom_transform
func transform(ptr, size uint32) uint64 { return iomwasm.Transform(ptr, size, clean) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "data-clean", Language: "go", Roles: []string{"transform"}, Version: "1.0.0"})
}

func clean(env *iomwasm.Envelope) (iomwasm.Result, error) {
	if env.Stage != "request" {
		return iomwasm.Result{}, nil
	}
	c, err := cfg.Get(env.Config)
	if err != nil {
		return iomwasm.Result{}, err
	}
	threshold := c.MADThreshold
	if threshold == 0 {
		threshold = 3.5
	}
	if threshold < 0 {
		return iomwasm.Result{}, iomwasm.Errorf("bad_config", "data-clean: madThreshold must be positive, not %g", threshold)
	}

	body := env.Body
	series := body
	switch body.Kind() {
	case iomwasm.Array:
	case iomwasm.Object:
		if body.Get("messages") != nil {
			return iomwasm.Result{}, nil // a chat request, not data
		}
		series = body.Get("series")
		if series.Kind() != iomwasm.Array {
			return iomwasm.Result{}, iomwasm.Errorf("no_series", "data-clean: the body has no \"series\" array")
		}
	default:
		return iomwasm.Result{}, iomwasm.Errorf("no_series", "data-clean: the body is neither an array nor an object with a \"series\" array")
	}

	var values []float64
	nonNumeric := 0
	series.Each(func(_ int, v iomwasm.Value) bool {
		if x, ok := number(v); ok {
			values = append(values, x)
		} else {
			nonNumeric++
		}
		return true
	})
	kept := values
	outliers := 0
	if len(values) >= minPoints {
		kept = removeOutliers(values, threshold)
		outliers = len(values) - len(kept)
	}
	if len(kept) < minPoints {
		return iomwasm.Result{}, iomwasm.Errorf("too_few_points",
			"data-clean: %d usable values left (%d non-numeric, %d outliers removed); at least %d are needed",
			len(kept), nonNumeric, outliers, minPoints)
	}

	out := make([]byte, 0, 64+len(body))
	out = append(out, `{"series":[`...)
	for i, x := range kept {
		if i > 0 {
			out = append(out, ',')
		}
		out = iomwasm.AppendFloat(out, x)
	}
	out = append(out, `],"removed":`...)
	out = strconv.AppendInt(out, int64(nonNumeric+outliers), 10)
	out = append(out, `,"reasons":{"nonNumeric":`...)
	out = strconv.AppendInt(out, int64(nonNumeric), 10)
	out = append(out, `,"outliers":`...)
	out = strconv.AppendInt(out, int64(outliers), 10)
	out = append(out, '}')
	body.Members(func(k []byte, v iomwasm.Value) bool {
		switch string(k) {
		case "series", "removed", "reasons":
		default:
			out = append(out, ',')
			out = iomwasm.AppendStringBytes(out, k)
			out = append(out, ':')
			out = append(out, v...)
		}
		return true
	})
	out = append(out, '}')
	return iomwasm.Result{Body: out}, nil
}

// number reads a JSON number, or a string holding a finite one.
func number(v iomwasm.Value) (float64, bool) {
	switch v.Kind() {
	case iomwasm.Number:
		return v.Float()
	case iomwasm.String:
		x, err := strconv.ParseFloat(strings.TrimSpace(v.Str()), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		return x, true
	}
	return 0, false
}

// removeOutliers returns the values whose modified z-score is within threshold, in order.
func removeOutliers(values []float64, threshold float64) []float64 {
	med := median(values)
	dev := make([]float64, len(values))
	meanAD := 0.0
	for i, x := range values {
		dev[i] = math.Abs(x - med)
		meanAD += dev[i]
	}
	meanAD /= float64(len(values))
	scale := median(dev) / 0.6745
	if scale == 0 {
		scale = 1.253314 * meanAD
	}
	if scale == 0 {
		return values
	}
	kept := make([]float64, 0, len(values))
	for i, x := range values {
		if dev[i]/scale <= threshold {
			kept = append(kept, x)
		}
	}
	return kept
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
