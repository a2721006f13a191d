//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package sockio

import "syscall"

const supported = false

func writeAll(uintptr, []byte) (int, bool, error) { return 0, false, nil }

// Never called: without support a Conn uses the connection's own I/O.
func sysRead(uintptr, []byte) (int, syscall.Errno)  { return 0, syscall.EINVAL }
func sysWrite(uintptr, []byte) (int, syscall.Errno) { return 0, syscall.EINVAL }

const peekSupported = false

// PeekByte is not offered here.
func PeekByte(uintptr) (int, syscall.Errno) { return 0, syscall.EINVAL }
