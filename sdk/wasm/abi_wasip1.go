//go:build wasip1

package iomwasm

import "unsafe"

// The input buffer is reused from call to call: the host calls iom_alloc once per call, for
// the input, and never touches the buffer after the role function returns (ABI.md), so the
// guest owns it and can hand out the same memory next time.
var in []byte

//go:wasmexport iom_abi_version
func abiVersion() int32 { return ABIVersion }

//go:wasmexport iom_alloc
func alloc(size uint32) uint32 {
	if size == 0 {
		size = 1
	}
	if uint32(cap(in)) < size {
		in = make([]byte, size)
	}
	in = in[:size]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(in))))
}

//go:wasmexport iom_free
func free(ptr, size uint32) {
	// The output buffer is the SDK's own and is reused; only let go of an unusually large one
	// so one huge answer does not pin its memory forever.
	if cap(out) > 1<<20 {
		out = nil
	}
}

//go:wasmimport iom log
func hostLog(level int32, ptr unsafe.Pointer, size uint32)

// Log sends msg to the gateway's log at level (LevelDebug…LevelError), tagged with the
// plugin's name.
func Log(level int, msg string) {
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

// input returns the bytes the host wrote at ptr: the SDK's input buffer. Input anywhere else
// breaks the ABI and reads as empty, which the handlers report as an error.
func input(ptr, size uint32) []byte {
	if len(in) > 0 && uint32(uintptr(unsafe.Pointer(unsafe.SliceData(in)))) == ptr && size <= uint32(cap(in)) {
		return in[:size]
	}
	return nil
}

// pack returns the ABI's (ptr << 32) | len for an output, 0 for none.
func pack(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))<<32 | uint64(len(b))
}
