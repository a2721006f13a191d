package e2e

// Bad-input tests for the HTTP/1.1 front end (hardening.md (b), B1 and B3):
// framing and smuggling over raw TCP, header size and count limits, and slow
// clients. Every case checks the status on the wire, whether the upstream was
// contacted, and that a well-formed request afterwards is served.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is an upstream that counts and records the requests it receives
// and answers like echoBackend (a JSON seen, X-Backend: name).
type recorder struct {
	name     string
	srv      *httptest.Server
	hits     atomic.Int64
	mu       sync.Mutex
	reqs     []seen
	complete []bool // the body was read to its end without error
}

func newRecorder(t testing.TB, name string) *recorder {
	t.Helper()
	rec := &recorder{name: name}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		s := seen{Backend: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Host: r.Host, Header: r.Header, Body: string(body), Proto: r.Proto}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, s)
		rec.complete = append(rec.complete, err == nil)
		rec.hits.Add(1)
		rec.mu.Unlock()
		if err != nil {
			return // the gateway aborted the body: nothing useful to answer
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", name)
		_ = json.NewEncoder(w).Encode(s)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) host() string { return hostOf(r.srv) }

func (r *recorder) count() int64 { return r.hits.Load() }

func (r *recorder) paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.reqs))
	for i, s := range r.reqs {
		out[i] = s.Method + " " + s.Path
	}
	return out
}

// rawResp is one response read from a raw connection.
type rawResp struct {
	Status int
	Header http.Header
	Body   string
}

// rawResult is everything a raw exchange produced.
type rawResult struct {
	Resps  []rawResp
	Closed bool  // the gateway closed the connection (EOF or reset)
	Err    error // the error that ended reading (nil: timeout with the conn open)
}

func (r rawResult) first() int {
	if len(r.Resps) == 0 {
		return 0
	}
	return r.Resps[0].Status
}

// rawExchange writes payload on a fresh TCP connection and reads responses
// until the connection is closed or no further response starts within idle
// after the previous one (the first may take up to 5 s).
func rawExchange(t testing.TB, addr, payload string, idle time.Duration) rawResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, payload); err != nil {
		t.Fatalf("write: %v", err)
	}
	return readResponses(c, bufio.NewReader(c), idle)
}

func readResponses(c net.Conn, br *bufio.Reader, idle time.Duration) rawResult {
	var res rawResult
	wait := 5 * time.Second
	for {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return res
			}
			res.Closed, res.Err = true, err
			return res
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res.Resps = append(res.Resps, rawResp{Status: resp.StatusCode, Header: resp.Header, Body: string(b)})
		if err != nil {
			res.Closed, res.Err = true, err
			return res
		}
		wait = idle
	}
}

// assertHealthy sends a well-formed GET to url on a new connection and
// expects 200, then checks the gateway logs for panics.
func assertHealthy(t testing.TB, g *Gateway, url string) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatalf("follow-up request failed: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("follow-up request: status %d, want 200", resp.StatusCode)
	}
	assertNoPanic(t, g)
}

func assertNoPanic(t testing.TB, g *Gateway) {
	t.Helper()
	if l := g.Logs(); strings.Contains(l, "panic") || strings.Contains(l, "goroutine ") {
		t.Fatalf("gateway logged a panic:\n%s", l)
	}
}

// oneRoute is a config with one catch-all route to host on port.
func oneRoute(port int, host string) string {
	return fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: main
      backends: [{host: %s}]
`, port, host)
}

func TestHardeningHTTP1Framing(t *testing.T) {
	t.Parallel()
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, oneRoute(port, up.host()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	healthURL := "http://" + addr + "/healthy"

	const req = "POST /framing HTTP/1.1\r\nHost: gw.test\r\n"
	cases := []struct {
		name    string
		payload string
		want    []int // acceptable statuses
	}{
		{"TE chunked twice in one field", req + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", []int{400, 501}},
		{"TE on two lines", req + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{400, 501}},
		{"TE gzip", req + "Transfer-Encoding: gzip\r\n\r\nabcd", []int{400, 501}},
		{"TE xchunked", req + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", []int{400, 501}},
		{"TE gzip, chunked", req + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", []int{400, 501}},
		{"conflicting Content-Length", req + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", []int{400}},
		{"conflicting Content-Length in one field", req + "Content-Length: 5, 6\r\n\r\nhello!", []int{400}},
		{"Content-Length +5", req + "Content-Length: +5\r\n\r\nhello", []int{400}},
		{"Content-Length 0x10", req + "Content-Length: 0x10\r\n\r\n0123456789abcdef", []int{400}},
		{"Content-Length -1", req + "Content-Length: -1\r\n\r\n", []int{400}},
		{"Content-Length 1_0", req + "Content-Length: 1_0\r\n\r\n0123456789", []int{400}},
		{"Content-Length 5 5", req + "Content-Length: 5 5\r\n\r\nhello", []int{400}},
		{"NUL in header value", req + "X-Evil: a\x00b\r\nContent-Length: 0\r\n\r\n", []int{400}},
		{"bare CR in header value", req + "X-Evil: a\rb\r\nContent-Length: 0\r\n\r\n", []int{400}},
		{"space before colon", req + "Content-Length : 5\r\n\r\nhello", []int{400}},
		{"space before colon, other header", req + "X-Foo : bar\r\nContent-Length: 0\r\n\r\n", []int{400}},
		{"bare LF in request line", "GET /\nHTTP/1.1\r\nHost: gw.test\r\n\r\n", []int{400}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			res := rawExchange(t, addr, tc.payload, 300*time.Millisecond)
			t.Logf("status %d, closed %v", res.first(), res.Closed)
			if got := res.first(); !containsInt(tc.want, got) {
				t.Fatalf("status %d, want one of %v (responses %+v, err %v)", got, tc.want, res.Resps, res.Err)
			}
			if n := up.count() - before; n != 0 {
				t.Fatalf("rejected request reached the upstream %d times: %v", n, up.paths())
			}
			if !res.Closed {
				t.Errorf("connection left open after a framing error")
			}
			assertHealthy(t, g, healthURL)
		})
	}

	// obs-fold: RFC 9112 §5.2 lets a server either reject it or replace the
	// fold with spaces before forwarding. net/http unfolds; what matters is
	// that no line break reaches the upstream.
	t.Run("obs-fold continuation line", func(t *testing.T) {
		res := rawExchange(t, addr, req+"X-Foo: bar\r\n baz\r\nContent-Length: 0\r\n\r\n", 300*time.Millisecond)
		t.Logf("status %d", res.first())
		switch got := res.first(); got {
		case 400:
		case 200:
			if s := decodeSeen(t, res.Resps[0].Body); strings.ContainsAny(s.Header.Get("X-Foo"), "\r\n") || s.Header.Get("X-Foo") != "bar baz" {
				t.Fatalf("folded header forwarded as %q", s.Header.Get("X-Foo"))
			}
		default:
			t.Fatalf("status %d, want 400 or 200 with the fold replaced by a space", got)
		}
		assertHealthy(t, g, healthURL)
	})

	// T-11: an absolute-form target naming another host is routed like its
	// path and sent to the configured backend: the gateway is no open proxy.
	t.Run("absolute-form target to another host", func(t *testing.T) {
		res := rawExchange(t, addr, "GET http://169.254.169.254/latest HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n", 300*time.Millisecond)
		t.Logf("status %d", res.first())
		switch got := res.first(); got {
		case 400:
		case 200:
			if b := res.Resps[0].Header.Get("X-Backend"); b != "up" {
				t.Fatalf("absolute-form request answered by %q, not the configured backend", b)
			}
		default:
			t.Fatalf("status %d, want 200 from the configured backend or 400", got)
		}
		assertHealthy(t, g, healthURL)
	})

	// T-06/T-07: a chunk-size line ending in a bare LF (CVE-2025-22871), an
	// invalid chunk size, a CR inside a chunk extension. The headers are
	// valid, so the request is routed and streamed; the error surfaces while
	// the body is read. The client must get 400 (not a 502 blaming the
	// upstream), and the upstream must never receive a complete body: its
	// request is aborted mid-body.
	for _, body := range []string{"5\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\n\r\n", "Z\r\nhello\r\n0\r\n\r\n", "2\r\r;a\r\nhi\r\n0\r\n\r\n"} {
		t.Run(fmt.Sprintf("bad chunk framing %q", body), func(t *testing.T) {
			before := up.count()
			res := rawExchange(t, addr, req+"Transfer-Encoding: chunked\r\n\r\n"+body, 300*time.Millisecond)
			t.Logf("status %d, upstream contacted %d times (aborted mid-body)", res.first(), up.count()-before)
			if got := res.first(); got < 400 || got > 499 {
				t.Fatalf("status %d, want 400 (responses %+v, err %v)", got, res.Resps, res.Err)
			}
			up.mu.Lock()
			for i, s := range up.reqs[before:] {
				if up.complete[int(before)+i] {
					t.Errorf("upstream received a complete request from a malformed chunked one: %+v", s)
				}
			}
			up.mu.Unlock()
			assertHealthy(t, g, healthURL)
		})
	}

	// T-01: Transfer-Encoding and Content-Length together, with a second
	// request hidden after the chunked body. The gateway may answer 400 or
	// forward the first request with chunked framing, but the hidden request
	// must never be processed (RFC 9112 §6.3: close the connection).
	for _, order := range []string{
		"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n",
		"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
	} {
		t.Run("TE and CL with a smuggled request/"+strings.SplitN(order, ":", 2)[0], func(t *testing.T) {
			before := up.count()
			smuggled := "GET /smuggled HTTP/1.1\r\nHost: gw.test\r\n\r\n"
			res := rawExchange(t, addr, "POST /first HTTP/1.1\r\nHost: gw.test\r\n"+order+"\r\n0\r\n\r\n"+smuggled, 500*time.Millisecond)
			got := res.first()
			t.Logf("status %d, %d responses, closed %v", got, len(res.Resps), res.Closed)
			if got != 400 && got != 200 {
				t.Fatalf("status %d, want 400 or 200", got)
			}
			if len(res.Resps) > 1 {
				t.Errorf("the smuggled request was answered: %d responses %+v", len(res.Resps), res.Resps)
			}
			want := int64(1)
			if got == 400 {
				want = 0
			}
			eventually(t, "upstream count settles", func() bool { return up.count()-before >= want })
			time.Sleep(100 * time.Millisecond)
			if n := up.count() - before; n != want {
				t.Fatalf("upstream saw %d requests, want %d: %v", n, want, up.paths())
			}
			for _, p := range up.paths() {
				if strings.Contains(p, "/smuggled") {
					t.Fatalf("smuggled request reached the upstream: %v", up.paths())
				}
			}
			assertHealthy(t, g, healthURL)
		})
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestHardeningHeaderLimits(t *testing.T) {
	t.Parallel()
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, oneRoute(port, up.host()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	healthURL := "http://" + addr + "/healthy"

	var many, repeated, hundred strings.Builder
	for i := 0; i < 101; i++ {
		fmt.Fprintf(&many, "X-H-%d: v\r\n", i)
	}
	for i := 0; i < 150; i++ {
		repeated.WriteString("X-Same: v\r\n")
	}
	for i := 0; i < 99; i++ { // plus User-Agent: 100 fields (Host is not counted)
		fmt.Fprintf(&hundred, "X-H-%d: v\r\n", i)
	}
	const get = "GET /limits HTTP/1.1\r\nHost: gw.test\r\n"
	cases := []struct {
		name, payload string
		want          int
	}{
		{"80 KiB header", get + "X-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", 431},
		{"70 KiB spread over many headers", get + strings.Repeat("X-Pad: "+strings.Repeat("b", 1000)+"\r\n", 70) + "\r\n", 431},
		{"101 header fields", get + many.String() + "\r\n", 431},
		{"150 fields with the same name", get + repeated.String() + "\r\n", 431},
		{"100 header fields are fine", get + "User-Agent: t\r\n" + hundred.String() + "\r\n", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			res := rawExchange(t, addr, tc.payload, 300*time.Millisecond)
			t.Logf("status %d, closed %v", res.first(), res.Closed)
			if got := res.first(); got != tc.want {
				t.Fatalf("status %d, want %d (err %v)", got, tc.want, res.Err)
			}
			if tc.want == 431 {
				if n := up.count() - before; n != 0 {
					t.Fatalf("oversized request reached the upstream")
				}
				if !res.Closed {
					t.Errorf("connection left open after 431")
				}
			}
			assertHealthy(t, g, healthURL)
		})
	}
}

// TestHardeningSlowHeaders: clients that trickle their headers never finish
// them. Other clients are served meanwhile, and the slow connections are
// closed by the 10 s read-header timeout (asserted with a generous bound).
func TestHardeningSlowHeaders(t *testing.T) {
	t.Parallel()
	up := newRecorder(t, "up")
	port := freePort(t)
	g := StartGateway(t, oneRoute(port, up.host()))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	const slow = 8
	start := time.Now()
	closedAt := make(chan time.Duration, slow)
	for i := 0; i < slow; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		go func() {
			// One header byte every 250 ms, forever: the header block never ends.
			if _, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: gw.test\r\nX-Drip: "); err != nil {
				closedAt <- time.Since(start)
				return
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = io.Copy(io.Discard, c) // returns when the gateway closes the conn
			}()
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					closedAt <- time.Since(start)
					return
				case <-tick.C:
					_, _ = c.Write([]byte("a"))
				}
			}
		}()
	}

	// Meanwhile ordinary clients are served promptly.
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 20; i++ {
		resp, err := client.Get(fmt.Sprintf("http://%s/fast/%d", addr, i))
		if err != nil {
			t.Fatalf("ordinary client not served while slow clients are connected: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("ordinary client: status %d", resp.StatusCode)
		}
	}
	if up.count() != 20 {
		t.Fatalf("upstream saw %d requests, want 20 (the slow ones must not be forwarded)", up.count())
	}

	// The read-header timeout is 10 s; allow 25 s before calling it a failure.
	deadline := time.After(25 * time.Second)
	for i := 0; i < slow; i++ {
		select {
		case d := <-closedAt:
			if d < 5*time.Second {
				t.Errorf("slow connection closed after %s, earlier than the read-header timeout", d)
			}
		case <-deadline:
			t.Fatalf("%d slow connections still open after 25 s", slow-i)
		}
	}
	if up.count() != 20 {
		t.Fatalf("a slow request reached the upstream")
	}
	assertHealthy(t, g, "http://"+addr+"/after")
}
