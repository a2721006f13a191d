//go:build darwin || freebsd || netbsd || openbsd

package sockio

import "syscall"

const peekSupported = false

// PeekByte is not offered here (the backend trusts idle connections).
func PeekByte(uintptr) (int, syscall.Errno) { return 0, syscall.EINVAL }
