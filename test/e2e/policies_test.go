package e2e

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPolicies(t *testing.T) {
	a := echoBackend(t, "a")
	mirror := make(chan seen, 4)
	mirrorSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mirror <- seen{Path: r.URL.Path, Body: string(body), Method: r.Method}
	}))
	defer mirrorSrv.Close()

	var flaky atomic.Int32
	flakySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1)%2 == 1 {
			w.WriteHeader(503)
			return
		}
		_, _ = io.WriteString(w, "second attempt")
	}))
	defer flakySrv.Close()

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()

	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "tls ok auth=%s", r.Header.Get("Authorization"))
	}))
	defer tlsSrv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	cfg := fmt.Sprintf(`
binds:
- port: %[1]d
  listeners:
  - routes:
    - name: headers
      matches: [{path: {pathPrefix: /headers}}]
      policies:
        requestHeaderModifier:
          add: {x-added: one}
          set: {x-set: two}
          remove: [x-remove-me]
        responseHeaderModifier:
          set: {x-resp: three}
          remove: [x-backend]
      backends: [{host: %[2]s}]
    - name: rewrite
      matches: [{path: {pathPrefix: /old}}]
      policies:
        urlRewrite:
          authority: {full: rewritten.internal}
          path: {prefix: /new}
      backends: [{host: %[2]s}]
    - name: rewrite-full
      matches: [{path: {exact: /full}}]
      policies:
        urlRewrite:
          path: {full: /replaced}
      backends: [{host: %[2]s}]
    - name: redirect
      matches: [{path: {pathPrefix: /moved}}]
      policies:
        requestRedirect:
          authority: {full: new.example.com}
          path: {prefix: /here}
          status: 301
    - name: direct
      matches: [{path: {exact: /health}}]
      policies:
        directResponse: {status: 418, body: "short and stout"}
    - name: cors
      matches: [{path: {pathPrefix: /cors}}]
      policies:
        cors:
          allowOrigins: ["https://app.example.com"]
          allowMethods: [GET, POST]
          allowHeaders: [content-type, x-token]
          exposeHeaders: [x-backend]
          allowCredentials: true
          maxAge: 10m
      backends: [{host: %[2]s}]
    - name: retry
      matches: [{path: {pathPrefix: /retry}}]
      policies:
        retry: {attempts: 2, codes: [503], backoff: 10ms}
      backends: [{host: %[3]s}]
    - name: timeout
      matches: [{path: {pathPrefix: /slow}}]
      policies:
        timeout: {requestTimeout: 200ms}
      backends: [{host: %[4]s}]
    - name: tls
      matches: [{path: {pathPrefix: /tls}}]
      policies:
        backendTLS: {root: %[5]q}
        backendAuth: {key: sk-secret}
      backends: [{host: %[6]q}]
    - name: mirror
      matches: [{path: {pathPrefix: /mirror}}]
      policies:
        requestMirror:
          backend: {host: %[7]s}
          percentage: 1.0
      backends: [{host: %[2]s}]
`, port, hostOf(a), hostOf(flakySrv), hostOf(slow), caFile, tlsSrv.Listener.Addr().String(), hostOf(mirrorSrv))
	StartGateway(t, cfg)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	t.Run("header modifiers", func(t *testing.T) {
		resp, body := get(t, base+"/headers", "x-set", "old", "x-remove-me", "bye", "x-added", "zero")
		s := decodeSeen(t, body)
		if got := s.Header.Values("X-Added"); strings.Join(got, ",") != "zero,one" {
			t.Errorf("add: got %v", got)
		}
		if s.Header.Get("X-Set") != "two" || s.Header.Get("X-Remove-Me") != "" {
			t.Errorf("set/remove: %v", s.Header)
		}
		if resp.Header.Get("X-Resp") != "three" || resp.Header.Get("X-Backend") != "" {
			t.Errorf("response modifier: %v", resp.Header)
		}
	})
	t.Run("url rewrite prefix and authority", func(t *testing.T) {
		_, body := get(t, base+"/old/thing?q=1")
		s := decodeSeen(t, body)
		if s.Path != "/new/thing" || s.Query != "q=1" || s.Host != "rewritten.internal" {
			t.Errorf("got path %q query %q host %q", s.Path, s.Query, s.Host)
		}
	})
	t.Run("url rewrite full", func(t *testing.T) {
		_, body := get(t, base+"/full")
		if s := decodeSeen(t, body); s.Path != "/replaced" {
			t.Errorf("got %q", s.Path)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(base + "/moved/page?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 301 || resp.Header.Get("Location") != "http://new.example.com/here/page?x=1" {
			t.Errorf("got %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("direct response", func(t *testing.T) {
		resp, body := get(t, base+"/health")
		if resp.StatusCode != 418 || body != "short and stout" {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("cors preflight answered by the gateway", func(t *testing.T) {
		req, _ := http.NewRequest("OPTIONS", base+"/cors/x", nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "x-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			h.Get("Access-Control-Allow-Credentials") != "true" || h.Get("Access-Control-Max-Age") != "600" ||
			h.Get("X-Backend") != "" {
			t.Errorf("preflight: %d %v", resp.StatusCode, h)
		}
		if !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "x-token") ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("preflight allow lists: %v", h)
		}
	})
	t.Run("cors simple request", func(t *testing.T) {
		resp, _ := get(t, base+"/cors/x", "Origin", "https://app.example.com")
		if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
			!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")), "x-backend") {
			t.Errorf("simple request: %v", resp.Header)
		}
		resp, _ = get(t, base+"/cors/x", "Origin", "https://evil.example.com")
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("disallowed origin got CORS headers: %v", resp.Header)
		}
	})
	t.Run("retry on 503", func(t *testing.T) {
		resp, body := get(t, base+"/retry")
		if resp.StatusCode != 200 || body != "second attempt" {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("request timeout is 504", func(t *testing.T) {
		resp, body := get(t, base+"/slow")
		if resp.StatusCode != 504 {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("backend TLS with a private root and backend auth", func(t *testing.T) {
		resp, body := get(t, base+"/tls", "Authorization", "Bearer client-token")
		if resp.StatusCode != 200 || body != "tls ok auth=Bearer sk-secret" {
			t.Errorf("got %d %q", resp.StatusCode, body)
		}
	})
	t.Run("mirror", func(t *testing.T) {
		req, _ := http.NewRequest("POST", base+"/mirror/copy", strings.NewReader("payload"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if decodeSeen(t, string(b)).Body != "payload" {
			t.Fatalf("main request body lost")
		}
		select {
		case m := <-mirror:
			if m.Path != "/mirror/copy" || m.Body != "payload" {
				t.Errorf("mirror saw %+v", m)
			}
		case <-time.After(5 * time.Second):
			t.Error("mirror never received the copy")
		}
	})
}
