package listen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Adversarial review of the lean HTTP/1.1 path: each test states the safe
// behaviour (usually "same bytes as net/http").

const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// An empty SETTINGS frame.
const h2Settings = "\x00\x00\x00\x04\x00\x00\x00\x00\x00"

var reviewCases = []struct {
	name string
	raw  string
}{
	// Request framing: both use http.ReadRequest, these pin it.
	{"CL duplicate equal", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc" + get("/small")},
	{"CL duplicate differ", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd" + get("/small")},
	{"CL plus", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc" + get("/small")},
	{"CL leading zeros", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc" + get("/small")},
	{"CL comma list", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc" + get("/small")},
	{"CL whitespace", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \t3 \r\n\r\nabc" + get("/small")},
	{"CL hex", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc" + get("/small")},
	{"CL huge", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nabc"},
	{"CL obs-fold", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 3\r\n\r\nabc" + get("/small")},
	{"CL and TE", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get("/small")},
	{"TE identity", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc" + get("/small")},
	{"TE chunked,identity", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{"TE obs-fold", "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{"NUL in header name", "GET /x HTTP/1.1\r\nHost: a\r\nX\x00Y: 1\r\n\r\n" + get("/small")},
	{"NUL in header value", "GET /x HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n" + get("/small")},
	{"CR in header value", "GET /x HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n" + get("/small")},
	{"CR in request line", "GET /x\r HTTP/1.1\r\nHost: a\r\n\r\n" + get("/small")},
	{"space before colon", "GET /x HTTP/1.1\r\nHost : a\r\n\r\n" + get("/small")},
	{"non-ASCII Host name (long s)", "GET /x HTTP/1.1\r\nHo\xc5\xbft: a\r\n\r\n"},
	{"lower-case host dup", "GET /x HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"},
	{"absolute URI bad Host", "GET http://a.example/p HTTP/1.1\r\nHost: a b\r\n\r\n"},
	{"absolute URI no Host", "GET http://a.example/p HTTP/1.1\r\n\r\n"},
	{"absolute URI userinfo", "GET http://u@a.example/p HTTP/1.1\r\nHost: b\r\n\r\n"},
	{"Host with port and userinfo", "GET /p HTTP/1.1\r\nHost: u@b:80\r\n\r\n"},
	{"Connection close token list", get("/small", "Connection: keep-alive, close\r\n") + get("/small")},
	{"Connection close second header", get("/small", "Connection: keep-alive\r\nConnection: close\r\n") + get("/small")},
	{"leading CRLF after GET", get("/small") + "\r\n" + get("/small")},
	{"many leading CRLF after POST", post("/echo", "x") + "\r\n\r\n\r\n" + get("/small")},
	{"head exactly 4096", get("/small", "X-Pad: "+strings.Repeat("p", 4096-len(get("/small"))-len("X-Pad: \r\n"))+"\r\n") + get("/small")},
	{"head 4097", get("/small", "X-Pad: "+strings.Repeat("p", 4097-len(get("/small"))-len("X-Pad: \r\n"))+"\r\n") + get("/small")},
	// Handoffs in the middle of a connection.
	{"lean then HTTP/1.0 then lean", get("/small") + "GET /cl HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get("/small")},
	{"lean then garbage", get("/small") + "garbage\r\n\r\n"},
	{"lean then bare LF", get("/small") + "GET /small HTTP/1.1\nHost: a\n\n"},
	{"lean POST then Expect", post("/echo", "abc") + post("/echo", "def", "Expect: 100-continue\r\n") + get("/small")},
}

// TestLeanReviewNoH2CAfterHTTP1: an h2c preface (or any PRI request) after
// an HTTP/1.1 request on the same connection. net/http only looks for the
// preface on a fresh connection and passes this to the handler as an
// HTTP/1 PRI request (then closes); a handoff would look fresh to it and
// switch the connection to HTTP/2 mid-stream. The lean loop closes the
// connection instead (a deliberate difference: no handler sees it).
func TestLeanReviewNoH2CAfterHTTP1(t *testing.T) {
	lean := newTestServer(t, diffHandler(), true, nil)
	for name, in := range map[string]string{
		"GET":            get("/small") + h2Preface + h2Settings,
		"POST echo":      post("/echo", "abc") + h2Preface + h2Settings,
		"unread body":    post("/unread", "abc") + h2Preface + h2Settings,
		"PRI without SM": get("/small") + "PRI * HTTP/2.0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			out, _ := exchange(t, lean.addr, []byte(in))
			br := bufio.NewReader(bytes.NewReader(out))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			rest, _ := io.ReadAll(br)
			if len(rest) > 0 {
				t.Fatalf("after an HTTP/1.1 exchange a PRI request got an answer (want the connection closed); got %q", rest)
			}
		})
	}
}

// TestLeanReviewDifferential: more framing and handoff inputs, byte for
// byte against net/http.
func TestLeanReviewDifferential(t *testing.T) {
	h := diffHandler()
	plain := newTestServer(t, h, false, nil)
	lean := newTestServer(t, h, true, nil)
	for _, tc := range reviewCases {
		t.Run(tc.name, func(t *testing.T) {
			compareServers(t, plain, lean, []byte(tc.raw))
		})
	}
}

// TestLeanReviewShutdownBeforeServe: Manager.Reconcile starts serve in a
// goroutine; a Shutdown (or a Reconcile dropping the port) can run first.
// http.Server.Serve after Shutdown returns at once and closes the
// listener; the lean server must too, not accept forever on a port that
// was supposedly released.
func TestLeanReviewShutdownBeforeServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: diffHandler()}
	ls := newLeanServer(srv, ln.Addr(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ls.shutdown(ctx)
	_ = srv.Shutdown(ctx)
	done := make(chan error, 1)
	go func() { done <- ls.serve(ln) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = ln.Close() // unblock the goroutine
		<-done
		t.Fatal("lean serve kept accepting after shutdown; the listener was never closed")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		_ = c.Close()
		t.Fatal("listener still open after shutdown + serve")
	}
}

// TestLeanReviewShutdownIgnoresHijacked: net/http's Shutdown neither waits
// for nor closes hijacked connections. A lean request that hijacks (no
// Upgrade header needed) must not hold shutdown until ctx ends and then
// get its socket closed under it.
func TestLeanReviewShutdownIgnoresHijacked(t *testing.T) {
	hijacked := make(chan net.Conn, 1)
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		hijacked <- c
		<-release // a long-lived tunnel served in the handler goroutine
	})
	lean := newTestServer(t, h, true, nil)
	defer close(release)
	c, _ := dial(t, lean.addr)
	if _, err := io.WriteString(c, get("/tunnel")); err != nil {
		t.Fatal(err)
	}
	hc := <-hijacked
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := shutdownBoth(lean, ctx); err != nil {
		t.Errorf("shutdown with only a hijacked connection: %v (net/http returns nil at once)", err)
	}
	if _, err := io.WriteString(hc, "still mine"); err != nil {
		t.Errorf("hijacked socket closed by shutdown: %v", err)
	}
}

// TestLeanReviewWatcherByteThenHandoff: the watcher has read the first
// byte of a request that is then handed off (HEAD); that byte must be
// replayed exactly once, in order.
func TestLeanReviewWatcherByteThenHandoff(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			_, _ = io.ReadAll(r.Body)
			<-release
		}
		w.Header().Set("X-Path", r.Method+" "+r.URL.Path)
		_, _ = io.WriteString(w, r.URL.Path)
	})
	lean := newTestServer(t, h, true, nil)
	lean.ls.watchDelay.Store(0)
	c, br := dial(t, lean.addr)
	if _, err := io.WriteString(c, post("/wait", "body")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to start", func() bool { return lean.ls.watchers.Load() >= 1 })
	if _, err := io.WriteString(c, "HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n"+get("/after")); err != nil {
		t.Fatal(err)
	}
	waitForReadAhead(t, lean.ls)
	close(release)
	if _, body := readResponse(t, br); body != "/wait" {
		t.Fatalf("first body %q", body)
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if got := resp.Header.Get("X-Path"); got != "HEAD /head" {
		t.Fatalf("handed-off request parsed as %q", got)
	}
	if _, body := readResponse(t, br); body != "/after" {
		t.Fatalf("third body %q", body)
	}
}

// TestLeanReviewSlowHeadBounded: a client trickling a head one byte at a
// time must be cut off after about ReadHeaderTimeout, on the first request
// and between pipelined requests, like net/http.
func TestLeanReviewSlowHeadBounded(t *testing.T) {
	for _, lean := range []bool{false, true} {
		for _, second := range []bool{false, true} {
			name := map[bool]string{false: "net/http", true: "lean"}[lean] + map[bool]string{false: " first", true: " second"}[second]
			t.Run(name, func(t *testing.T) {
				ts := newTestServerWith(t, diffHandler(), lean, nil, func(s *http.Server) { s.ReadHeaderTimeout = 300 * time.Millisecond })
				c, br := dial(t, ts.addr)
				if second {
					if _, err := io.WriteString(c, get("/small")); err != nil {
						t.Fatal(err)
					}
					readResponse(t, br)
				}
				start := time.Now()
				closed := make(chan struct{})
				go func() {
					defer close(closed)
					_, _ = io.Copy(io.Discard, br)
				}()
				head := "GET /small HTTP/1.1\r\nHost: a\r\nX-Slow: " + strings.Repeat("s", 4000)
			loop:
				for i := range len(head) {
					if _, err := c.Write([]byte{head[i]}); err != nil {
						break
					}
					select {
					case <-closed:
						break loop
					case <-time.After(20 * time.Millisecond):
					}
				}
				<-closed
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("slow head kept the connection for %v (ReadHeaderTimeout 300ms)", d)
				}
			})
		}
	}
}

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

// TestLeanReviewPipelinedStress pipelines a mix of lean and handed-off
// requests through handlers slow enough to start watchers, several
// connections at once, and checks every response arrives in order.
func TestLeanReviewPipelinedStress(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(r.URL.Path, "slow") {
			time.Sleep(time.Millisecond)
		}
		w.Header().Set("X-Echo", r.Method+" "+r.URL.Path+" |"+string(b)+"|")
		_, _ = io.WriteString(w, r.URL.Path)
	})
	lean := newTestServer(t, h, true, nil)
	lean.ls.watchDelay.Store(0)
	type rq struct{ raw, want, method string }
	mk := func(i int) []rq {
		var out []rq
		for j := range 30 {
			p := "/r" + itoa(i) + "-" + itoa(j)
			if j%3 == 0 {
				p += "slow"
			}
			switch {
			case j == 26: // handed off late: most requests stay lean
				if i%2 == 0 {
					out = append(out, rq{"HEAD " + p + " HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD " + p + " ||", "HEAD"})
				} else {
					out = append(out, rq{"POST " + p + " HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n", "POST " + p + " |xy|", "POST"})
				}
			case j%7 == 2 || j%7 == 4:
				out = append(out, rq{post(p, "body"+itoa(j)), "POST " + p + " |body" + itoa(j) + "|", "POST"})
			default:
				out = append(out, rq{get(p), "GET " + p + " ||", "GET"})
			}
		}
		return out
	}
	errc := make(chan error, 8)
	for i := range 8 {
		go func() {
			reqs := mk(i)
			c, err := net.Dial("tcp", lean.addr)
			if err != nil {
				errc <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			go func() {
				for _, r := range reqs {
					_, _ = io.WriteString(c, r.raw)
					time.Sleep(time.Duration(len(r.raw)%3) * time.Millisecond)
				}
			}()
			br := bufioReader(c)
			for _, r := range reqs {
				resp, err := http.ReadResponse(br, &http.Request{Method: r.method})
				if err != nil {
					errc <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if got := resp.Header.Get("X-Echo"); got != r.want {
					errc <- errors.New("got " + got + " want " + r.want)
					return
				}
			}
			errc <- nil
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	t.Logf("watchers %d, handoffs %d", lean.ls.watchers.Load(), lean.ls.handoffs.Load())
}

// TestLeanReviewShutdownRaceBalanced: clients keep opening connections and
// pipelining lean and handed-off requests while the server shuts down;
// every connection counted New must end Closed or Hijacked, and shutdown
// must finish.
func TestLeanReviewShutdownRaceBalanced(t *testing.T) {
	hook, newConns, closed := connCounter()
	lean := newTestServer(t, diffHandler(), true, hook)
	lean.ls.watchDelay.Store(0)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.Dial("tcp", lean.addr)
				if err != nil {
					return
				}
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				raw := get("/small") + post("/echo", "abc") + get("/flush")
				if (i+n)%3 == 0 {
					raw += "HEAD /small HTTP/1.1\r\nHost: a\r\n\r\n" + get("/small")
				}
				_, _ = io.WriteString(c, raw)
				if n%2 == 0 {
					_, _ = io.Copy(io.Discard, io.LimitReader(c, 200))
				}
				_ = c.Close()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := shutdownBoth(lean, ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	close(stop)
	wg.Wait()
	waitFor(t, "New and Closed to balance", func() bool { return newConns.Load() == closed.Load() })
	t.Logf("connections %d", newConns.Load())
}
