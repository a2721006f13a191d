//go:build linux || darwin || freebsd || netbsd || openbsd

package sockio

import "syscall"

const supported = true

// writeAll writes p to the non-blocking socket fd; done reports that all
// of it went out (false with a nil error: the socket buffer is full).
func writeAll(fd uintptr, p []byte) (n int, done bool, err error) {
	for n < len(p) {
		m, errno := sysWrite(fd, p[n:])
		if m > 0 {
			n += m
		}
		switch {
		case errno == syscall.EINTR:
		case errno == syscall.EAGAIN:
			return n, false, nil
		case errno != 0:
			return n, false, errno
		case m <= 0:
			return n, false, nil
		}
	}
	return n, true, nil
}
