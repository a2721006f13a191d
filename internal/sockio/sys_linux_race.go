//go:build linux && (race || 386)

package sockio

import "syscall"

// PeekByte: see sys_direct.go. (linux/386 makes socket calls through
// socketcall: it has no SYS_RECVFROM, and takes the syscall package too.)
func PeekByte(fd uintptr) (int, syscall.Errno) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return result(n, err)
}

const peekSupported = true
