//go:build !linux

package rawsock

import "syscall"

// ReadFD is read(2) on fd into b. Elsewhere than on Linux it is the runtime's ordinary system
// call: the saving is measured, and needed, on Linux only. A call interrupted by a signal is
// made again.
func ReadFD(fd uintptr, b []byte) (int, error) { return retryEINTR(syscall.Read, fd, b) }

// WriteFD is write(2) of b on fd; see ReadFD.
func WriteFD(fd uintptr, b []byte) (int, error) { return retryEINTR(syscall.Write, fd, b) }

func retryEINTR(call func(int, []byte) (int, error), fd uintptr, b []byte) (int, error) {
	for {
		n, err := call(int(fd), b)
		if err != syscall.EINTR {
			return max(n, 0), err
		}
	}
}
