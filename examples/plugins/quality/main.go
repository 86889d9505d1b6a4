// Command quality is a local model: it scores a text's readability (Flesch reading ease and grade),
// coherence and basic quality and answers chat completions and completions with a JSON report
// that says whether the text passes and why not. Config (optional): {"minWords": 80,
// "minReadingEase": 30, "minCoherence": 0.5, "maxSentenceWords": 25}. The model itself is package quality; this module serves it alone, and
// the local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/quality/quality"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, quality.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "quality", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
