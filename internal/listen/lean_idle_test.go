package listen

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// allShed reports whether every connection ls tracks waits without
// buffers, and how many it tracks.
func allShed(ls *leanServer) (bool, int) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for c := range ls.conns {
		if !c.shed.Load() {
			return false, len(ls.conns)
		}
	}
	return true, len(ls.conns)
}

// TestLeanIdleConnHoldsNoBuffers: keep-alive connections between requests
// hold neither reader nor writer, and a request arriving after the wait
// is served whole however it is cut: a head in pieces (fewer than four
// bytes first), two pipelined requests, a body, a head larger than the
// pooled first-read buffer (handed to net/http).
func TestLeanIdleConnHoldsNoBuffers(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			echoRequest(w, r)
			return
		}
		_, _ = io.WriteString(w, r.URL.Path+" "+r.Header.Get("X-Big"))
	})
	lean := newTestServer(t, h, true, nil)
	type client struct {
		c  net.Conn
		br *bufio.Reader
	}
	var cs []client
	for range 3 {
		c, br := dial(t, lean.addr)
		if _, err := io.WriteString(c, get("/first")); err != nil {
			t.Fatal(err)
		}
		if _, body := readResponse(t, br); body != "/first " {
			t.Fatalf("body %q", body)
		}
		cs = append(cs, client{c, br})
	}
	waitShed := func() {
		t.Helper()
		waitFor(t, "every idle connection to give its buffers back", func() bool {
			ok, n := allShed(lean.ls)
			return ok && n == len(cs)
		})
	}
	waitShed()

	write := func(c net.Conn, parts ...string) {
		t.Helper()
		for i, p := range parts {
			if i > 0 {
				time.Sleep(20 * time.Millisecond) // the server reads what came so far
			}
			if _, err := io.WriteString(c, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	expect := func(br *bufio.Reader, want string) {
		t.Helper()
		if _, body := readResponse(t, br); body != want {
			t.Fatalf("body %q, want %q", body, want)
		}
	}

	// A head in pieces: two bytes, then the rest.
	r := get("/pieces")
	write(cs[0].c, r[:2], r[2:])
	expect(cs[0].br, "/pieces ")
	waitShed()

	// Two pipelined requests in one write.
	write(cs[1].c, get("/a")+get("/b"))
	expect(cs[1].br, "/a ")
	expect(cs[1].br, "/b ")
	waitShed()

	// A body, and a head larger than the first-read buffer.
	write(cs[2].c, post("/echo", "payload"))
	if _, body := readResponse(t, cs[2].br); !strings.Contains(body, "payload") {
		t.Fatalf("echo %q", body)
	}
	waitShed()

	// Each connection still serves, in turn.
	for _, cl := range cs {
		write(cl.c, get("/again"))
		expect(cl.br, "/again ")
	}
	waitShed()

	// A head larger than the first-read buffer (and the reader): handed
	// whole to net/http, which serves the connection from then on.
	big := strings.Repeat("x", idleBufSize+500)
	write(cs[2].c, get("/big", "X-Big: "+big+"\r\n"))
	expect(cs[2].br, "/big "+big)
	cs = cs[:2]
	waitShed()

	// A client that leaves while idle: its connection ends.
	_ = cs[0].c.Close()
	waitFor(t, "the closed connection to end", func() bool {
		_, n := allShed(lean.ls)
		return n == 1
	})
}

// TestLeanIdleTimeoutWithoutBuffers: the idle timeout still ends a
// connection waiting without buffers, silently.
func TestLeanIdleTimeoutWithoutBuffers(t *testing.T) {
	lean := newTestServerWith(t, diffHandler(), true, nil, func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond })
	c, br := dial(t, lean.addr)
	if _, err := io.WriteString(c, get("/small")); err != nil {
		t.Fatal(err)
	}
	if _, body := readResponse(t, br); body != "hello world" {
		t.Fatalf("body %q", body)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the idle timeout: %d bytes, %v; want EOF", n, err)
	}
}
