// Command forecast is a local model: it forecasts the next values of a numeric series with Holt's
// linear exponential smoothing, with an 80% band, and answers chat completions and completions with
// JSON text. Config (optional): {"alpha": 0.5, "beta": 0.3, "horizon": 3}. The model itself is
// package forecast; this module serves it alone, and the local-models example serves it with the
// others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/forecast/forecast"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, forecast.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "forecast", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
