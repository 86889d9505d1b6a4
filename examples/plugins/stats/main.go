// Command stats is a local model: descriptive statistics of a numeric series (count, mean, median,
// deviation, quartiles, least-squares trend), answering chat completions and completions with JSON
// text. The model itself is package stats; this module serves it alone, and the local-models
// example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/stats/stats"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, stats.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "stats", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
