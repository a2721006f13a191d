// Package sockio saves a system call per exchange on a TCP connection
// that alternates writes and reads (an HTTP/1.1 client): Go's
// net.Conn reads first and waits for the poller only when the read says
// EAGAIN, so every read that follows the write of a request costs a
// system call that only learns the answer is not there yet.
// AwaitWriter sends the last bytes of a message from inside a
// syscall.RawConn read and waits there until the connection is readable;
// the read that follows then finds data.
//
// It suits a client awaiting the answer to its request, not a server
// awaiting a client's next request. RawRead forgets any readiness that
// came before it (the poller's state is reset), and the wait ends only on
// a new event: the answer to the request just written always is one (as
// is the reset a write to a closed peer draws), but bytes or a FIN that a
// client sent ahead (pipelining, a half-close) would leave a server
// waiting until its read deadline. internal/listen therefore keeps the
// plain read.
package sockio

import (
	"net"
	"os"
	"syscall"
)

// AwaitWriter is one connection's write-then-await-readable helper; it
// keeps its state in fields, so Write does not allocate. It is not safe
// for concurrent use, and nothing else may read the connection during
// Write. Its zero value does nothing special (Write returns sent 0).
type AwaitWriter struct {
	nc  net.Conn
	raw syscall.RawConn
	fn  func(fd uintptr) bool // a.step, bound once

	p    []byte
	n    int
	err  error
	sent bool
}

// Init binds a to nc. Without a raw connection (not a socket) Write sends
// nothing and the caller writes the usual way.
func (a *AwaitWriter) Init(nc net.Conn) {
	*a = AwaitWriter{nc: nc}
	if sc, ok := nc.(syscall.Conn); ok && supported {
		if raw, err := sc.SyscallConn(); err == nil {
			a.raw = raw
			a.fn = a.step
		}
	}
}

// Enabled reports whether Write can do its work on this connection.
func (a *AwaitWriter) Enabled() bool { return a.raw != nil }

// Write sends p with non-blocking writes and, when all of it went out,
// waits until the connection is readable (data, EOF or an error), or
// until the read deadline or a close. It returns
// how much of p was sent: when that is less than len(p) with a nil error
// (the socket buffer is full), the caller sends the rest the usual way.
// A failure of the wait itself is not reported: the read that follows
// meets it.
func (a *AwaitWriter) Write(p []byte) (int, error) {
	if a.raw == nil {
		return 0, nil
	}
	a.p, a.n, a.err, a.sent = p, 0, nil, false
	_ = a.raw.Read(a.fn) // RawRead arms the read readiness before the first call
	n, err := a.n, a.err
	a.p, a.err = nil, nil
	if err != nil {
		return n, &net.OpError{Op: "write", Net: a.nc.LocalAddr().Network(), Source: a.nc.LocalAddr(), Addr: a.nc.RemoteAddr(), Err: os.NewSyscallError("write", err)}
	}
	return n, nil
}

// step is the RawRead callback: the first call writes, the next one (the
// connection is readable) ends the wait.
func (a *AwaitWriter) step(fd uintptr) bool {
	if a.sent {
		return true
	}
	a.sent = true
	var done bool
	a.n, done, a.err = writeAll(fd, a.p)
	return !done || a.err != nil // all sent: wait for readability
}
