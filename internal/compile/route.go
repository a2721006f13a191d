package compile

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/backend"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/cors"
	"github.com/agentgw/agentgateway/internal/policy/direct"
	"github.com/agentgw/agentgateway/internal/policy/headers"
	"github.com/agentgw/agentgateway/internal/policy/redirect"
	"github.com/agentgw/agentgateway/internal/policy/rewrite"
	"github.com/agentgw/agentgateway/internal/route"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// route compiles one route into a route.Spec whose handler is the policy
// chain in its fixed order (see docs/policies.md and docs/security.md):
// cors → authentication → authorization → rate limit (auth.go) →
// header modifiers → redirect | direct response → urlRewrite → mirror → backends.
func (c *compiler) route(path, bind, listener string, idx int, r *config.Route) (route.Spec, *routeDump) {
	name := fmt.Sprintf("route%d", idx)
	if r.Name != nil && *r.Name != "" {
		name = *r.Name
	}
	spec := route.Spec{Name: name, Hostnames: r.Hostnames}
	for _, m := range r.Matches {
		spec.Matches = append(spec.Matches, matchSpec(m))
	}
	rd := &routeDump{Name: name, Hostnames: r.Hostnames, Matches: len(r.Matches), Policies: []string{}, Backends: []*backendDump{}}
	rc := &routeCtx{c: c, path: path, bind: bind, listener: listener, name: name, dump: rd}

	p := r.Policies
	if p == nil {
		p = &config.Policies{}
	}
	c.refuseUnbuilt(path+".policies", p, builtRoutePolicies, "policy")

	var mws []pipeline.Middleware
	add := func(key string, mw pipeline.Middleware, err error) {
		if mw == nil && err == nil {
			return
		}
		if err != nil {
			c.errs.add(path+".policies."+key, "%v", err)
			return
		}
		rd.Policies = append(rd.Policies, key)
		mws = append(mws, mw)
	}
	if p.CORS != nil {
		mw, err := corsMiddleware(p.CORS)
		add("cors", mw, err)
	}
	c.security(path, bind, listener, name, r, p, add)
	a2aPol := c.a2aPolicy(bind, listener, name, r, p)
	if a2aPol != nil {
		add("a2a", a2aPol.Outer(), nil)
	}
	if p.RequestHeaderModifier != nil || p.ResponseHeaderModifier != nil {
		mw, err := headers.New(headers.Spec{Request: modifier(p.RequestHeaderModifier), Response: modifier(p.ResponseHeaderModifier)})
		add("headerModifiers", mw, err)
	}
	terminal := false
	if p.RequestRedirect != nil {
		mw, err := redirectMiddleware(p.RequestRedirect)
		add("requestRedirect", mw, err)
		terminal = true
	}
	if p.DirectResponse != nil {
		mw, err := directMiddleware(p.DirectResponse)
		add("directResponse", mw, err)
		terminal = true
	}
	if p.URLRewrite != nil {
		a := authority(p.URLRewrite.Authority)
		mw, err := rewrite.New(rewrite.Spec{Authority: a, Path: pathRewrite(p.URLRewrite.Path)})
		if err == nil && a.Kind == rewrite.AuthorityAuto {
			mw = chainMW(mw, autoHost)
		}
		add("urlRewrite", mw, err)
	}
	prefixRewrite := p.URLRewrite != nil && p.URLRewrite.Path != nil && p.URLRewrite.Path.Prefix != nil ||
		p.RequestRedirect != nil && p.RequestRedirect.Path != nil && p.RequestRedirect.Path.Prefix != nil
	if prefixRewrite {
		for i, m := range r.Matches {
			if m.Path != nil && m.Path.Regex != nil {
				c.errs.add(fmt.Sprintf("%s.matches[%d].path.regex", path, i), "a prefix path rewrite or redirect needs a prefix or exact path match; a regex match has no prefix to replace")
			}
		}
	}
	if p.RequestMirror != nil {
		mw, err := c.mirror(path+".policies.requestMirror", p)
		add("requestMirror", mw, err)
	}
	if a2aPol != nil {
		mws = append(mws, a2aPol.Inner())
	}

	var final http.Handler
	switch {
	case terminal:
		if len(r.Backends) > 0 {
			c.snap.Warnings = append(c.snap.Warnings, fmt.Sprintf("%s: route %q answers with a redirect or direct response; its backends are never used", path, name))
		}
		final = http.NotFoundHandler() // never reached: the terminal policy answers
	case len(r.Backends) == 0:
		final = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pipeline.Error(w, r, http.StatusServiceUnavailable, "route has no backends")
		})
	default:
		final = rc.backends(p, r.Backends)
	}
	spec.Handler = &routeHandler{
		chain:   pipeline.Chain(final, mws...),
		metrics: rc.metrics,
		dflt:    c.deps.Metrics.Route(telemetry.RouteLabels{Bind: bind, Gateway: bind, Listener: listener, Route: name, Protocol: "http"}),
	}
	return spec, rd
}

// routeCtx carries what building one route's backends needs.
type routeCtx struct {
	c        *compiler
	path     string
	bind     string
	listener string
	name     string
	dump     *routeDump
	metrics  map[string]*telemetry.RouteMetrics // by backend name
}

// routeHandler runs the chain and counts the request in the series of the
// backend that served it.
type routeHandler struct {
	chain   http.Handler
	metrics map[string]*telemetry.RouteMetrics
	dflt    *telemetry.RouteMetrics
}

func (h *routeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer h.observe(w, r) // also when ReverseProxy aborts a truncated response
	h.chain.ServeHTTP(w, r)
}

func (h *routeHandler) observe(w http.ResponseWriter, r *http.Request) {
	info := pipeline.InfoFrom(r.Context())
	if info.Status == 0 {
		if sw, ok := w.(*statusWriter); ok {
			info.Status = sw.status()
		}
	}
	m := h.metrics[info.Backend]
	if m == nil {
		m = h.dflt
	}
	m.ObserveInfo(r.Method, info, reasonOf(info))
}

func reasonOf(info *pipeline.Info) telemetry.Reason {
	switch {
	case info.Denied == pipeline.DeniedAuth:
		return telemetry.ReasonUnauthorized
	case info.Denied == pipeline.DeniedRateLimit:
		return telemetry.ReasonRateLimit
	case info.Endpoint == "" && info.Backend == "":
		if info.Status >= 500 {
			return telemetry.ReasonNoBackend
		}
		return telemetry.ReasonDirectResponse
	case info.Err != "" && info.Status == http.StatusGatewayTimeout:
		return telemetry.ReasonTimeout
	case info.Err != "" && info.Status == http.StatusRequestEntityTooLarge:
		return telemetry.ReasonInvalidRequest
	case info.Err != "":
		return telemetry.ReasonUpstreamFailure
	}
	return telemetry.ReasonUpstream
}

func matchSpec(m config.Match) route.MatchSpec {
	var ms route.MatchSpec
	if p := m.Path; p != nil {
		switch {
		case p.Exact != nil:
			ms.Path = route.PathSpec{Kind: route.PathExact, Value: *p.Exact}
		case p.Regex != nil:
			ms.Path = route.PathSpec{Kind: route.PathRegex, Value: *p.Regex}
		case p.PathPrefix != nil:
			ms.Path = route.PathSpec{Kind: route.PathPrefix, Value: *p.PathPrefix}
		}
	}
	if m.Method != nil {
		ms.Method = strings.ToUpper(*m.Method)
	}
	kv := func(in []config.KeyMatch) []route.KV {
		var out []route.KV
		for _, k := range in {
			if k.Value.Regex != nil {
				out = append(out, route.KV{Name: k.Name, Kind: route.ValueRegex, Value: *k.Value.Regex})
			} else if k.Value.Exact != nil {
				out = append(out, route.KV{Name: k.Name, Kind: route.ValueExact, Value: *k.Value.Exact})
			}
		}
		return out
	}
	ms.Headers = kv(m.Headers)
	ms.Query = kv(m.Query)
	return ms
}

func modifier(m *config.HeaderModifier) headers.Modifier {
	var out headers.Modifier
	if m == nil {
		return out
	}
	out.Add = sortedHeaders(m.Add)
	out.Set = sortedHeaders(m.Set)
	out.Remove = m.Remove
	return out
}

func sortedHeaders(m map[string]string) []headers.Header {
	out := make([]headers.Header, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, headers.Header{Name: k, Value: m[k]})
	}
	return out
}

func corsMiddleware(p *config.CORS) (pipeline.Middleware, error) {
	spec := cors.Spec{
		AllowOrigins: p.AllowOrigins, AllowMethods: p.AllowMethods, AllowHeaders: p.AllowHeaders,
		ExposeHeaders: p.ExposeHeaders, AllowCredentials: p.AllowCredentials,
	}
	if p.MaxAge != nil {
		d := p.MaxAge.Duration
		spec.MaxAge = &d
	}
	return cors.New(spec)
}

func authority(h *config.HostRewrite) rewrite.Authority {
	switch {
	case h == nil, h.None:
		return rewrite.Authority{}
	case h.Auto:
		return rewrite.Authority{Kind: rewrite.AuthorityAuto}
	case h.Full != nil:
		return rewrite.Authority{Kind: rewrite.AuthorityFull, Value: *h.Full}
	case h.Host != nil:
		return rewrite.Authority{Kind: rewrite.AuthorityHost, Value: *h.Host}
	case h.Port != nil:
		return rewrite.Authority{Kind: rewrite.AuthorityPort, Port: *h.Port}
	}
	return rewrite.Authority{}
}

func pathRewrite(p *config.PathRewrite) rewrite.Path {
	switch {
	case p == nil:
		return rewrite.Path{}
	case p.Full != nil:
		return rewrite.Path{Kind: rewrite.PathFull, Value: *p.Full}
	case p.Prefix != nil:
		return rewrite.Path{Kind: rewrite.PathPrefix, Value: *p.Prefix}
	}
	return rewrite.Path{}
}

func redirectMiddleware(p *config.RequestRedirect) (pipeline.Middleware, error) {
	spec := redirect.Spec{Authority: authority(p.Authority), Path: pathRewrite(p.Path)}
	if p.Scheme != nil {
		spec.Scheme = *p.Scheme
	}
	if p.Status != nil {
		spec.Status = *p.Status
	}
	return redirect.New(spec)
}

func directMiddleware(p *config.DirectResponse) (pipeline.Middleware, error) {
	if len(p.Conditional) > 0 {
		return nil, fmt.Errorf("conditional direct responses need CEL, which this gateway does not evaluate yet")
	}
	spec := direct.Spec{Status: p.Status}
	if p.Body != nil {
		spec.Body = []byte(*p.Body)
	}
	if p.BodyExpression != nil {
		spec.BodyExpression = *p.BodyExpression
	}
	if len(p.Headers) > 0 {
		return nil, fmt.Errorf("directResponse.headers are CEL expressions, which this gateway does not evaluate yet")
	}
	return direct.New(spec)
}

func (c *compiler) mirror(path string, p *config.Policies) (pipeline.Middleware, error) {
	m := p.RequestMirror
	if m.Backend.Host == nil {
		return nil, fmt.Errorf("only `backend: {host: ...}` mirrors are supported yet")
	}
	up, _, err := c.upstream(path+".backend.host", *m.Backend.Host, *m.Backend.Host, p.BackendTLS, nil, nil)
	if err != nil {
		return nil, err
	}
	mir, err := backend.NewMirror(backend.MirrorSpec{Target: up, Percentage: m.Percentage})
	if err != nil {
		return nil, err
	}
	return mir.Middleware(), nil
}

// autoHost implements `authority: auto`: the upstream's own address becomes
// the Host header (the backend uses its address when r.Host is empty).
func autoHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.WithContext(r.Context())
		r2.Host = ""
		next.ServeHTTP(w, r2)
	})
}

func chainMW(a, b pipeline.Middleware) pipeline.Middleware {
	return func(next http.Handler) http.Handler { return a(b(next)) }
}
