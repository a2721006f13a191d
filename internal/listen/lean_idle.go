package listen

import "sync"

// A keep-alive connection waiting for its next request holds no buffers.
// Its 4 KiB reader and 4 KiB writer go back to their pools while it
// waits, and the first bytes of the next request are read into a pooled
// buffer taken only once the socket is readable (sockio's ReadPooled: the
// same system calls as a plain read). Agents that keep connections open
// between calls would otherwise pin 8 KiB each, and at a fixed 3,000
// requests a second over 32 connections every connection is idle most
// of the time (docs/performance.md, "Memory, session 10").

// idleBufSize is a pooled first-read buffer's size: the reader's, so the
// reader takes all of it in one fill.
const idleBufSize = 4 << 10

var idleBufs = sync.Pool{New: func() any { return new([idleBufSize]byte) }}

func getIdleBuf() []byte  { return idleBufs.Get().(*[idleBufSize]byte)[:] }
func putIdleBuf(b []byte) { idleBufs.Put((*[idleBufSize]byte)(b[:idleBufSize:idleBufSize])) }

// idleRead waits for the next request's first bytes without the
// connection's reader and writer and leaves them in the connection
// reader for the reader it takes back. A byte the disconnect watcher kept,
// bytes already buffered, or a connection without direct socket I/O (TLS)
// keep the plain read. It reports false when the connection ended
// (EOF, the idle timeout, an error) before a byte came.
func (c *leanConn) idleRead() bool {
	c.wmu.Lock()
	kept := c.cr.hasByte
	c.wmu.Unlock()
	if kept || !c.io.Direct() || c.br.Buffered() > 0 || c.bw.Buffered() > 0 {
		return true
	}
	putReader(c.br)
	putWriter(&bufWriterPool, c.bw)
	c.br, c.bw = nil, nil
	c.shed.Store(true)
	p, n, err := c.io.ReadPooled(getIdleBuf, putIdleBuf)
	c.shed.Store(false)
	c.br = getReader(&c.cr)
	c.bw = getWriter(&bufWriterPool, connWriter{c}, 4<<10)
	if n > 0 {
		c.cr.pend, c.cr.pendBuf = p[:n], p
	}
	return err == nil || n > 0
}

// readPending hands out the bytes idleRead read, and gives its buffer
// back once they are all out.
func (cr *connReader) readPending(p []byte) int {
	n := copy(p, cr.pend)
	cr.pend = cr.pend[n:]
	if len(cr.pend) == 0 {
		putIdleBuf(cr.pendBuf)
		cr.pend, cr.pendBuf = nil, nil
	}
	return n
}
