//go:build !linux

package backend

// peekProbes: peek trusts the connection (it sees nothing).
const peekProbes = false

// peek cannot probe without blocking here: a reused connection is trusted,
// and a replayable request that finds it dead is sent again.
func (c *leanConn) peek(uintptr) bool {
	c.peekOK = true
	return true
}
