// Package backend is the data plane's last hop: it forwards a request to an
// upstream and streams the answer back.
//
//   - Upstream is one target (host:port, plain or TLS, HTTP/1.1 or HTTP/2):
//     a purpose-built forwarder on http.Transport (forward.go) with the
//     gateway's header hygiene and plain, short errors; protocol upgrades
//     go through an httputil.ReverseProxy in Rewrite mode with an upgrade
//     allowlist (websocket only).
//   - Transports shares keep-alive pools between upstreams and across
//     config reloads; plain HTTP/1.1 requests of the common shape take the
//     lean client in lean.go (no Transport goroutines), the rest
//     http.Transport.
//   - Service is a route's backend set: weighted choice, retries, timeouts
//     and a request-body cap.
//   - NewMirror copies a fraction of requests to a shadow target.
//
// The package does not read the user-facing config: the compiler translates
// it into the Spec structs defined here.
package backend

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// DefaultMaxRequests is the per-upstream concurrency cap (Envoy's circuit
// breaker default); requests above it fail fast with 503.
const DefaultMaxRequests = 1024

// UpstreamSpec describes one upstream target.
type UpstreamSpec struct {
	Name    string // backend name recorded in pipeline.Info.Backend
	Scheme  string // "http" (default) or "https"; TLS != nil implies "https"
	Address string // host:port dialled
	// TLS originates TLS. Nil with Scheme "https" means system roots.
	TLS *TLSSpec
	// HTTP2 forces HTTP/2: h2 over TLS, h2c with prior knowledge over plain
	// TCP. HTTP1 forces HTTP/1.1 (no h2 in ALPN). Neither: HTTP/1.1 over
	// plain TCP, h2 or HTTP/1.1 by ALPN over TLS. WebSocket upgrades need
	// HTTP/1.1 (they still work on the default setting).
	HTTP2 bool
	HTTP1 bool
	// AuthHeader, "Name: value", is the backend credential: the client's
	// Authorization header is removed and this header is set.
	AuthHeader string
	// MaxRequests caps concurrent requests (0: DefaultMaxRequests, <0: none).
	MaxRequests int
	// Logger receives ReverseProxy's internal diagnostics; nil discards them
	// (failures are recorded in pipeline.Info.Err either way).
	Logger *slog.Logger
}

// Upstream proxies requests to one upstream target. The incoming path and
// query are forwarded untouched; r.Host (as rewritten by earlier policies)
// is the upstream Host header, or the upstream address when empty.
type Upstream struct {
	name      string
	scheme    string
	address   string
	authName  string
	authValue string
	key       TransportKey
	max       int64
	authVals  []string // {authValue}, shared read-only by every request
	inflight  atomic.Int64
	tr        http.RoundTripper
	logger    *log.Logger
	// proxy serves protocol upgrades (WebSocket), which need hijacking and
	// a two-way copy; every other request takes the forwarder in forward.go.
	proxy httputil.ReverseProxy
}

// NewUpstream builds an upstream whose transport comes from transports.
func NewUpstream(spec UpstreamSpec, transports *Transports) (*Upstream, error) {
	if transports == nil {
		return nil, errors.New("backend: nil transports")
	}
	host, port, err := net.SplitHostPort(spec.Address)
	if err != nil || host == "" {
		return nil, errors.New("backend: address must be host:port")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, errors.New("backend: invalid port in address")
	}
	tlsSpec := spec.TLS
	switch spec.Scheme {
	case "", "http":
		if tlsSpec != nil {
			spec.Scheme = "https"
		} else {
			spec.Scheme = "http"
		}
	case "https":
		if tlsSpec == nil {
			tlsSpec = &TLSSpec{}
		}
	default:
		return nil, errors.New(`backend: scheme must be "http" or "https"`)
	}
	proto := protoAuto
	switch {
	case spec.HTTP1 && spec.HTTP2:
		return nil, errors.New("backend: HTTP1 and HTTP2 are exclusive")
	case spec.HTTP1:
		proto = protoHTTP1
	case spec.HTTP2:
		proto = protoHTTP2
	}
	tr, key, err := transports.get(tlsSpec, proto)
	if err != nil {
		return nil, err
	}
	u := &Upstream{
		name:    spec.Name,
		scheme:  spec.Scheme,
		address: spec.Address,
		key:     key,
		max:     int64(spec.MaxRequests),
	}
	if u.name == "" {
		u.name = spec.Address
	}
	if u.max == 0 {
		u.max = DefaultMaxRequests
	}
	if spec.AuthHeader != "" {
		if u.authName, u.authValue, err = splitHeaderLine(spec.AuthHeader); err != nil {
			return nil, err
		}
		u.authVals = []string{u.authValue}
	}
	logger := log.New(io.Discard, "", 0)
	if spec.Logger != nil {
		logger = slog.NewLogLogger(spec.Logger.Handler(), slog.LevelWarn)
	}
	u.tr, u.logger = tr, logger
	u.proxy = httputil.ReverseProxy{
		Rewrite:        u.rewrite,
		Transport:      tr.h, // upgrades: never the lean client
		BufferPool:     bufferPool{},
		ErrorHandler:   u.handleError,
		ModifyResponse: u.modifyResponse,
		ErrorLog:       logger,
		// FlushInterval 0: text/event-stream and unknown-length (chunked)
		// responses are flushed after every write by ReverseProxy itself.
	}
	return u, nil
}

// TransportKey names the shared transport this upstream uses (for
// Transports.Retain).
func (u *Upstream) TransportKey() TransportKey { return u.key }

// Name is the backend name recorded in pipeline.Info.
func (u *Upstream) Name() string { return u.name }

// ServeHTTP forwards r to the upstream.
func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := pipeline.InfoFrom(r.Context())
	info.Backend = u.name
	info.Endpoint = u.address
	if u.max > 0 {
		if u.inflight.Add(1) > u.max {
			u.inflight.Add(-1)
			pipeline.Error(w, r, http.StatusServiceUnavailable, "upstream overflow")
			return
		}
		defer u.inflight.Add(-1)
	}
	if !isUpgrade(r.Header) {
		u.forward(w, r, info)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		// Record a failure to read the client's body (malformed chunked
		// framing, a client gone mid-upload) so that handleError answers
		// 400 instead of blaming the upstream.
		// ReverseProxy hands handleError its own clone of the request, so
		// the watch travels in the context.
		bw := &bodyWatch{ReadCloser: r.Body}
		r = r.WithContext(context.WithValue(r.Context(), bodyWatchKey{}, bw))
		r.Body = bw
	}
	u.proxy.ServeHTTP(w, r)
}

type bodyWatchKey struct{}

// bodyWatch remembers whether reading the request body failed. The
// transport reads the body on its own goroutine, hence the atomic.
type bodyWatch struct {
	io.ReadCloser
	failed atomic.Bool
}

func (b *bodyWatch) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.failed.Store(true)
	}
	return n, err
}

// rewrite runs after ReverseProxy has removed hop-by-hop headers, every
// header named in Connection, and the client's Forwarded/X-Forwarded-*.
func (u *Upstream) rewrite(pr *httputil.ProxyRequest) {
	out := pr.Out
	out.URL.Scheme = u.scheme
	out.URL.Host = u.address
	// out.Host is the incoming r.Host; empty makes the transport use the
	// upstream address. The path and query are left as received.
	pr.SetXForwarded() // X-Forwarded-For/-Host/-Proto from the real peer
	h := out.Header
	// Forwarding headers ReverseProxy leaves alone: never trust a client's.
	h.Del("X-Forwarded-Port")
	h.Del("X-Forwarded-Prefix")
	h.Del("X-Real-Ip")
	h.Del("Http2-Settings")
	// ReverseProxy re-adds Connection/Upgrade for any upgrade token; only
	// websocket may pass (h2c and anything else would open a raw tunnel).
	if up := h.Get("Upgrade"); up != "" && !strings.EqualFold(up, "websocket") {
		h.Del("Upgrade")
		h.Del("Connection")
	}
	// Request trailers are not forwarded: they bypass header sanitising.
	out.Trailer = nil
	if u.authName != "" {
		h.Del("Authorization")
		h.Set(u.authName, u.authValue)
	}
}

func (u *Upstream) modifyResponse(res *http.Response) error {
	ctx := res.Request.Context()
	upgrade := res.StatusCode == http.StatusSwitchingProtocols
	st := stateFrom(ctx)
	if st != nil {
		st.responseStarted(upgrade)
	}
	if !upgrade { // an upgrade body must stay an io.ReadWriteCloser
		res.Body = &watchedBody{ReadCloser: res.Body, ctx: ctx, st: st}
	}
	return nil
}

// handleError turns a transport failure into a short gateway error
// (ReverseProxy's ErrorHandler, upgrade requests only).
func (u *Upstream) handleError(w http.ResponseWriter, r *http.Request, err error) {
	bw, _ := r.Context().Value(bodyWatchKey{}).(*bodyWatch)
	u.fail(w, r, err, bw != nil && bw.failed.Load())
}

// fail turns a transport failure into a short gateway error; bodyFailed
// says that reading the client's request body failed.
func (u *Upstream) fail(w http.ResponseWriter, r *http.Request, err error, bodyFailed bool) {
	ctx := r.Context()
	st := stateFrom(ctx)
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if isTimeout(cause) {
			if st != nil && errors.Is(cause, errAttemptTimeout) {
				st.failed = true
			}
			pipeline.Error(w, r, http.StatusGatewayTimeout, "upstream request timeout")
			return
		}
		clientGone(r)
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	if bodyFailed {
		// The client's body could not be read: not the upstream's fault,
		// and not worth a retry.
		pipeline.Error(w, r, http.StatusBadRequest, "request body read error")
		return
	}
	if st != nil {
		st.failed = true
	}
	pipeline.Error(w, r, http.StatusBadGateway, "upstream connect error")
}

// clientGone records a request abandoned by its client; nothing is written.
func clientGone(r *http.Request) {
	info := pipeline.InfoFrom(r.Context())
	info.Status = StatusClientClosed
	if info.Err == "" {
		info.Err = "client disconnected"
	}
}

// StatusClientClosed is recorded in pipeline.Info.Status when the client went
// away before the response could be written (nginx's 499).
const StatusClientClosed = 499

// watchedBody records in pipeline.Info why an upstream body ended early.
// It also ends the body of an attempt whose response Service swallows for a
// retry, so that the attempt does not wait for an unwanted body.
type watchedBody struct {
	io.ReadCloser
	ctx context.Context
	st  *callState
}

func (b *watchedBody) Read(p []byte) (int, error) {
	if b.st != nil && b.st.discarding {
		return 0, io.EOF
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		info := pipeline.InfoFrom(b.ctx)
		if info.Err == "" {
			switch cause := context.Cause(b.ctx); {
			case b.ctx.Err() == nil:
				info.Err = "upstream response truncated"
			case isTimeout(cause):
				info.Err = "upstream request timeout"
			default:
				info.Err = "client disconnected"
			}
		}
	}
	return n, err
}

// copyBufSize is the ReverseProxy copy buffer (Envoy's per-connection
// buffer limit).
const copyBufSize = 32 << 10

var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// bufferPool implements httputil.BufferPool without allocating per use.
type bufferPool struct{}

func (bufferPool) Get() []byte { return copyBufs.Get().(*[copyBufSize]byte)[:] }

func (bufferPool) Put(b []byte) {
	if cap(b) >= copyBufSize {
		copyBufs.Put((*[copyBufSize]byte)(b[:copyBufSize]))
	}
}
