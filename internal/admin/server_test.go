package admin

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestResolveAddr(t *testing.T) {
	cfg := "127.0.0.1:1"
	empty := ""
	t.Setenv("TEST_ADDR", "")
	if got := ResolveAddr(nil, "TEST_ADDR", "d"); got != "d" {
		t.Errorf("default: %q", got)
	}
	if got := ResolveAddr(&empty, "TEST_ADDR", "d"); got != "d" {
		t.Errorf("empty config: %q", got)
	}
	if got := ResolveAddr(&cfg, "TEST_ADDR", "d"); got != cfg {
		t.Errorf("config: %q", got)
	}
	t.Setenv("TEST_ADDR", "off")
	if got := ResolveAddr(&cfg, "TEST_ADDR", "d"); got != "off" {
		t.Errorf("env: %q", got)
	}
}

func TestReadiness(t *testing.T) {
	ready := false
	h := NewReadiness(func() bool { return ready })
	get := func() (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/healthz/ready", nil))
		return w.Code, w.Body.String()
	}
	if c, b := get(); c != 503 || strings.TrimSpace(b) != "not ready" {
		t.Errorf("not ready: %d %q", c, b)
	}
	ready = true
	if c, b := get(); c != 200 || strings.TrimSpace(b) != "ready" {
		t.Errorf("ready: %d %q", c, b)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/other", nil))
	if w.Code != 404 {
		t.Errorf("/other: %d", w.Code)
	}
}

func TestStats(t *testing.T) {
	h := NewStats(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "agentgateway_build_info 1\n")
	}))
	for _, p := range []string{"/metrics", "/stats/prometheus"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), "build_info") {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/metrics", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d", w.Code)
	}
}

func TestServerServesAndShutsDown(t *testing.T) {
	s, err := Listen("readiness", "127.0.0.1:0", NewReadiness(func() bool { return true }), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.srv.ReadHeaderTimeout != 10*time.Second || s.srv.IdleTimeout != 120*time.Second {
		t.Errorf("timeouts %v %v", s.srv.ReadHeaderTimeout, s.srv.IdleTimeout)
	}
	resp, err := http.Get("http://" + s.Addr() + "/healthz/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	// A second server on the same port fails at Start.
	if dup, err := Listen("dup", s.Addr(), http.NotFoundHandler(), nil); err == nil {
		t.Error("duplicate bind succeeded")
		_ = dup.Shutdown(context.Background())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Error("still listening after Shutdown")
	}
}

func TestNewServer(t *testing.T) {
	hs := NewServer(http.NotFoundHandler())
	if hs.ReadHeaderTimeout != 10*time.Second || hs.IdleTimeout != 120*time.Second || hs.MaxHeaderBytes != 64<<10 || hs.Handler == nil {
		t.Errorf("server %+v", hs)
	}
}

func TestServerOff(t *testing.T) {
	s, err := Listen("stats", "off", http.NotFoundHandler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Enabled() || s.Addr() != "off" {
		t.Error("off is enabled")
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestServerUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.sock")
	s, err := Listen("admin", "unix:"+path, NewAdmin(AdminOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}}}
	resp, err := c.Get("http://admin/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("unix peer: %d", resp.StatusCode)
	}
}
