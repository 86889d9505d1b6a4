//go:build !linux

package rawsock

import "syscall"

// ReadFD is read(2) on fd into b. Elsewhere than on Linux it is the runtime's ordinary system
// call: the saving is measured, and needed, on Linux only.
func ReadFD(fd uintptr, b []byte) (int, error) {
	n, err := syscall.Read(int(fd), b)
	return max(n, 0), err
}

// WriteFD is write(2) of b on fd; see ReadFD.
func WriteFD(fd uintptr, b []byte) (int, error) {
	n, err := syscall.Write(int(fd), b)
	return max(n, 0), err
}
