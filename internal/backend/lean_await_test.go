package backend

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// stallAfter is a request body of n bytes that, once it has handed out
// more than at (with at beyond the write buffer, the request head and part
// of the body are on the wire by then), calls onStall before handing out
// the rest.
type stallAfter struct {
	n, at, off int
	onStall    func()
	stalled    bool
}

func (s *stallAfter) Read(p []byte) (int, error) {
	if s.off >= s.n {
		return 0, io.EOF
	}
	if s.off > s.at && !s.stalled {
		s.stalled = true
		s.onStall()
	}
	m := min(len(p), s.n-s.off)
	if s.off <= s.at {
		m = min(m, s.at+1-s.off)
	}
	for i := range m {
		p[i] = 'b'
	}
	s.off += m
	return m, nil
}

// warmUp sends a GET that the upstream answers with okResp (see
// answerFirst), so that the next request reuses a probed idle connection:
// the one that awaits the answer in the poll of its final flush.
func warmUp(t *testing.T, st *sharedTransport, url string) {
	t.Helper()
	if _, body, err := do(t, st, mustReq(t, "GET", url, nil)); err != nil || body != "ok" {
		t.Fatalf("warm-up: %q, %v", body, err)
	}
}

// answerFirst answers the warm-up request on c.
func answerFirst(c net.Conn, br *bufio.Reader) bool {
	if _, err := readReq(br); err != nil {
		return false
	}
	_, err := io.WriteString(c, okResp)
	return err == nil
}

// TestLeanAnswerBeforeLastFlush: an upstream that answers as soon as it
// has the request head (before the end of a body longer than the write
// buffer) and then reads the rest: the answer is on the connection before
// the request's final flush, and the client must not wait for a further
// readiness event that never comes (the upstream keeps the connection).
func TestLeanAnswerBeforeLastFlush(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer string
		half   bool // the upstream half-closes after its answer
	}{
		{name: "keep-alive", answer: okResp},
		{name: "half-close", answer: "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", half: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answered := make(chan struct{})
			done := make(chan struct{})
			var hung atomic.Bool
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				if !answerFirst(c, br) {
					return
				}
				r, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.WriteString(c, tc.answer)
				if tc.half {
					_ = c.(*net.TCPConn).CloseWrite()
				}
				close(answered)
				_, _ = io.Copy(io.Discard, r.Body)
				select { // keep the connection open until the client has its answer
				case <-done:
				case <-time.After(10 * time.Second):
					hung.Store(true)
					_ = c.(*net.TCPConn).SetLinger(0) // the reset ends the client's wait
				}
			})
			st := leanRT(t)
			warmUp(t, st, srv.url())
			const size = 3*leanBufSize + 100
			body := &stallAfter{n: size, at: 2 * leanBufSize, onStall: func() {
				<-answered
				time.Sleep(20 * time.Millisecond) // for the answer to reach the client's socket
			}}
			req := mustReq(t, "POST", srv.url(), nil)
			req.Body = io.NopCloser(body)
			req.ContentLength = size
			req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("no replay") } // written on this goroutine
			res, err := st.RoundTrip(req)
			close(done)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if hung.Load() {
				t.Fatal("the client waited for the answer until the upstream closed the connection")
			}
		})
	}
}

// TestLeanAbortBeforeLastFlush: a request canceled while its body is
// being written ends at once also with a response header timeout, which
// the final flush sets after the abort's past deadline.
func TestLeanAbortBeforeLastFlush(t *testing.T) {
	for _, reqCtx := range []bool{false, true} {
		t.Run(map[bool]string{false: "AfterFunc", true: "RequestContext"}[reqCtx], func(t *testing.T) {
			release := make(chan struct{})
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				if !answerFirst(c, br) {
					return
				}
				if _, err := readReq(br); err != nil {
					return
				}
				<-release // a slow upstream: answers when the test ends
			})
			t.Cleanup(func() { close(release) })
			st := leanRT(t)
			st.lean.headerTimeout = time.Minute
			warmUp(t, st, srv.url())
			ctx, cancel := context.WithCancel(context.Background())
			if reqCtx {
				rc := new(pipeline.RequestContext)
				rc.Init(context.Background())
				ctx, cancel = context.WithValue(rc, testKey{}, 1), rc.Cancel
			}
			defer cancel()
			body := &stallAfter{n: 100, at: 10, onStall: cancel} // the client goes away mid-body
			req := mustReq(t, "POST", srv.url(), nil)
			req = req.WithContext(ctx)
			req.Body = io.NopCloser(body)
			req.ContentLength = 100
			req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("no replay") }
			errc := make(chan error, 1)
			go func() {
				res, err := st.RoundTrip(req)
				if err == nil {
					res.Body.Close()
				}
				errc <- err
			}()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the canceled request waited for the response header timeout")
			}
		})
	}
}

// TestLeanBytesBeforeRequest: an upstream that speaks first (a banner on
// connect: an address that is not an HTTP server) and then waits silently
// for more input. Its bytes arrive before the request is written, so the
// client must read them as usual (a malformed answer) instead of waiting
// for a readiness the await's poll has forgotten.
func TestLeanBytesBeforeRequest(t *testing.T) {
	for _, banner := range []string{
		"J\x00\x00\x00\n8.0.36\x00", // a MySQL handshake's start
		"220 mail.example ESMTP\r\n",
	} {
		t.Run(strings.Fields(banner)[0], func(t *testing.T) {
			wrote := make(chan struct{})
			done := make(chan struct{})
			var hung atomic.Bool
			srv := newRawServer(t, func(_ int, c net.Conn, _ *bufio.Reader) {
				_, _ = io.WriteString(c, banner)
				close(wrote)
				select { // reads nothing more, answers nothing
				case <-done:
				case <-time.After(10 * time.Second):
					hung.Store(true)
					_ = c.(*net.TCPConn).SetLinger(0) // the reset ends the client's wait
				}
			})
			st := leanRT(t)
			dial := st.lean.dial
			st.lean.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				nc, err := dial(ctx, network, addr)
				if err == nil {
					<-wrote
					time.Sleep(20 * time.Millisecond) // for the banner to reach the client's socket
				}
				return nc, err
			}
			res, err := st.RoundTrip(mustReq(t, "GET", srv.url(), nil))
			close(done)
			if err == nil {
				res.Body.Close()
				t.Fatal("a banner was read as a response")
			}
			if hung.Load() {
				t.Fatal("the client waited for an answer after the upstream's first bytes")
			}
		})
	}
}
