package backend

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// addr is the host:port of a test server.
func addr(s *httptest.Server) string { return s.Listener.Addr().String() }

// newUp builds an Upstream with a fresh transport cache.
func newUp(t testing.TB, spec UpstreamSpec) *Upstream {
	t.Helper()
	u, err := NewUpstream(spec, NewTransports())
	if err != nil {
		t.Fatalf("NewUpstream: %v", err)
	}
	return u
}

// front is a gateway front end: a real http.Server that gives every request
// a pipeline.Info and keeps the last finished one.
type front struct {
	*httptest.Server
	mu    sync.Mutex
	last  *pipeline.Info
	infos chan *pipeline.Info
}

func newFront(t testing.TB, h http.Handler) *front {
	t.Helper()
	f := &front{infos: make(chan *pipeline.Info, 100)}
	f.Server = httptest.NewServer(f.wrap(h))
	t.Cleanup(f.Close)
	return f
}

func (f *front) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &pipeline.Info{Start: time.Now()}
		defer func() {
			f.mu.Lock()
			f.last = info
			f.mu.Unlock()
			select {
			case f.infos <- info:
			default:
			}
		}()
		h.ServeHTTP(w, r.WithContext(pipeline.WithInfo(r.Context(), info)))
	})
}

// info waits for the next finished request's record.
func (f *front) info(t testing.TB) *pipeline.Info {
	t.Helper()
	select {
	case i := <-f.infos:
		return i
	case <-time.After(10 * time.Second):
		t.Fatal("no request finished")
		return nil
	}
}

func get(t testing.TB, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(b)
}

// refusedAddr returns a loopback address nobody listens on.
func refusedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// pki is a throwaway certificate authority writing PEM files to a temp dir.
type pki struct {
	dir    string
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	rootPE string // root PEM file
	pool   *x509.CertPool
	serial int64
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p := &pki{dir: t.TempDir(), cert: cert, key: key, serial: 1, pool: x509.NewCertPool()}
	p.pool.AddCert(cert)
	p.rootPE = p.write(t, "root.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t testing.TB, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// leaf issues a certificate; it returns it and the paths of its PEM files.
func (p *pki) leaf(t testing.TB, cn string, dns []string, ips []net.IP, client bool) (tls.Certificate, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p.serial++
	usage := x509.ExtKeyUsageServerAuth
	if client {
		usage = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     dns,
		IPAddresses:  ips,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := p.write(t, cn+".crt", "CERTIFICATE", der)
	keyFile := p.write(t, cn+".key", "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return pair, certFile, keyFile
}

var loopbackIP = []net.IP{net.IPv4(127, 0, 0, 1)}
