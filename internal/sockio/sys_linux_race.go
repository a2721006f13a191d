//go:build linux && race

package sockio

import "syscall"

// PeekByte: see sys_direct.go.
func PeekByte(fd uintptr) (int, syscall.Errno) {
	var b [1]byte
	n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return result(n, err)
}

const peekSupported = true
