// Command langid is a local model: a language identifier (character n-gram naive Bayes over nine
// languages) that answers chat completions and completions with a JSON verdict such as
// {"language":"fr","confidence":0.97}. The model itself is package langid; this module serves it
// alone, and the local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/langid/langid"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, langid.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "langid", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
