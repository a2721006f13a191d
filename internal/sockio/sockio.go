// Package sockio does the socket I/O of the gateway's lean HTTP/1.1
// paths with less scheduler work than net.Conn.
//
// Conn reads and writes a connected socket through its syscall.RawConn.
// On Linux the read and write system calls are made directly (the socket
// is non-blocking, so they never block): net.Conn's Read and Write enter
// them through the scheduler's blocking-syscall bookkeeping, which wakes
// the sysmon thread when it sleeps (a futex wake per call on an idle
// process) and lets sysmon hand the P to another thread when a loopback
// write (which runs the receiver's TCP stack) takes more than 20 µs. At a
// few thousand requests a second that bookkeeping was about a fifth of
// the gateway's CPU (docs/performance.md). Waiting for readiness, deadlines
// and Close are net's own (RawConn). Race-detector builds use the
// syscall package's Read and Write, which carry the detector's
// annotations.
//
// AwaitWriter saves a system call per exchange on a TCP connection
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
	"io"
	"net"
	"os"
	"sync"
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

// Conn is a connected socket's Read and Write (see the package comment).
// Its zero value, or one whose connection has no file descriptor, uses
// the connection's own Read and Write. Like net.Conn's, Read and Write
// are safe for concurrent use; Init is not.
type Conn struct {
	nc  net.Conn
	raw syscall.RawConn
	r   rawStep
	w   rawStep
	rp  func(fd uintptr) bool // c.readPooledStep, bound once
}

// rawStep is the state of one direction's RawConn callback (kept in the
// Conn so that a call allocates nothing).
type rawStep struct {
	mu    sync.Mutex            // one call at a time uses the fields below
	fn    func(fd uintptr) bool // bound once
	p     []byte
	n     int
	errno syscall.Errno
	eof   bool // a write that made no progress without an error
	// ReadPooled's buffer source.
	get func() []byte
	put func([]byte)
}

// Init binds c to nc.
func (c *Conn) Init(nc net.Conn) {
	*c = Conn{nc: nc}
	if !supported {
		return
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw = raw
	c.r.fn = c.readStep
	c.w.fn = c.writeStep
	c.rp = c.readPooledStep
}

// Direct reports whether c makes the system calls itself.
func (c *Conn) Direct() bool { return c.raw != nil }

// Read is net.Conn's Read: it waits until data, EOF or an error is there
// (or the read deadline passes, or the connection is closed).
func (c *Conn) Read(p []byte) (int, error) {
	if c.raw == nil {
		return c.nc.Read(p)
	}
	if len(p) == 0 {
		if err := c.raw.Read(noStep); err != nil { // net.Conn's: a closed connection says so
			return 0, c.opError("read", err)
		}
		return 0, nil
	}
	s := &c.r
	s.mu.Lock()
	s.p, s.n, s.errno = p, 0, 0
	err := c.raw.Read(s.fn)
	n, errno := s.n, s.errno
	s.p = nil
	s.mu.Unlock()
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// ReadPooled is Read into a buffer that get supplies, for a server
// awaiting a client's next request: the buffer is held only while there
// is something to read. A read that finds nothing (EAGAIN) hands the
// buffer back to put before the wait for readability and takes one from
// get again when the socket is readable, so a connection idle between
// requests holds none. It makes the same system calls as Read. It returns
// the buffer holding the n bytes read; on an error or EOF (n == 0) the
// buffer has been given back and is nil. Without a raw connection it is
// the connection's Read into a buffer held throughout, and n > 0 may
// come with an error, as from any io.Reader.
func (c *Conn) ReadPooled(get func() []byte, put func([]byte)) ([]byte, int, error) {
	if c.raw == nil { // the connection's own Read, holding the buffer while it waits
		p := get()
		for {
			n, err := c.nc.Read(p)
			if n > 0 {
				return p, n, err
			}
			if err != nil {
				put(p)
				return nil, 0, err
			}
		}
	}
	s := &c.r
	s.mu.Lock()
	s.p, s.n, s.errno, s.get, s.put = nil, 0, 0, get, put
	err := c.raw.Read(c.rp)
	p, n, errno := s.p, s.n, s.errno
	s.p, s.get, s.put = nil, nil, nil
	s.mu.Unlock()
	if err == nil && errno == 0 && n > 0 {
		return p, n, nil
	}
	if p != nil {
		put(p)
	}
	switch {
	case err != nil:
		return nil, 0, c.opError("read", err)
	case errno != 0:
		return nil, 0, c.opError("read", os.NewSyscallError("read", errno))
	}
	return nil, 0, io.EOF
}

// readPooledStep is readStep with a buffer taken for the read and given
// back before a wait.
func (c *Conn) readPooledStep(fd uintptr) bool {
	s := &c.r
	if s.p == nil {
		s.p = s.get()
	}
	if c.readStep(fd) {
		return true
	}
	s.put(s.p) // nothing to read: wait without the buffer
	s.p = nil
	return false
}

// noStep is the RawConn callback of a zero-length Read or Write: it only
// lets RawConn report a closed connection or a passed deadline.
func noStep(uintptr) bool { return true }

// maxRW bounds one system call, as internal/poll does (some systems
// refuse larger counts).
const maxRW = 1 << 30

func (c *Conn) readStep(fd uintptr) bool {
	s := &c.r
	p := s.p
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	for {
		n, errno := sysRead(fd, p)
		switch errno {
		case 0:
			s.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait for readability
		}
		s.errno = errno
		return true
	}
}

// Write is net.Conn's Write: it returns once all of p is written, or on
// an error (the write deadline, a closed connection, a reset).
func (c *Conn) Write(p []byte) (int, error) {
	if c.raw == nil {
		return c.nc.Write(p)
	}
	if len(p) == 0 {
		if err := c.raw.Write(noStep); err != nil {
			return 0, c.opError("write", err)
		}
		return 0, nil
	}
	s := &c.w
	s.mu.Lock()
	s.p, s.n, s.errno, s.eof = p, 0, 0, false
	err := c.raw.Write(s.fn)
	n, errno, eof := s.n, s.errno, s.eof
	s.p = nil
	s.mu.Unlock()
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	case eof:
		return n, c.opError("write", io.ErrUnexpectedEOF)
	}
	return n, nil
}

func (c *Conn) writeStep(fd uintptr) bool {
	s := &c.w
	for s.n < len(s.p) {
		chunk := s.p[s.n:]
		if len(chunk) > maxRW {
			chunk = chunk[:maxRW]
		}
		n, errno := sysWrite(fd, chunk)
		if n > 0 {
			s.n += n
		}
		switch {
		case errno == syscall.EINTR:
		case errno == syscall.EAGAIN:
			return false // wait for writability
		case errno != 0:
			s.errno = errno
			return true
		case n <= 0:
			s.eof = true
			return true
		}
	}
	return true
}

// opError wraps err as net's own Read and Write do (RawConn's errors
// already are *net.OpError, for a "raw-read" or "raw-write": renamed).
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		oe.Op = op
		return oe
	}
	return &net.OpError{Op: op, Net: c.nc.LocalAddr().Network(), Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: err}
}
