// Command noop-go is a Go transform that reads the envelope and leaves everything unchanged:
// the host's and the Go runtime's own cost per call.
package main

import iomwasm "github.com/iomhq/iom/sdk/wasm"

func main() {}

//go:wasmexport iom_transform
func transform(ptr, size uint32) uint64 {
	return iomwasm.Transform(ptr, size, func(env *iomwasm.Envelope) (iomwasm.Result, error) {
		return iomwasm.Result{}, nil
	})
}
