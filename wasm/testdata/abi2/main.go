// Command abi2 is a test guest that claims an ABI version this host does not speak.
package main

func main() {}

var buf [64]byte

//go:wasmexport iom_abi_version
func abiVersion() int32 { return 2 }

//go:wasmexport iom_alloc
func alloc(size uint32) uint32 { return 0 }

//go:wasmexport iom_free
func free(ptr, size uint32) {}

//go:wasmexport iom_transform
func transform(ptr, size uint32) uint64 { return 0 }
