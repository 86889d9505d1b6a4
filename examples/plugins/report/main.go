// Command report is a local model: it writes a Markdown report (statistics, trend, forecast) of a
// data pipeline's results for chat completions and completions. The model itself is package report;
// this module serves it alone, and the local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/report/report"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, report.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "report", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
