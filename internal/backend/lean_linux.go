package backend

import "syscall"

// peekProbes: peek sees unasked bytes and a closed connection.
const peekProbes = true

// peek is the liveness probe of an idle connection: a non-blocking
// MSG_PEEK read. Nothing to read (EAGAIN) means alive; EOF, an error or
// unasked bytes mean the connection cannot carry a request.
func (c *leanConn) peek(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	c.peekOK = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true
}
