package compile

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/mcp"
	"github.com/agentgw/agentgateway/internal/policy/jwtauth"
)

// mcpService builds an MCP route: one mcp backend federating its targets
// (internal/mcp serves it).
func (rc *routeCtx) mcpService(p *config.Policies, b *config.Backend) http.Handler {
	rc.dumpBackends([]config.Backend{*b})
	path := fmt.Sprintf("%s.backends[0].mcp", rc.path)
	m := b.MCP
	c := rc.c
	if b.Policies != nil {
		c.refuseUnbuilt(rc.path+".backends[0].policies", b.Policies, set("mcpAuthorization"), "backend policy on an mcp backend")
	}
	spec := mcp.Spec{
		Route:        rc.listener + "/" + rc.name, // not the port: replicas may differ
		Prefix:       mcp.PrefixConditional,
		Log:          c.deps.Log,
		Metrics:      c.deps.Metrics.MCP(),
		DNSRebinding: m.DNSRebindingProtection != nil && *m.DNSRebindingProtection,
	}
	switch deref(m.PrefixMode) {
	case "always":
		spec.Prefix = mcp.PrefixAlways
	case "never":
		spec.Prefix = mcp.PrefixNever
	}
	spec.FailOpen = deref(m.FailureMode) == "failOpen"
	spec.Stateless = deref(m.StatefulMode) == "stateless"
	if p.CORS != nil {
		spec.AllowedOrigins = p.CORS.AllowOrigins
		if slices.Contains(p.CORS.AllowOrigins, "*") {
			c.snap.Warnings = append(c.snap.Warnings, fmt.Sprintf("%s: route %q allows any CORS origin on an MCP endpoint that has no authentication", rc.path, rc.name))
		}
	}
	if t := p.Timeout; t != nil && t.RequestTimeout != nil {
		d := t.RequestTimeout.Duration
		spec.CallTimeout, spec.ListTimeout, spec.InitTimeout = d, d, d
	}
	if s := c.snap.Config.Config; s != nil && s.MCP != nil && s.MCP.SessionTTL != nil {
		spec.SessionIdle = s.MCP.SessionTTL.Duration
	}
	key, warn, err := sessionKey(c.snap.Config)
	if err != nil {
		c.errs.add("config.session.key", "%v", err)
	}
	if warn != "" {
		c.snap.Warnings = append(c.snap.Warnings, warn)
	}
	spec.Key = key
	spec.Authz = rc.mcpAuthz(p, b)
	rs, err := mcpAuthentication(p.MCPAuthentication)
	if err != nil {
		c.errs.add(rc.path+".policies.mcpAuthentication", "%v", err)
	}
	if rs != nil {
		rc.dump.Policies = append(rc.dump.Policies, "mcpAuthentication")
		if res, ok := p.MCPAuthentication.ResourceMetadata["resource"].(string); ok && !slices.Contains(p.MCPAuthentication.Audiences, res) {
			c.snap.Warnings = append(c.snap.Warnings, fmt.Sprintf("%s.policies.mcpAuthentication: audiences do not include resourceMetadata.resource %q: tokens issued for this resource (RFC 8707) will be refused", rc.path, res))
		}
	}

	var routeHeaders []mcp.Header
	if h := p.RequestHeaderModifier; h != nil {
		routeHeaders = headerOps(h)
	}
	// Plain-HTTP targets share the host backends' upstream pools (and their
	// lean HTTP/1.1 client); TLS targets get a transport of their own.
	plain, plainKey := c.deps.Transports.Plain()
	c.snap.keys = append(c.snap.keys, plainKey)
	for i := range m.Targets {
		tp := fmt.Sprintf("%s.targets[%d]", path, i)
		t, err := mcpTarget(&m.Targets[i], p, routeHeaders, plain)
		if err != nil {
			c.errs.add(tp, "%v", err)
			continue
		}
		if len(m.Targets) > 1 && strings.Contains(t.Name, mcp.URIDelimiter) {
			c.errs.add(tp+".name", "target name %q must not contain %q (the resource-URI delimiter) when there is more than one target", t.Name, mcp.URIDelimiter)
		}
		spec.Targets = append(spec.Targets, t)
	}
	if len(spec.Targets) != len(m.Targets) || len(c.errs.list) > 0 {
		return http.NotFoundHandler() // errors recorded; the config is refused
	}
	h, err := mcp.New(spec)
	if err != nil {
		c.errs.add(path, "%v", err)
		return http.NotFoundHandler()
	}
	c.snap.closers = append(c.snap.closers, h.Close)
	if rs != nil {
		return rs.Middleware()(h)
	}
	return h
}

// mcpAuthz is the route's mcpAuthorization and the mcp backend's, both of
// which must allow (nil when neither is set or a rule did not compile: the
// error is recorded).
func (rc *routeCtx) mcpAuthz(p *config.Policies, b *config.Backend) mcp.Authorizer {
	var all allOf
	if pol := rc.c.mcpAuthorization(rc.path+".policies.mcpAuthorization", p); pol != nil {
		all = append(all, pol)
	}
	if b.Policies != nil && b.Policies.MCPAuthorization != nil {
		if pol := rc.c.authzPolicy(rc.path+".backends[0].policies.mcpAuthorization", b.Policies.MCPAuthorization); pol != nil {
			all = append(all, pol)
		}
	}
	switch len(all) {
	case 0:
		return nil
	case 1:
		rc.dump.Policies = append(rc.dump.Policies, "mcpAuthorization")
		return all[0]
	}
	rc.dump.Policies = append(rc.dump.Policies, "mcpAuthorization")
	return all
}

// allOf allows what every one of its authorizers allows.
type allOf []mcp.Authorizer

func (a allOf) Allowed(r *http.Request, m *cel.MCP) bool {
	for _, x := range a {
		if !x.Allowed(r, m) {
			return false
		}
	}
	return true
}

// mcpRouteChecks refuses the MCP policies on a route without an mcp
// backend (they would protect nothing), and warns when mcpAuthentication's
// metadata path is outside the route's matches (clients could not
// discover the authorization server).
func (c *compiler) mcpRouteChecks(path string, r *config.Route, p *config.Policies) {
	if p.MCPAuthorization == nil && p.MCPAuthentication == nil {
		return
	}
	hasMCP := false
	for i := range r.Backends {
		hasMCP = hasMCP || r.Backends[i].MCP != nil
	}
	if !hasMCP {
		for key, set := range map[string]bool{"mcpAuthorization": p.MCPAuthorization != nil, "mcpAuthentication": p.MCPAuthentication != nil} {
			if set {
				c.errs.add(path+".policies."+key, "%s applies only to a route with an mcp backend", key)
			}
		}
		return
	}
	if p.MCPAuthentication == nil || len(r.Matches) == 0 {
		return
	}
	for _, m := range r.Matches {
		switch pm := m.Path; {
		case pm == nil, pm.PathPrefix != nil && strings.HasPrefix(jwtauth.WellKnownResource, strings.TrimSuffix(*pm.PathPrefix, "/")):
			return
		case pm.Regex != nil:
			return // cannot tell; assume the author covered it
		}
	}
	c.snap.Warnings = append(c.snap.Warnings, fmt.Sprintf("%s: mcpAuthentication serves its metadata at %s/<path>, which this route's matches exclude; add a match `pathPrefix: %s` so clients can discover the authorization server", path, jwtauth.WellKnownResource, jwtauth.WellKnownResource))
}

// sessionKey returns the key sealing MCP session ids: config.session.key,
// else $SESSION_KEY, else one generated for this process (with a warning).
func sessionKey(cfg *config.Config) ([]byte, string, error) {
	if s := cfg.Config; s != nil && s.Session != nil && s.Session.Key != "" {
		k, err := mcp.ParseKey(s.Session.Key)
		return k, "", err
	}
	if v := os.Getenv("SESSION_KEY"); v != "" {
		k, err := mcp.ParseKey(v)
		if err != nil {
			return nil, "", fmt.Errorf("$SESSION_KEY: %w", err)
		}
		return k, "", nil
	}
	return mcp.ProcessKey(), "no MCP session key (config.session.key or $SESSION_KEY): generated one for this process; MCP sessions cannot move to another replica or survive a restart", nil
}

func mcpTarget(t *config.MCPTarget, rp *config.Policies, routeHeaders []mcp.Header, plain http.RoundTripper) (*mcp.TargetSpec, error) {
	out := &mcp.TargetSpec{Name: t.Name}
	pol := t.Policies
	switch {
	case t.Stdio != nil:
		if pol != nil {
			return nil, errors.New("policies are not supported on stdio targets")
		}
		out.Kind, out.Cmd, out.Args, out.Env, out.ClearEnv = mcp.KindStdio, t.Stdio.Cmd, t.Stdio.Args, t.Stdio.Env, t.Stdio.ClearEnv
		return out, nil
	case t.MCP != nil:
		out.Kind = mcp.KindStreamable
		u, err := mcpURL(t.MCP.Host, t.MCP.Port, t.MCP.Path, t.MCP.Backend, "/mcp")
		if err != nil {
			return nil, fmt.Errorf("mcp: %w", err)
		}
		out.URL = u
	case t.SSE != nil:
		out.Kind = mcp.KindSSE
		u, err := mcpURL(t.SSE.Host, t.SSE.Port, t.SSE.Path, t.SSE.Backend, "/sse")
		if err != nil {
			return nil, fmt.Errorf("sse: %w", err)
		}
		out.URL = u
	case t.OpenAPI != nil:
		o := t.OpenAPI
		out.Kind = mcp.KindOpenAPI
		if o.Host != nil || o.Backend != nil {
			u, err := mcpURL(deref(o.Host), o.Port, o.Path, o.Backend, "")
			if err != nil {
				return nil, fmt.Errorf("openapi: %w", err)
			}
			out.URL = u
		}
		switch s := o.Schema; {
		case s.Inline != nil:
			out.Schema = []byte(*s.Inline)
		case s.File != nil:
			b, err := os.ReadFile(*s.File)
			if err != nil {
				return nil, fmt.Errorf("openapi.schema: %w", err)
			}
			out.Schema = b
		default:
			return nil, errors.New("openapi.schema.url is not supported by this gateway yet (fetching a schema at load is an SSRF risk); use file or an inline string")
		}
	default:
		return nil, errors.New("target needs one of stdio, mcp, sse, openapi")
	}
	var tlsCfg *config.BackendTLS
	var auth *config.BackendAuth
	if rp != nil {
		tlsCfg, auth = rp.BackendTLS, rp.BackendAuth
	}
	out.Headers = append(out.Headers, routeHeaders...)
	if pol != nil {
		if u := unbuilt(pol, set("requestHeaderModifier", "backendTLS", "backendAuth")); len(u) > 0 {
			return nil, fmt.Errorf("policies.%s: not supported on MCP targets yet", u[0])
		}
		if pol.BackendTLS != nil {
			tlsCfg = pol.BackendTLS
		}
		if pol.BackendAuth != nil {
			auth = pol.BackendAuth
		}
		if pol.RequestHeaderModifier != nil {
			out.Headers = append(out.Headers, headerOps(pol.RequestHeaderModifier)...)
		}
	}
	if auth != nil {
		if u := unbuilt(auth, set("key")); len(u) > 0 {
			return nil, fmt.Errorf("backendAuth.%s: not supported on MCP targets yet", u[0])
		}
		if auth.Key != nil {
			if auth.Key.Loc != nil {
				return nil, errors.New("backendAuth.key.location is not supported on MCP targets yet")
			}
			k, err := readSecret(auth.Key.Value)
			if err != nil {
				return nil, fmt.Errorf("backendAuth.key: %w", err)
			}
			out.Headers = append(out.Headers, mcp.Header{Name: "Authorization", Value: "Bearer " + k, Op: mcp.HeaderSet})
		}
	}
	if tlsCfg == nil && strings.HasPrefix(out.URL, "http://") {
		out.HTTP = &http.Client{Transport: plain}
		return out, nil
	}
	tr := &http.Transport{
		Proxy: nil, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second, ForceAttemptHTTP2: true,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}
	if tlsCfg != nil {
		tc, err := mcpTLS(tlsCfg)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
		if strings.HasPrefix(out.URL, "http://") {
			out.URL = "https://" + strings.TrimPrefix(out.URL, "http://")
		}
	}
	out.HTTP = &http.Client{Transport: tr}
	return out, nil
}

// mcpURL resolves the target address forms: a URL, host:port (+ the
// default path), or host + port + path.
func mcpURL(host string, port *int, path, backend *string, dflt string) (string, error) {
	if backend != nil {
		return "", errors.New("backend references are not supported by this gateway yet; use host")
	}
	if port != nil {
		return "http://" + net.JoinHostPort(host, strconv.Itoa(*port)) + deref(path), nil
	}
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("host %q: want an http(s) URL or host:port", host)
		}
		if path != nil {
			u.Path = *path
		}
		return u.String(), nil
	}
	p := dflt
	if path != nil {
		p = *path
	}
	return "http://" + host + p, nil
}

func headerOps(h *config.HeaderModifier) []mcp.Header {
	var out []mcp.Header
	for _, k := range sortedKeys(h.Set) {
		out = append(out, mcp.Header{Name: k, Value: h.Set[k], Op: mcp.HeaderSet})
	}
	for _, k := range sortedKeys(h.Add) {
		out = append(out, mcp.Header{Name: k, Value: h.Add[k], Op: mcp.HeaderAdd})
	}
	for _, k := range h.Remove {
		out = append(out, mcp.Header{Name: k, Op: mcp.HeaderRemove})
	}
	return out
}

// mcpTLS builds the TLS settings of an MCP target (backendTLS).
func mcpTLS(t *config.BackendTLS) (*tls.Config, error) {
	if len(t.SubjectAltNames) > 0 || len(t.KeyExchangeGroups) > 0 || t.Spiffe != nil {
		return nil, errors.New("backendTLS: subjectAltNames, keyExchangeGroups and spiffe are not supported on MCP targets yet")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: deref(t.Hostname), NextProtos: t.ALPN,
		InsecureSkipVerify: t.Insecure} //nolint:gosec // explicit user opt-in
	if t.Root != nil {
		pem, err := os.ReadFile(*t.Root) //nolint:gosec // G703: the operator's config names the file
		if err != nil {
			return nil, fmt.Errorf("backendTLS.root: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("backendTLS.root: no PEM certificates in %s", *t.Root)
		}
		cfg.RootCAs = pool
	}
	if (t.Cert == nil) != (t.Key == nil) {
		return nil, errors.New("backendTLS: cert and key must be set together")
	}
	if t.Cert != nil {
		cert, err := tls.LoadX509KeyPair(*t.Cert, *t.Key)
		if err != nil {
			return nil, fmt.Errorf("backendTLS: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if t.InsecureHost && !t.Insecure {
		roots := cfg.RootCAs
		cfg.InsecureSkipVerify = true //nolint:gosec // chain still verified below
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}
