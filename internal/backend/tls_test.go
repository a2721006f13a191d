package backend

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tlsUpstream starts a TLS upstream with cert that echoes what it saw.
func tlsUpstream(t *testing.T, cert tls.Certificate, mutate func(*tls.Config)) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cn := ""
		if len(r.TLS.PeerCertificates) > 0 {
			cn = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "%s sni=%s client=%s host=%s", r.Proto, r.TLS.ServerName, cn, r.Host)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if mutate != nil {
		mutate(srv.TLS)
	}
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// via proxies one GET through an upstream built from spec and returns the
// status and body.
func via(t *testing.T, spec UpstreamSpec) (int, string) {
	t.Helper()
	f := newFront(t, newUp(t, spec))
	resp, body := get(t, nil, f.URL)
	return resp.StatusCode, body
}

func TestTLSRoots(t *testing.T) {
	p := newPKI(t)
	cert, _, _ := p.leaf(t, "server", nil, loopbackIP, false)
	up := tlsUpstream(t, cert, nil)

	code, body := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE}})
	if code != 200 || body[:8] != "HTTP/2.0" {
		t.Fatalf("root CA: %d %q", code, body)
	}
	// System roots do not know the test CA.
	if code, body := via(t, UpstreamSpec{Address: addr(up), Scheme: "https"}); code != 502 {
		t.Fatalf("system roots: %d %q", code, body)
	}
	// Insecure skips verification.
	if code, _ := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{Insecure: true}}); code != 200 {
		t.Fatalf("insecure: %d", code)
	}
	// Forced HTTP/1.1 over TLS.
	if code, body := via(t, UpstreamSpec{Address: addr(up), HTTP1: true, TLS: &TLSSpec{RootFile: p.rootPE}}); code != 200 || body[:8] != "HTTP/1.1" {
		t.Fatalf("http1: %d %q", code, body)
	}
	// Forced HTTP/2 over TLS.
	if code, body := via(t, UpstreamSpec{Address: addr(up), HTTP2: true, TLS: &TLSSpec{RootFile: p.rootPE}}); code != 200 || body[:8] != "HTTP/2.0" {
		t.Fatalf("http2: %d %q", code, body)
	}
	// ALPN without h2 stays on HTTP/1.1.
	if code, body := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE, ALPN: []string{"http/1.1"}}}); code != 200 || body[:8] != "HTTP/1.1" {
		t.Fatalf("alpn: %d %q", code, body)
	}
}

func TestTLSServerNameAndSANs(t *testing.T) {
	p := newPKI(t)
	cert, _, _ := p.leaf(t, "server", []string{"backend.example"}, nil, false)
	up := tlsUpstream(t, cert, nil)

	// Dialling 127.0.0.1 with a certificate for backend.example fails ...
	if code, _ := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE}}); code != 502 {
		t.Fatalf("name mismatch accepted: %d", code)
	}
	// ... unless SNI and verification use the configured name.
	code, body := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE, ServerName: "backend.example"}})
	if code != 200 || !strings.Contains(body, "sni=backend.example") {
		t.Fatalf("sni: %d %q", code, body)
	}
	// InsecureHost verifies the chain only.
	if code, _ := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE, InsecureHost: true}}); code != 200 {
		t.Fatalf("insecureHost: %d", code)
	}
	// SAN pins replace the name check.
	if code, _ := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE, SubjectAltNames: []string{"backend.example"}}}); code != 200 {
		t.Fatalf("san pin: %d", code)
	}
	if code, _ := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE, SubjectAltNames: []string{"other.example"}}}); code != 502 {
		t.Fatalf("wrong san pin accepted: %d", code)
	}
	// InsecureHost still refuses an unknown chain.
	other := newPKI(t)
	if code, _ := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: other.rootPE, InsecureHost: true}}); code != 502 {
		t.Fatalf("insecureHost with foreign CA accepted: %d", code)
	}
}

func TestMTLS(t *testing.T) {
	p := newPKI(t)
	cert, _, _ := p.leaf(t, "server", nil, loopbackIP, false)
	_, certFile, keyFile := p.leaf(t, "gateway-client", nil, nil, true)
	up := tlsUpstream(t, cert, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.pool
	})
	code, body := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE, CertFile: certFile, KeyFile: keyFile}})
	if code != 200 || !strings.Contains(body, "client=gateway-client") {
		t.Fatalf("mTLS: %d %q", code, body)
	}
	if code, _ := via(t, UpstreamSpec{Address: addr(up), TLS: &TLSSpec{RootFile: p.rootPE}}); code != 502 {
		t.Fatalf("missing client cert accepted: %d", code)
	}
}

func TestTransportsShared(t *testing.T) {
	p := newPKI(t)
	tr := NewTransports()
	mk := func(s UpstreamSpec) *Upstream {
		u, err := NewUpstream(s, tr)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	a := mk(UpstreamSpec{Address: "10.0.0.1:80"})
	b := mk(UpstreamSpec{Address: "10.0.0.2:80"})
	c := mk(UpstreamSpec{Address: "10.0.0.2:443", TLS: &TLSSpec{RootFile: p.rootPE}})
	d := mk(UpstreamSpec{Address: "10.0.0.3:443", TLS: &TLSSpec{RootFile: p.rootPE}})
	e := mk(UpstreamSpec{Address: "10.0.0.3:80", HTTP2: true})
	if a.TransportKey() != b.TransportKey() || c.TransportKey() != d.TransportKey() {
		t.Fatal("identical settings got different transports")
	}
	if a.TransportKey() == c.TransportKey() || a.TransportKey() == e.TransportKey() {
		t.Fatal("different settings share a transport")
	}
	if tr.Len() != 3 {
		t.Fatalf("Len = %d", tr.Len())
	}
	// A rotated root file yields a new transport.
	other := newPKI(t)
	pem, _ := os.ReadFile(other.rootPE)
	path := filepath.Join(t.TempDir(), "root.pem")
	os.WriteFile(path, pem, 0o600)
	f := mk(UpstreamSpec{Address: "10.0.0.3:443", TLS: &TLSSpec{RootFile: path}})
	os.WriteFile(path, append(pem, '\n'), 0o600)
	g := mk(UpstreamSpec{Address: "10.0.0.3:443", TLS: &TLSSpec{RootFile: path}})
	if f.TransportKey() == g.TransportKey() {
		t.Fatal("changed root file content reused the old transport")
	}
	tr.Retain(a.TransportKey(), c.TransportKey())
	if tr.Len() != 2 {
		t.Fatalf("after Retain Len = %d", tr.Len())
	}
	tr.CloseIdleConnections()
}
