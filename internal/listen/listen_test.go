package listen

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func text(s string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, s) })
}

func body(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestReconcileKeepsSocketsAndConnections(t *testing.T) {
	var conns atomic.Int32
	m := NewManager(slog.New(slog.NewTextHandler(io.Discard, nil)), "127.0.0.1", func(_ int, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	})
	defer m.Shutdown(context.Background())
	p1 := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", p1)
	if err := m.Reconcile(map[int]http.Handler{p1: text("one")}); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	if got := body(t, c, url); got != "one" {
		t.Fatalf("got %q", got)
	}
	// Same port, new handler: the kept-alive connection keeps working.
	if err := m.Reconcile(map[int]http.Handler{p1: text("two")}); err != nil {
		t.Fatal(err)
	}
	if got := body(t, c, url); got != "two" {
		t.Fatalf("got %q", got)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections: the reload dropped the client's connection", n)
	}

	// A port that cannot be opened: error names it, nothing changes.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bp := busy.Addr().(*net.TCPAddr).Port
	err = m.Reconcile(map[int]http.Handler{p1: text("three"), bp: text("x")})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(bp)) {
		t.Fatalf("want an error naming port %d, got %v", bp, err)
	}
	if got := body(t, c, url); got != "two" {
		t.Fatalf("failed reconcile changed the handler: %q", got)
	}

	// Removing the port closes it.
	p2 := freePort(t)
	if err := m.Reconcile(map[int]http.Handler{p2: text("new")}); err != nil {
		t.Fatal(err)
	}
	if got := body(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/", p2)); got != "new" {
		t.Fatalf("got %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p1), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("removed port still accepts connections")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := m.Ports(); len(got) != 1 || got[0] != p2 {
		t.Fatalf("ports %v", got)
	}
}
