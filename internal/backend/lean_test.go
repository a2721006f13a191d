package backend

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// leanRT returns a fresh plain HTTP/1.1 shared transport (lean client on).
func leanRT(t testing.TB) *sharedTransport {
	t.Helper()
	st, _, err := NewTransports().get(nil, protoAuto)
	if err != nil {
		t.Fatal(err)
	}
	if st.lean == nil {
		t.Fatal("plain HTTP/1.1 transport has no lean client")
	}
	t.Cleanup(st.CloseIdleConnections)
	return st
}

// countingServer is an httptest server counting accepted connections.
func countingServer(t testing.TB, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			n.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &n
}

// rawServer runs serve for every accepted connection: a misbehaving upstream.
type rawServer struct {
	ln       net.Listener
	accepted atomic.Int32
	wg       sync.WaitGroup
}

func newRawServer(t testing.TB, serve func(n int, c net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := int(s.accepted.Add(1))
			s.wg.Go(func() {
				defer c.Close()
				serve(n, c, bufio.NewReader(c))
			})
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

// readReq reads one request (and its body) from a raw connection.
func readReq(br *bufio.Reader) (*http.Request, error) {
	r, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, r.Body)
	return r, err
}

const okResp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func do(t testing.TB, rt http.RoundTripper, req *http.Request) (*http.Response, string, error) {
	t.Helper()
	res, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b), err
}

func mustReq(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLeanResponses: every response shape is read correctly and the one
// keep-alive connection carries all of them.
func TestLeanResponses(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	up, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/len":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/chunked":
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, big)
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		case "/trailer":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
		case "/echo":
			fmt.Fprintf(w, "%s %s %d %q %q", r.Method, b, r.ContentLength, r.Header.Get("User-Agent"), r.URL.RawQuery)
		}
	})
	st := leanRT(t)
	cases := []struct {
		name, method, path, body, want string
		code                           int
		trailer                        string
	}{
		{name: "content-length", method: "GET", path: "/len", want: "hello", code: 200},
		{name: "chunked", method: "GET", path: "/chunked", want: "a" + big, code: 200},
		{name: "head", method: "HEAD", path: "/len", want: "", code: 200},
		{name: "204", method: "GET", path: "/204", code: 204},
		{name: "304", method: "GET", path: "/304", code: 304},
		{name: "trailers", method: "GET", path: "/trailer", want: "body", code: 200, trailer: "42"},
		{name: "post body", method: "POST", path: "/echo?a=b&c", body: "payload", code: 200,
			want: `POST payload 7 "Go-http-client/1.1" "a=b&c"`},
		{name: "post empty", method: "POST", path: "/echo", code: 200, want: `POST  0 "Go-http-client/1.1" ""`},
		{name: "delete", method: "DELETE", path: "/echo", code: 200, want: `DELETE  0 "Go-http-client/1.1" ""`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req := mustReq(t, tc.method, up.URL+tc.path, body)
			if !leanEligible(req) {
				t.Fatal("not served by the lean client")
			}
			res, got, err := do(t, st, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.code || got != tc.want {
				t.Fatalf("got %d %.60q, want %d %.60q", res.StatusCode, got, tc.code, tc.want)
			}
			if g := res.Trailer.Get("X-Sum"); g != tc.trailer {
				t.Fatalf("trailer %q, want %q", g, tc.trailer)
			}
			if res.Request != req {
				t.Fatal("res.Request is not the request")
			}
		})
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections accepted, want 1 (keep-alive)", n)
	}
}

// TestLeanReuse covers connection reuse and replacement: an upstream that
// closed an idle connection, one that answers "Connection: close", a
// request asking for close, and a reused connection that dies with the
// request on it (sent again only when that is safe).
func TestLeanReuse(t *testing.T) {
	cases := []struct {
		name string
		// serve answers the i-th request (from 0) on connection n (from 1);
		// it returns false to close the connection right after.
		serve    func(n, i int, c net.Conn) bool
		second   func(url string) *http.Request
		wantErr  bool
		accepted int32
		pooled   int
	}{
		{
			name: "idle closed by upstream, GET sent again",
			serve: func(n, i int, c net.Conn) bool {
				io.WriteString(c, okResp)
				return false // closes without saying so
			},
			second:   func(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r },
			accepted: 2, pooled: 1, // the second is pooled before the upstream closes it too
		},
		{
			name: "idle closed by upstream, POST finds out before sending",
			serve: func(n, i int, c net.Conn) bool {
				io.WriteString(c, okResp)
				return false
			},
			second:   func(u string) *http.Request { r, _ := http.NewRequest("POST", u, strings.NewReader("x")); return r },
			accepted: 2, pooled: 1,
		},
		{
			name: "upstream answers Connection: close",
			serve: func(n, i int, c net.Conn) bool {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
				return false
			},
			second:   func(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r },
			accepted: 2, pooled: 0,
		},
		{
			name: "request asks for close",
			serve: func(n, i int, c net.Conn) bool {
				io.WriteString(c, okResp)
				return true
			},
			second: func(u string) *http.Request {
				r, _ := http.NewRequest("GET", u, nil)
				r.Close = true
				return r
			},
			accepted: 1, pooled: 0,
		},
		{
			name: "dies with a GET on it: sent again",
			serve: func(n, i int, c net.Conn) bool {
				if n == 1 && i == 1 {
					return false // read the request, close without a byte
				}
				io.WriteString(c, okResp)
				return true
			},
			second:   func(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r },
			accepted: 2, pooled: 1,
		},
		{
			name: "dies with a POST on it: not sent again",
			serve: func(n, i int, c net.Conn) bool {
				if n == 1 && i == 1 {
					return false
				}
				io.WriteString(c, okResp)
				return true
			},
			second: func(u string) *http.Request {
				r, _ := http.NewRequest("POST", u, io.NopCloser(strings.NewReader("x")))
				r.ContentLength = 1
				return r
			},
			wantErr: true, accepted: 1, pooled: 0,
		},
		{
			name: "dies with a PUT with GetBody and an idempotency key: sent again",
			serve: func(n, i int, c net.Conn) bool {
				if n == 1 && i == 1 {
					return false
				}
				io.WriteString(c, okResp)
				return true
			},
			second: func(u string) *http.Request {
				r, _ := http.NewRequest("PUT", u, strings.NewReader("xyz"))
				r.Header.Set("Idempotency-Key", "k1")
				return r
			},
			accepted: 2, pooled: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan struct{}, 4)
			srv := newRawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
				for i := 0; ; i++ {
					if _, err := readReq(br); err != nil {
						return
					}
					keep := tc.serve(n, i, c)
					if !keep {
						c.Close()
						closed <- struct{}{}
						return
					}
				}
			})
			st := leanRT(t)
			if _, body, err := do(t, st, mustReq(t, "GET", srv.url(), nil)); err != nil || body != "ok" {
				t.Fatalf("first request: %q %v", body, err)
			}
			if tc.name != "request asks for close" && !strings.HasPrefix(tc.name, "dies") {
				<-closed // the upstream has closed the first connection
			}
			_, body, err := do(t, st, tc.second(srv.url()))
			if tc.wantErr != (err != nil) {
				t.Fatalf("second request: %q, err %v (want error: %t)", body, err, tc.wantErr)
			}
			if err == nil && body != "ok" {
				t.Fatalf("second body %q", body)
			}
			if n := srv.accepted.Load(); n != tc.accepted {
				t.Fatalf("%d connections accepted, want %d", n, tc.accepted)
			}
			if n := st.lean.pool(srv.ln.Addr().String()).len(); n != tc.pooled {
				t.Fatalf("%d idle connections, want %d", n, tc.pooled)
			}
		})
	}
}

// TestLeanBrokenUpstreams: truncated and oversized answers, slow headers,
// too many 1xx, a short request body: errors, and no connection pooled.
func TestLeanBrokenUpstreams(t *testing.T) {
	cases := []struct {
		name    string
		answer  func(c net.Conn)
		req     func(url string) *http.Request
		timeout time.Duration
		wantErr error // nil: any error from RoundTrip or the body read
	}{
		{name: "truncated header", answer: func(c net.Conn) { io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Le") }},
		{name: "truncated body", answer: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
		}},
		{name: "truncated chunked body", answer: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
		}},
		{name: "garbage", answer: func(c net.Conn) { io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n") }},
		{name: "oversized header", wantErr: errHeaderTooLarge, answer: func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			line := "X-Big: " + strings.Repeat("a", 8000) + "\r\n"
			for range (maxResponseHeaderBytes / len(line)) + 2 {
				if _, err := io.WriteString(c, line); err != nil {
					return
				}
			}
		}},
		{name: "slow header", timeout: 30 * time.Millisecond, wantErr: errHeaderTimeout, answer: func(c net.Conn) {
			c.Read(make([]byte, 1)) // until the client gives up
		}},
		{name: "too many 1xx", wantErr: errTooMany1xx, answer: func(c net.Conn) {
			io.WriteString(c, strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 6)+okResp)
		}},
		// The upstream waits for the client to close: closing on the first
		// byte races the writer's report of the short body.
		{name: "short request body", wantErr: errWriteBody, answer: func(c net.Conn) { io.Copy(io.Discard, c) },
			req: func(u string) *http.Request {
				r, _ := http.NewRequest("POST", u, io.NopCloser(strings.NewReader("abc")))
				r.ContentLength = 10
				return r
			}},
		// As http.Transport: a body longer than its Content-Length is an
		// error, not silently cut to the declared length.
		{name: "long request body", wantErr: errBodyTooLong, answer: func(c net.Conn) { io.Copy(io.Discard, c) },
			req: func(u string) *http.Request {
				r, _ := http.NewRequest("POST", u, io.NopCloser(strings.NewReader("abcdef")))
				r.ContentLength = 3
				return r
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				if tc.req == nil {
					if _, err := readReq(br); err != nil {
						return
					}
				}
				tc.answer(c)
			})
			st := leanRT(t)
			st.lean.headerTimeout = tc.timeout
			req := mustReq(t, "GET", srv.url(), nil)
			if tc.req != nil {
				req = tc.req(srv.url())
			}
			_, _, err := do(t, st, req)
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if n := st.lean.pool(srv.ln.Addr().String()).len(); n != 0 {
				t.Fatalf("%d connections pooled after a failure", n)
			}
			// > 1, not != 1: a short body fails before the upstream need
			// have accepted the connection.
			if n := srv.accepted.Load(); n > 1 {
				t.Fatalf("%d connections accepted: a failure on a new connection was retried", n)
			}
		})
	}
}

type testKey struct{}

// TestLeanCancel: a context canceled while waiting for the header or in
// the middle of the body ends the exchange and closes the connection.
func TestLeanCancel(t *testing.T) {
	for _, tc := range []struct {
		midBody bool
		reqCtx  bool // the lean server's pipeline.RequestContext, not context.WithCancel
		bare    bool // the RequestContext itself, not under a value layer
	}{{false, false, false}, {true, false, false}, {false, true, false}, {true, true, false}, {false, true, true}, {true, true, true}} {
		midBody := tc.midBody
		t.Run(fmt.Sprintf("midBody=%t/requestContext=%t/bare=%t", midBody, tc.reqCtx, tc.bare), func(t *testing.T) {
			gone := make(chan struct{})
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				if _, err := readReq(br); err != nil {
					return
				}
				if midBody {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
				}
				c.Read(make([]byte, 1)) // returns when the client closes
				close(gone)
			})
			st := leanRT(t)
			ctx, cancel := context.WithCancel(context.Background())
			var rc *pipeline.RequestContext
			if tc.reqCtx {
				rc = new(pipeline.RequestContext)
				rc.Init(context.Background())
				ctx, cancel = context.WithValue(rc, testKey{}, 1), rc.Cancel
				if tc.bare {
					ctx = rc
				}
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(), nil)
			if !midBody {
				time.AfterFunc(20*time.Millisecond, cancel)
				if _, err := st.RoundTrip(req); !errors.Is(err, context.Canceled) {
					t.Fatalf("err = %v, want context.Canceled", err)
				}
			} else {
				res, err := st.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 3)
				if _, err := io.ReadFull(res.Body, buf); err != nil {
					t.Fatal(err)
				}
				if rc != nil && pipeline.OnCancel(rc, func() {}) != nil {
					t.Fatal("the lean client did not take the request context's abort slot")
				}
				cancel()
				if _, err := io.ReadAll(res.Body); !errors.Is(err, context.Canceled) {
					t.Fatalf("body err = %v, want context.Canceled", err)
				}
				res.Body.Close()
			}
			<-gone // the upstream saw the connection closed
			if n := st.lean.pool(srv.ln.Addr().String()).len(); n != 0 {
				t.Fatalf("%d connections pooled", n)
			}
		})
	}
}

// TestLean1xx: informational responses reach Got1xxResponse; the final
// response follows on the same exchange.
func TestLean1xx(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readReq(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"+okResp)
		}
	})
	st := leanRT(t)
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	}}
	for range 2 {
		got = nil
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", srv.url(), nil)
		_, body, err := do(t, st, req)
		if err != nil || body != "ok" {
			t.Fatalf("%q %v", body, err)
		}
		if strings.Join(got, ",") != "100 ,103 </s.css>" {
			t.Fatalf("1xx seen: %q", got)
		}
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}

// TestLeanEarlyAnswer: an upstream that answers 413 without reading a large
// body: the client gets the 413, not a write error.
func TestLeanEarlyAnswer(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	}))
	defer up.Close()
	st := leanRT(t)
	req := mustReq(t, "POST", up.URL, bytes.NewReader(make([]byte, 16<<20)))
	res, _, err := do(t, st, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", res.StatusCode)
	}
}

// TestLeanPoolLimits: the idle pool keeps at most maxIdle connections and
// the reaper closes the ones idle longer than the idle timeout.
func TestLeanPoolLimits(t *testing.T) {
	t.Run("maxIdle", func(t *testing.T) {
		release := make(chan struct{})
		var arrived sync.WaitGroup
		arrived.Add(3)
		up, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
			arrived.Done()
			<-release
			io.WriteString(w, "ok")
		})
		st := leanRT(t)
		st.lean.maxIdle = 2
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if _, _, err := do(t, st, mustReq(t, "GET", up.URL, nil)); err != nil {
					t.Error(err)
				}
			})
		}
		arrived.Wait()
		close(release)
		wg.Wait()
		if n := st.lean.pool(addr(up)).len(); n != 2 {
			t.Fatalf("%d idle, want maxIdle 2", n)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		up, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
		st := leanRT(t)
		st.lean.idleTimeout = 20 * time.Millisecond
		p := st.lean.pool(addr(up))
		for range 2 {
			if _, _, err := do(t, st, mustReq(t, "GET", up.URL, nil)); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(10 * time.Second); p.len() > 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d idle connections never reaped", p.len())
				}
			}
		}
		if n := conns.Load(); n != 2 {
			t.Fatalf("%d connections, want 2 (the reaped one is not reused)", n)
		}
	})
}

// TestLeanCanceledBeforeRoundTrip: a request whose context (the lean
// server's RequestContext itself, or one under a value layer) is already
// canceled fails at once with context.Canceled and sends nothing.
func TestLeanCanceledBeforeRoundTrip(t *testing.T) {
	for _, bare := range []bool{true, false} {
		t.Run(fmt.Sprintf("bare=%t", bare), func(t *testing.T) {
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				if _, err := readReq(br); err == nil {
					t.Error("the upstream received a request whose context was canceled")
				}
			})
			st := leanRT(t)
			rc := new(pipeline.RequestContext)
			rc.Init(context.Background())
			rc.Cancel()
			var ctx context.Context = rc
			if !bare {
				ctx = context.WithValue(rc, testKey{}, 1)
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(), nil)
			if _, err := st.RoundTrip(req); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
	}
}
