package listen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/agentgw/agentgateway/internal/httphead"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/sockio"
)

const (
	// maxPostHandlerReadBytes is how much of an unread request body is
	// drained to keep the connection (net/http's value).
	maxPostHandlerReadBytes = 256 << 10
	// rstAvoidanceDelay is net/http's pause between CloseWrite and Close
	// when unread request bytes are left on the socket.
	rstAvoidanceDelay = 500 * time.Millisecond
)

var aLongTimeAgo = time.Unix(1, 0)

// How a lean connection ends.
type connEnd int

const (
	endClose      connEnd = iota // flush and close
	endCloseWrite                // flush, CloseWrite, wait, close (unread body left)
	endHandoff                   // hand the socket to the http.Server
	endHijacked                  // the handler took the socket
)

// leanConn is one downstream connection served by the lean loop.
type leanConn struct {
	ls         *leanServer
	rwc        net.Conn
	io         sockio.Conn // rwc's Read and Write, with less scheduler work
	cr         connReader
	br         *bufio.Reader
	bw         *bufio.Writer
	ctx        context.Context // ServerContextKey, LocalAddrContextKey
	remoteAddr string
	head       []byte // raw copy of the current request head (replay)
	idle       bool   // waiting for a request; guarded by ls.mu
	lastPOST   bool
	hijacked   bool
	werr       error       // first write error to the client
	shed       atomic.Bool // waiting for a request without buffers (lean_idle.go)

	// Disconnect watcher state, guarded by wmu.
	wmu        sync.Mutex
	cancel     *pipeline.RequestContext // current request's
	inHandler  bool
	timerFired bool
	bodyEOF    bool
	watching   bool
	aborting   bool
	wwg        sync.WaitGroup

	// The server's watch queue (lean_watch.go), guarded by ls.wq.mu.
	wqNext, wqPrev *leanConn
	wqStart        time.Time
	wqIn           bool
}

func newLeanConn(ls *leanServer, rwc net.Conn) *leanConn {
	c := &leanConn{ls: ls, rwc: rwc}
	c.io.Init(rwc)
	c.cr.c = c
	if ra := rwc.RemoteAddr(); ra != nil {
		c.remoteAddr = ra.String()
	}
	ctx := context.WithValue(context.Background(), http.ServerContextKey, ls.srv)
	c.ctx = context.WithValue(ctx, http.LocalAddrContextKey, rwc.LocalAddr())
	c.idle = true
	return c
}

// connReader reads the socket, first returning the byte the disconnect
// watcher read ahead, if any.
type connReader struct {
	c       *leanConn
	hasByte bool // guarded by c.wmu
	b       [1]byte
	// Bytes idleRead read before the reader was taken back, and their
	// pooled buffer (the loop's goroutine only).
	pend, pendBuf []byte
}

func (cr *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	cr.c.wmu.Lock()
	if cr.hasByte {
		p[0] = cr.b[0]
		cr.hasByte = false
		cr.c.wmu.Unlock()
		return 1, nil
	}
	cr.c.wmu.Unlock()
	if cr.pendBuf != nil {
		return cr.readPending(p), nil
	}
	return cr.c.io.Read(p)
}

// connWriter notes the first write error and cancels the request.
type connWriter struct{ c *leanConn }

func (w connWriter) Write(p []byte) (int, error) {
	n, err := w.c.io.Write(p)
	if err != nil && w.c.werr == nil {
		w.c.werr = err
		w.c.wmu.Lock()
		cancel := w.c.cancel
		w.c.wmu.Unlock()
		if cancel != nil {
			cancel.Cancel()
		}
	}
	return n, err
}

// serve runs the connection until it closes or is handed off.
func (c *leanConn) serve() {
	ls := c.ls
	c.br = getReader(&c.cr)
	c.bw = getWriter(&bufWriterPool, connWriter{c}, 4<<10)
	end, replay := c.loop()
	ls.untrack(c)
	switch end {
	case endHijacked:
		putWriter(&bufWriterPool, c.bw) // flushed by Hijack; c.br belongs to the hijacker
		c.br, c.bw = nil, nil
		return
	case endHandoff:
		ls.handOff(c.rwc, replay)
	case endCloseWrite:
		_ = c.bw.Flush()
		if cw, ok := c.rwc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		time.Sleep(rstAvoidanceDelay)
		_ = c.rwc.Close()
		ls.setState(http.StateClosed)
	default:
		_ = c.bw.Flush()
		_ = c.rwc.Close()
		ls.setState(http.StateClosed)
	}
	putReader(c.br)
	putWriter(&bufWriterPool, c.bw)
	c.br, c.bw = nil, nil
}

// loop reads and serves requests; it returns how the connection ends and,
// for a handoff, the bytes to replay.
func (c *leanConn) loop() (connEnd, []byte) {
	srv := c.ls.srv
	for first := true; ; first = false {
		if !first {
			c.ls.setIdle(c, true)
			if c.ls.closing.Load() {
				return endClose, nil
			}
			// Like net/http: wait (idle timeout) for 4 bytes of the next
			// request; fewer before EOF end the connection silently.
			if c.br.Buffered() < 4 {
				_ = c.rwc.SetReadDeadline(deadline(srv.IdleTimeout))
				if c.br.Buffered() == 0 && !c.idleRead() {
					return endClose, nil
				}
				if _, err := c.br.Peek(4); err != nil {
					return endClose, nil
				}
			}
			_ = c.rwc.SetReadDeadline(deadline(srv.ReadHeaderTimeout))
		} else {
			_ = c.rwc.SetReadDeadline(deadline(srv.ReadHeaderTimeout))
			if _, err := c.br.Peek(1); err != nil {
				return endClose, nil
			}
		}
		if c.lastPOST {
			// RFC 7230 section 3 tolerance for old buggy clients (net/http too).
			peek, _ := c.br.Peek(4)
			_, _ = c.br.Discard(numLeadingCRorLF(peek))
		}
		if !first {
			// net/http looks for the h2c preface only in a connection's
			// first bytes; handing this one off would switch it to HTTP/2
			// mid-stream (frames no front proxy framed). Close instead.
			if b, _ := c.br.Peek(min(4, c.br.Buffered())); string(b) == "PRI " {
				return endClose, nil
			}
		}
		headLen, end := c.findHead()
		if end == endHandoff {
			return endHandoff, c.replay(nil)
		}
		if headLen < 0 {
			return endClose, nil
		}
		raw, _ := c.br.Peek(headLen)
		// The request, its URL and its response writer in one allocation.
		w := new(response)
		req := &w.reqStore
		if httphead.Request(raw, req, &w.urlStore) {
			_, _ = c.br.Discard(headLen)
		} else {
			// Anything but the plainest heads: net/http reads it, and
			// judges whether the lean path may serve it.
			c.head = append(c.head[:0], raw...)
			before := c.br.Buffered()
			std, err := http.ReadRequest(c.br)
			consumed := before - c.br.Buffered()
			if err != nil || !leanEligible(std) || !leanHostOK(c.head) {
				if consumed > len(c.head) {
					return endClose, nil // cannot happen: ReadRequest stops at the head's end
				}
				return endHandoff, c.replay(c.head[:consumed])
			}
			req = std
		}
		c.lastPOST = req.Method == "POST"
		_ = c.rwc.SetReadDeadline(time.Time{})
		if !c.ls.setIdle(c, false) {
			return endClose, nil // shutting down: dropped unanswered, like net/http
		}
		if end := c.serveRequest(w, req); end != endHandoff {
			return end, nil
		}
	}
}

func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

func numLeadingCRorLF(v []byte) (n int) {
	for _, b := range v {
		if b == '\r' || b == '\n' {
			n++
			continue
		}
		break
	}
	return
}

// replay returns consumed followed by every byte read but not consumed.
func (c *leanConn) replay(consumed []byte) []byte {
	n := c.br.Buffered()
	out := make([]byte, 0, len(consumed)+n+1)
	out = append(out, consumed...)
	rest, _ := c.br.Peek(n)
	out = append(out, rest...)
	c.wmu.Lock()
	if c.cr.hasByte {
		out = append(out, c.cr.b[0])
		c.cr.hasByte = false
	}
	c.wmu.Unlock()
	out = append(out, c.cr.pend...) // connReader's order; empty in practice (one fill takes them all)
	return out
}

// findHead fills the reader until it holds a whole request head and
// returns its length. endHandoff: the head is unusual (bare LF, larger
// than the buffer, cut short by EOF) and net/http must judge it. -1 with
// endClose: the client went away or timed out.
func (c *leanConn) findHead() (int, connEnd) {
	scanned := 0
	for {
		n := c.br.Buffered()
		buf, _ := c.br.Peek(n)
		for i := scanned; i < n; i++ {
			if buf[i] != '\n' {
				continue
			}
			if i == 0 || buf[i-1] != '\r' {
				return 0, endHandoff // bare LF
			}
			if i >= 3 && buf[i-2] == '\n' && buf[i-3] == '\r' {
				return i + 1, endClose
			}
		}
		scanned = n
		if n == c.br.Size() {
			return 0, endHandoff
		}
		if _, err := c.br.Peek(n + 1); err != nil {
			if errors.Is(err, io.EOF) {
				return 0, endHandoff // net/http answers a truncated head with 400
			}
			return -1, endClose
		}
	}
}

// leanEligible reports whether req is plain enough for the lean path; the
// checks mirror net/http's server readRequest, everything else goes there.
func leanEligible(req *http.Request) bool {
	if req.ProtoMajor != 1 || req.ProtoMinor != 1 {
		return false
	}
	switch req.Method {
	case "CONNECT", "HEAD", "PRI":
		return false
	}
	if req.RequestURI == "*" || len(req.TransferEncoding) > 0 || req.ContentLength < 0 {
		return false
	}
	for k, vv := range req.Header {
		switch k {
		case "Upgrade", "Expect", "Transfer-Encoding":
			return false
		}
		if !httpguts.ValidHeaderFieldName(k) {
			return false
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// leanHostOK reports whether the raw head has exactly one valid Host
// header (http.ReadRequest drops the header, so net/http's server checks
// are redone on the raw bytes). Folded lines are left to net/http.
func leanHostOK(head []byte) bool {
	hosts := 0
	valid := false
	first := true
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			break
		}
		line := head[:i]
		head = head[i+1:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if first {
			first = false
			continue
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return false
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(name, []byte("Host")) {
			continue
		}
		hosts++
		valid = httpguts.ValidHostHeader(textproto.TrimString(string(value)))
	}
	return hosts == 1 && valid
}

// serveRequest runs the handler for req and writes the response. It
// returns endHandoff to mean "keep the connection for the next request".
func (c *leanConn) serveRequest(w *response, req *http.Request) connEnd {
	delete(req.Header, "Host")
	req.RemoteAddr = c.remoteAddr
	w.c, w.handlerHeader, w.contentLength = c, make(http.Header), -1
	w.wantsClose = req.Close || hasToken(headerGet(req.Header, "Connection"), "close") // net/http's wantsClose
	// The request's context lives in w (no allocation of its own) and has
	// room for the gateway's per-request record (pipeline.AttachInfo).
	w.ctx.Init(c.ctx)
	*req = *req.WithContext(&w.ctx) // in place: the copy WithContext makes stays on the stack
	w.req = req
	w.cw.res = w
	if req.ContentLength > 0 {
		w.body = leanBody{c: c, remain: req.ContentLength}
		req.Body = &w.body
	} else {
		req.Body = http.NoBody
	}
	w.reqBody = req.Body
	w.w = getWriter(&chunkBufPool, &w.cw, bufferBeforeChunkingSize)

	c.startWatch(&w.ctx, req.ContentLength == 0)
	p := c.callHandler(w, req)
	w.ctx.Cancel()
	c.endHandler()
	if c.hijacked {
		return endHijacked
	}
	if p != nil {
		c.abortWatcher()
		w.done = true
		putWriter(&chunkBufPool, w.w)
		w.w = nil
		_ = w.reqBody.Close()
		return endClose
	}
	w.finishRequest()
	c.abortWatcher()
	_ = w.reqBody.Close()
	c.wmu.Lock()
	c.cancel = nil
	c.wmu.Unlock()
	if !w.shouldReuseConnection() {
		if w.requestBodyLimitHit || w.closedRequestBodyEarly() {
			return endCloseWrite
		}
		return endClose
	}
	if c.ls.closing.Load() {
		return endClose
	}
	return endHandoff
}

// callHandler runs the handler; a panic is logged like net/http does
// (except http.ErrAbortHandler) and returned.
func (c *leanConn) callHandler(w *response, req *http.Request) (p any) {
	defer func() {
		if p = recover(); p != nil && p != http.ErrAbortHandler { //nolint:errorlint // net/http compares the same way
			const size = 64 << 10
			buf := make([]byte, size)
			buf = buf[:runtime.Stack(buf, false)]
			c.ls.logf("http: panic serving %v: %v\n%s", c.remoteAddr, p, buf)
		}
	}()
	c.ls.srv.Handler.ServeHTTP(w, req)
	return nil
}

// leanBody is a request body of known length read from the connection.
type leanBody struct {
	mu         sync.Mutex
	c          *leanConn
	remain     int64
	sawEOF     bool
	closed     bool
	earlyClose bool
}

func (b *leanBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.readLocked(p)
}

func (b *leanBody) readLocked(p []byte) (n int, err error) {
	if b.sawEOF {
		return 0, io.EOF
	}
	if b.remain <= 0 {
		err = io.EOF
	} else {
		if int64(len(p)) > b.remain {
			p = p[:b.remain]
		}
		n, err = b.c.br.Read(p)
		b.remain -= int64(n)
		if err == io.EOF && b.remain > 0 { //nolint:errorlint // bufio returns io.EOF itself
			b.sawEOF = true
			b.c.bodyHitEOF()
			return n, io.ErrUnexpectedEOF
		}
	}
	if err == io.EOF || (err == nil && n > 0 && b.remain == 0) { //nolint:errorlint // see above
		err = io.EOF
		b.sawEOF = true
		b.c.bodyHitEOF()
	}
	return n, err
}

// Close drains up to maxPostHandlerReadBytes so the connection can be
// reused (net/http's doEarlyClose); a bigger rest marks earlyClose.
func (b *leanBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	var err error
	switch {
	case b.sawEOF:
	case b.remain > maxPostHandlerReadBytes:
		b.earlyClose = true
	default:
		var n int64
		n, err = io.CopyN(io.Discard, bodyLocked{b}, maxPostHandlerReadBytes)
		if errors.Is(err, io.EOF) {
			err = nil
		}
		if n == maxPostHandlerReadBytes {
			b.earlyClose = true
		}
	}
	b.closed = true
	return err
}

// unread is the declared length still unread (net/http's unreadDataSizeLocked).
func (b *leanBody) unread() int64 { return b.remain }

type bodyLocked struct{ b *leanBody }

func (bl bodyLocked) Read(p []byte) (int, error) {
	if bl.b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return bl.b.readLocked(p)
}
