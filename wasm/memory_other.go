//go:build !linux

package wasm

import "github.com/tetratelabs/wazero/experimental"

// Elsewhere wazero's own memory allocation is used (see memory_linux.go).
var memoryAllocator experimental.MemoryAllocator
