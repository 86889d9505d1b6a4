// Command embeddings is a local model: feature-hashing text embeddings (signed hashing of words and
// word pairs, L2-normalised) for the embeddings op, so the gateway can serve /v1/embeddings
// offline. Config (optional): {"dimensions": 256}. The model itself is package embed; this module
// serves it alone, and the local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/embeddings/embed"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, embed.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "embeddings", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
