// Command image-features is a local model: it measures a PNG, JPEG or GIF image sent as a data URL
// or base64 (size, mean colour, brightness, contrast, colorfulness, histograms, dominant colours)
// and answers chat completions and completions with the measurements as JSON text. The model itself
// is package imagefeatures; this module serves it alone, and the local-models example serves it
// with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/image-features/imagefeatures"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, imagefeatures.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "image-features", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
