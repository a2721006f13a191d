package backend

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Pool and dial defaults of every upstream transport.
const (
	DialTimeout         = 10 * time.Second // agentgateway's connectTimeout default
	TLSHandshakeTimeout = 10 * time.Second
	IdleConnTimeout     = 90 * time.Second
	MaxIdleConnsPerHost = 256 // keeps a pool warm for hundreds of concurrent clients
	tcpKeepAlive        = 30 * time.Second
)

// TLSSpec originates TLS to an upstream (agentgateway's backendTLS). The zero
// value verifies the upstream against the system roots and the host of the
// upstream address.
type TLSSpec struct {
	RootFile string // PEM bundle of trusted roots; empty means system roots
	CertFile string // client certificate (PEM) for mTLS; needs KeyFile
	KeyFile  string // client private key (PEM)
	// ServerName is sent as SNI and verified against the certificate. Empty
	// means the host part of the upstream address.
	ServerName string
	// Insecure skips all verification (chain and name).
	Insecure bool
	// InsecureHost verifies the chain but not the name.
	InsecureHost bool
	// SubjectAltNames, when set, replaces the name check: the verified leaf
	// must carry one of these DNS, IP or URI SANs.
	SubjectAltNames []string
	// ALPN overrides the offered protocols. Without "h2" in it, HTTP/2 is
	// not negotiated.
	ALPN []string
}

// protocol is the HTTP version policy of a transport.
type protocol uint8

const (
	protoAuto  protocol = iota // HTTP/1.1; over TLS also h2 via ALPN
	protoHTTP1                 // HTTP/1.1 only
	protoHTTP2                 // h2 over TLS, h2c prior knowledge over plain TCP
)

// TransportKey names a shared transport: the TLS settings (including a hash
// of the content of the files they name, so a rotated certificate yields a
// new key) and the HTTP version policy.
type TransportKey string

// Transports caches upstream transports so that upstreams with identical
// TLS and protocol settings share one keep-alive pool, also across config
// reloads. It is safe for concurrent use.
type Transports struct {
	mu sync.Mutex
	m  map[TransportKey]*sharedTransport
}

// NewTransports returns an empty cache.
func NewTransports() *Transports {
	return &Transports{m: make(map[TransportKey]*sharedTransport)}
}

// Retain keeps the transports named by keys and forgets every other one,
// closing its idle connections. Call it after a config reload has swapped in
// the new upstreams, with the keys of all live upstreams. Requests still in
// flight on a forgotten transport finish normally; their connections are
// closed by the idle timeout afterwards.
func (t *Transports) Retain(keys ...TransportKey) {
	keep := make(map[TransportKey]bool, len(keys))
	for _, k := range keys {
		keep[k] = true
	}
	t.mu.Lock()
	var drop []*sharedTransport
	for k, tr := range t.m {
		if !keep[k] {
			drop = append(drop, tr)
			delete(t.m, k)
		}
	}
	t.mu.Unlock()
	for _, tr := range drop {
		tr.CloseIdleConnections()
	}
}

// Len reports how many transports are cached.
func (t *Transports) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// CloseIdleConnections closes the idle connections of every cached transport.
func (t *Transports) CloseIdleConnections() {
	t.mu.Lock()
	all := make([]*sharedTransport, 0, len(t.m))
	for _, tr := range t.m {
		all = append(all, tr)
	}
	t.mu.Unlock()
	for _, tr := range all {
		tr.CloseIdleConnections()
	}
}

// Plain returns the shared transport of plain-TCP upstreams (HTTP/1.1,
// with the lean client for the common requests) and its key, for callers
// outside this package that make their own requests (MCP targets): they
// share the upstream pools of host backends. Pass the key to Retain with
// the others after a reload.
func (t *Transports) Plain() (http.RoundTripper, TransportKey) {
	tr, key, _ := t.get(nil, protoAuto) // no files to read: no error
	return tr, key
}

// get returns the shared transport for (spec, proto), building it on first
// use. spec == nil means plain TCP. Files are read here, at build time.
// Plain-TCP HTTP/1.1 transports serve their common requests with the lean
// client (lean.go).
func (t *Transports) get(spec *TLSSpec, proto protocol) (*sharedTransport, TransportKey, error) {
	var cfg *tls.Config
	key := fmt.Sprintf("p%d|plain", proto)
	if spec != nil {
		files, err := readTLSFiles(spec)
		if err != nil {
			return nil, "", err
		}
		h := sha256.New()
		for _, f := range files {
			fmt.Fprintf(h, "%d:", len(f))
			h.Write(f)
		}
		fmt.Fprintf(h, "%q|%t|%t|%q|%q", spec.ServerName, spec.Insecure, spec.InsecureHost,
			spec.SubjectAltNames, spec.ALPN)
		key = fmt.Sprintf("p%d|tls|%s", proto, hex.EncodeToString(h.Sum(nil)))
		if cfg, err = buildTLS(spec, files); err != nil {
			return nil, "", err
		}
	}
	k := TransportKey(key)
	t.mu.Lock()
	defer t.mu.Unlock()
	if tr, ok := t.m[k]; ok {
		return tr, k, nil
	}
	tr := &sharedTransport{h: newTransport(cfg, proto)}
	if cfg == nil && proto != protoHTTP2 {
		tr.lean = newLeanTransport(tr.h)
	}
	t.m[k] = tr
	return tr, k, nil
}

// readTLSFiles returns the root, cert and key file contents (nil when unset).
func readTLSFiles(spec *TLSSpec) ([3][]byte, error) {
	var out [3][]byte
	if (spec.CertFile == "") != (spec.KeyFile == "") {
		return out, errors.New("backend TLS: cert and key must be set together")
	}
	for i, name := range []string{spec.RootFile, spec.CertFile, spec.KeyFile} {
		if name == "" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return out, fmt.Errorf("backend TLS: %w", err)
		}
		out[i] = b
	}
	return out, nil
}

func buildTLS(spec *TLSSpec, files [3][]byte) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         spec.ServerName,
		InsecureSkipVerify: spec.Insecure, //nolint:gosec // explicit user opt-in
	}
	if files[0] != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(files[0]) {
			return nil, fmt.Errorf("backend TLS: no PEM certificates in %s", spec.RootFile)
		}
		cfg.RootCAs = pool
	}
	if files[1] != nil {
		cert, err := tls.X509KeyPair(files[1], files[2])
		if err != nil {
			return nil, fmt.Errorf("backend TLS: client certificate %s: %w", spec.CertFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if len(spec.ALPN) > 0 {
		cfg.NextProtos = slices.Clone(spec.ALPN)
	}
	if !spec.Insecure && (spec.InsecureHost || len(spec.SubjectAltNames) > 0) {
		// Verify the chain ourselves, then the SAN pins instead of the name.
		roots, sans := cfg.RootCAs, slices.Clone(spec.SubjectAltNames)
		cfg.InsecureSkipVerify = true //nolint:gosec // replaced by VerifyConnection
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, roots, sans)
		}
	}
	return cfg, nil
}

func verifyChain(cs tls.ConnectionState, roots *x509.CertPool, sans []string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: upstream sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return err
	}
	if len(sans) == 0 {
		return nil
	}
	for _, want := range sans {
		if slices.Contains(leaf.DNSNames, want) {
			return nil
		}
		for _, ip := range leaf.IPAddresses {
			if ip.String() == want {
				return nil
			}
		}
		for _, u := range leaf.URIs {
			if u.String() == want {
				return nil
			}
		}
	}
	return errors.New("tls: upstream certificate matches none of the configured subjectAltNames")
}

func newTransport(cfg *tls.Config, proto protocol) *http.Transport {
	d := &net.Dialer{Timeout: DialTimeout, KeepAlive: tcpKeepAlive}
	tr := &http.Transport{
		Proxy:                  nil, // never route upstream traffic through $HTTP_PROXY
		DialContext:            d.DialContext,
		TLSClientConfig:        cfg,
		TLSHandshakeTimeout:    TLSHandshakeTimeout,
		MaxIdleConnsPerHost:    MaxIdleConnsPerHost,
		IdleConnTimeout:        IdleConnTimeout,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,                   // pass content encodings through untouched
		MaxResponseHeaderBytes: maxResponseHeaderBytes, // as the lean client
		// ResponseHeaderTimeout stays unset: LLM upstreams may think for minutes.
		// Per-attempt and whole-request timeouts come from Service.
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: 30 * time.Second, // detect dead h2 connections
			PingTimeout:     15 * time.Second,
		},
	}
	var p http.Protocols
	tlsOn := cfg != nil
	switch proto {
	case protoHTTP1:
		p.SetHTTP1(true)
	case protoHTTP2:
		if tlsOn {
			p.SetHTTP2(true)
		} else {
			p.SetUnencryptedHTTP2(true)
		}
	default:
		p.SetHTTP1(true)
		if tlsOn && (len(cfg.NextProtos) == 0 || slices.Contains(cfg.NextProtos, "h2")) {
			p.SetHTTP2(true)
			tr.ForceAttemptHTTP2 = true
		}
	}
	tr.Protocols = &p
	return tr
}

// splitHeaderLine parses "Name: value" into a canonical name and a value,
// rejecting anything that could not be sent as one header field.
func splitHeaderLine(line string) (string, string, error) {
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return "", "", errors.New(`auth header must be "Name: value"`)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return "", "", fmt.Errorf("auth header: invalid name %q", name)
		}
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return "", "", errors.New("auth header: control character in value")
		}
	}
	return http.CanonicalHeaderKey(name), value, nil
}
