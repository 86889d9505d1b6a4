// Command describer is a local model: it describes an image in one to three plain English
// sentences, built from image-features' measurements, for chat completions and completions. The
// model itself is package describe; this module serves it alone, and the local-models example
// serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/describer/describe"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, describe.Answer) }

//go:wasmexport iom_describe
func describeModule() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "describer", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
