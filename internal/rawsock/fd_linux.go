package rawsock

import (
	"syscall"
	"unsafe"
)

// ReadFD is read(2) on fd into b (not empty), made as a raw system call, for a non-blocking
// socket inside a syscall.RawConn's Read. Errors are syscall.Errno.
func ReadFD(fd uintptr, b []byte) (int, error) { return rawIO(syscall.SYS_READ, fd, b) }

// WriteFD is write(2) of b (not empty) on fd, made as a raw system call, for a non-blocking
// socket inside a syscall.RawConn's Write. Errors are syscall.Errno.
func WriteFD(fd uintptr, b []byte) (int, error) { return rawIO(syscall.SYS_WRITE, fd, b) }

// rawIO makes the read or write trap on fd with b, again when a signal interrupts it.
func rawIO(trap, fd uintptr, b []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}
