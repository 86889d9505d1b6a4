// Command writer is a local model: it writes a short article about a topic (a word-level Markov
// chain of order 2 steered towards the topic) for chat completions and completions, the same
// article for the same input. Config (optional): {"paragraphs": 3}. The model itself is package
// write; this module serves it alone, and the local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/writer/write"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, write.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "writer", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
