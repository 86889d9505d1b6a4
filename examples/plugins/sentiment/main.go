// Command sentiment is a local model: a lexicon sentiment classifier (with negation, intensifiers
// and contrast) that answers chat completions and completions with a JSON verdict such as
// {"label":"positive","score":0.84,"compound":0.84}. The model itself is package sentiment; this
// module serves it alone, and the local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/sentiment/sentiment"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, sentiment.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "sentiment", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
