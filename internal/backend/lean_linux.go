package backend

import (
	"syscall"

	"github.com/agentgw/agentgateway/internal/sockio"
)

// peekProbes: peek sees unasked bytes and a closed connection.
const peekProbes = true

// peek is the liveness probe of an idle connection: a non-blocking
// MSG_PEEK read. Nothing to read (EAGAIN) means alive; EOF, an error or
// unasked bytes mean the connection cannot carry a request.
func (c *leanConn) peek(fd uintptr) bool {
	_, errno := sockio.PeekByte(fd)
	c.peekOK = errno == syscall.EAGAIN
	return true
}
