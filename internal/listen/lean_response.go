package listen

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// The response side of the lean path mirrors net/http's response and
// chunkWriter (server.go) so the bytes on the wire are the same: handler
// writes go through a 2 KiB buffer (net/http's bufferBeforeChunkingSize)
// into chunkWriter, which finalises the header on its first write, then
// into the connection's 4 KiB buffer.

const (
	bufferBeforeChunkingSize = 2048
	sniffLen                 = 512
)

var (
	crlf = []byte("\r\n")
	// errHandlerDone is returned by writes after the handler returned.
	errHandlerDone = errors.New("listen: response used after the handler returned")
	excludedNoBody = map[string]bool{"Content-Length": true, "Transfer-Encoding": true}
)

func (ls *leanServer) logf(format string, args ...any) {
	if ls.srv.ErrorLog != nil {
		ls.srv.ErrorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// response is the http.ResponseWriter of one lean request.
type response struct {
	c             *leanConn
	req           *http.Request
	reqBody       io.ReadCloser
	body          leanBody
	w             *bufio.Writer // over cw, bufferBeforeChunkingSize
	cw            chunkWriter
	handlerHeader http.Header
	trailers      []string
	ctx           pipeline.RequestContext // the request's context
	// The request and its URL, when the lean server parsed its head
	// (internal/httphead); net/http's own otherwise.
	reqStore http.Request
	urlStore url.URL

	status              int
	contentLength       int64 // -1: unknown
	written             int64
	calledHeader        bool
	wroteHeader         bool // a non-1xx header was (logically) written
	wantsClose          bool
	closeAfterReply     bool
	requestBodyLimitHit bool
	fullDuplex          bool
	handlerDone         bool
	done                bool // finished: further use fails
	setWriteDeadline    bool
	earlyCommit         bool // writeHeader runs for WriteHeader's early commit

	scratch [20]byte
}

func (w *response) Header() http.Header {
	if w.cw.header == nil && w.wroteHeader && !w.cw.wroteHeader {
		// Snapshot of the logically written header (net/http does the same).
		w.cw.header = w.handlerHeader.Clone()
	}
	w.calledHeader = true
	return w.handlerHeader
}

// AdoptHeader implements pipeline.HeaderAdopter: h becomes the response
// header while none has been set or written.
func (w *response) AdoptHeader(h http.Header) bool {
	if w.done || w.wroteHeader || w.c.hijacked || len(w.handlerHeader) > 0 || h == nil {
		return false
	}
	w.handlerHeader = h
	return true
}

func (w *response) WriteHeader(code int) {
	if w.done {
		return
	}
	if w.c.hijacked {
		fn, file, line := caller()
		w.c.ls.logf("http: response.WriteHeader on hijacked connection from %s (%s:%d)", fn, file, line)
		return
	}
	if w.wroteHeader {
		fn, file, line := caller()
		w.c.ls.logf("http: superfluous response.WriteHeader call from %s (%s:%d)", fn, file, line)
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		bw := w.c.bw
		writeStatusLine(bw, code, w.scratch[:])
		_ = w.handlerHeader.WriteSubset(bw, excludedNoBody)
		_, _ = bw.Write(crlf)
		_ = bw.Flush()
		return
	}
	w.wroteHeader = true
	w.status = code
	cl := headerGet(w.handlerHeader, "Content-Length")
	if cl != "" {
		if v, err := strconv.ParseInt(cl, 10, 64); err == nil && v >= 0 {
			w.contentLength = v
			if w.commitsEarly() {
				// Nothing the body could change is left in the header, so
				// it is written now, from the handler's map: no snapshot
				// copy (later changes cannot reach the wire either way).
				w.earlyCommit = true
				w.cw.writeHeader(nil)
				w.earlyCommit = false
				return
			}
		}
	}
	if w.calledHeader && w.cw.header == nil {
		w.cw.header = w.handlerHeader.Clone()
	}
	if cl != "" && w.contentLength < 0 {
		w.c.ls.logf("http: invalid Content-Length of %q", cl)
		w.handlerHeader.Del("Content-Length")
	}
}

// commitsEarly reports a header that does not depend on the body or on
// when it is written: a valid Content-Length (identity framing, no
// computed length), a Content-Type (no sniffing), a status that has a
// body, no Transfer-Encoding, and no request body that the commit would
// drain before the handler reads it (none, or full duplex). This is what
// a proxied upstream answer looks like. net/http writes the same bytes at
// the first flush.
func (w *response) commitsEarly() bool {
	if w.contentLength < 0 || !w.calledHeader || !bodyAllowedForStatus(w.status) || w.status == http.StatusNoContent {
		return false
	}
	if w.req.ContentLength != 0 && !w.fullDuplex && !w.bodyDone() {
		return false
	}
	h := w.handlerHeader
	if _, ok := h["Content-Type"]; !ok {
		return false
	}
	_, te := h["Transfer-Encoding"]
	return !te
}

// bodyDone reports a request body the handler has read to its end (an
// LLM call, say): committing the header then drains nothing.
func (w *response) bodyDone() bool {
	b, ok := w.reqBody.(*leanBody) // the request's own, also when a handler wrapped r.Body
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sawEOF && !b.closed
}

// caller names the first frame outside this package (for log lines).
func caller() (string, string, int) {
	pcs := make([]uintptr, 8)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.Contains(f.Function, "internal/listen.") || !more {
			return f.Function, path.Base(f.File), f.Line
		}
	}
}

func (w *response) Write(p []byte) (int, error) { return w.write(len(p), p, "") }

func (w *response) WriteString(s string) (int, error) { return w.write(len(s), nil, s) }

func (w *response) write(n int, b []byte, s string) (int, error) {
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
	if w.done {
		return 0, errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if n == 0 {
		return 0, nil
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.written += int64(n)
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if b != nil {
		return w.w.Write(b)
	}
	return w.w.WriteString(s)
}

// Flush implements http.Flusher.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *response) FlushError() error {
	if w.c.hijacked {
		return http.ErrHijacked
	}
	if w.done {
		return errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	err := w.w.Flush()
	if e2 := w.cw.flush(); err == nil {
		err = e2
	}
	return err
}

// EnableFullDuplex lets the handler read the body after writing: the
// unread body is then not drained when the header goes out.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error {
	if w.done {
		return errHandlerDone
	}
	return w.c.rwc.SetReadDeadline(t)
}

func (w *response) SetWriteDeadline(t time.Time) error {
	if w.done {
		return errHandlerDone
	}
	w.setWriteDeadline = true
	return w.c.rwc.SetWriteDeadline(t)
}

// Hijack implements http.Hijacker like net/http: the header written so
// far is flushed, the disconnect watcher stopped, and the caller gets the
// socket with the connection's reader (and any byte read ahead).
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.handlerDone {
		panic("net/http: Hijack called after ServeHTTP finished")
	}
	c := w.c
	if c.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.done {
		return nil, nil, errHandlerDone
	}
	if w.wroteHeader {
		_ = w.cw.flush()
	}
	c.endHandler()
	c.abortWatcher()
	c.hijacked = true
	_ = c.rwc.SetDeadline(time.Time{})
	buf := bufio.NewReadWriter(c.br, bufio.NewWriter(c.rwc))
	c.wmu.Lock()
	held := c.cr.hasByte
	c.wmu.Unlock()
	if held {
		if _, err := c.br.Peek(c.br.Buffered() + 1); err != nil {
			return nil, nil, fmt.Errorf("unexpected Peek failure reading buffered byte: %w", err)
		}
	}
	c.ls.untrack(c) // like net/http: shutdown neither waits for nor closes it
	c.ls.setState(http.StateHijacked)
	putWriter(&chunkBufPool, w.w)
	w.w = nil
	return c.rwc, buf, nil
}

var copyBufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type writerOnly struct{ io.Writer }

// ReadFrom mirrors net/http: the first 512 bytes go through Write (for
// sniffing and to not commit before the source has data), then the
// socket's own ReadFrom (sendfile/splice) is used when not chunking.
func (w *response) ReadFrom(src io.Reader) (n int64, err error) {
	if w.c.hijacked {
		return 0, http.ErrHijacked
	}
	if w.done {
		return 0, errHandlerDone
	}
	bp := copyBufPool.Get().(*[]byte)
	defer copyBufPool.Put(bp)
	buf := *bp
	rf, ok := w.c.rwc.(io.ReaderFrom)
	if !ok {
		return io.CopyBuffer(writerOnly{w}, src, buf)
	}
	if !w.cw.wroteHeader {
		n0, err := io.CopyBuffer(writerOnly{w}, io.LimitReader(src, sniffLen), buf)
		n += n0
		if err != nil || n0 < sniffLen {
			return n, err
		}
	}
	_ = w.w.Flush()
	_ = w.cw.flush()
	if !w.cw.chunking && bodyAllowedForStatus(w.status) {
		n0, err := rf.ReadFrom(src)
		n += n0
		w.written += n0
		return n, err
	}
	n0, err := io.CopyBuffer(writerOnly{w}, src, buf)
	n += n0
	return n, err
}

// finishRequest completes the response after the handler returned.
func (w *response) finishRequest() {
	w.handlerDone = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	_ = w.w.Flush()
	putWriter(&chunkBufPool, w.w)
	w.w = nil
	w.cw.close()
	_ = w.c.bw.Flush()
	if w.setWriteDeadline {
		_ = w.c.rwc.SetWriteDeadline(time.Time{})
	}
	w.done = true
}

func (w *response) shouldReuseConnection() bool {
	if w.closeAfterReply {
		return false
	}
	if w.contentLength != -1 && bodyAllowedForStatus(w.status) && w.contentLength != w.written {
		return false // did not write enough: the stream is out of sync
	}
	if w.c.werr != nil {
		return false
	}
	return !w.closedRequestBodyEarly()
}

func (w *response) closedRequestBodyEarly() bool {
	b, ok := w.req.Body.(*leanBody)
	return ok && b.earlyClose
}

func (w *response) requestTooLarge() {
	w.closeAfterReply = true
	w.requestBodyLimitHit = true
}

// finalTrailers collects the trailers set by the handler.
func (w *response) finalTrailers() http.Header {
	var t http.Header
	for k, vv := range w.handlerHeader {
		if kk, found := strings.CutPrefix(k, http.TrailerPrefix); found {
			if t == nil {
				t = make(http.Header)
			}
			t[kk] = vv
		}
	}
	for _, k := range w.trailers {
		if t == nil {
			t = make(http.Header)
		}
		for _, v := range w.handlerHeader[k] {
			t.Add(k, v)
		}
	}
	return t
}

func (w *response) declareTrailer(k string) {
	k = http.CanonicalHeaderKey(k)
	if !httpguts.ValidTrailerHeader(k) {
		return
	}
	w.trailers = append(w.trailers, k)
}

// chunkWriter finalises the header on the first write and frames the body.
type chunkWriter struct {
	res         *response
	header      http.Header // snapshot of the handler's header at WriteHeader
	wroteHeader bool
	chunking    bool
}

func (cw *chunkWriter) Write(p []byte) (n int, err error) {
	if !cw.wroteHeader {
		cw.writeHeader(p)
	}
	bw := cw.res.c.bw
	if cw.chunking {
		hx := strconv.AppendInt(cw.res.scratch[:0], int64(len(p)), 16)
		hx = append(hx, '\r', '\n')
		if _, err = bw.Write(hx); err != nil {
			_ = cw.res.c.rwc.Close()
			return 0, err
		}
	}
	n, err = bw.Write(p)
	if cw.chunking && err == nil {
		_, err = bw.Write(crlf)
	}
	if err != nil {
		_ = cw.res.c.rwc.Close()
	}
	return n, err
}

func (cw *chunkWriter) flush() error {
	if !cw.wroteHeader {
		cw.writeHeader(nil)
	}
	return cw.res.c.bw.Flush()
}

func (cw *chunkWriter) close() {
	if !cw.wroteHeader {
		cw.writeHeader(nil)
	}
	if cw.chunking {
		bw := cw.res.c.bw
		_, _ = bw.WriteString("0\r\n")
		if trailers := cw.res.finalTrailers(); trailers != nil {
			_ = trailers.Write(bw)
		}
		_, _ = bw.WriteString("\r\n")
	}
}

// writeHeader decides the framing and writes the status line and header
// to the connection buffer. p is the first body chunk (sniffing, and the
// Content-Length when the handler already finished).
func (cw *chunkWriter) writeHeader(p []byte) {
	if cw.wroteHeader {
		return
	}
	cw.wroteHeader = true
	w := cw.res
	keepAlives := !w.c.ls.closing.Load()

	header := cw.header
	owned := header != nil
	if !owned {
		header = w.handlerHeader
	}
	var exclude map[string]bool
	delHeader := func(key string) {
		if owned {
			header.Del(key)
			return
		}
		if _, ok := header[key]; !ok {
			return
		}
		if exclude == nil {
			exclude = make(map[string]bool)
		}
		exclude[key] = true
	}
	var set extraHeader

	trailers := false
	for k := range header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			if exclude == nil {
				exclude = make(map[string]bool)
			}
			exclude[k] = true
			trailers = true
		}
	}
	for _, v := range header["Trailer"] {
		trailers = true
		foreachHeaderElement(v, w.declareTrailer)
	}

	te := headerGet(header, "Transfer-Encoding")
	hasTE := te != ""
	_, hasCLKey := header["Content-Length"]
	if w.handlerDone && !trailers && !hasTE && bodyAllowedForStatus(w.status) && !hasCLKey {
		w.contentLength = int64(len(p))
		set.contentLength = strconv.AppendInt(w.scratch[:0], int64(len(p)), 10)
	}
	hasCL := w.contentLength != -1
	if w.wantsClose {
		w.closeAfterReply = true
	}
	if headerGet(header, "Connection") == "close" || !keepAlives {
		w.closeAfterReply = true
	}

	// Drain a small unread body before answering (clients that send the
	// whole request before reading could deadlock otherwise).
	if w.req.ContentLength != 0 && !w.closeAfterReply && !w.fullDuplex {
		var discard, tooBig, atEOF bool
		if b, ok := w.req.Body.(*leanBody); ok {
			b.mu.Lock()
			switch {
			case b.closed:
				if !b.sawEOF {
					w.closeAfterReply = true
				}
			case b.sawEOF:
				// What the drain below would find, without its reader. At
				// an early commit the body stays open (net/http has not
				// committed yet: a reread still says EOF); it is closed
				// when the request ends.
				atEOF = !w.earlyCommit
			case b.unread() >= maxPostHandlerReadBytes:
				tooBig = true
			default:
				discard = true
			}
			b.mu.Unlock()
		} else {
			discard = true
		}
		if atEOF && w.reqBody.Close() != nil {
			w.closeAfterReply = true
		}
		if discard {
			_, err := io.CopyN(io.Discard, w.reqBody, maxPostHandlerReadBytes+1)
			switch err { //nolint:errorlint // the exact values net/http compares
			case nil:
				tooBig = true
			case http.ErrBodyReadAfterClose:
			case io.EOF:
				if w.reqBody.Close() != nil {
					w.closeAfterReply = true
				}
			default:
				w.closeAfterReply = true
			}
		}
		if tooBig {
			w.requestTooLarge()
			delHeader("Connection")
			set.connection = "close"
		}
	}

	code := w.status
	if bodyAllowedForStatus(code) {
		_, haveType := header["Content-Type"]
		hasCE := header.Get("Content-Encoding") != ""
		if !hasCE && !haveType && !hasTE && len(p) > 0 {
			set.contentType = http.DetectContentType(p)
		}
	} else {
		for _, k := range suppressedHeaders(code) {
			delHeader(k)
		}
	}
	if _, ok := header["Date"]; !ok {
		set.date = httpDate()
	}
	if hasCL && hasTE && te != "identity" {
		w.c.ls.logf("http: WriteHeader called with both Transfer-Encoding of %q and a Content-Length of %d", te, w.contentLength)
		delHeader("Content-Length")
		hasCL = false
	}
	switch {
	case !bodyAllowedForStatus(code) || code == http.StatusNoContent:
		delHeader("Transfer-Encoding")
	case hasCL:
		delHeader("Transfer-Encoding")
	case hasTE && te == "identity":
		cw.chunking = false
		w.closeAfterReply = true
		delHeader("Transfer-Encoding")
	default:
		cw.chunking = true
		set.transferEncoding = "chunked"
		if hasTE && te == "chunked" {
			delHeader("Transfer-Encoding")
		}
	}
	if cw.chunking {
		delHeader("Content-Length")
	}
	if w.closeAfterReply && (!keepAlives || !hasToken(headerGet(header, "Connection"), "close")) &&
		!isProtocolSwitchResponse(code, header) {
		delHeader("Connection")
		set.connection = "close"
	}

	bw := w.c.bw
	var status [3]byte
	writeStatusLine(bw, code, status[:])
	_ = header.WriteSubset(bw, exclude)
	set.write(bw)
	_, _ = bw.Write(crlf)
}
