//go:build !wasip1

package iomwasm

import "os"

// Outside a wasip1 guest there is no host: the role functions panic and Log writes to stderr,
// so a plugin's logic can still be built and unit-tested natively through the *JSON functions.

// Log writes msg to stderr.
func Log(level int, msg string) {
	os.Stderr.WriteString("iomwasm log[" + [...]string{"debug", "info", "warn", "error"}[min(max(level, 0), 3)] + "]: " + msg + "\n")
}

func input(ptr, size uint32) []byte {
	panic("iomwasm: role functions run only in a wasip1 guest; use the *JSON functions in tests")
}

func pack(b []byte) uint64 {
	panic("iomwasm: role functions run only in a wasip1 guest; use the *JSON functions in tests")
}
