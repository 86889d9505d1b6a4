// Command editor is a local model: a rule-based copy editor (spacing, doubled words, fillers and
// wordy phrases, spelling variety, capitals, quotes, a title) that answers chat completions and
// completions with the edited text, and what it changed in the answer's "edits" member. Config
// (optional): {"tighten": true, "spelling": "", "smartQuotes": false, "title": true}. The model itself is package edit; this module serves it alone, and the
// local-models example serves it with the others.
package main

import (
	"github.com/iomhq/iom/examples/plugins/editor/edit"
	iomwasm "github.com/iomhq/iom/sdk/wasm"
)

func main() {}

//go:wasmexport iom_infer
func infer(ptr, size uint32) uint64 { return iomwasm.Infer(ptr, size, edit.Answer) }

//go:wasmexport iom_describe
func describe() uint64 {
	return iomwasm.Describe(iomwasm.Description{Name: "editor", Language: "go", Roles: []string{"infer"}, Version: "1.0.0"})
}
