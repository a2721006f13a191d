package backend

import (
	"bufio"
	"sync"
)

// An idle upstream connection holds no buffers. A pool of keep-alive
// connections per upstream adds up (one per concurrent request it has
// served, for the idle timeout): at 4 KiB read + 4 KiB write each, the
// idle connections of a gateway that had carried HTTP, LLM and MCP
// traffic held ~1.1 MiB of live heap, which the GC doubles into its heap
// goal. put sheds a connection's buffers into these pools once its
// exchange is over (nothing is buffered either way: put closes a
// connection with unread bytes, and the request was flushed), and get
// takes a pair again for the next exchange. bufio's Reset keeps a
// buffer, so a busy pool allocates nothing.
var (
	leanReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, leanBufSize) }}
	leanWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, leanBufSize) }}
)

// takeBuffers gives c a reader and a writer: over c, not its net.Conn
// (the reader counts and limits; the writer must not see net.TCPConn's
// ReadFrom, whose generic path allocates 32 KiB).
func (c *leanConn) takeBuffers() {
	c.br = leanReaders.Get().(*bufio.Reader)
	c.br.Reset(c)
	c.bw = leanWriters.Get().(*bufio.Writer)
	c.bw.Reset(c)
}

// shedBuffers gives c's buffers back; only an idle connection, whose
// exchange has ended with nothing buffered, sheds them (a connection that
// is closed instead keeps them: a racing Read may still hold its reader).
func (c *leanConn) shedBuffers() {
	c.br.Reset(nil)
	leanReaders.Put(c.br)
	c.bw.Reset(nil)
	leanWriters.Put(c.bw)
	c.br, c.bw = nil, nil
}
