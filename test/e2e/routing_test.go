package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// echoBackend answers with a JSON description of the request it received,
// tagged with name, so a test can see which backend served it and what the
// gateway sent upstream.
func echoBackend(t testing.TB, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", name)
		_ = json.NewEncoder(w).Encode(seen{
			Backend: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Host: r.Host, Header: r.Header, Body: string(body), Proto: r.Proto,
		})
	}))
	t.Cleanup(s.Close)
	return s
}

type seen struct {
	Backend string
	Method  string
	Path    string
	Query   string
	Host    string
	Header  http.Header
	Body    string
	Proto   string
}

func decodeSeen(t testing.TB, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("backend reply is not JSON: %q", body)
	}
	return s
}

func hostOf(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

func TestRouting(t *testing.T) {
	a, b, c, d, e, f := echoBackend(t, "a"), echoBackend(t, "b"), echoBackend(t, "c"), echoBackend(t, "d"), echoBackend(t, "e"), echoBackend(t, "f")
	port := freePort(t)
	cfg := fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: exact
      matches:
      - path: {exact: /exact}
      backends: [{host: %s}]
    - name: api
      matches:
      - path: {pathPrefix: /api}
      backends: [{host: %s}]
    - name: regex
      matches:
      - path: {regex: "^/items/[0-9]+$"}
      backends: [{host: %s}]
    - name: header-and-method
      matches:
      - path: {pathPrefix: /api}
        method: POST
        headers:
        - name: x-tenant
          value: {exact: blue}
      backends: [{host: %s}]
    - name: query
      matches:
      - path: {pathPrefix: /search}
        query:
        - name: engine
          value: {regex: "^(ddg|bing)$"}
      backends: [{host: %s}]
    - name: vhost
      hostnames: ["*.example.com"]
      backends: [{host: %s}]
`, port, hostOf(a), hostOf(b), hostOf(c), hostOf(d), hostOf(e), hostOf(f))
	g := StartGateway(t, cfg)
	_ = g
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	cases := []struct {
		name, method, path string
		hdr                []string
		wantStatus         int
		wantBackend        string
	}{
		{"exact path", "GET", "/exact", nil, 200, "a"},
		{"exact does not match a longer path", "GET", "/exact/x", nil, 404, ""},
		{"prefix", "GET", "/api/v1/things", nil, 200, "b"},
		{"prefix is element-wise", "GET", "/apiary", nil, 404, ""},
		{"regex", "GET", "/items/42", nil, 200, "c"},
		{"regex anchored", "GET", "/items/42x", nil, 404, ""},
		{"method and header win over a bare prefix", "POST", "/api/x", []string{"X-Tenant", "blue"}, 200, "d"},
		{"header value mismatch falls back", "POST", "/api/x", []string{"X-Tenant", "red"}, 200, "b"},
		{"method mismatch falls back", "GET", "/api/x", []string{"X-Tenant", "blue"}, 200, "b"},
		{"query regex", "GET", "/search?engine=ddg&q=go", nil, 200, "e"},
		{"query mismatch", "GET", "/search?engine=google", nil, 404, ""},
		{"wildcard hostname", "GET", "/anything", []string{"Host", "shop.example.com"}, 200, "f"},
		{"hostname routes are preferred", "GET", "/api/x", []string{"Host", "shop.example.com"}, 200, "f"},
		{"no route", "GET", "/nothing-here", nil, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, nil)
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				if tc.hdr[i] == "Host" {
					req.Host = tc.hdr[i+1]
				} else {
					req.Header.Set(tc.hdr[i], tc.hdr[i+1])
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.wantStatus, body)
			}
			if got := resp.Header.Get("X-Backend"); got != tc.wantBackend {
				t.Fatalf("served by %q, want %q", got, tc.wantBackend)
			}
			if tc.wantStatus == 404 && strings.Contains(string(body), "goroutine") {
				t.Fatalf("error body leaks internals: %q", body)
			}
		})
	}
}

func TestProxyHeadersAndBody(t *testing.T) {
	a := echoBackend(t, "a")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - backends: [{host: %s}]
`, port, hostOf(a)))
	_ = g
	req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/echo?x=1", port), strings.NewReader(`{"hello":"world"}`))
	req.Header.Set("X-Forwarded-For", "6.6.6.6")
	req.Header.Set("X-Custom", "kept")
	req.Header.Set("Connection", "X-Custom-Hop")
	req.Header.Set("X-Custom-Hop", "dropped")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Host = "client.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s := decodeSeen(t, string(b))
	if s.Body != `{"hello":"world"}` || s.Query != "x=1" || s.Path != "/echo" || s.Method != "POST" {
		t.Fatalf("request not forwarded intact: %+v", s)
	}
	if got := s.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
		t.Fatalf("X-Forwarded-For = %q, want the real peer only (client value must not be trusted)", got)
	}
	if got := s.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Fatalf("X-Forwarded-Proto = %q", got)
	}
	if s.Header.Get("X-Custom") != "kept" {
		t.Fatalf("end-to-end header lost")
	}
	if s.Header.Get("X-Custom-Hop") != "" || s.Header.Get("Keep-Alive") != "" {
		t.Fatalf("hop-by-hop headers forwarded: %v", s.Header)
	}
	if s.Host != "client.example" {
		t.Fatalf("Host = %q, want the client's Host passed through", s.Host)
	}
}
