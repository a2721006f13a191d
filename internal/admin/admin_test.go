package admin

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func do(t *testing.T, h http.Handler, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "127.0.0.1:40000"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func newTestAdmin(quit func()) (http.Handler, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	return NewAdmin(AdminOptions{
		ConfigDump: func() any { return map[string]any{"binds": []int{3000}, "secret": "<redacted>"} },
		Level:      lv,
		Quit:       quit,
	}), lv
}

func TestIndex(t *testing.T) {
	h, _ := newTestAdmin(nil)
	w := do(t, h, "GET", "/", nil, nil)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	for _, p := range []string{"/config_dump", "/logging", "/debug/pprof/", "/quitquitquit"} {
		if !strings.Contains(w.Body.String(), p) {
			t.Errorf("index lacks %s", p)
		}
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", w.Header())
	}
	if w := do(t, h, "GET", "/nope", nil, nil); w.Code != 404 {
		t.Errorf("/nope: %d", w.Code)
	}
	if w := do(t, h, "GET", "/ui/", nil, nil); w.Code != 404 {
		t.Errorf("/ui/ without UI: %d", w.Code)
	}
}

func TestConfigDump(t *testing.T) {
	h, _ := newTestAdmin(nil)
	w := do(t, h, "GET", "/config_dump", nil, nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["secret"] != "<redacted>" || len(m["binds"].([]any)) != 1 {
		t.Errorf("dump %v", m)
	}
	if w := do(t, h, "POST", "/config_dump", nil, nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /config_dump: %d", w.Code)
	}
	// Unencodable values give 500, not a half-written body.
	bad := NewAdmin(AdminOptions{ConfigDump: func() any { return func() {} }})
	if w := do(t, bad, "GET", "/config_dump", nil, nil); w.Code != 500 {
		t.Errorf("bad dump: %d", w.Code)
	}
	empty := NewAdmin(AdminOptions{})
	if w := do(t, empty, "GET", "/config_dump", nil, nil); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "{}" {
		t.Errorf("empty dump: %d %q", w.Code, w.Body.String())
	}
}

func TestLogging(t *testing.T) {
	h, lv := newTestAdmin(nil)
	if w := do(t, h, "GET", "/logging", nil, nil); w.Code != 200 || w.Body.String() != "current log level is info\n" {
		t.Fatalf("GET: %d %q", w.Code, w.Body.String())
	}
	if w := do(t, h, "POST", "/logging?level=debug", nil, nil); w.Code != 200 || w.Body.String() != "current log level is debug\n" {
		t.Fatalf("POST: %d %q", w.Code, w.Body.String())
	}
	if lv.Level() != slog.LevelDebug {
		t.Errorf("level %v", lv.Level())
	}
	// agentgateway's per-module form, and a form body.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if w := do(t, h, "POST", "/logging", strings.NewReader("level=warn,x=debug"), form); w.Code != 200 || lv.Level() != slog.LevelWarn {
		t.Errorf("form POST: %d level %v", w.Code, lv.Level())
	}
	if w := do(t, h, "POST", "/logging", nil, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "warn") {
		t.Errorf("POST without level: %d %q", w.Code, w.Body.String())
	}
	if w := do(t, h, "POST", "/logging?level=loud", nil, nil); w.Code != 400 || lv.Level() != slog.LevelWarn {
		t.Errorf("bad level: %d level %v", w.Code, lv.Level())
	}
	if w := do(t, h, "PUT", "/logging?level=debug", nil, nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", w.Code)
	}
	nolv := NewAdmin(AdminOptions{})
	if w := do(t, nolv, "POST", "/logging?level=debug", nil, nil); w.Code != http.StatusNotImplemented {
		t.Errorf("no LevelVar: %d", w.Code)
	}
}

func TestCrossOriginRejected(t *testing.T) {
	var quits atomic.Int32
	h, lv := newTestAdmin(func() { quits.Add(1) })
	cross := []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example", "Content-Type": "text/plain"},
		{"Origin": "http://localhost:3000", "Content-Type": "application/x-www-form-urlencoded"},
	}
	for _, hdr := range cross {
		if w := do(t, h, "POST", "/logging?level=trace", nil, hdr); w.Code != http.StatusForbidden {
			t.Errorf("cross-origin %v /logging: %d", hdr, w.Code)
		}
		if w := do(t, h, "POST", "/quitquitquit", nil, hdr); w.Code != http.StatusForbidden {
			t.Errorf("cross-origin %v /quitquitquit: %d", hdr, w.Code)
		}
	}
	if lv.Level() != slog.LevelInfo || quits.Load() != 0 {
		t.Fatalf("state changed: level %v quits %d", lv.Level(), quits.Load())
	}
	// Same-origin browser requests and non-browser clients pass.
	if w := do(t, h, "POST", "/logging?level=debug", nil, map[string]string{"Sec-Fetch-Site": "same-origin"}); w.Code != 200 {
		t.Errorf("same-origin: %d", w.Code)
	}
	if w := do(t, h, "POST", "/logging?level=debug", nil, map[string]string{"Origin": "http://example.com"}); w.Code != 200 {
		t.Errorf("origin matching host: %d", w.Code)
	}
	// Reads are not blocked.
	if w := do(t, h, "GET", "/config_dump", nil, map[string]string{"Sec-Fetch-Site": "cross-site"}); w.Code != 200 {
		t.Errorf("cross-site GET: %d", w.Code)
	}
	// A trusted origin (UI development) is allowed.
	trusted := NewAdmin(AdminOptions{Level: lv, TrustedOrigins: []string{"http://localhost:3000"}})
	if w := do(t, trusted, "POST", "/logging?level=error", nil, map[string]string{"Origin": "http://localhost:3000"}); w.Code != 200 {
		t.Errorf("trusted origin: %d", w.Code)
	}
}

func TestQuit(t *testing.T) {
	called := make(chan struct{}, 1)
	h, _ := newTestAdmin(func() { called <- struct{}{} })
	if w := do(t, h, "GET", "/quitquitquit", nil, nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", w.Code)
	}
	if w := do(t, h, "POST", "/quitquitquit", nil, nil); w.Code != 200 {
		t.Fatalf("POST: %d", w.Code)
	}
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("Quit not called")
	}
	noquit := NewAdmin(AdminOptions{})
	if w := do(t, noquit, "POST", "/quitquitquit", nil, nil); w.Code != http.StatusNotImplemented {
		t.Errorf("no Quit: %d", w.Code)
	}
}

func TestBodyCap(t *testing.T) {
	h, lv := newTestAdmin(nil)
	big := "level=debug&pad=" + strings.Repeat("x", MaxBodyBytes)
	w := do(t, h, "POST", "/logging", strings.NewReader(big), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if w.Code != 400 || lv.Level() != slog.LevelInfo {
		t.Errorf("oversized body: %d level %v", w.Code, lv.Level())
	}
}

func TestPeers(t *testing.T) {
	h, _ := newTestAdmin(nil)
	for addr, want := range map[string]int{
		"127.0.0.1:1":          200,
		"127.1.2.3:1":          200,
		"[::1]:1":              200,
		"[::ffff:127.0.0.1]:1": 200,
		"@":                    200,
		"10.0.0.1:1":           403,
		"[2001:db8::1]:1":      403,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("peer %s: %d, want %d", addr, w.Code, want)
		}
	}
	open := NewAdmin(AdminOptions{AllowedPeers: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.1.1:5"
	w := httptest.NewRecorder()
	open.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("allowlisted peer: %d", w.Code)
	}
}

func TestPprof(t *testing.T) {
	h, _ := newTestAdmin(nil)
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1", "/debug/pprof/symbol"} {
		if w := do(t, h, "GET", p, nil, nil); w.Code != 200 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	if w := do(t, h, "GET", "/debug/pprof/profile?seconds=1", nil, nil); w.Code != 200 || w.Body.Len() == 0 {
		t.Errorf("profile: %d", w.Code)
	}
}

func TestUI(t *testing.T) {
	h := NewAdmin(AdminOptions{UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ui "+r.URL.Path)
	})})
	if w := do(t, h, "GET", "/ui/app.js", nil, nil); w.Code != 200 || w.Body.String() != "ui /ui/app.js" {
		t.Errorf("ui: %d %q", w.Code, w.Body.String())
	}
	if w := do(t, h, "GET", "/ui", nil, nil); w.Code != http.StatusMovedPermanently {
		t.Errorf("/ui: %d", w.Code)
	}
	if w := do(t, h, "GET", "/", nil, nil); !strings.Contains(w.Body.String(), "/ui/") {
		t.Errorf("index lacks /ui/")
	}
}
