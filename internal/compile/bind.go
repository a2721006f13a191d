package compile

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/textproto"
	"runtime/debug"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/route"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// MaxHeaderCount is the most request header fields a request may carry
// (Envoy's max_headers_count); more get 431.
const MaxHeaderCount = 100

// bindHandler serves one port: it picks the listener by Host, routes, runs
// the route's chain, and records metrics and the access log.
type bindHandler struct {
	name      string // "bind/3000"
	listeners []*listenerRT
	access    *telemetry.AccessLog
	log       *slog.Logger
}

type listenerRT struct {
	name     string
	host     string // "" (any), "api.example.com", or ".example.com" for "*.example.com"
	table    *route.Table
	notFound *telemetry.RouteMetrics
}

func (l *listenerRT) accepts(host string) bool {
	switch {
	case l.host == "":
		return true
	case l.host[0] == '.':
		return len(host) > len(l.host) && strings.HasSuffix(host, l.host)
	default:
		return host == l.host
	}
}

// request is the per-request state: one allocation holds the record and the
// response writer wrapper.
type request struct {
	info pipeline.Info
	sw   statusWriter
}

func (b *bindHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := &request{}
	info := &st.info
	info.Start = time.Now()
	info.Bind = b.name
	st.sw.ResponseWriter, st.sw.info = w, info
	if !pipeline.AttachInfo(r.Context(), info) { // the lean server's context has a field for it
		r = r.WithContext(pipeline.WithInfo(r.Context(), info))
	}
	defer b.finish(st, r)

	l := b.pick(r.Host)
	switch {
	case l == nil:
		pipeline.Error(&st.sw, r, http.StatusNotFound, "no listener for this host")
	case tooManyHeaders(r.Header):
		info.Listener = l.name
		if r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close") // the client misbehaves: do not read more from it
		}
		pipeline.Error(&st.sw, r, http.StatusRequestHeaderFieldsTooLarge, "too many request headers")
		l.notFound.ObserveInfo(r.Method, info, telemetry.ReasonInvalidRequest)
	default:
		info.Listener = l.name
		if r.ProtoMajor == 1 {
			stripConnectionNamed(r.Header)
		}
		if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 && r.Header.Get("Upgrade") == "" {
			// net/http accepts Transfer-Encoding with Content-Length (the
			// chunked framing wins) and drops the Content-Length before the
			// handler sees it, so such a request cannot be told apart from a
			// plain chunked one. RFC 9112 §6.3 requires closing the connection
			// after answering it: bytes pipelined behind a chunked body (a
			// request smuggled past a front proxy that used the
			// Content-Length) are then never read as a request.
			w.Header().Set("Connection", "close")
		}
		r = route.NormalizeRequest(r)
		rt, res := l.table.Match(r)
		if rt == nil {
			pipeline.Error(&st.sw, r, http.StatusNotFound, "route not found")
			l.notFound.ObserveInfo(r.Method, info, telemetry.ReasonNotFound)
			break
		}
		info.Route = rt.Name
		info.MatchedPrefix = res.Prefix
		rt.Handler.ServeHTTP(&st.sw, r)
	}
}

// finish writes the access log line, also when the handler panicked: an
// upstream that dies mid-body makes ReverseProxy abort the response with
// http.ErrAbortHandler, which is re-raised so net/http drops the connection.
// Any other panic is a gateway bug: it is logged with its stack and the
// client gets a plain 500 when nothing was written yet.
func (b *bindHandler) finish(st *request, r *http.Request) {
	p := recover()
	info := &st.info
	if p != nil && p != http.ErrAbortHandler {
		info.Err = "internal error"
		b.log.Error("panic serving request", "panic", fmt.Sprint(p), "path", r.URL.Path, "stack", string(debug.Stack()))
		if st.sw.code == 0 {
			pipeline.Error(&st.sw, r, http.StatusInternalServerError, "internal error")
		}
	}
	if info.Status == 0 {
		info.Status = st.sw.status()
	}
	if b.access != nil {
		b.access.Log(info, r.Method, r.URL.Path, time.Since(info.Start))
	}
	if p == http.ErrAbortHandler {
		panic(p)
	}
}

// tooManyHeaders reports whether h has more than MaxHeaderCount fields,
// counting every field line (repeated names too), as Envoy's
// max_headers_count does.
func tooManyHeaders(h http.Header) bool {
	if len(h) > MaxHeaderCount {
		return true
	}
	n := 0
	for _, v := range h {
		n += len(v)
	}
	return n > MaxHeaderCount
}

// stripConnectionNamed removes, before any policy runs, the headers the
// client declared hop-by-hop by naming them in Connection, and leaves only
// the "Upgrade" token that the proxy needs for WebSocket. Otherwise the
// proxy's own hop-by-hop removal would later delete a header a route policy
// set (a client naming X-User in Connection would strip the gateway's
// X-User: Traefik CVE-2021-32813). net/http has already taken its
// keep-alive/close decision from the original header.
func stripConnectionNamed(h http.Header) {
	vs, ok := h["Connection"]
	if !ok {
		return
	}
	upgrade := false
	for _, v := range vs {
		for rest := v; rest != ""; {
			var f string
			f, rest, _ = strings.Cut(rest, ",") // no strings.Split: no allocation per request
			f = textproto.TrimString(f)
			switch {
			case f == "":
			case strings.EqualFold(f, "upgrade"):
				upgrade = true // the Upgrade header itself is vetted by the backend
			case strings.EqualFold(f, "keep-alive"): // the common tokens, without h.Del's canonicalising allocation
				delete(h, "Keep-Alive")
			case strings.EqualFold(f, "close"):
				delete(h, "Close")
			default:
				h.Del(f)
			}
		}
	}
	if upgrade {
		h["Connection"] = []string{"Upgrade"}
	} else {
		delete(h, "Connection")
	}
}

func (b *bindHandler) pick(host string) *listenerRT {
	if len(b.listeners) == 1 && b.listeners[0].host == "" {
		return b.listeners[0]
	}
	h := normHost(host)
	for _, l := range b.listeners {
		if l.accepts(h) {
			return l
		}
	}
	return nil
}

// normHost lower-cases host and strips its port.
func normHost(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

// statusWriter records the status code into the request record and keeps
// the optional interfaces of the underlying writer reachable (Flush, Hijack
// and, through Unwrap, http.ResponseController).
type statusWriter struct {
	http.ResponseWriter
	info     *pipeline.Info
	code     int
	hijacked bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 && code >= 200 || code == http.StatusSwitchingProtocols {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Flush() {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil {
		s.hijacked = true
		if s.code == 0 {
			s.code = http.StatusSwitchingProtocols
		}
	}
	return c, rw, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// AdoptHeader passes the header on (statusWriter's Header is the wrapped
// writer's).
func (s *statusWriter) AdoptHeader(h http.Header) bool {
	return pipeline.AdoptHeader(s.ResponseWriter, h)
}

func (s *statusWriter) status() int {
	if s.code == 0 {
		return http.StatusOK // nothing written: net/http sends 200
	}
	return s.code
}

// bind compiles one bind.
func (c *compiler) bind(path string, b *config.Bind) {
	name := fmt.Sprintf("bind/%d", b.Port)
	bh := &bindHandler{name: name, access: c.access, log: c.deps.Log}
	dump := &bindDump{Port: b.Port, Name: name}
	if b.TunnelProtocol != nil && *b.TunnelProtocol != "direct" {
		c.errs.add(path+".tunnelProtocol", "tunnelProtocol %q is not supported by this gateway yet", *b.TunnelProtocol)
	}
	if b.Mode != nil && *b.Mode != "standard" {
		c.errs.add(path+".mode", "bind mode %q is not supported by this gateway yet", *b.Mode)
	}
	var catchAll []*listenerRT
	for i := range b.Listeners {
		lp := fmt.Sprintf("%s.listeners[%d]", path, i)
		l, ld := c.listener(lp, name, i, &b.Listeners[i])
		if l == nil {
			continue
		}
		dump.Listeners = append(dump.Listeners, ld)
		if l.host == "" {
			catchAll = append(catchAll, l)
			continue
		}
		bh.listeners = append(bh.listeners, l)
	}
	if len(catchAll) > 1 {
		c.errs.add(path+".listeners", "%d listeners on port %d have no hostname; at most one can take the requests no other listener takes", len(catchAll), b.Port)
	}
	// Exact hostnames before wildcards (longer first), then the catch-all.
	sortListeners(bh.listeners)
	bh.listeners = append(bh.listeners, catchAll...)
	c.snap.Binds[b.Port] = bh
	c.snap.binds = append(c.snap.binds, dump)
}

func sortListeners(ls []*listenerRT) {
	rank := func(l *listenerRT) (int, int) {
		if strings.HasPrefix(l.host, ".") {
			return 1, -len(l.host)
		}
		return 0, -len(l.host)
	}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0; j-- {
			a1, a2 := rank(ls[j-1])
			b1, b2 := rank(ls[j])
			if a1 < b1 || a1 == b1 && a2 <= b2 {
				break
			}
			ls[j-1], ls[j] = ls[j], ls[j-1]
		}
	}
}

func (c *compiler) listener(path, bind string, idx int, l *config.Listener) (*listenerRT, *listenerDump) {
	name := fmt.Sprintf("listener%d", idx)
	if l.Name != nil && *l.Name != "" {
		name = *l.Name
	}
	proto := "HTTP"
	if l.Protocol != nil && *l.Protocol != "" {
		proto = strings.ToUpper(*l.Protocol)
	}
	if proto != "HTTP" {
		c.errs.add(path+".protocol", "listener protocol %s is not supported by this gateway yet (only HTTP)", proto)
	}
	if l.TLS != nil {
		c.errs.add(path+".tls", "listener TLS is not supported by this gateway yet")
	}
	if len(l.TCPRoutes) > 0 {
		c.errs.add(path+".tcpRoutes", "tcpRoutes are not supported by this gateway yet")
	}
	if l.Policies != nil {
		c.refuseUnbuilt(path+".policies", l.Policies, nil, "listener policy")
	}
	lr := &listenerRT{name: name}
	if l.Hostname != nil && *l.Hostname != "" && *l.Hostname != "*" {
		h := strings.ToLower(*l.Hostname)
		lr.host = strings.TrimPrefix(h, "*")
	}
	lr.notFound = c.deps.Metrics.Route(telemetry.RouteLabels{Bind: bind, Gateway: bind, Listener: name, Protocol: "http"})
	ld := &listenerDump{Name: name, Hostname: lr.host, Protocol: proto}

	specs := make([]route.Spec, 0, len(l.Routes))
	for i := range l.Routes {
		rp := fmt.Sprintf("%s.routes[%d]", path, i)
		spec, rd := c.route(rp, bind, name, i, &l.Routes[i])
		specs = append(specs, spec)
		ld.Routes = append(ld.Routes, rd)
	}
	t, err := route.New(specs)
	if err != nil {
		c.errs.add(path+".routes", "%v", err)
		return nil, nil
	}
	lr.table = t
	return lr, ld
}

// Dump types: the compiled view shown at /config_dump.
type bindDump struct {
	Port      int             `json:"port"`
	Name      string          `json:"name"`
	Listeners []*listenerDump `json:"listeners"`
}

type listenerDump struct {
	Name     string       `json:"name"`
	Hostname string       `json:"hostname,omitempty"`
	Protocol string       `json:"protocol"`
	Routes   []*routeDump `json:"routes"`
}

type routeDump struct {
	Name      string         `json:"name"`
	Hostnames []string       `json:"hostnames,omitempty"`
	Matches   int            `json:"matches"`
	Policies  []string       `json:"policies"`
	Backends  []*backendDump `json:"backends"`
}

type backendDump struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Weight int    `json:"weight"`
	Served bool   `json:"served"`
}
