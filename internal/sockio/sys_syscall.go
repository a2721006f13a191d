//go:build (linux && (race || 386)) || darwin || freebsd || netbsd || openbsd

package sockio

import "syscall"

// The system calls through the syscall package: race-detector builds
// (its Read and Write tell the detector about the memory they touch and
// order I/O between goroutines) and the other Unix systems.

func sysRead(fd uintptr, p []byte) (int, syscall.Errno) {
	return result(syscall.Read(int(fd), p))
}

func sysWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	return result(syscall.Write(int(fd), p))
}

// result is a system call's count and error as sysRead returns them: no
// count with an error (the syscall package returns -1).
func result(n int, err error) (int, syscall.Errno) {
	if err != nil {
		return 0, toErrno(err)
	}
	return n, 0
}

func toErrno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}
