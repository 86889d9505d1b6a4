package rawsock

import (
	"syscall"
	"unsafe"
)

// ReadFD is read(2) on fd into b (not empty), made as a raw system call, for a non-blocking
// socket inside a syscall.RawConn's Read. Errors are syscall.Errno.
func ReadFD(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// WriteFD is write(2) of b (not empty) on fd, made as a raw system call, for a non-blocking
// socket inside a syscall.RawConn's Write. Errors are syscall.Errno.
func WriteFD(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
