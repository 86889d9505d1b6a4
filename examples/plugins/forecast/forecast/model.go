// Package forecast is a local model: it forecasts the next values of a numeric series with
// Holt's linear exponential smoothing and answers chat completions (the last user message) and
// completions (the prompt) with JSON text:
//
//	{"method": "holt", "horizon": 3, "forecast": [{"step": 1, "value": 32, "low": 32, "high": 32}, …],
//	 "alpha": 0.5, "beta": 0.3, "rmse": 0}
//
// The series is found as the stats example finds it: a JSON array, the "series" array of the
// first object that has one (breadth first through members, elements and strings holding
// JSON), or numbers separated by commas, semicolons or white space. The horizon is the
// "horizon" at the top level of the input object, else that of the object holding the series,
// else of the first object with one, else the config's, else 3; it must be a whole number from
// 1 to 100. The series' "label", when it is a string, is repeated in the answer.
//
// Holt's method keeps a level l and a trend b, starting at l = y₀ and b = y₁ − y₀, and for
// each later value y updates l' = αy + (1 − α)(l + b) and b' = β(l' − l) + (1 − β)b; the
// forecast h steps ahead is l + hb. rmse is the root mean square of the one-step-ahead errors
// y − (l + b) from the third value on (the second is fitted exactly by the start). It stands
// for their standard deviation σ, and the 80% band of step h is value ± 1.2816 σₕ with
// σₕ² = σ²(1 + Σⱼ₌₁..ₕ₋₁ α²(1 + jβ)²), the error variance of the method, which widens with
// the step. At least three values are needed (code too_few_points). Numbers are rounded to 10
// significant digits.
//
// Config (optional): {"alpha": 0.5, "beta": 0.3, "horizon": 3}, α and β in (0, 1]. Usage counts
// whitespace-separated words.
package forecast

import (
	"math"
	"strings"

	"github.com/iomhq/iom/examples/plugins/internal/series"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

type config struct {
	Alpha   float64 `json:"alpha"`
	Beta    float64 `json:"beta"`
	Horizon int     `json:"horizon"`
}

var cfg iomwasm.ConfigCache[config]

const (
	maxHorizon = 100
	// z80 is the standard normal quantile of 0.9: ±z80 σ holds 80%.
	z80 = 1.2815515655446004
)

// Answer answers one model call (iomwasm.Infer's handler). The model's config, as the package
// comment describes it, is c.Config; null means the defaults.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	conf, err := cfg.Get(c.Config)
	if err != nil {
		return nil, err
	}
	alpha, beta := conf.Alpha, conf.Beta
	if alpha == 0 {
		alpha = 0.5
	}
	if beta == 0 {
		beta = 0.3
	}
	if alpha < 0 || alpha > 1 || beta < 0 || beta > 1 {
		return nil, iomwasm.Errorf("bad_config", "forecast: alpha and beta must be in (0, 1], not %g and %g", alpha, beta)
	}
	model := c.Request.Get("model").Str()
	text, err := c.Text("forecast")
	if err != nil {
		return nil, err
	}
	in, ok := series.Read(text)
	if !ok {
		return nil, iomwasm.Errorf("no_data", "forecast needs a series: a JSON array of numbers or {\"series\": […]}")
	}
	if len(in.Values) < 3 {
		return nil, iomwasm.Errorf("too_few_points", "forecast needs at least 3 values, not %d", len(in.Values))
	}
	horizon := int64(conf.Horizon)
	if horizon == 0 {
		horizon = 3
	}
	doc := iomwasm.Value(strings.TrimSpace(text))
	for _, h := range []iomwasm.Value{doc.Get("horizon"), in.Holder.Get("horizon"),
		doc.Find(func(o iomwasm.Value) bool { return o.Get("horizon").Kind() == iomwasm.Number }).Get("horizon")} {
		if h.Kind() == iomwasm.Number {
			n, ok := h.Int()
			if !ok || n < 1 || n > maxHorizon {
				return nil, iomwasm.Errorf("bad_horizon", "forecast: the horizon must be a whole number from 1 to %d, not %s", maxHorizon, h)
			}
			horizon = n
			break
		}
	}
	out := string(holt(in, int(horizon), alpha, beta))
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, out, iomwasm.Words(text), iomwasm.Words(out)), nil
	}
	return iomwasm.ChatCompletion(model, out, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(out)), nil
}

// holt fits Holt's method to a series of at least two values and writes the forecast.
func holt(in series.Input, horizon int, alpha, beta float64) []byte {
	ys := in.Values
	level, slope := ys[0], ys[1]-ys[0]
	sq, m := 0.0, 0
	for t := 1; t < len(ys); t++ {
		if t >= 2 {
			e := ys[t] - (level + slope)
			sq += e * e
			m++
		}
		prev := level
		level = alpha*ys[t] + (1-alpha)*(level+slope)
		slope = beta*(level-prev) + (1-beta)*slope
	}
	sigma := 0.0
	if m > 0 {
		sigma = math.Sqrt(sq / float64(m))
	}

	var o series.Object
	o.Str("method", "holt")
	o.Num("horizon", float64(horizon))
	fc := []byte{'['}
	variance := 1.0 // σₕ² / σ²
	for h := 1; h <= horizon; h++ {
		if h > 1 {
			k := alpha * (1 + float64(h-1)*beta)
			variance += k * k
			fc = append(fc, ", "...)
		}
		value := level + float64(h)*slope
		half := z80 * sigma * math.Sqrt(variance)
		var step series.Object
		step.Num("step", float64(h))
		step.Num("value", value)
		step.Num("low", value-half)
		step.Num("high", value+half)
		fc = append(fc, step.Done()...)
	}
	fc = append(fc, ']')
	o.Raw("forecast", fc)
	o.Num("alpha", alpha)
	o.Num("beta", beta)
	o.Num("rmse", sigma)
	if label := in.Holder.Get("label"); label.Kind() == iomwasm.String {
		o.Raw("label", label)
	}
	return o.Done()
}
