// Command translator is a local model: it translates the describer's English into French, Spanish
// or German (sentence templates, then a word table) for chat completions and completions. Config
// (optional): {"to": "fr"}. The model itself is package translate; this module serves it alone, and
// the local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/translator/translate"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, translate.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "translator", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
