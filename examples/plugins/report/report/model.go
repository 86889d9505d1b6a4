// Package report is a local model: it writes a Markdown report of a data pipeline's results and
// answers chat completions (the last user message) and completions (the prompt) with it, plain:
// a title, a table of the statistics, the trend in words ("The series is rising by about 1.2
// per step (R² = 0.98)."), the forecast as a table, and a closing sentence.
//
// The input is JSON holding the earlier results, usually a pipeline merge of its steps'
// outputs ({"stats": {"text": "{…}", …}, "forecast": {"text": "{…}", …}}). It is searched
// breadth first through members, elements and strings that are JSON themselves (a step's
// "text"): the statistics are the first object with a "mean" and a "count" (the stats
// example's answer), the forecast the first with a "forecast" array (the forecast example's),
// the title the input's top-level "label", else the first "label" string found, else "Data
// report". Either result may be missing, not both (code nothing_to_report).
//
// The trend is flat when the least-squares slope's total change over the series is under 5% of
// its scale (the larger of |mean| and its range); otherwise it is rising or falling by the
// slope, rounded to two significant digits, called loose when R² is under 0.3. Table numbers
// keep at most two decimals. The closing sentence gives the last forecast step and its band,
// or, without a forecast, the mean and range. Usage counts whitespace-separated words.
package report

import (
	"strings"

	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

// Answer answers one model call (iomwasm.Infer's handler). The model takes no config.
func Answer(c *iomwasm.ModelCall) ([]byte, error) {
	model := c.Request.Get("model").Str()
	text, err := c.Text("report")
	if err != nil {
		return nil, err
	}
	doc := iomwasm.Value(strings.TrimSpace(text))
	if !doc.Valid() {
		return nil, iomwasm.Errorf("nothing_to_report", "report needs the earlier steps' results as JSON")
	}
	stats := doc.Find(func(o iomwasm.Value) bool { return o.Get("mean") != nil && o.Get("count") != nil })
	forecast := doc.Find(func(o iomwasm.Value) bool { return o.Get("forecast").Kind() == iomwasm.Array })
	if stats == nil && forecast == nil {
		return nil, iomwasm.Errorf("nothing_to_report", "report found neither statistics (count, mean…) nor a forecast in its input")
	}
	label := doc.Get("label").Str()
	if label == "" {
		label = doc.Find(func(o iomwasm.Value) bool { return o.Get("label").Kind() == iomwasm.String }).Get("label").Str()
	}
	md := write(label, stats, forecast)
	if c.Op == "completion" {
		return iomwasm.TextCompletion(model, md, iomwasm.Words(text), iomwasm.Words(md)), nil
	}
	return iomwasm.ChatCompletion(model, md, iomwasm.Words(iomwasm.PromptText(c.Request)), iomwasm.Words(md)), nil
}
