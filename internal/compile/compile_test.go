package compile

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

var update = flag.Bool("update", false, "rewrite golden files")

func testDeps(t testing.TB, out io.Writer) *Deps {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	lv := new(slog.LevelVar)
	return NewDeps(log, telemetry.NewMetrics("test", "test"), out, lv)
}

func mustCompile(t testing.TB, yaml string) *Snapshot {
	t.Helper()
	cfg, err := config.Load([]byte(yaml), func(string) (string, bool) { return "sk-test", true })
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	snap, err := Compile(cfg, testDeps(t, io.Discard))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return snap
}

// TestGoldenSnapshots compiles each testdata/snapshot/*.yaml and compares the
// compiled view (what /config_dump shows under "snapshot") with its golden file.
func TestGoldenSnapshots(t *testing.T) {
	files, _ := filepath.Glob("testdata/snapshot/*.yaml")
	if len(files) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			snap := mustCompile(t, string(in))
			got, err := json.MarshalIndent(snap.Dump(), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".yaml") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("snapshot differs from %s (run go test -update after checking):\n%s", golden, got)
			}
		})
	}
}

// TestRefusesUnbuilt checks that keys of agentgateway's language this
// gateway does not serve yet are refused with their path and line, never
// silently ignored.
func TestRefusesUnbuilt(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"remoteRateLimit on a route", `
binds:
- port: 3000
  listeners:
  - routes:
    - policies:
        remoteRateLimit:
          host: 127.0.0.1:8081
          domain: d
      backends: [{host: 127.0.0.1:1}]
`, []string{"line 8", "binds[0].listeners[0].routes[0].policies.remoteRateLimit", "not supported by this gateway yet"}},
		{"HTTPS listener", `
binds:
- port: 3000
  listeners:
  - protocol: HTTPS
    tls: {cert: c.pem, key: k.pem}
    routes: []
`, []string{"listeners[0].protocol", "HTTPS", "listeners[0].tls"}},
		{"top-level gateways", `
gateways:
  default: {port: 3000}
`, []string{`top-level key "gateways"`}},
		{"service backend", `
binds:
- port: 3000
  listeners:
  - routes:
    - backends:
      - service: {name: default/svc, port: 80}
`, []string{"backends[0]", "not supported by this gateway yet"}},
		{"backendAuth gcp", `
binds:
- port: 3000
  listeners:
  - routes:
    - policies:
        backendAuth: {gcp: {type: bogus}}
      backends: [{host: 127.0.0.1:1}]
`, []string{"backendAuth.gcp.type"}},
		{"directResponse bodyExpression", `
binds:
- port: 3000
  listeners:
  - routes:
    - policies:
        directResponse: {status: 200, bodyExpression: '"hi"'}
`, []string{"policies.directResponse"}},
		{"two catch-all listeners", `
binds:
- port: 3000
  listeners:
  - name: a
    routes: []
  - name: b
    routes: []
`, []string{"have no hostname"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Load([]byte(tc.yaml), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatalf("load (should pass; compile refuses): %v", err)
			}
			_, err = Compile(cfg, testDeps(t, io.Discard))
			var fe *config.Errors
			if !errors.As(err, &fe) {
				t.Fatalf("want *config.Errors, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestLLMBackendsServed(t *testing.T) {
	snap := mustCompile(t, `
binds:
- port: 3000
  listeners:
  - routes:
    - backends:
      - openAI: {model: gpt-4o, apiKey: "$KEY"}
`)
	if len(snap.Warnings) != 0 {
		t.Fatalf("warnings: %v", snap.Warnings)
	}
	rec := httptest.NewRecorder()
	snap.Binds[3000].ServeHTTP(rec, httptest.NewRequest("GET", "/v1/models", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"id":"gpt-4o"`) {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}

func TestSettingsEnvOverrides(t *testing.T) {
	cfg, err := config.Load([]byte("config:\n  adminAddr: 127.0.0.1:1\n  statsAddr: 127.0.0.1:2\n  logging: {level: \"debug,rmcp=info\", format: json}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STATS_ADDR", "off")
	t.Setenv("READINESS_ADDR", "")
	s := SettingsOf(cfg)
	if s.AdminAddr != "127.0.0.1:1" || s.StatsAddr != "off" || s.ReadinessAddr != DefaultReadinessAddr {
		t.Errorf("addresses: %+v", s)
	}
	if s.LogLevel != "debug" || s.SlogLevel != slog.LevelDebug || s.LogFormat != "json" {
		t.Errorf("logging: %+v", s)
	}
}

func TestTooManyHeadersAndNotFound(t *testing.T) {
	var logs bytes.Buffer
	cfg, _ := config.Load([]byte(`
binds:
- port: 3000
  listeners:
  - routes:
    - matches: [{path: {exact: /only}}]
      policies:
        directResponse: {status: 200, body: ok}
`), nil)
	snap, err := Compile(cfg, testDeps(t, &logs))
	if err != nil {
		t.Fatal(err)
	}
	h := snap.Binds[3000]
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/missing", nil))
	if rec.Code != 404 || rec.Body.String() != "route not found\n" {
		t.Errorf("404: %d %q", rec.Code, rec.Body.String())
	}
	req := httptest.NewRequest("GET", "/only", nil)
	for i := 0; i <= MaxHeaderCount; i++ {
		req.Header.Set("X-H"+strings.Repeat("a", i%20)+string(rune('a'+i%26))+string(rune('a'+i/26)), "v")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("too many headers: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/only", nil))
	if rec.Code != 200 || rec.Body.String() != "ok" {
		t.Errorf("direct: %d %q", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), "http.path=/only") || !strings.Contains(logs.String(), "route=route0") {
		t.Errorf("access log:\n%s", logs.String())
	}
}

func TestListenerHostnames(t *testing.T) {
	snap := mustCompile(t, `
binds:
- port: 3000
  listeners:
  - name: api
    hostname: api.example.com
    routes: [{policies: {directResponse: {status: 200, body: api}}}]
  - name: wild
    hostname: "*.example.com"
    routes: [{policies: {directResponse: {status: 200, body: wild}}}]
  - name: rest
    routes: [{policies: {directResponse: {status: 200, body: rest}}}]
`)
	for host, want := range map[string]string{
		"api.example.com": "api", "API.example.com:3000": "api", "x.example.com": "wild", "example.com": "rest", "other": "rest",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		snap.Binds[3000].ServeHTTP(rec, req)
		if rec.Body.String() != want {
			t.Errorf("host %s → %q, want %q", host, rec.Body.String(), want)
		}
	}
}
