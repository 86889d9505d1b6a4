package rawsock

import (
	"syscall"
	"unsafe"
)

// ReadFD is read(2) on fd into b (not empty), made as a raw system call, for a non-blocking
// socket inside a syscall.RawConn's Read. A call interrupted by a signal is made again. Errors
// are syscall.Errno.
func ReadFD(fd uintptr, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}

// WriteFD is write(2) of b (not empty) on fd, made as a raw system call, for a non-blocking
// socket inside a syscall.RawConn's Write. A call interrupted by a signal is made again. Errors
// are syscall.Errno.
func WriteFD(fd uintptr, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}
