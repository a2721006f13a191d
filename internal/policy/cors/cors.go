// Package cors implements the cors route policy with agentgateway's (Envoy's)
// semantics on top of the Fetch standard:
//
//   - a request without Origin passes through untouched;
//   - a preflight (OPTIONS with Origin and a non-empty
//     Access-Control-Request-Method) is always answered by the gateway with
//     200 and never forwarded: with the CORS headers when the origin is
//     allowed, without any when it is not;
//   - any other request is forwarded; when its origin is allowed, the
//     response gets Access-Control-Allow-Origin (replacing the backend's),
//     Access-Control-Allow-Credentials and Access-Control-Expose-Headers.
//
// Access-Control-Allow-Origin is "*" when allowOrigins contains "*" and
// credentials are off; otherwise the request's origin is echoed and
// "Vary: Origin" is added. allowOrigins entries are "*", exact origins
// ("https://app.example.com", default ports implied, "null" literally), or
// patterns with '*' in the host ("https://*.example.com", "http://*:8080").
// "*" in allowMethods or allowHeaders echoes what the preflight asked for
// (valid with credentials too). The browser, not the gateway, compares the
// requested method and headers with the allowed ones.
package cors

import (
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/phttp"
)

// Spec is the cors policy.
type Spec struct {
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	AllowCredentials bool
	MaxAge           *time.Duration // nil = no Access-Control-Max-Age
}

const (
	hOrigin      = "Origin"
	hReqMethod   = "Access-Control-Request-Method"
	hReqHeaders  = "Access-Control-Request-Headers"
	hAllowOrigin = "Access-Control-Allow-Origin"
	hAllowCreds  = "Access-Control-Allow-Credentials"
	hAllowMeth   = "Access-Control-Allow-Methods"
	hAllowHdrs   = "Access-Control-Allow-Headers"
	hExpose      = "Access-Control-Expose-Headers"
	hMaxAge      = "Access-Control-Max-Age"
	hVary        = "Vary"
)

// Policy is a compiled cors policy.
type Policy struct {
	anyOrigin     bool
	exact         []string // lower-cased literal origins (e.g. "null")
	patterns      []origin
	creds         bool
	star          bool // Allow-Origin is the literal "*"
	anyMethod     bool
	methods       []string // joined, shared
	anyHeader     bool
	headers       []string
	expose        []string
	maxAge        []string
	trueVal       []string
	starVal       []string
	varyPreflight []string
}

type origin struct {
	scheme, host, port string // host may contain '*'
}

// New compiles spec into a middleware.
func New(spec Spec) (pipeline.Middleware, error) {
	p, err := Compile(spec)
	if err != nil {
		return nil, err
	}
	return p.Middleware, nil
}

// Compile validates spec and precomputes every header value.
func Compile(spec Spec) (*Policy, error) {
	p := &Policy{creds: spec.AllowCredentials, trueVal: []string{"true"}, starVal: []string{"*"}}
	for _, o := range spec.AllowOrigins {
		o = strings.TrimSpace(o)
		switch {
		case o == "*":
			p.anyOrigin = true
		case strings.EqualFold(o, "null"):
			p.exact = append(p.exact, "null")
		default:
			po, ok := parseOrigin(o, true)
			if !ok {
				return nil, fmt.Errorf("cors.allowOrigins: %q is not an origin (scheme://host[:port], '*' allowed in the host)", o)
			}
			p.patterns = append(p.patterns, po)
		}
	}
	p.star = p.anyOrigin && !p.creds
	var err error
	if p.anyMethod, p.methods, err = list(spec.AllowMethods, "allowMethods", false); err != nil {
		return nil, err
	}
	if p.anyHeader, p.headers, err = list(spec.AllowHeaders, "allowHeaders", true); err != nil {
		return nil, err
	}
	var anyExpose bool
	if anyExpose, p.expose, err = list(spec.ExposeHeaders, "exposeHeaders", true); err != nil {
		return nil, err
	}
	if anyExpose {
		p.expose = []string{"*"}
	}
	if spec.MaxAge != nil {
		if *spec.MaxAge < 0 {
			return nil, fmt.Errorf("cors.maxAge: negative")
		}
		p.maxAge = []string{strconv.FormatInt(int64(*spec.MaxAge/time.Second), 10)}
	}
	vary := []string{hOrigin}
	if p.anyMethod {
		vary = append(vary, hReqMethod)
	}
	if p.anyHeader {
		vary = append(vary, hReqHeaders)
	}
	p.varyPreflight = []string{strings.Join(vary, ", ")}
	return p, nil
}

func list(vals []string, what string, headerNames bool) (bool, []string, error) {
	var out []string
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "*" {
			return true, nil, nil
		}
		if !phttp.ValidHeaderName(v) {
			return false, nil, fmt.Errorf("cors.%s: invalid entry %q", what, v)
		}
		if !headerNames {
			v = strings.ToUpper(v)
		} else {
			v = strings.ToLower(v)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return false, nil, nil
	}
	return false, []string{strings.Join(out, ", ")}, nil
}

// parseOrigin parses scheme://host[:port], filling in the default port.
func parseOrigin(s string, pattern bool) (origin, bool) {
	scheme, hostport, ok := strings.Cut(s, "://")
	if !ok {
		return origin{}, false
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" || hostport == "" || strings.ContainsAny(hostport, "/?#@ ") {
		return origin{}, false
	}
	host, port := phttp.SplitHostPort(hostport)
	if host == "" || !pattern && strings.Contains(host, "*") {
		return origin{}, false
	}
	if port == "" {
		port = "80"
		if scheme == "https" {
			port = "443"
		}
	} else if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 || port[0] == '0' {
		return origin{}, false
	}
	return origin{scheme: scheme, host: strings.ToLower(host), port: port}, true
}

// Allowed reports whether the request origin o is allowed.
func (p *Policy) Allowed(o string) bool {
	if p.anyOrigin {
		return true
	}
	if len(p.exact) > 0 && slices.Contains(p.exact, strings.ToLower(o)) {
		return true
	}
	if len(p.patterns) == 0 {
		return false
	}
	ro, ok := parseOrigin(o, false)
	if !ok {
		return false
	}
	for _, po := range p.patterns {
		if po.scheme == ro.scheme && po.port == ro.port && glob(po.host, ro.host) {
			return true
		}
	}
	return false
}

// glob matches s against pattern, where '*' matches any run of characters.
func glob(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pattern) && pattern[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// Middleware applies the policy in front of next.
func (p *Policy) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ov := r.Header[hOrigin]
		if len(ov) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		o := ov[0]
		preflight := r.Method == http.MethodOptions && firstNonEmpty(r.Header[hReqMethod]) != ""
		if !p.Allowed(o) {
			if preflight {
				w.WriteHeader(http.StatusOK)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if preflight {
			p.preflight(w, r, ov)
			return
		}
		cw := &corsWriter{p: p, origin: ov}
		cw.Reset(w, cw)
		next.ServeHTTP(cw, r)
		cw.Finish()
	})
}

func firstNonEmpty(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}

func (p *Policy) preflight(w http.ResponseWriter, r *http.Request, origin []string) {
	h := w.Header()
	p.setOrigin(h, origin)
	if p.creds {
		h[hAllowCreds] = p.trueVal
	}
	if p.anyMethod {
		h[hAllowMeth] = []string{firstNonEmpty(r.Header[hReqMethod])}
	} else if p.methods != nil {
		h[hAllowMeth] = p.methods
	}
	if p.anyHeader {
		if v := requestedHeaders(r.Header[hReqHeaders]); v != "" {
			h[hAllowHdrs] = []string{v}
		}
	} else if p.headers != nil {
		h[hAllowHdrs] = p.headers
	}
	if p.maxAge != nil {
		h[hMaxAge] = p.maxAge
	}
	if !p.star || p.anyMethod || p.anyHeader {
		h[hVary] = p.varyPreflight
	}
	h["Content-Length"] = zeroLength[:1:1]
	w.WriteHeader(http.StatusOK)
}

// requestedHeaders normalizes Access-Control-Request-Headers to a
// lower-case, ", "-separated list of valid names.
func requestedHeaders(vs []string) string {
	var b strings.Builder
	for _, v := range vs {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if !phttp.ValidHeaderName(name) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strings.ToLower(name))
		}
	}
	return b.String()
}

func (p *Policy) setOrigin(h http.Header, origin []string) {
	if p.star {
		h[hAllowOrigin] = p.starVal
		return
	}
	h[hAllowOrigin] = origin[:1:1]
	addVaryOrigin(h)
}

func addVaryOrigin(h http.Header) {
	for _, v := range h[hVary] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || textproto.CanonicalMIMEHeaderKey(f) == hOrigin {
				return
			}
		}
	}
	if v := h[hVary]; len(v) > 0 {
		h[hVary] = append(v, hOrigin)
	} else {
		h[hVary] = varyOrigin[:1:1]
	}
}

var zeroLength = []string{"0"}

// varyOrigin is shared by every response that only varies by Origin.
var varyOrigin = []string{hOrigin}

// corsWriter adds the CORS response headers to an actual (non-preflight)
// request's response.
type corsWriter struct {
	phttp.Writer
	p      *Policy
	origin []string
}

func (c *corsWriter) BeforeHeaders(h http.Header, _ int) {
	c.p.setOrigin(h, c.origin)
	if c.p.creds {
		h[hAllowCreds] = c.p.trueVal
	}
	if c.p.expose != nil {
		h[hExpose] = c.p.expose
	}
}
