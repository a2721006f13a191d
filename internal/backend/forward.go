package backend

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// The forwarder: every request that is not a protocol upgrade is proxied by
// Upstream.forward instead of httputil.ReverseProxy. It keeps
// ReverseProxy's (Rewrite mode) observable behaviour — hop-by-hop and
// Connection-named header removal both ways, client forwarding headers
// replaced by X-Forwarded-For/-Host/-Proto from the real peer, "Te:
// trailers" passed on, no default User-Agent, unparsable query parameters
// re-encoded, request trailers dropped, 1xx responses relayed, response
// trailers announced and copied, text/event-stream and unknown-length
// bodies flushed after every write, http.ErrAbortHandler when the upstream
// body breaks — with far fewer allocations: ReverseProxy clones the
// request twice (Clone, then WithContext for its trace), deep-copies the
// headers, allocates a ProxyRequest, a noopCloseReader, two trace closures
// and a watchedBody, and copies response headers value by value with
// Header.Add. Here one allocation (forward) holds the outbound request
// and URL, the request body wrapper and the values the forwarder sets
// (the lean client passes 1xx responses to the forwarder directly; other
// transports get an httptrace); the
// outbound header map shares the inbound value slices (capacity-clipped, so
// an append never writes into them) and response header slices are moved,
// not copied. docs/performance.md records what this bought.

// forward is the per-request state of the forwarder (one allocation,
// reused through forwards when nothing can hold it after the request).
type forward struct {
	out  http.Request // the outbound request
	w    http.ResponseWriter
	mu   sync.Mutex // guards done and w's header against a late 1xx callback
	done bool       // RoundTrip returned: 1xx callbacks are ignored
	lean bool       // the lean client carried the request
	url  url.URL
	body reqBody
	vals [5]string   // backing store of header values set by the forwarder
	hdr  http.Header // the outbound header map
}

// forwards recycles forward records. A record goes back only when the
// lean client carried a bodiless request: the lean client is done with
// the request when its answer's body has been read (no goroutine of its
// own writes a body, and 1xx callbacks come on the caller's goroutine),
// whereas http.Transport may still hold it. A proxied GET then allocates
// neither the record nor the outbound header map.
var forwards = sync.Pool{New: func() any { return new(forward) }}

// release clears f and returns it to forwards.
func (f *forward) release() {
	h := f.hdr
	clear(h)
	*f = forward{hdr: h}
	forwards.Put(f)
}

// reqBody is the outbound request body: it records a failure to read the
// client's body (so the error is a 400, not a 502) and, like
// ReverseProxy's noopCloseReader, ignores the transport's Close (which
// would close the client's body, and can hang on a 100-continue request)
// and refuses reads once the handler has returned.
type reqBody struct {
	rc     io.ReadCloser
	failed atomic.Bool
	closed atomic.Bool
}

var errReadAfterReturn = errors.New("backend: read of the request body after the handler returned")

func (b *reqBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errReadAfterReturn
	}
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		b.failed.Store(true)
	}
	return n, err
}

func (b *reqBody) Close() error { return nil }

// got1xx relays an informational response (103 Early Hints, …) as
// ReverseProxy does.
func (f *forward) got1xx(code int, header textproto.MIMEHeader) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return nil // RoundTrip returned: w's header map is no longer ours to touch
	}
	h := f.w.Header()
	for k, vv := range header {
		h[k] = append(h[k], vv...)
	}
	f.w.WriteHeader(code)
	clear(h) // a 1xx does not clear the header map itself
	return nil
}

// roundTrip sends out. The lean client hands 1xx responses to f
// directly; any other transport gets them through an httptrace in out's
// context (a context layer and a copy of out that the lean path spares).
func (u *Upstream) roundTrip(out *http.Request, f *forward) (*http.Response, error) {
	if st, ok := u.tr.(*sharedTransport); ok && st.lean != nil && leanEligible(out) {
		f.lean = true
		return st.lean.roundTrip(out, f)
	}
	trace := &httptrace.ClientTrace{Got1xxResponse: f.got1xx}
	return u.tr.RoundTrip(out.WithContext(httptrace.WithClientTrace(out.Context(), trace)))
}

// isUpgrade reports whether the request asks for a protocol upgrade
// (Connection: upgrade with a non-empty Upgrade), which ReverseProxy serves.
func isUpgrade(h http.Header) bool {
	return hasToken(h["Connection"], "upgrade") && h.Get("Upgrade") != ""
}

// hasToken reports whether a comma-separated header contains token
// (case-insensitive), like httpguts.HeaderValuesContainsToken.
func hasToken(vals []string, token string) bool {
	for _, v := range vals {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), token) {
				return true
			}
		}
	}
	return false
}

// dropOutbound reports whether a request header is never forwarded as is:
// hop-by-hop headers (RFC 9110 §7.6.1 and ReverseProxy's list) and
// forwarding headers a client could forge (the forwarder sets its own).
func dropOutbound(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"X-Forwarded-Port", "X-Forwarded-Prefix", "X-Real-Ip", "Http2-Settings":
		return true
	}
	return false
}

// removeHopByHop deletes, in place, the headers named in Connection and the
// hop-by-hop headers (ReverseProxy's removeHopByHopHeaders).
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(h, k)
	}
}

// forward proxies a non-upgrade request. info is the request's record.
func (u *Upstream) forward(w http.ResponseWriter, r *http.Request, info *pipeline.Info) {
	f := forwards.Get().(*forward)
	f.w = w
	ctx := r.Context()
	out := &f.out
	*out = *r // a shallow copy, as r.WithContext makes

	if r.ContentLength == 0 || r.Body == nil {
		out.Body = nil // nil, not NoBody: the transport may then retry the request on a dead keep-alive connection
	} else {
		f.body.rc = r.Body
		out.Body = &f.body
		// The transport may read the body on its own goroutine after the
		// handler returned (Go issue 46866); refuse such reads.
		defer f.body.closed.Store(true)
	}

	in := r.Header
	h := f.hdr
	if h == nil {
		h = make(http.Header, len(in)+4)
		f.hdr = h
	}
	for k, v := range in {
		if !dropOutbound(k) && (u.authName == "" || k != "Authorization") {
			h[k] = v[:len(v):len(v)]
		}
	}
	for _, c := range in["Connection"] {
		for sf := range strings.SplitSeq(c, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	v := f.vals[:]
	set := func(k, val string) {
		v[0] = val
		h[k] = v[0:1:1]
		v = v[1:]
	}
	if hasToken(in["Te"], "trailers") {
		set("Te", "trailers")
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		set("X-Forwarded-For", ip)
	}
	set("X-Forwarded-Host", r.Host)
	if r.TLS == nil {
		set("X-Forwarded-Proto", "http")
	} else {
		set("X-Forwarded-Proto", "https")
	}
	if u.authName != "" {
		h[u.authName] = u.authVals
	}
	if _, ok := h["User-Agent"]; !ok {
		set("User-Agent", "") // no Go default User-Agent
	}
	out.Header = h

	f.url = *r.URL
	f.url.Scheme = u.scheme
	f.url.Host = u.address
	f.url.RawQuery = cleanQueryParams(f.url.RawQuery)
	out.URL = &f.url
	// out.Host is the incoming r.Host; empty makes the transport use the
	// upstream address. The path and query are left as received.
	out.Trailer = nil // request trailers are not forwarded: they bypass header sanitising
	out.Close = false

	res, err := u.roundTrip(out, f)
	f.mu.Lock()
	f.done = true
	f.mu.Unlock()
	if err != nil {
		u.fail(w, out, err, f.body.failed.Load())
		return
	}
	st := stateFrom(ctx)
	if res.StatusCode == http.StatusSwitchingProtocols {
		// No upgrade was asked for (those go to ReverseProxy), so a 101 is
		// a broken upstream; ReverseProxy answers it the same way.
		if st != nil {
			st.responseStarted(true)
		}
		_ = res.Body.Close()
		u.fail(w, out, errors.New("backend switched protocols unasked"), false)
		return
	}
	removeHopByHop(res.Header)
	if st != nil {
		st.responseStarted(false)
	}
	dst := w.Header()
	if len(dst) == 0 && pipeline.AdoptHeader(w, res.Header) {
		dst = w.Header() // the response's own map: nothing to copy
	} else {
		for k, vv := range res.Header {
			if old, ok := dst[k]; ok {
				dst[k] = append(old, vv...)
			} else {
				dst[k] = vv // the response is ours: move its slices
			}
		}
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)

	stream := res.ContentLength == -1 || isEventStream(res.Header)
	if err := u.copyBody(w, res.Body, stream, st, ctx, info); err != nil {
		defer func() { _ = res.Body.Close() }()
		if r.Context().Value(http.ServerContextKey) == nil {
			return // not under an http.Server (tests): nothing would recover the panic
		}
		panic(http.ErrAbortHandler) // the client must see a truncated response
	}
	_ = res.Body.Close() // now, to populate res.Trailer
	if len(res.Trailer) > 0 {
		// Force chunking: a short body would otherwise get a Content-Length.
		_ = http.NewResponseController(w).Flush()
		// The header map that carries trailers is the one w has now: a
		// retried attempt held its header apart until it committed it.
		dst = w.Header()
	}
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			dst[k] = append(dst[k], vv...)
		}
	} else {
		for k, vv := range res.Trailer {
			k = http.TrailerPrefix + k
			for _, v := range vv {
				dst.Add(k, v)
			}
		}
	}
	if f.lean && out.Body == nil {
		f.release()
	}
}

// isEventStream reports a text/event-stream response (flushed per write,
// like ReverseProxy), without mime.ParseMediaType's allocations.
func isEventStream(h http.Header) bool {
	ct := h["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	base, _, _ := strings.Cut(ct[0], ";")
	return strings.EqualFold(strings.TrimSpace(base), "text/event-stream")
}

// copyBody streams the upstream body to w. When stream is set, the header
// is flushed at once and every write is flushed. A read error is recorded
// in info (why the body ended early) and returned, as is a write error.
// When Service swallows this attempt's response for a retry, copying stops.
func (u *Upstream) copyBody(w http.ResponseWriter, body io.Reader, stream bool, st *callState, ctx context.Context, info *pipeline.Info) error {
	var rc *http.ResponseController
	if stream {
		rc = http.NewResponseController(w)
		_ = rc.Flush() // headers now, even if the first event is late
	}
	buf := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(buf)
	for {
		if st != nil && st.discarding {
			return nil
		}
		nr, rerr := body.Read(buf[:])
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nw != nr {
				return io.ErrShortWrite
			}
			if rc != nil {
				_ = rc.Flush()
			}
		}
		if rerr == nil {
			continue
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != context.Canceled {
			u.logger.Printf("backend: read error during body copy: %v", rerr)
		}
		if info.Err == "" {
			switch cause := context.Cause(ctx); {
			case ctx.Err() == nil:
				info.Err = "upstream response truncated"
			case isTimeout(cause):
				info.Err = "upstream request timeout"
			default:
				info.Err = "client disconnected"
			}
		}
		return rerr
	}
}

// cleanQueryParams is ReverseProxy's: a query net/url cannot parse (";"
// separators, bad escapes, too many parameters) is re-encoded so that the
// upstream sees what the gateway's own parsing saw.
func cleanQueryParams(s string) string {
	reencode := func(s string) string {
		v, _ := url.ParseQuery(s)
		return v.Encode()
	}
	if strings.Count(s, "&")+1 > 10000 { // net/url's default parameter limit
		return reencode(s)
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode(s)
		case '%':
			if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
				return reencode(s)
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
