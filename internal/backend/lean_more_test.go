package backend

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// TestLeanConcurrent: many goroutines on one transport (run with -race).
func TestLeanConcurrent(t *testing.T) {
	up, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	st := leanRT(t)
	const workers = 8
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range 50 {
				want := fmt.Sprintf("g%d-%d", g, i)
				_, got, err := do(t, st, mustReq(t, "POST", up.URL, strings.NewReader(want)))
				if err != nil || got != want {
					t.Errorf("%q %v, want %q", got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n > workers {
		t.Fatalf("%d connections for %d workers", n, workers)
	}
}

// TestLeanEligible: what the lean client serves; the rest takes the Transport.
func TestLeanEligible(t *testing.T) {
	cases := []struct {
		name string
		mod  func(r *http.Request)
		want bool
	}{
		{"plain GET", func(r *http.Request) {}, true},
		{"POST known length", func(r *http.Request) {
			r.Method, r.Body, r.ContentLength = "POST", io.NopCloser(strings.NewReader("x")), 1
		}, true},
		{"chunked upload", func(r *http.Request) {
			r.Method, r.Body, r.ContentLength = "POST", io.NopCloser(strings.NewReader("x")), -1
		}, false},
		{"https", func(r *http.Request) { r.URL.Scheme = "https" }, false},
		{"expect", func(r *http.Request) { r.Header.Set("Expect", "100-continue") }, false},
		{"upgrade", func(r *http.Request) { r.Header.Set("Connection", "Upgrade"); r.Header.Set("Upgrade", "websocket") }, false},
		{"trailers", func(r *http.Request) { r.Trailer = http.Header{"X": nil} }, false},
		{"bad header value", func(r *http.Request) { r.Header["X-A"] = []string{"a\r\nX-Injected: 1"} }, false},
		{"bad header name", func(r *http.Request) { r.Header["X A"] = []string{"a"} }, false},
		{"IDN host", func(r *http.Request) { r.Host = "bücher.example" }, false},
		{"host with zone", func(r *http.Request) { r.Host = "[fe80::1%25eth0]" }, false},
		{"space in query", func(r *http.Request) { r.URL.RawQuery = "a=b c" }, false},
		{"bad method", func(r *http.Request) { r.Method = "GET /x" }, false},
		{"CONNECT", func(r *http.Request) { r.Method = "CONNECT" }, false},
		{"userinfo", func(r *http.Request) { r.URL.User = url.UserPassword("u", "p") }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustReq(t, "GET", "http://127.0.0.1:1/p?q=1", nil)
			tc.mod(r)
			if got := leanEligible(r); got != tc.want {
				t.Fatalf("leanEligible = %t, want %t", got, tc.want)
			}
		})
	}
}

// TestLeanFullDuplex: a streaming request body (no GetBody) does not hold
// back the answer: the upstream's header and first bytes arrive while the
// client is still sending.
func TestLeanFullDuplex(t *testing.T) {
	up, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		w.WriteHeader(200)
		rc.Flush()
		buf := make([]byte, 64)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	})
	st := leanRT(t)
	pr, pw := io.Pipe()
	req := mustReq(t, "POST", up.URL, pr)
	req.ContentLength = 6
	if !leanEligible(req) {
		t.Fatal("not served by the lean client")
	}
	go pw.Write([]byte("abc"))
	res, err := st.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "abc" {
		t.Fatalf("first echo %q %v", buf, err)
	}
	go func() { pw.Write([]byte("def")); pw.Close() }()
	rest, err := io.ReadAll(res.Body)
	if err != nil || string(rest) != "def" {
		t.Fatalf("rest %q %v", rest, err)
	}
	res.Body.Close()
}

// TestLeanBodyReadError: a client body that fails mid-way ends the
// exchange with that error (not a wait for an answer that cannot come).
func TestLeanBodyReadError(t *testing.T) {
	srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
		readReq(br) // waits for a body that never completes
	})
	st := leanRT(t)
	boom := errors.New("client body broke")
	pr, pw := io.Pipe()
	req := mustReq(t, "POST", srv.url(), pr)
	req.ContentLength = 100
	go func() { pw.Write([]byte("abc")); pw.CloseWithError(boom) }()
	if _, err := st.RoundTrip(req); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the body's error", err)
	}
}
