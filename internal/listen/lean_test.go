package listen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func FuzzLeanServer(f *testing.F) {
	for _, tc := range diffCases {
		f.Add([]byte(tc.raw))
	}
	for _, tc := range reviewCases {
		f.Add([]byte(tc.raw))
	}
	h := diffHandler()
	plain := newTestServer(f, h, false, nil)
	lean := newTestServer(f, h, true, nil)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if bytes.Index(raw, []byte("PRI ")) > 0 {
			// A PRI request after the first closes the connection on the
			// lean path (TestLeanReviewNoH2CAfterHTTP1), net/http answers it.
			t.Skip()
		}
		compareServers(t, plain, lean, raw)
	})
}

// waitFor polls cond with a generous limit (no timing assertion: the limit
// only turns a hang into a failure).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c, bufio.NewReader(c)
}

func readResponse(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestLeanWatcherCancelsOnDisconnect(t *testing.T) {
	started := make(chan struct{})
	canceled := make(chan struct{})
	lean := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
		close(canceled)
	}), true, nil)
	c, _ := dial(t, lean.addr)
	if _, err := io.WriteString(c, get("/wait")); err != nil {
		t.Fatal(err)
	}
	<-started
	_ = c.Close()
	select {
	case <-canceled:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler's context was not canceled when the client went away")
	}
}

func TestLeanFastHandlerStartsNoWatcher(t *testing.T) {
	lean := newTestServer(t, diffHandler(), true, nil)
	lean.ls.watchDelay.Store(int64(time.Hour)) // "fast" = done before the delay
	c, br := dial(t, lean.addr)
	for range 50 {
		if _, err := io.WriteString(c, get("/small")); err != nil {
			t.Fatal(err)
		}
		if _, body := readResponse(t, br); body != "hello world" {
			t.Fatalf("body %q", body)
		}
	}
	if n := lean.ls.watchers.Load(); n != 0 {
		t.Fatalf("%d watchers started for fast requests", n)
	}
}

func TestLeanWatcherKeepsPipelinedByte(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			if b, err := io.ReadAll(r.Body); err != nil || string(b) != "body" {
				panic("bad body")
			}
			<-release
			if r.Context().Err() != nil {
				panic("canceled although the client is still there")
			}
		}
		_, _ = io.WriteString(w, r.URL.Path)
	})
	lean := newTestServer(t, h, true, nil)
	lean.ls.watchDelay.Store(0)
	c, br := dial(t, lean.addr)
	if _, err := io.WriteString(c, post("/wait", "body")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher to start", func() bool { return lean.ls.watchers.Load() >= 1 })
	if _, err := io.WriteString(c, get("/next")); err != nil {
		t.Fatal(err)
	}
	waitForReadAhead(t, lean.ls)
	close(release)
	for _, want := range []string{"/wait", "/next"} {
		if _, body := readResponse(t, br); body != want {
			t.Fatalf("body %q, want %q", body, want)
		}
	}
}

// shutdownBoth shuts a test server down like Manager does.
func shutdownBoth(ts *testServer, ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- ts.ls.shutdown(ctx) }()
	err := ts.srv.Shutdown(ctx)
	return errors.Join(err, <-errc)
}

func TestLeanShutdown(t *testing.T) {
	t.Run("idle connections are closed", func(t *testing.T) {
		lean := newTestServer(t, diffHandler(), true, nil)
		c, br := dial(t, lean.addr)
		_, _ = io.WriteString(c, get("/small"))
		readResponse(t, br)
		if err := shutdownBoth(lean, context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("idle connection not closed: %v", err)
		}
	})
	t.Run("in-flight request completes with Connection: close", func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		lean := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			_, _ = io.WriteString(w, "done")
		}), true, nil)
		c, br := dial(t, lean.addr)
		_, _ = io.WriteString(c, get("/"))
		<-started
		errc := make(chan error, 1)
		go func() { errc <- shutdownBoth(lean, context.Background()) }()
		waitFor(t, "shutdown to begin", lean.ls.closing.Load)
		close(release)
		resp, body := readResponse(t, br)
		if body != "done" || !resp.Close {
			t.Fatalf("body %q, close %v", body, resp.Close)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ctx expiry force-closes", func(t *testing.T) {
		started, release := make(chan struct{}), make(chan struct{})
		defer close(release)
		lean := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
		}), true, nil)
		c, br := dial(t, lean.addr)
		_, _ = io.WriteString(c, get("/"))
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := shutdownBoth(lean, ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		if _, err := br.ReadByte(); err == nil {
			t.Fatal("connection still open")
		}
	})
}

func TestLeanConnStateBalanced(t *testing.T) {
	hook, newConns, closed := connCounter()
	lean := newTestServer(t, diffHandler(), true, hook)
	cases := []string{
		get("/small"), // lean
		"HEAD /small HTTP/1.1\r\nHost: a\r\n\r\n",                  // handed off
		get("/small") + "HEAD /small HTTP/1.1\r\nHost: a\r\n\r\n",  // mixed
		get("/hijack", "Upgrade: test\r\nConnection: Upgrade\r\n"), // hijacked by net/http
		get("/panic"),
		"garbage\r\n\r\n",
	}
	for _, raw := range cases {
		if _, err := exchange(t, lean.addr, []byte(raw)); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatal(err)
		}
	}
	waitFor(t, "every connection to be counted closed", func() bool {
		return newConns.Load() == int64(len(cases)) && closed.Load() == int64(len(cases))
	})
}

// TestLeanServerContext: lean requests carry the *http.Server and the
// local address (internal/mcp uses both), and Manager.Shutdown runs the
// server's RegisterOnShutdown hooks.
func TestLeanServerContext(t *testing.T) {
	m := NewManager(slog.New(slog.NewTextHandler(io.Discard, nil)), "127.0.0.1", nil)
	if !m.lean {
		t.Skip(leanEnv + "=off")
	}
	var hooked atomic.Bool
	var once sync.Once
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
		_, okAddr := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !ok || !okAddr {
			http.Error(w, "missing context values", 500)
			return
		}
		once.Do(func() { srv.RegisterOnShutdown(func() { hooked.Store(true) }) })
		_, _ = io.WriteString(w, "ok")
	})
	port := freePort(t)
	if err := m.Reconcile(map[int]http.Handler{port: h}); err != nil {
		t.Fatal(err)
	}
	url := "http://127.0.0.1:" + itoa(port) + "/"
	if got := body(t, http.DefaultClient, url); got != "ok" {
		t.Fatalf("got %q", got)
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !hooked.Load() {
		t.Fatal("RegisterOnShutdown hook did not run")
	}
}

func BenchmarkServeHTTP1(b *testing.B) {
	payload := strings.Repeat("x", 1024)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1024")
		_, _ = io.WriteString(w, payload)
	})
	for _, mode := range []struct {
		name string
		lean bool
	}{{"lean", true}, {"net/http", false}} {
		b.Run(mode.name, func(b *testing.B) {
			ts := newTestServer(b, h, mode.lean, nil)
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			req := []byte(get("/"))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
			}
		})
	}
}

// TestLeanEscapeHatch: AGW_LEAN_HTTP1=off serves ports with net/http alone.
func TestLeanEscapeHatch(t *testing.T) {
	t.Setenv(leanEnv, "off")
	m := NewManager(slog.New(slog.NewTextHandler(io.Discard, nil)), "127.0.0.1", nil)
	defer m.Shutdown(context.Background())
	port := freePort(t)
	if err := m.Reconcile(map[int]http.Handler{port: text("plain")}); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	s := m.servers[port]
	m.mu.Unlock()
	if s.lean != nil {
		t.Fatal("lean loop in use although " + leanEnv + "=off")
	}
	if got := body(t, http.DefaultClient, "http://127.0.0.1:"+itoa(port)+"/"); got != "plain" {
		t.Fatalf("got %q", got)
	}
}
