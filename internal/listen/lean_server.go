package listen

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The lean HTTP/1.1 server path. Plain, well-formed HTTP/1.1 requests are
// served by our own per-connection loop (no background read goroutine per
// request, fewer allocations); anything unusual (HEAD, Upgrade, Expect,
// chunked uploads, HTTP/1.0, h2c, malformed input, big heads...) is handed
// to the port's http.Server together with the bytes already read, and
// net/http serves the rest of that connection. net/http is the reference
// for every behaviour; the differential tests compare both byte for byte.

// leanEnv turns the lean path off when set to "off" (read at NewManager).
const leanEnv = "AGW_LEAN_HTTP1"

func leanEnabled() bool { return os.Getenv(leanEnv) != "off" }

// leanServer serves one port.
type leanServer struct {
	srv     *http.Server
	hook    func(http.ConnState) // nil: no hook
	handoff *handoffListener

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*leanConn]struct{}
	ln      net.Listener

	wq         watchQueue
	watchDelay atomic.Int64 // time.Duration; tests change it
	watchers   atomic.Int64 // disconnect watchers started (tests)
	handoffs   atomic.Int64 // connections handed to the http.Server (tests)
}

func newLeanServer(srv *http.Server, addr net.Addr, hook func(http.ConnState)) *leanServer {
	ls := &leanServer{
		srv:     srv,
		hook:    hook,
		handoff: newHandoffListener(addr),
		conns:   map[*leanConn]struct{}{},
	}
	ls.wq.ls = ls
	ls.watchDelay.Store(int64(watchDelay))
	return ls
}

func (ls *leanServer) setState(st http.ConnState) {
	if ls.hook != nil {
		ls.hook(st)
	}
}

// serve runs the http.Server on the handoff listener and accepts on ln
// until ln is closed.
func (ls *leanServer) serve(ln net.Listener) error {
	ls.mu.Lock()
	ls.ln = ln
	closing := ls.closing.Load()
	ls.mu.Unlock()
	if closing { // shut down before serve started (http.Server.Serve does the same)
		_ = ln.Close()
		return http.ErrServerClosed
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- ls.srv.Serve(ls.handoff) }()
	var delay time.Duration
	for {
		rwc, err := ln.Accept()
		if err != nil {
			if ls.closing.Load() {
				return nil
			}
			var ne interface{ Temporary() bool }
			if errors.As(err, &ne) && ne.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			select {
			case err2 := <-srvErr:
				if err2 != nil && !errors.Is(err2, http.ErrServerClosed) {
					return err2
				}
			default:
			}
			return err
		}
		delay = 0
		ls.setState(http.StateNew)
		c := newLeanConn(ls, rwc)
		if !ls.track(c) {
			_ = rwc.Close()
			ls.setState(http.StateClosed)
			continue
		}
		go c.serve()
	}
}

func (ls *leanServer) track(c *leanConn) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.closing.Load() {
		return false
	}
	ls.conns[c] = struct{}{}
	return true
}

func (ls *leanServer) untrack(c *leanConn) {
	ls.mu.Lock()
	delete(ls.conns, c)
	ls.mu.Unlock()
}

// setIdle marks c as waiting for a request (idle) or serving one. Going
// active fails once shutdown has begun: the request is dropped unanswered,
// like net/http does.
func (ls *leanServer) setIdle(c *leanConn, idle bool) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if !idle && ls.closing.Load() {
		return false
	}
	c.idle = idle
	return true
}

// shutdown stops accepting, closes idle connections and waits for the
// active ones to finish their response (they close after it). When ctx
// ends first, the rest are closed and ctx's error returned.
func (ls *leanServer) shutdown(ctx context.Context) error {
	ls.closing.Store(true)
	ls.mu.Lock()
	if ls.ln != nil {
		_ = ls.ln.Close()
	}
	ls.mu.Unlock()
	wait := time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		if ls.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			ls.closeAll()
			return ctx.Err()
		case <-t.C:
			wait = min(2*wait, 100*time.Millisecond)
			t.Reset(wait)
		}
	}
}

// closeIdle closes the idle connections and reports whether none remain.
func (ls *leanServer) closeIdle() bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for c := range ls.conns {
		if c.idle {
			_ = c.rwc.Close()
		}
	}
	return len(ls.conns) == 0
}

func (ls *leanServer) closeAll() {
	ls.closing.Store(true)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.ln != nil {
		_ = ls.ln.Close()
	}
	for c := range ls.conns {
		_ = c.rwc.Close()
	}
}

// handOff passes c's socket, with the bytes already consumed, to the
// http.Server. replay is owned by the callee.
func (ls *leanServer) handOff(rwc net.Conn, replay []byte) {
	ls.handoffs.Add(1)
	rc := &replayConn{Conn: rwc, buf: replay}
	if !ls.handoff.give(rc) {
		_ = rwc.Close()
		ls.setState(http.StateClosed)
	}
}

// handoffListener is the net.Listener the http.Server serves: Accept
// returns the connections handed over by the lean loop.
type handoffListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

func (l *handoffListener) give(c net.Conn) bool {
	select {
	case <-l.done:
		return false
	default:
	}
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

// replayConn is a handed-off connection: Read first returns the bytes the
// lean loop already consumed, then reads the socket.
type replayConn struct {
	net.Conn
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite keeps net/http's closeWriteAndWait working on the wrapper.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

var (
	bufReaderPool sync.Pool
	bufWriterPool sync.Pool // conn writers, 4 KiB
	chunkBufPool  sync.Pool // response writers, bufferBeforeChunking
)

func getReader(r *connReader) *bufio.Reader {
	if v := bufReaderPool.Get(); v != nil {
		br := v.(*bufio.Reader)
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, 4<<10)
}

func putReader(br *bufio.Reader) {
	br.Reset(nil)
	bufReaderPool.Put(br)
}

func getWriter(pool *sync.Pool, w interface{ Write([]byte) (int, error) }, size int) *bufio.Writer {
	if v := pool.Get(); v != nil {
		bw := v.(*bufio.Writer)
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, size)
}

func putWriter(pool *sync.Pool, bw *bufio.Writer) {
	bw.Reset(nil)
	pool.Put(bw)
}
