// Package stats is a local model: descriptive statistics of a numeric series, answering chat
// completions (the last user message) and completions (the prompt) with JSON text:
//
//	{"count": 5, "mean": 3, "median": 3, "stdev": 1.58113883, "min": 1, "max": 5, "q1": 2,
//	 "q3": 4, "sum": 15, "trend": {"slope": 1, "intercept": 1, "r2": 1}}
//
// The series is a JSON array, the "series" array of the first object that has one (searched
// breadth first through members, elements and strings holding JSON: data-clean's output, a
// pipeline step's "text", a merge of steps), or numbers separated by commas, semicolons or
// white space; values that are neither numbers nor numeric strings are skipped. The object's
// "label", when it is a string, is repeated in the answer for the steps after.
//
// stdev is the sample standard deviation (n − 1; 0 for one value); q1, median and q3 are
// quantiles interpolated linearly between order statistics (the default of R, NumPy and
// spreadsheets); trend is the least-squares line through (index, value), index from 0, with
// its coefficient of determination r2 (1 for a series that is constant, which the line fits
// exactly). Numbers are rounded to 10 significant digits. An empty series is an error with
// code no_data. Usage counts whitespace-separated words.
package stats

import (
	"math"
	"sort"

	"github.com/iomhq/iom/examples/plugins/internal/series"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// Answer answers one model call (iomwasm.Infer's handler). The model takes no config.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	model := c.Request.Get("model").Str()
	text, err := c.Text("stats")
	if err != nil {
		return nil, err
	}
	in, ok := series.Read(text)
	if !ok || len(in.Values) == 0 {
		return nil, iomwasm.Errorf("no_data", "stats needs a series: a JSON array of numbers or {\"series\": […]}")
	}
	out := string(summary(in))
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, out, iomwasm.Words(text), iomwasm.Words(out)), nil
	}
	return iomwasm.ChatCompletion(model, out, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(out)), nil
}

// summary writes the statistics of a non-empty series.
func summary(in series.Input) []byte {
	ys := in.Values
	n := float64(len(ys))
	sorted := append([]float64(nil), ys...)
	sort.Float64s(sorted)
	sum := 0.0
	for _, y := range ys {
		sum += y
	}
	mean := sum / n
	ss := 0.0
	for _, y := range ys {
		ss += (y - mean) * (y - mean)
	}
	stdev := 0.0
	if len(ys) > 1 {
		stdev = math.Sqrt(ss / (n - 1))
	}
	slope, intercept, r2 := trend(ys)

	var o series.Object
	o.Num("count", n)
	o.Num("mean", mean)
	o.Num("median", quantile(sorted, 0.5))
	o.Num("stdev", stdev)
	o.Num("min", sorted[0])
	o.Num("max", sorted[len(sorted)-1])
	o.Num("q1", quantile(sorted, 0.25))
	o.Num("q3", quantile(sorted, 0.75))
	o.Num("sum", sum)
	var t series.Object
	t.Num("slope", slope)
	t.Num("intercept", intercept)
	t.Num("r2", r2)
	o.Raw("trend", t.Done())
	if label := in.Holder.Get("label"); label.Kind() == iomwasm.String {
		o.Raw("label", label)
	}
	return o.Done()
}

// quantile interpolates linearly between the order statistics of sorted at p × (n − 1).
func quantile(sorted []float64, p float64) float64 {
	pos := p * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// trend fits y = slope × index + intercept by least squares and returns r².
func trend(ys []float64) (slope, intercept, r2 float64) {
	n := float64(len(ys))
	mx := (n - 1) / 2
	my := 0.0
	for _, y := range ys {
		my += y
	}
	my /= n
	sxy, sxx := 0.0, 0.0
	for i, y := range ys {
		dx := float64(i) - mx
		sxy += dx * (y - my)
		sxx += dx * dx
	}
	if sxx > 0 {
		slope = sxy / sxx
	}
	intercept = my - slope*mx
	ssRes, ssTot := 0.0, 0.0
	for i, y := range ys {
		e := y - (slope*float64(i) + intercept)
		ssRes += e * e
		ssTot += (y - my) * (y - my)
	}
	r2 = 1
	if ssTot > 0 {
		r2 = 1 - ssRes/ssTot
	}
	return slope, intercept, r2
}
