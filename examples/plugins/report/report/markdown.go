package report

import (
	"math"
	"strconv"
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// statRows are the statistics the table shows, in order: the stats example's members.
var statRows = []struct{ key, label string }{
	{"count", "Count"}, {"mean", "Mean"}, {"median", "Median"}, {"stdev", "Standard deviation"},
	{"min", "Minimum"}, {"max", "Maximum"}, {"q1", "First quartile"}, {"q3", "Third quartile"}, {"sum", "Sum"},
}

// flatShare is how small the trend's total change over the series, relative to the series'
// scale (the larger of |mean| and the range), has to be for the series to read as flat.
const flatShare = 0.05

// looseR2 is the fit below which a trend is called loose.
const looseR2 = 0.3

// write renders the report; stats and forecast may each be nil, not both.
func write(label string, stats, forecast iomwasm.Value) string {
	var b strings.Builder
	if label == "" {
		label = "Data report"
	}
	b.WriteString("# " + strings.Join(strings.Fields(label), " ") + "\n")

	if stats != nil {
		b.WriteString("\n## Statistics\n\n| Statistic | Value |\n| --- | ---: |\n")
		for _, r := range statRows {
			if x, ok := stats.Get(r.key).Float(); ok {
				b.WriteString("| " + r.label + " | " + num(x) + " |\n")
			}
		}
		if t := trendSentence(stats); t != "" {
			b.WriteString("\n" + t + "\n")
		}
	}

	var last iomwasm.Value
	if forecast != nil {
		b.WriteString("\n## Forecast\n\n")
		alpha, okA := forecast.Get("alpha").Float()
		beta, okB := forecast.Get("beta").Float()
		method := "Holt's linear exponential smoothing"
		if m := forecast.Get("method").Str(); m != "" && m != "holt" {
			method = "Method " + m
		}
		if okA && okB {
			method += " (α = " + num(alpha) + ", β = " + num(beta) + ")"
		}
		if rmse, ok := forecast.Get("rmse").Float(); ok {
			method += ", one-step error " + num(rmse)
		}
		b.WriteString(method + ". The band holds 80% of likely values.\n\n")
		b.WriteString("| Step | Forecast | Low | High |\n| ---: | ---: | ---: | ---: |\n")
		forecast.Get("forecast").Each(func(i int, p iomwasm.Value) bool {
			step, ok := p.Get("step").Float()
			if !ok {
				step = float64(i + 1)
			}
			b.WriteString("| " + num(step) + " | " + cell(p.Get("value")) + " | " + cell(p.Get("low")) + " | " + cell(p.Get("high")) + " |\n")
			last = p
			return true
		})
	}

	b.WriteString("\n" + closing(stats, last) + "\n")
	return b.String()
}

// trendSentence puts the stats' least-squares trend in words.
func trendSentence(stats iomwasm.Value) string {
	t := stats.Get("trend")
	slope, ok := t.Get("slope").Float()
	if !ok {
		return ""
	}
	count, _ := stats.Get("count").Float()
	mean, _ := stats.Get("mean").Float()
	lo, _ := stats.Get("min").Float()
	hi, _ := stats.Get("max").Float()
	scale := math.Max(math.Abs(mean), hi-lo)
	r2, hasR2 := t.Get("r2").Float()
	fit := ""
	if hasR2 {
		fit = " (R² = " + strconv.FormatFloat(r2, 'f', 2, 64) + ")"
	}
	if scale == 0 || math.Abs(slope)*math.Max(count-1, 1) < flatShare*scale {
		return "The series is flat" + fit + "."
	}
	dir := "rising"
	if slope < 0 {
		dir = "falling"
	}
	s := "The series is " + dir + " by about " + sig2(math.Abs(slope)) + " per step"
	if hasR2 && r2 < looseR2 {
		return s + ", but loosely: the values scatter widely around the line" + fit + "."
	}
	return s + fit + "."
}

// closing is the report's last sentence.
func closing(stats, last iomwasm.Value) string {
	if last != nil {
		v, okV := last.Get("value").Float()
		lo, okL := last.Get("low").Float()
		hi, okH := last.Get("high").Float()
		step, okS := last.Get("step").Float()
		if okV && okS {
			s := "If the recent trend holds, the series should be about " + num(v) + " in " + num(step) + " step"
			if step != 1 {
				s += "s"
			}
			if okL && okH && hi > lo {
				s += ", most likely between " + num(lo) + " and " + num(hi)
			}
			return s + "."
		}
	}
	if stats != nil {
		count, _ := stats.Get("count").Float()
		mean, _ := stats.Get("mean").Float()
		lo, _ := stats.Get("min").Float()
		hi, _ := stats.Get("max").Float()
		return "Over " + num(count) + " values the series averaged " + num(mean) + ", from " + num(lo) + " to " + num(hi) + "."
	}
	return ""
}

func cell(v iomwasm.Value) string {
	if x, ok := v.Float(); ok {
		return num(x)
	}
	return "–"
}

// num formats a number for the tables: at most two decimals, or three significant digits for
// small fractions.
func num(x float64) string {
	if x != 0 && math.Abs(x) < 0.01 {
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
	s := strconv.FormatFloat(math.Round(x*100)/100, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

// sig2 rounds to two significant digits: 1.2, 12, 120, 0.012 (and 1, not 1.0).
func sig2(x float64) string {
	if x == 0 {
		return "0"
	}
	d := int(math.Floor(math.Log10(x)))
	p := math.Pow(10, float64(d-1))
	s := strconv.FormatFloat(math.Round(x/p)*p, 'f', max(0, 1-d), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
