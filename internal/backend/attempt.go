package backend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// Causes of the contexts Service cancels.
var (
	errRequestTimeout = errors.New("request timeout")
	errAttemptTimeout = errors.New("backend request timeout")
)

func isTimeout(cause error) bool {
	return errors.Is(cause, errRequestTimeout) || errors.Is(cause, errAttemptTimeout) ||
		errors.Is(cause, context.DeadlineExceeded)
}

// callState is shared by Service and the Upstream serving one of its
// attempts, through the request context (it survives wrapping middlewares).
// It is only touched by the request's goroutine; the timers only cancel.
type callState struct {
	reqTimer     *time.Timer // whole request; nil when unset
	attemptTimer *time.Timer // current attempt; nil when unset
	failed       bool        // transport failure or attempt timeout: retryable
	discarding   bool        // the attempt's response is swallowed: stop reading it
}

// responseStarted stops the per-attempt timer once response headers arrived
// (a streaming answer is not cut by it) and, for an accepted upgrade, the
// whole-request timer too (a tunnel lives as long as its peers want).
func (s *callState) responseStarted(upgrade bool) {
	if s.attemptTimer != nil {
		s.attemptTimer.Stop()
	}
	if upgrade && s.reqTimer != nil {
		s.reqTimer.Stop()
	}
}

type stateKey struct{}

func stateFrom(ctx context.Context) *callState {
	s, _ := ctx.Value(stateKey{}).(*callState)
	return s
}

// attemptWriter holds an attempt's response header until its status is
// known. A retryable status on a non-final attempt is swallowed (the client
// never sees it); anything else is committed to the real writer and
// streamed from then on.
type attemptWriter struct {
	w         http.ResponseWriter
	st        *callState
	retryable func(code int) bool
	header    http.Header
	final     bool // last attempt: never swallowed
	wrote     bool // final status decided
	committed bool // status passed to w
	discard   bool // swallowed: retry
}

func (a *attemptWriter) Header() http.Header {
	if a.committed || a.final {
		return a.w.Header()
	}
	if a.header == nil {
		a.header = make(http.Header)
	}
	return a.header
}

// AdoptHeader: the wrapped writer's header once this attempt's answer is
// committed (or on the last attempt), else the attempt's own held header.
func (a *attemptWriter) AdoptHeader(h http.Header) bool {
	if a.committed || a.final {
		return pipeline.AdoptHeader(a.w, h)
	}
	if a.wrote || len(a.header) > 0 || h == nil {
		return false
	}
	a.header = h
	return true
}

func (a *attemptWriter) WriteHeader(code int) {
	if a.wrote {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if a.final || a.committed {
			a.w.WriteHeader(code) // 100 Continue, 103 Early Hints
		}
		return
	}
	a.wrote = true
	if !a.final && (a.st.failed || a.retryable(code)) {
		a.discard = true
		a.st.discarding = true
		return
	}
	a.commit()
	a.st.responseStarted(code == http.StatusSwitchingProtocols)
	a.w.WriteHeader(code)
}

// commit moves the held header to the real writer.
func (a *attemptWriter) commit() {
	if a.committed {
		return
	}
	a.committed = true
	if a.final || a.header == nil {
		return
	}
	dst := a.w.Header()
	for k, v := range a.header {
		dst[k] = append(dst[k], v...) // as ReverseProxy's copyHeader
	}
}

func (a *attemptWriter) Write(b []byte) (int, error) {
	if !a.wrote {
		a.WriteHeader(http.StatusOK)
	}
	if a.discard {
		return len(b), nil
	}
	return a.w.Write(b)
}

// FlushError lets http.ResponseController and ReverseProxy flush streams.
func (a *attemptWriter) FlushError() error {
	if !a.committed {
		return nil
	}
	return http.NewResponseController(a.w).Flush()
}

// Flush implements http.Flusher.
func (a *attemptWriter) Flush() { _ = a.FlushError() }

// Unwrap exposes the real writer to http.ResponseController (Hijack for
// upgrades, deadlines).
func (a *attemptWriter) Unwrap() http.ResponseWriter { return a.w }

// finish commits the held header of an attempt whose handler wrote nothing.
func (a *attemptWriter) finish() {
	if !a.wrote && !a.discard {
		a.commit()
	}
}

// replayBody is a buffered request body that can be sent several times.
type replayBody struct {
	buf     []byte                        // whole body (nil: use getBody)
	getBody func() (io.ReadCloser, error) // from an earlier layer
}

func (b *replayBody) open() (io.ReadCloser, error) {
	if b.getBody != nil {
		return b.getBody()
	}
	if len(b.buf) == 0 {
		return http.NoBody, nil
	}
	return io.NopCloser(bytes.NewReader(b.buf)), nil
}

// bufferBody reads r's body into memory when it is at most limit bytes.
// ok=false means it was larger: r.Body has been restored (the bytes read so
// far followed by the rest) and the request can only be sent once. On a
// read error r.Body is also restored so that the next reader sees it.
// A body already made replayable by an earlier layer (r.GetBody) is reused.
func bufferBody(r *http.Request, limit int64) (body *replayBody, ok bool, err error) {
	if r.Body == nil || r.Body == http.NoBody {
		return &replayBody{}, true, nil
	}
	if r.GetBody != nil && r.ContentLength >= 0 && r.ContentLength <= limit {
		return &replayBody{getBody: r.GetBody}, true, nil
	}
	if r.ContentLength > limit {
		return nil, false, nil
	}
	var buf []byte
	if r.ContentLength > 0 {
		buf = make([]byte, r.ContentLength)
		var n int
		n, err = io.ReadFull(r.Body, buf)
		buf = buf[:n]
	} else {
		buf, err = io.ReadAll(io.LimitReader(r.Body, limit+1))
	}
	if err != nil {
		r.Body = &stitched{Reader: io.MultiReader(bytes.NewReader(buf), errReader{err}), c: r.Body}
		return nil, false, err
	}
	if int64(len(buf)) > limit {
		r.Body = &stitched{Reader: io.MultiReader(bytes.NewReader(buf), r.Body), c: r.Body}
		return nil, false, nil
	}
	return &replayBody{buf: buf}, true, nil
}

// stitched is a body whose first bytes were already read.
type stitched struct {
	io.Reader
	c io.Closer
}

func (s *stitched) Close() error { return s.c.Close() }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
