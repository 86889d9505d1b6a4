// Command summarizer is a local model: an extractive summarizer that answers chat completions (the
// last user message) and completions (the prompt) with the text's most representative sentences,
// scored by the frequency of their content words. Config (optional): {"sentences": 3}. The model
// itself is package summarize; this module serves it alone, and the local-models example serves it
// with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/summarizer/summarize"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, summarize.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "summarizer", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
