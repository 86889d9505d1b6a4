package wasm

import (
	"runtime"
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryAllocator makes each instance's linear memory a private anonymous mapping of its full
// cap, reserved up front and committed by the kernel as the guest touches it: memory.grow moves
// nothing (wazero's default copies the whole memory on every grow), and guest memory stays out of
// the Go heap and its garbage-collection pacing.
var memoryAllocator experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(newMappedMemory)

type mappedMemory struct {
	buf []byte
}

func newMappedMemory(capBytes, maxBytes uint64) experimental.LinearMemory {
	size := max(maxBytes, capBytes)
	buf, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
	if err != nil {
		return &heapMemory{}
	}
	m := &mappedMemory{buf: buf}
	// The mapping goes when nothing refers to it any more; Free only hands its pages back.
	runtime.AddCleanup(m, func(b []byte) { _ = syscall.Munmap(b) }, buf)
	return m
}

func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	return m.buf[:size:size]
}

// Free returns the pages to the kernel but keeps the mapping: a guest interrupted by a close
// may still be finishing its last instructions, and must read zeros rather than fault.
func (m *mappedMemory) Free() {
	_ = syscall.Madvise(m.buf, syscall.MADV_DONTNEED)
}

// heapMemory is the fallback when the kernel refuses the mapping: a Go slice grown by copying,
// as wazero does by default.
type heapMemory struct{ buf []byte }

func (m *heapMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		nb := make([]byte, size, max(size, uint64(cap(m.buf))*2))
		copy(nb, m.buf)
		m.buf = nb
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *heapMemory) Free() { m.buf = nil }
