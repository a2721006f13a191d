package backend

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"runtime"
	"testing"
	"time"
)

// TestLeanNoBodyContentLength: a request without a body always goes out
// with "Content-Length: 0" (as http.Transport, which ignores ContentLength
// then), never with a stale ContentLength: the upstream would wait for
// bytes that never come, or read the next pooled request as this body.
func TestLeanNoBodyContentLength(t *testing.T) {
	cases := []struct {
		name   string
		method string
		body   io.ReadCloser
		cl     int64
		want   string // the Content-Length header seen ("" absent)
	}{
		{name: "POST NoBody, length 5", method: "POST", body: http.NoBody, cl: 5, want: "0"},
		{name: "POST nil body, length 5", method: "POST", cl: 5, want: "0"},
		{name: "POST NoBody, length unknown", method: "POST", body: http.NoBody, cl: -1, want: "0"},
		{name: "PUT nil body, length 0", method: "PUT", want: "0"},
		{name: "GET nil body, length 5", method: "GET", cl: 5, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 1)
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				// The header only: the bug makes the body never arrive.
				tp := textproto.NewReader(br)
				if _, err := tp.ReadLine(); err != nil {
					return
				}
				h, err := tp.ReadMIMEHeader()
				if err != nil {
					return
				}
				got <- h.Get("Content-Length")
				io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
			})
			st := leanRT(t)
			req := mustReq(t, tc.method, srv.url(), nil)
			req.Body, req.ContentLength = tc.body, tc.cl
			if !leanEligible(req) {
				t.Fatal("not served by the lean client")
			}
			if _, body, err := do(t, st, req); err != nil || body != "ok" {
				t.Fatalf("%q %v", body, err)
			}
			if cl := <-got; cl != tc.want {
				t.Fatalf("Content-Length %q, want %q", cl, tc.want)
			}
		})
	}
}

// TestLeanUnsolicitedBytesOnIdleConn: bytes an upstream sends on an idle
// connection (a second response, a body after a HEAD or 204 answer) must
// not be read as the answer to the next request, whatever its method: the
// connection is dropped and the request goes out on a new one.
func TestLeanUnsolicitedBytesOnIdleConn(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the idle liveness peek is Linux-only")
	}
	const evil = "HTTP/1.1 200 OK\r\nX-Answer: evil\r\nContent-Length: 4\r\n\r\nevil"
	cases := []struct {
		name   string
		first  string // method of the first request
		answer string // the first answer; evil follows later, unasked
		second string // method of the second request
	}{
		{name: "GET then GET", first: "GET", answer: okResp, second: "GET"},
		{name: "HEAD with a late body, then GET", first: "HEAD",
			answer: "HTTP/1.1 200 OK\r\nContent-Length: 43\r\n\r\n", second: "GET"},
		{name: "204 then HEAD", first: "GET", answer: "HTTP/1.1 204 No Content\r\n\r\n", second: "HEAD"},
		{name: "GET then OPTIONS", first: "GET", answer: okResp, second: "OPTIONS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			late := make(chan struct{})
			srv := newRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				for i := 0; ; i++ {
					if _, err := readReq(br); err != nil {
						return
					}
					if n == 1 && i == 0 {
						io.WriteString(c, tc.answer)
						<-late
						io.WriteString(c, evil)
						continue
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Answer: good\r\nContent-Length: 4\r\n\r\ngood")
				}
			})
			st := leanRT(t)
			if _, _, err := do(t, st, mustReq(t, tc.first, srv.url(), nil)); err != nil {
				t.Fatal(err)
			}
			p := st.lean.pool(srv.ln.Addr().String())
			if p.len() != 1 {
				t.Fatalf("%d idle connections after the first exchange, want 1", p.len())
			}
			close(late)
			// Wait (no timing assertion) until the unasked bytes are there.
			p.mu.Lock()
			idle := p.idle[0]
			p.mu.Unlock()
			for deadline := time.Now().Add(10 * time.Second); idle.alive(); time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the unasked bytes never arrived")
				}
			}
			res, body, err := do(t, st, mustReq(t, tc.second, srv.url(), nil))
			if err != nil {
				t.Fatal(err)
			}
			want := "good"
			if tc.second == "HEAD" {
				want = ""
			}
			if body != want || res.Header.Get("X-Answer") != "good" {
				t.Fatalf("second answer %q (X-Answer %q): another request's bytes",
					body, res.Header.Get("X-Answer"))
			}
			if n := srv.accepted.Load(); n != 2 {
				t.Fatalf("%d connections accepted, want 2", n)
			}
		})
	}
}

// TestLeanServerClosedError: an upstream that reads the request and closes
// without a byte is reported as such (http.ReadResponse turns that EOF
// into io.ErrUnexpectedEOF).
func TestLeanServerClosedError(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		readReq(br) // then close without answering
	})
	st := leanRT(t)
	if _, _, err := do(t, st, mustReq(t, "GET", srv.url(), nil)); !errors.Is(err, errServerClosed) {
		t.Fatalf("err = %v, want %v", err, errServerClosed)
	}
}
