package listen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer serves h on a loopback port like the Manager does, through
// the lean loop (lean) or a plain http.Server.
type testServer struct {
	addr string
	srv  *http.Server
	ls   *leanServer
	done chan struct{}
}

func newTestServer(t testing.TB, h http.Handler, lean bool, hook func(http.ConnState)) *testServer {
	t.Helper()
	return newTestServerWith(t, h, lean, hook, nil)
}

// newTestServerWith is newTestServer with the http.Server adjusted by mod
// (if set) before it serves.
func newTestServerWith(t testing.TB, h http.Handler, lean bool, hook func(http.ConnState), mod func(*http.Server)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		Protocols:         &protos,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	if mod != nil {
		mod(srv)
	}
	ts := &testServer{addr: ln.Addr().String(), srv: srv, done: make(chan struct{})}
	if hook != nil {
		srv.ConnState = func(c net.Conn, st http.ConnState) {
			if _, ok := c.(*replayConn); ok && st == http.StateNew {
				return
			}
			hook(st)
		}
	}
	if lean {
		ts.ls = newLeanServer(srv, ln.Addr(), hook)
		go func() { defer close(ts.done); _ = ts.ls.serve(ln) }()
	} else {
		go func() { defer close(ts.done); _ = srv.Serve(ln) }()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if ts.ls != nil {
			go func() { _ = ts.ls.shutdown(ctx) }()
		}
		_ = srv.Shutdown(ctx)
		_ = srv.Close()
		if ts.ls != nil {
			ts.ls.closeAll()
		}
		<-ts.done
	})
	return ts
}

// exchange sends raw on a fresh connection, half-closes it and returns
// everything the server sent until it closed.
func exchange(t testing.TB, addr string, raw []byte) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(8 * time.Second))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = c.Write(raw)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	wg.Wait()
	return out, err
}

var dateRE = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r$`)

func normalise(b []byte) string { return dateRE.ReplaceAllString(string(b), "Date: X\r") }

// compareServers sends raw to both servers and fails on any difference.
func compareServers(t testing.TB, plain, lean *testServer, raw []byte) string {
	t.Helper()
	want, errP := exchange(t, plain.addr, raw)
	got, errL := exchange(t, lean.addr, raw)
	w, g := normalise(want), normalise(got)
	if errors.Is(errP, os.ErrDeadlineExceeded) || errors.Is(errL, os.ErrDeadlineExceeded) {
		t.Fatalf("request %q: a server did not finish: net/http %v, lean %v\nnet/http:\n%q\nlean:\n%q", raw, errP, errL, w, g)
	}
	if errP != nil || errL != nil {
		// A reset can cut either response short: compare the common part.
		if !strings.HasPrefix(w, g) && !strings.HasPrefix(g, w) {
			t.Fatalf("request %q\nnet/http (err %v):\n%q\nlean (err %v):\n%q", raw, errP, w, errL, g)
		}
		return w
	}
	if w != g {
		t.Fatalf("request %q\nnet/http:\n%q\nlean:\n%q", raw, w, g)
	}
	return w
}

// diffHandler serves the behaviours the differential tests compare.
func diffHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			_, _ = io.WriteString(w, "hello world")
		case "/cl":
			w.Header().Set("Content-Length", "5")
			_, _ = w.Write([]byte("hello"))
		case "/clct": // header written at WriteHeader (lean early commit); later edits must not show
			w.Header().Set("Content-Length", "5")
			w.Header().Set("Content-Type", "text/x-test")
			w.WriteHeader(201)
			w.Header().Set("X-Late", "no")
			w.Header().Set(http.TrailerPrefix+"T", "no")
			_, _ = w.Write([]byte("hello"))
		case "/clct-trailerprefix":
			w.Header().Set("Content-Length", "2")
			w.Header().Set("Content-Type", "text/x-test")
			w.Header().Set(http.TrailerPrefix+"T", "dropped")
			w.Header().Set("Trailer", "X-Declared")
			w.WriteHeader(200)
			_, _ = w.Write([]byte("ok"))
		case "/clct-close":
			w.Header().Set("Content-Length", "2")
			w.Header().Set("Content-Type", "text/x-test")
			w.Header().Set("Connection", "close")
			w.WriteHeader(200)
			_, _ = w.Write([]byte("ok"))
		case "/clct-readbody": // a request body read after WriteHeader: no early commit (it would drain it)
			w.Header().Set("Content-Length", "3")
			w.Header().Set("Content-Type", "text/x-test")
			w.WriteHeader(200)
			b, _ := io.ReadAll(r.Body)
			_, _ = fmt.Fprintf(w, "%03d", len(b)%1000)
		case "/clct-readfirst": // body read to EOF, then a known-length answer (an LLM call): early commit, nothing to drain
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Length", "3")
			w.Header().Set("Content-Type", "text/x-test")
			w.WriteHeader(200)
			more, err := r.Body.Read(make([]byte, 1)) // after the commit: EOF or read-after-close, as net/http
			_, _ = fmt.Fprintf(w, "%d%d%d", len(b)%10, more, map[bool]int{true: 1}[err == io.EOF])
		case "/clct-duplex":
			_ = http.NewResponseController(w).EnableFullDuplex()
			w.Header().Set("Content-Length", strconv.FormatInt(r.ContentLength, 10))
			w.Header().Set("Content-Type", "text/x-test")
			w.WriteHeader(200)
			_, _ = io.Copy(w, r.Body)
		case "/big":
			_, _ = w.Write(bytes.Repeat([]byte("x"), 5000))
		case "/bigmulti":
			for i := range 10 {
				_, _ = w.Write(bytes.Repeat([]byte{byte('a' + i)}, 700))
			}
		case "/flush":
			_, _ = io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "second")
		case "/trailer":
			w.Header().Set("Trailer", "X-T, X-U, Content-Length")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "body")
			w.Header().Set("X-T", "1")
			w.Header().Set("X-U", "2\r\nX-Evil: 1")
		case "/trailerprefix":
			_, _ = io.WriteString(w, "body")
			_ = http.NewResponseController(w).Flush()
			w.Header().Set(http.TrailerPrefix+"X-P", "v")
		case "/204":
			w.Header().Set("Content-Length", "10")
			w.Header().Set("Transfer-Encoding", "chunked")
			w.WriteHeader(204)
			_, err := w.Write([]byte("x"))
			if !errors.Is(err, http.ErrBodyNotAllowed) {
				panic(err)
			}
		case "/304":
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "10")
			w.Header().Set("Etag", `"x"`)
			w.WriteHeader(304)
		case "/103":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.Header().Set("Content-Length", "2")
			w.WriteHeader(103)
			w.Header().Set("X-After", "y")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "ok")
		case "/unknown":
			w.WriteHeader(799)
		case "/twice":
			w.WriteHeader(201)
			w.WriteHeader(202)
		case "/empty":
		case "/crlf":
			w.Header().Set("X-Bad", "a\r\nInjected: yes")
			w.Header()["X-Bad2"] = []string{" b\n c "}
			_, _ = io.WriteString(w, "x")
		case "/badname":
			w.Header()["Bad Name"] = []string{"v"}
			w.Header()["Bad:Name"] = []string{"v"}
			_, _ = io.WriteString(w, "x")
		case "/sniff":
			_, _ = io.WriteString(w, "<html><body>hi</body></html>")
		case "/ctempty":
			w.Header()["Content-Type"] = nil
			_, _ = io.WriteString(w, "<html>")
		case "/pastcl":
			w.Header().Set("Content-Length", "3")
			if _, err := io.WriteString(w, "hello"); !errors.Is(err, http.ErrContentLength) {
				panic(err)
			}
			_, _ = io.WriteString(w, "abc")
		case "/short":
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "abc")
		case "/badcl":
			w.Header().Set("Content-Length", "x")
			_, _ = io.WriteString(w, "abc")
		case "/te-identity":
			w.Header().Set("Transfer-Encoding", "identity")
			_, _ = io.WriteString(w, "abc")
		case "/te-chunked":
			w.Header().Set("Transfer-Encoding", "chunked")
			w.Header().Set("Content-Length", "3")
			_, _ = io.WriteString(w, "abc")
		case "/echo":
			_, _ = io.Copy(w, r.Body)
		case "/readfrom":
			_, _ = io.Copy(w, io.MultiReader(strings.NewReader(strings.Repeat("r", 600)), strings.NewReader("end")))
		case "/unread":
			_, _ = io.WriteString(w, "ok")
		case "/closebody":
			_ = r.Body.Close()
			_, _ = io.WriteString(w, "closed")
		case "/panic":
			_, _ = io.WriteString(w, "partial")
			panic("boom")
		case "/panicflushed":
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		case "/hijack":
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhijacked")
			_ = c.Close()
		default:
			echoRequest(w, r)
		}
	})
}

// echoRequest writes what the server parsed (the fuzz handler).
func echoRequest(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q %s host=%q cl=%d close=%v remote=%v\n", r.Method, r.URL.String(), r.Proto, r.Host, r.ContentLength, r.Close, r.RemoteAddr != "")
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%q: %q\n", k, r.Header[k])
	}
	body, err := io.ReadAll(r.Body)
	fmt.Fprintf(&b, "body=%q err=%v\n", body, err)
	_, _ = io.WriteString(w, b.String())
}

// waitForReadAhead waits until a disconnect watcher of ls holds a byte it
// read ahead (the start of the next pipelined request).
func waitForReadAhead(t *testing.T, ls *leanServer) {
	t.Helper()
	waitFor(t, "the watcher to read ahead", func() bool {
		ls.mu.Lock()
		defer ls.mu.Unlock()
		for lc := range ls.conns {
			lc.wmu.Lock()
			has := lc.cr.hasByte
			lc.wmu.Unlock()
			if has {
				return true
			}
		}
		return false
	})
}

// connCounter returns a ConnState hook counting connections opened (New)
// and ended (Closed or Hijacked).
func connCounter() (hook func(http.ConnState), opened, ended *atomic.Int64) {
	opened, ended = new(atomic.Int64), new(atomic.Int64)
	return func(st http.ConnState) {
		switch st {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			ended.Add(1)
		}
	}, opened, ended
}
