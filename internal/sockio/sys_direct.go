//go:build linux && !race && !386

package sockio

import (
	"syscall"
	"unsafe"
)

// The system calls of a non-blocking socket, made directly: they cannot
// block, so the scheduler need not know (see the package comment). Each
// converts the buffer's pointer in the call expression itself, the form
// unsafe.Pointer's rule 4 allows for syscall arguments (gosec's G103
// flags every use of unsafe; these three are audited).

func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p))) //nolint:gosec // G103: rule 4, see above
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p))) //nolint:gosec // G103: rule 4, see above
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

// PeekByte is a non-blocking MSG_PEEK read of one byte from the socket
// fd: 0 with EAGAIN means nothing to read, 0 with no error an orderly
// close, 1 a byte waiting.
func PeekByte(fd uintptr) (int, syscall.Errno) {
	var b [1]byte
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1, //nolint:gosec // G103: rule 4, see above
		syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), 0
}

const peekSupported = true
