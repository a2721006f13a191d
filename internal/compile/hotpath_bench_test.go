package compile

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// BenchmarkGatewayHotPath measures one proxied GET (1 KiB response) through
// the full bind handler of a compiled snapshot — listener pick, route
// match, route chain, backend Service/Upstream (ReverseProxy), metrics and
// the access log (formatted, written to io.Discard) — against the same GET
// sent straight to the upstream. The config is the one test/load uses: one
// bind, one listener, one route, one backend host.
//
// Sub-benchmarks:
//
//	direct   client → upstream (httptest server), over loopback
//	gateway  client → httptest server running the bind handler → upstream
//	handler  bind handler called in-process with an httptest.ResponseRecorder
//	         (no inbound connection) → upstream
//
// allocs/op counts every allocation in the process: client, gateway and
// upstream server. gateway − direct is what the gateway adds per request;
// handler is that plus the upstream server's share, minus the inbound
// connection's.
//
//	go test -run '^$' -bench GatewayHotPath -benchmem ./internal/compile
func BenchmarkGatewayHotPath(b *testing.B) {
	payload := strings.Repeat("0123456789abcdef", 64)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{"1024"}
		_, _ = io.WriteString(w, payload)
	}))
	defer up.Close()

	yaml := "binds:\n- port: 3000\n  listeners:\n  - routes:\n    - backends:\n      - host: " +
		strings.TrimPrefix(up.URL, "http://") + "\n"
	cfg, err := config.Load([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatalf("load: %v", err)
	}
	lv := new(slog.LevelVar) // info: the access log is on, as by default
	deps := NewDeps(slog.New(slog.NewTextHandler(io.Discard, nil)), telemetry.NewMetrics("bench", "bench"), io.Discard, lv)
	snap, err := Compile(cfg, deps)
	if err != nil {
		b.Fatalf("compile: %v", err)
	}
	snap.Activate()
	h := snap.Binds[3000]
	if h == nil {
		b.Fatal("no handler for port 3000")
	}
	gw := httptest.NewServer(h)
	defer gw.Close()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	get := func(b *testing.B, url string) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n != 1024 {
				b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
			}
		}
	}
	b.Run("direct", func(b *testing.B) { get(b, up.URL+"/") })
	b.Run("gateway", func(b *testing.B) { get(b, gw.URL+"/") })
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "http://gw.test/", nil)
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() != 1024 {
				b.Fatalf("status %d, %d bytes", rec.Code, rec.Body.Len())
			}
		}
	})
}
