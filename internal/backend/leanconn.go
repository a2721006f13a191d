package backend

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/sockio"
)

// leanPool holds the idle connections to one address, oldest first; get
// takes the newest (LIFO: a warm connection, and the old ones age out).
type leanPool struct {
	t     *leanTransport
	addr  string
	mu    sync.Mutex
	idle  []*leanConn
	timer *time.Timer // reaps expired idle connections
	armed bool
}

// get returns an idle connection (reused) or a new one. fresh skips the
// idle ones. A reused connection is first probed: not closed by the
// upstream, and no bytes sent unasked while idle (they would be read as
// the next request's answer).
func (p *leanPool) get(ctx context.Context, fresh bool) (c *leanConn, reused bool, err error) {
	for !fresh {
		if c = p.pop(); c == nil {
			break
		}
		if !c.alive() {
			c.close()
			continue
		}
		c.takeBuffers()
		return c, true, nil
	}
	nc, err := p.t.dial(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	return newLeanConn(p, nc), false, nil
}

func (p *leanPool) pop() *leanConn {
	now := time.Now()
	p.mu.Lock()
	n := len(p.idle)
	if n == 0 {
		p.mu.Unlock()
		return nil
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	if p.t.idleTimeout <= 0 || now.Sub(c.idleAt) < p.t.idleTimeout {
		p.mu.Unlock()
		return c
	}
	old := p.idle // c expired, so did every older one
	p.idle = nil
	p.mu.Unlock()
	c.close()
	for _, o := range old {
		o.close()
	}
	return nil
}

// put makes c idle, or closes it when the pool is full or c holds bytes
// nobody asked for.
func (p *leanPool) put(c *leanConn) {
	if c.br.Buffered() > 0 {
		c.close()
		return
	}
	c.shedBuffers()
	now := time.Now()
	p.mu.Lock()
	if len(p.idle) >= p.t.maxIdle {
		p.mu.Unlock()
		c.close()
		return
	}
	c.idleAt = now
	p.idle = append(p.idle, c)
	if !p.armed && p.t.idleTimeout > 0 {
		p.armed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(p.t.idleTimeout, p.reap)
		} else {
			p.timer.Reset(p.t.idleTimeout)
		}
	}
	p.mu.Unlock()
}

// reap closes the idle connections older than the idle timeout and sets
// the timer for the next one to expire.
func (p *leanPool) reap() {
	now := time.Now()
	p.mu.Lock()
	i := 0
	for i < len(p.idle) && now.Sub(p.idle[i].idleAt) >= p.t.idleTimeout {
		i++
	}
	old := make([]*leanConn, i)
	copy(old, p.idle[:i])
	n := copy(p.idle, p.idle[i:])
	clear(p.idle[n:])
	p.idle = p.idle[:n]
	if n > 0 {
		p.timer.Reset(p.idle[0].idleAt.Add(p.t.idleTimeout).Sub(now))
	} else {
		p.armed = false
	}
	p.mu.Unlock()
	for _, c := range old {
		c.close()
	}
}

func (p *leanPool) closeIdle() {
	p.mu.Lock()
	old := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range old {
		c.close()
	}
}

// len reports the idle connections (tests).
func (p *leanPool) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// leanConn is one upstream connection; one exchange at a time.
type leanConn struct {
	pool    *leanPool
	nc      net.Conn
	io      sockio.Conn // nc's Read and Write, with less scheduler work
	br      *bufio.Reader
	bw      *bufio.Writer
	raw     syscall.RawConn // for the liveness peek; nil when unavailable
	limit   int64           // bytes the reader may still take (header limit)
	nread   int64           // bytes read during the current exchange
	idleAt  time.Time
	src     bodySrc // the request body being written
	abortFn func()  // c.abort, bound once
	peekFn  func(fd uintptr) bool
	peekOK  bool
	// await sends the final flush of a request written on the caller's
	// goroutine and waits for the answer in the same poll (flushAwait).
	await   sockio.AwaitWriter
	awaitOn bool
	// The await's poll forgets a readiness from before it, so flushAwait
	// waits only when nothing can have arrived before the final flush:
	// the connection was probed idle just now (probed: not a new one,
	// whose upstream may speak first) and no byte of the request went out
	// before it (wrote: a body longer than the buffer, which an upstream
	// may answer early).
	probed  bool
	wrote   bool
	aborted atomic.Bool // abort has run: no later deadline may undo it
	one     [1]byte     // writeRequest's read past the declared body length
}

func newLeanConn(p *leanPool, nc net.Conn) *leanConn {
	c := &leanConn{pool: p, nc: nc, limit: math.MaxInt64}
	c.takeBuffers()
	c.abortFn = c.abort
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.peekFn = c.peek
		}
	}
	c.await.Init(nc)
	c.io.Init(nc)
	return c
}

func (c *leanConn) Read(p []byte) (int, error) {
	if c.limit <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > c.limit {
		p = p[:c.limit]
	}
	n, err := c.io.Read(p)
	c.limit -= int64(n)
	c.nread += int64(n)
	return n, err
}

func (c *leanConn) Write(p []byte) (int, error) {
	if !c.awaitOn {
		c.wrote = true
		return c.io.Write(p)
	}
	c.awaitOn = false
	n, err := c.await.Write(p)
	if err != nil || n == len(p) {
		return n, err
	}
	m, err := c.io.Write(p[n:]) // the socket buffer filled up: the rest the usual way
	return n + m, err
}

// flushAwait sends the buffered end of a request written on the caller's
// goroutine and returns once the answer's first bytes (or EOF, or an
// error) are there to read. The response header timeout starts here.
func (c *leanConn) flushAwait() error {
	if c.pool != nil && c.pool.t.headerTimeout > 0 {
		c.setReadDeadline(time.Now().Add(c.pool.t.headerTimeout))
	}
	c.awaitOn = c.await.Enabled() && c.bw.Buffered() > 0 && c.probed && !c.wrote
	err := c.bw.Flush()
	c.awaitOn = false
	return err
}

// abort makes blocked and future I/O on c fail (context canceled).
func (c *leanConn) abort() {
	c.aborted.Store(true)
	_ = c.nc.SetDeadline(aLongTimeAgo)
}

// setReadDeadline sets a read deadline that an abort which has run (and
// set its past one) keeps from taking effect: an abort racing the
// exchange's own deadlines is never lost. An aborted connection is not
// reused, so the flag is never reset.
func (c *leanConn) setReadDeadline(d time.Time) {
	_ = c.nc.SetReadDeadline(d)
	if c.aborted.Load() {
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
	}
}

func (c *leanConn) close() { _ = c.nc.Close() }

// alive reports that the upstream has neither closed c nor sent anything
// unasked while it was idle (a non-blocking peek, where the OS has one).
func (c *leanConn) alive() bool {
	if c.raw == nil {
		return true
	}
	c.peekOK = false
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	c.probed = c.peekOK && peekProbes
	return c.peekOK
}

// roundTrip sends req on c and reads the response header. On error the
// caller closes c; c.nread says whether any response byte had arrived.
func (c *leanConn) roundTrip(req *http.Request, ctx context.Context, got1xx informer) (*http.Response, error) {
	c.nread = 0
	var stop abortReg
	// OnCancel first: on the lean server's own request context it needs
	// no Done channel (which a cancelable context allocates on first use).
	if stop.rc = pipeline.OnCancel(ctx, c.abortFn); stop.rc != nil || ctx.Done() != nil {
		if stop.rc == nil && ctx.Err() == nil {
			stop.stop = context.AfterFunc(ctx, c.abortFn)
		}
		if ctx.Err() != nil {
			stopAfter(stop)
			closeReqBody(req)
			return nil, context.Cause(ctx)
		}
	}
	t := c.pool.t
	var (
		bodyErr bool
		werr    error
		wdone   chan writeResult
	)
	if hasBody(req) && req.GetBody == nil {
		// A body that is not in memory (the client's, streaming) is
		// written on its own goroutine while the answer is read here: an
		// upstream may answer before the body ends (full duplex).
		wdone = make(chan writeResult, 1)
		go c.writeAsync(req, wdone)
	} else {
		bodyErr, werr = c.writeRequest(req, false)
		closeReqBody(req)
	}
	if werr != nil {
		if bodyErr || ctx.Err() != nil {
			stopAfter(stop)
			return nil, c.ioErr(ctx, werr)
		}
		// The upstream may have answered (413, 401) and closed before
		// reading the whole body: prefer its answer if it is there.
		c.setReadDeadline(time.Now().Add(50 * time.Millisecond))
	} else if t.headerTimeout > 0 && wdone != nil {
		// (A request written here has its deadline from flushAwait.)
		c.setReadDeadline(time.Now().Add(t.headerTimeout))
	}
	res, lb, err := c.readResponse(req, ctx, got1xx)
	if err == nil && (werr != nil || t.headerTimeout > 0) {
		_ = c.nc.SetReadDeadline(time.Time{})
		if ctx.Err() != nil { // canceled before the deadline was cleared
			_ = res.Body.Close()
			res, err = nil, context.Cause(ctx)
		}
	}
	if err != nil {
		stopAfter(stop)
		if werr != nil {
			return nil, werr
		}
		if wdone != nil {
			c.close()         // ends the writer, if it is still writing
			closeReqBody(req) // or waiting for the body (as the Transport)
			select {
			case w := <-wdone:
				if w.body && ctx.Err() == nil {
					return nil, w.err // the client's body failed: that is the cause
				}
			default:
			}
		}
		return nil, c.ioErr(ctx, err)
	}
	keep := werr == nil && !res.Close && !wantsClose(req) && res.StatusCode != http.StatusSwitchingProtocols
	if res.Body == http.NoBody {
		c.release(keep, stop, wdone)
		return res, nil
	}
	if lb == nil {
		lb = &leanBody{rc: res.Body}
	}
	lb.c, lb.stop, lb.wdone, lb.keep, lb.ctx = c, stop, wdone, keep, ctx
	res.Body = lb
	return res, nil
}

// writeResult is how an asynchronous request write ended.
type writeResult struct {
	err  error
	body bool // the request body failed, not the connection
}

// writeAsync writes req, closes its body and reports how it went. When
// the request body fails, the connection is closed: the upstream would
// wait for the rest.
func (c *leanConn) writeAsync(req *http.Request, done chan<- writeResult) {
	bodyErr, err := c.writeRequest(req, true)
	closeReqBody(req)
	done <- writeResult{err: err, body: bodyErr}
	if bodyErr {
		c.close()
	}
}

// readResponse reads the final response header, passing 1xx responses
// to got1xx or else, as http.Transport does, to the request's
// httptrace.Got1xxResponse. A response the fast path read comes with its
// body record (lb), allocated with it; for the others lb is nil.
func (c *leanConn) readResponse(req *http.Request, ctx context.Context, got1xx informer) (res *http.Response, lb *leanBody, err error) {
	defer func() { c.limit = math.MaxInt64 }()
	var trace *httptrace.ClientTrace
	for n1xx := 0; ; {
		c.limit = maxResponseHeaderBytes
		if lr := c.readFast(req); lr != nil {
			return &lr.res, &lr.body, nil
		}
		res, err := http.ReadResponse(c.br, req)
		if err != nil {
			return nil, nil, err
		}
		code := res.StatusCode
		if code >= 200 || code == http.StatusSwitchingProtocols {
			return res, nil, nil
		}
		if n1xx++; n1xx > max1xxResponses {
			return nil, nil, errTooMany1xx
		}
		if got1xx != nil {
			if err := got1xx.got1xx(code, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, nil, err
			}
			continue
		}
		if trace == nil {
			trace = httptrace.ContextClientTrace(ctx)
		}
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(code, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, nil, err
			}
		}
	}
}

// ioErr names why an exchange failed: the context's cause, the header
// limit, the header timeout, an upstream that closed a connection without
// answering, or the I/O error itself.
func (c *leanConn) ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if errors.Is(err, errHeaderTooLarge) {
		return errHeaderTooLarge
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errHeaderTimeout
	}
	if c.nread == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		return errServerClosed
	}
	return err
}

var errHeaderTimeout = errors.New("backend: timeout awaiting response headers")

// abortReg is how the request's cancellation reaches the connection (it
// makes blocked I/O fail): the abort slot of the lean server's request
// context, else context.AfterFunc.
type abortReg struct {
	rc   *pipeline.RequestContext
	stop func() bool
}

// cancel unregisters the abort; false means it has run (or is running).
func (a abortReg) cancel() bool {
	switch {
	case a.rc != nil:
		return a.rc.StopAbort()
	case a.stop != nil:
		return a.stop()
	}
	return true
}

func stopAfter(stop abortReg) { stop.cancel() }

// release returns c to its pool when keep is set, the context's abort
// did not fire (it would leave a past deadline behind) and an
// asynchronous request write (wdone) has finished well; otherwise it
// closes c (which also ends a write still under way).
func (c *leanConn) release(keep bool, stop abortReg, wdone chan writeResult) {
	if !stop.cancel() {
		keep = false
	}
	if wdone != nil {
		select {
		case w := <-wdone:
			keep = keep && w.err == nil
		default:
			keep = false
		}
	}
	if keep {
		c.pool.put(c)
	} else {
		c.close()
	}
}

// wantsClose is http.Request's: Close set or "Connection: close".
func wantsClose(r *http.Request) bool {
	return r.Close || hasToken(r.Header["Connection"], "close")
}

// writeRequest writes req as req.Write would (request line, Host, the
// User-Agent rule, headers, Content-Length, body). An in-memory request
// goes out in one flush when it fits the buffer; with stream set the
// header is flushed at once and every chunk of the body is written as it
// is read (a client's body, whose next bytes may depend on the answer).
// leanEligible has checked every byte written. bodyErr reports a failure
// of the request body itself (short, or its reader failed), not of the
// connection.
func (c *leanConn) writeRequest(req *http.Request, stream bool) (bodyErr bool, err error) {
	w := c.bw
	c.wrote = false
	u := req.URL
	_, _ = w.WriteString(methodOf(req))
	_ = w.WriteByte(' ')
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	_, _ = w.WriteString(path)
	if u.ForceQuery || u.RawQuery != "" {
		_ = w.WriteByte('?')
		_, _ = w.WriteString(u.RawQuery)
	}
	host := req.Host
	if host == "" {
		host = u.Host
	}
	_, _ = w.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = w.WriteString(host)
	_, _ = w.WriteString("\r\n")
	if ua, ok := req.Header["User-Agent"]; !ok {
		_, _ = w.WriteString("User-Agent: Go-http-client/1.1\r\n")
	} else if len(ua) > 0 && ua[0] != "" {
		writeField(w, "User-Agent", ua[0])
	}
	for k, vv := range req.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		for _, v := range vv {
			writeField(w, k, v)
		}
	}
	if req.Close && !hasToken(req.Header["Connection"], "close") {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	body := hasBody(req)
	if m := methodOf(req); body || (m != http.MethodGet && m != http.MethodHead) {
		cl := int64(0) // no body: 0 whatever ContentLength says (as the Transport)
		if body {
			cl = req.ContentLength
		}
		var num [20]byte
		_, _ = w.WriteString("Content-Length: ")
		_, _ = w.Write(strconv.AppendInt(num[:0], cl, 10))
		_, _ = w.WriteString("\r\n")
	}
	_, _ = w.WriteString("\r\n")
	if body {
		c.src = bodySrc{r: req.Body, n: req.ContentLength}
		var written int64
		if stream {
			if err = w.Flush(); err != nil {
				return false, err
			}
			buf := copyBufs.Get().(*[copyBufSize]byte)
			written, err = io.CopyBuffer(c, &c.src, buf[:]) // c: no ReadFrom, so buf is used
			copyBufs.Put(buf)
		} else {
			written, err = w.ReadFrom(&c.src)
		}
		srcErr := c.src.err
		c.src = bodySrc{}
		switch {
		case srcErr != nil:
			return true, srcErr
		case err != nil:
			return false, err
		case written != req.ContentLength:
			return true, errWriteBody
		}
		// The Transport's check too: more bytes than declared is an error
		// (the upstream got exactly Content-Length; the connection is
		// closed). One read of a body at its end: no data, no cost.
		if n, _ := req.Body.Read(c.one[:]); n > 0 {
			return true, errBodyTooLong
		}
	}
	if stream {
		return false, w.Flush()
	}
	return false, c.flushAwait()
}

func writeField(w *bufio.Writer, k, v string) {
	_, _ = w.WriteString(k)
	_, _ = w.WriteString(": ")
	_, _ = w.WriteString(textproto.TrimString(v))
	_, _ = w.WriteString("\r\n")
}

// leanBody is a response body on a lean connection: read to EOF with
// keep-alive allowed, it returns the connection to the pool; closed early
// or broken, it closes the connection. Close may race a blocked Read (it
// closes the socket, which ends the Read).
type leanBody struct {
	c      *leanConn
	rc     io.ReadCloser // http.ReadResponse's body; nil: read c.br directly
	remain int64         // with rc nil: the body bytes still to read
	// With rc nil, a chunked body: its reader, and the response whose
	// Trailer the trailer section fills.
	chunked io.Reader
	res     *http.Response
	stop    abortReg // stops the context's abort
	wdone   chan writeResult
	ctx     context.Context
	keep    bool
	state   atomic.Int32 // 0 open, 1 EOF seen, 2 closed or broken
}

func (b *leanBody) Read(p []byte) (int, error) {
	switch b.state.Load() {
	case 1:
		return 0, io.EOF
	case 2:
		return 0, errClosedBody
	}
	var n int
	var err error
	switch {
	case b.rc != nil:
		n, err = b.rc.Read(p)
	case b.chunked != nil:
		n, err = b.readChunked(p)
	default:
		n, err = b.readDirect(p)
	}
	switch {
	case err == io.EOF:
		if b.state.CompareAndSwap(0, 1) {
			b.c.release(b.keep, b.stop, b.wdone)
		}
	case err != nil:
		if b.state.CompareAndSwap(0, 2) {
			b.c.release(false, b.stop, b.wdone)
		}
		if b.ctx.Err() != nil {
			err = context.Cause(b.ctx)
		}
	}
	return n, err
}

// Close closes the connection unless the body was read to EOF (the
// Transport would drain a little first; an upstream body is usually read
// to the end or abandoned for good).
func (b *leanBody) Close() error {
	if b.state.CompareAndSwap(0, 2) {
		b.c.release(false, b.stop, b.wdone)
	}
	return nil
}

// readDirect reads a body of known length (b.remain) from the connection,
// as net/http's body over an io.LimitedReader: the last bytes come with
// io.EOF, and a connection that ends early is io.ErrUnexpectedEOF.
func (b *leanBody) readDirect(p []byte) (int, error) {
	if b.remain <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.br.Read(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		return n, io.EOF
	}
	if err == io.EOF { //nolint:errorlint // bufio returns io.EOF itself
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
