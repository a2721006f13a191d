package backend

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"sync"
	"time"
)

// The lean HTTP/1.1 upstream client. http.Transport runs every request
// through a per-connection readLoop and writeLoop goroutine, three contexts
// and its getConn/wantConn bookkeeping: at full load that was two thirds of
// the gateway's user CPU and most of its allocations (docs/performance.md).
// For the common case — plain HTTP/1.1, no upgrade, no Expect, a body that
// is absent or of known length — leanTransport writes the request and reads
// the response (http.ReadResponse: the standard library's parser) on the
// caller's goroutine, over a LIFO pool of idle connections per upstream
// address. Everything else (TLS, h2/h2c, upgrades, chunked uploads,
// 100-continue, request trailers) takes the http.Transport it sits beside:
// sharedTransport.RoundTrip picks.

// Limits of the lean client; the pool limits are those of the Transport.
const (
	// maxResponseHeaderBytes bounds a response's header block (each 1xx
	// gets its own budget); http.Transport's default is 10 MiB.
	maxResponseHeaderBytes = 1 << 20
	max1xxResponses        = 5 // as http.Transport
	leanBufSize            = 4 << 10
)

var (
	errHeaderTooLarge = errors.New("backend: upstream response headers exceed 1 MiB")
	errTooMany1xx     = errors.New("backend: too many 1xx informational responses")
	errClosedBody     = errors.New("http: read on closed response body")
	errServerClosed   = errors.New("backend: upstream closed the connection before answering")
	errWriteBody      = errors.New("backend: request body shorter than its Content-Length")
	errBodyTooLong    = errors.New("backend: request body longer than its Content-Length")
)

// aLongTimeAgo is a deadline in the past: it makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

// sharedTransport is one cached upstream transport: the lean client for
// the requests it can serve and http.Transport for the rest.
type sharedTransport struct {
	h    *http.Transport
	lean *leanTransport // nil: every request takes h
}

// RoundTrip implements http.RoundTripper.
func (s *sharedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.lean != nil && leanEligible(r) {
		return s.lean.roundTrip(r, nil)
	}
	return s.h.RoundTrip(r)
}

// CloseIdleConnections closes the idle connections of both clients.
func (s *sharedTransport) CloseIdleConnections() {
	s.h.CloseIdleConnections()
	if s.lean != nil {
		s.lean.closeIdle()
	}
}

// informer receives informational (1xx) responses: the forwarder, which
// relays them to its client without a ClientTrace in the context.
type informer interface {
	got1xx(code int, header textproto.MIMEHeader) error
}

// leanTransport is the lean client; its zero value is not usable.
type leanTransport struct {
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle       int           // idle connections kept per address
	idleTimeout   time.Duration // an idle connection older than this is closed
	headerTimeout time.Duration // response header timeout; 0: none (as the Transport)
	pools         sync.Map      // address → *leanPool
}

func newLeanTransport(tr *http.Transport) *leanTransport {
	return &leanTransport{
		dial:          tr.DialContext,
		maxIdle:       tr.MaxIdleConnsPerHost,
		idleTimeout:   tr.IdleConnTimeout,
		headerTimeout: tr.ResponseHeaderTimeout,
	}
}

func (t *leanTransport) pool(addr string) *leanPool {
	if p, ok := t.pools.Load(addr); ok {
		return p.(*leanPool)
	}
	p, _ := t.pools.LoadOrStore(addr, &leanPool{t: t, addr: addr})
	return p.(*leanPool)
}

func (t *leanTransport) closeIdle() {
	t.pools.Range(func(_, p any) bool {
		p.(*leanPool).closeIdle()
		return true
	})
}

// roundTrip sends r on a pooled or new connection. A reused connection
// that fails before any response byte arrived (the upstream closed it
// while idle) is replaced once by a new connection when r is safe to send
// again; r's body is closed in every case, as http.RoundTripper requires
// (by the connection: a streamed body once it is written).
//
// got1xx, when set, receives the 1xx responses instead of the request
// context's httptrace.ClientTrace.
func (t *leanTransport) roundTrip(r *http.Request, got1xx informer) (*http.Response, error) {
	ctx := r.Context()
	p := t.pool(leanAddr(r.URL))
	replayable := isReplayable(r)
	req := r
	for fresh := false; ; fresh = true {
		c, reused, err := p.get(ctx, fresh)
		if err != nil {
			closeReqBody(req)
			return nil, err
		}
		res, err := c.roundTrip(req, ctx, got1xx) // closes req.Body
		if err == nil {
			res.Request = r
			return res, nil
		}
		c.close()
		if fresh || !reused || c.nread > 0 || !replayable || ctx.Err() != nil {
			return nil, err
		}
		if hasBody(req) {
			body, gerr := req.GetBody() // replayable: GetBody is set
			if gerr != nil {
				return nil, err
			}
			again := *req
			again.Body = body
			req = &again
		}
	}
}

// leanEligible reports whether the lean client serves r: plain HTTP/1.1,
// no protocol upgrade, no Expect (100-continue needs the Transport's
// timer), no request trailers, a body absent or of known length, and a
// request line and header block that need no rewriting or rejecting (the
// Transport then produces the same request or the same error).
func leanEligible(r *http.Request) bool {
	u := r.URL
	if u.Scheme != "http" || u.Opaque != "" || (u.Path != "" && u.Path[0] != '/') || u.User != nil || len(r.Trailer) > 0 ||
		len(r.TransferEncoding) > 0 || r.Method == http.MethodConnect {
		return false
	}
	if hasBody(r) && r.ContentLength <= 0 {
		return false // unknown length: chunked upload
	}
	h := r.Header
	if _, ok := h["Expect"]; ok {
		return false
	}
	if c, ok := h["Connection"]; ok && hasToken(c, "upgrade") {
		return false
	}
	host := r.Host
	if host == "" {
		host = u.Host
	}
	if host == "" || !validHost(host) || !validToken(methodOf(r)) ||
		!validTarget(u.RawPath) || !validTarget(u.Path) || !validTarget(u.RawQuery) {
		return false
	}
	for k, vv := range h {
		if !validToken(k) {
			return false
		}
		for _, v := range vv {
			if !validValue(v) {
				return false
			}
		}
	}
	return true
}

func methodOf(r *http.Request) string {
	if r.Method == "" {
		return http.MethodGet
	}
	return r.Method
}

func hasBody(r *http.Request) bool { return r.Body != nil && r.Body != http.NoBody }

func closeReqBody(r *http.Request) {
	if hasBody(r) {
		_ = r.Body.Close()
	}
}

// isReplayable is http.Transport's rule for resending a request on a new
// connection: an idempotent method (or an idempotency key) and a body that
// is absent or can be obtained again.
func isReplayable(r *http.Request) bool {
	if hasBody(r) && r.GetBody == nil {
		return false
	}
	switch methodOf(r) {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, a := r.Header["Idempotency-Key"]
	_, b := r.Header["X-Idempotency-Key"]
	return a || b
}

// leanAddr is the host:port dialled for u (port 80 when absent).
func leanAddr(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "80")
	}
	return u.Host
}

// validToken reports an RFC 9110 token (method, header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || isSeparator(c) {
			return false
		}
	}
	return true
}

func isSeparator(c byte) bool {
	switch c {
	case '"', '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}':
		return true
	}
	return false
}

// validValue reports a header value without control characters (HTAB is
// allowed), as httpguts.ValidHeaderFieldValue.
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// validTarget reports a path or query that can be written into the
// request line as is (no spaces or control characters).
func validTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost accepts an ASCII host[:port] (DNS name, IPv4, bracketed IPv6
// without zone); anything else (IDNs, zones, junk) is left to the
// Transport, which punycodes or rejects it.
func validHost(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']':
		default:
			return false
		}
	}
	return true
}

// bodySrc is the request body as written: cut at its Content-Length, with
// its own read error kept apart from the connection's write errors.
type bodySrc struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodySrc) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.r.Read(p)
	b.n -= int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
