package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Default ports of the simplified forms (agentgateway's defaults).
const (
	DefaultLLMPort = 4000
	DefaultMCPPort = 3000
)

// Validate checks the semantic rules that decoding cannot (ranges, enums,
// regexes, uniqueness, port collisions). It returns nil or *Errors; errors
// carry positions when the config came from Load.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	v := &validator{c: c}
	v.settings(c.Config)
	v.binds()
	if c.LLM != nil {
		v.llm(c.LLM)
	}
	if c.MCP != nil {
		v.simpleMCP(c.MCP)
	}
	return asError(v.errs)
}

type validator struct {
	c    *Config
	errs []*FieldError
}

func (v *validator) errorf(path, format string, args ...any) {
	p, _ := v.c.Pos(path)
	v.errs = append(v.errs, &FieldError{Path: path, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

// enum checks an optional string against allowed values.
func (v *validator) enum(path string, s *string, allowed ...string) {
	if s == nil {
		return
	}
	for _, a := range allowed {
		if *s == a {
			return
		}
	}
	v.errorf(path, "invalid value %q: must be one of %s%s", *s, strings.Join(allowed, ", "), suggest(*s, allowed))
}

// LogLevels are the accepted logging levels.
var LogLevels = []string{"trace", "debug", "info", "warn", "error", "off"}

// LevelName returns the global log level: the first entry of `level` that
// is not a per-module directive ("info,rmcp=debug" → "info"), or "" when
// none is given.
func (l *Logging) LevelName() string {
	if l == nil || l.Level == nil {
		return ""
	}
	for _, entry := range *l.Level {
		for _, part := range strings.Split(entry, ",") {
			part = strings.TrimSpace(part)
			if part != "" && !strings.Contains(part, "=") {
				return strings.ToLower(part)
			}
		}
	}
	return ""
}

func (v *validator) settings(s *Settings) {
	if s == nil {
		return
	}
	if l := s.Logging; l != nil {
		v.enum("config.logging.format", l.Format, "text", "json")
		if l.Level != nil {
			for i, entry := range *l.Level {
				path := "config.logging.level"
				if len(*l.Level) > 1 {
					path = indexPath(path, i)
				}
				for _, part := range strings.Split(entry, ",") {
					part = strings.TrimSpace(part)
					lvl := part
					if _, after, ok := strings.Cut(part, "="); ok {
						lvl = after
					}
					if part == "" || !contains(LogLevels, strings.ToLower(lvl)) {
						v.errorf(path, "invalid log level %q: must be one of %s (optionally followed by module=level entries, e.g. \"info,rmcp=debug\")%s",
							part, strings.Join(LogLevels, ", "), suggest(lvl, LogLevels))
					}
				}
			}
		}
	}
	if t := s.Tracing; t != nil {
		v.enum("config.tracing.otlpProtocol", t.OTLPProtocol, "grpc", "http")
		if t.OTLPEndpoint != nil {
			v.hostOrURL("config.tracing.otlpEndpoint", *t.OTLPEndpoint)
		}
	}
	v.enum("config.histograms", s.Histograms, "classic", "native", "both")
	if s.Session != nil && s.Session.Key == "" {
		v.errorf("config.session.key", "must not be empty")
	}
}

func (v *validator) binds() {
	first := map[int]string{}
	for i := range v.c.Binds {
		b := &v.c.Binds[i]
		path := indexPath("binds", i)
		v.enum(path+".tunnelProtocol", b.TunnelProtocol, "direct", "hboneWaypoint", "hboneGateway", "proxy", "connect")
		v.enum(path+".mode", b.Mode, "standard", "internal")
		if b.Port < 1 || b.Port > 65535 {
			v.errorf(path+".port", "port %d is out of range 1-65535", b.Port)
		} else if prev, dup := first[b.Port]; dup {
			v.errorf(path+".port", "port %d is already used by %s", b.Port, prev)
		} else {
			first[b.Port] = path
		}
		for j := range b.Listeners {
			v.listener(indexPath(path+".listeners", j), &b.Listeners[j])
		}
	}
	// The simplified forms become binds too (see Expand).
	if l := v.c.LLM; l != nil && l.Gateways == nil {
		port := DefaultLLMPort
		if l.Port != nil {
			port = *l.Port
		}
		v.simplePort("llm.port", port, first)
	}
	if m := v.c.MCP; m != nil && m.Gateways == nil {
		port := DefaultMCPPort
		if m.Port != nil {
			port = *m.Port
		}
		v.simplePort("mcp.port", port, first)
	}
}

func (v *validator) simplePort(path string, port int, first map[int]string) {
	if port < 1 || port > 65535 {
		v.errorf(path, "port %d is out of range 1-65535", port)
		return
	}
	if prev, dup := first[port]; dup {
		what := "the default port"
		if _, ok := v.c.pos[path]; ok {
			what = "port"
		}
		v.errorf(path, "%s %d of `%s` collides with %s (set a different %s)", what, port,
			strings.TrimSuffix(path, ".port"), prev, path)
		return
	}
	first[port] = path
}

func (v *validator) listener(path string, l *Listener) {
	v.enum(path+".protocol", l.Protocol, "HTTP", "HTTPS", "TLS", "TCP", "HBONE")
	if l.Protocol != nil && *l.Protocol == "HTTPS" {
		switch {
		case l.TLS == nil:
			v.errorf(path, "protocol HTTPS needs a tls block with cert and key")
		case l.TLS.Spiffe == nil && (l.TLS.Cert == nil || l.TLS.Key == nil):
			v.errorf(path+".tls", "protocol HTTPS needs tls.cert and tls.key")
		}
	}
	if l.TLS != nil {
		v.serverTLS(path+".tls", l.TLS)
	}
	if l.Policies != nil {
		p := l.Policies
		pp := path + ".policies"
		v.jwt(pp+".jwtAuth", p.JWTAuth)
		v.apiKey(pp+".apiKey", p.APIKey)
		v.basicAuth(pp+".basicAuth", p.BasicAuth)
		v.extAuthz(pp+".extAuthz", p.ExtAuthz)
		v.cors(pp+".cors", p.CORS)
	}
	for i := range l.Routes {
		v.route(indexPath(path+".routes", i), &l.Routes[i])
	}
}

func (v *validator) serverTLS(path string, t *ServerTLS) {
	v.enum(path+".mode", t.Mode, "static", "dynamicCa")
	if t.MinTLSVersion != nil && t.MinTLSVersionAlt != nil {
		v.errorf(path, "set only one of minTLSVersion and minTlsVersion")
	}
	if t.MaxTLSVersion != nil && t.MaxTLSVersionAlt != nil {
		v.errorf(path, "set only one of maxTLSVersion and maxTlsVersion")
	}
	if (t.Cert == nil) != (t.Key == nil) {
		v.errorf(path, "cert and key must be set together")
	}
}

func (v *validator) route(path string, r *Route) {
	for i := range r.Matches {
		m := &r.Matches[i]
		mp := indexPath(path+".matches", i)
		if p := m.Path; p != nil {
			if p.Exact != nil && !strings.HasPrefix(*p.Exact, "/") {
				v.errorf(mp+".path.exact", "path %q must start with \"/\"", *p.Exact)
			}
			if p.PathPrefix != nil && !strings.HasPrefix(*p.PathPrefix, "/") {
				v.errorf(mp+".path.pathPrefix", "path prefix %q must start with \"/\"", *p.PathPrefix)
			}
			if p.Regex != nil {
				v.regex(mp+".path.regex", *p.Regex)
			}
		}
		for j, h := range m.Headers {
			hp := indexPath(mp+".headers", j)
			name := strings.TrimPrefix(h.Name, ":")
			if !isToken(name) {
				v.errorf(hp+".name", "invalid header name %q", h.Name)
			}
			if h.Value.Regex != nil {
				v.regex(hp+".value.regex", *h.Value.Regex)
			}
		}
		for j, q := range m.Query {
			qp := indexPath(mp+".query", j)
			if q.Name == "" {
				v.errorf(qp+".name", "must not be empty")
			}
			if q.Value.Regex != nil {
				v.regex(qp+".value.regex", *q.Value.Regex)
			}
		}
		if m.Method != nil && !isToken(*m.Method) {
			v.errorf(mp+".method", "invalid method %q", *m.Method)
		}
	}
	v.policies(path+".policies", r.Policies)
	for i := range r.Backends {
		v.backend(indexPath(path+".backends", i), &r.Backends[i])
	}
}

func (v *validator) regex(path, re string) {
	if _, err := regexp.Compile(re); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		v.errorf(path, "invalid regex %q: %s", re, msg)
	}
}

// isToken reports whether s is an RFC 9110 token (header names, methods).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c <= ' ' || strings.IndexByte("\"(),/:;<=>?@[\\]{}\x7f", c) >= 0 {
			return false
		}
	}
	return true
}

// hostOrURL checks `host:port` or an http(s) URL.
func (v *validator) hostOrURL(path, s string) {
	if msg := checkHostOrURL(s); msg != "" {
		v.errorf(path, "%s", msg)
	}
}

func checkHostOrURL(s string) string {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Sprintf("invalid URL %q: %v", s, err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Sprintf("invalid URL %q: scheme must be http or https", s)
		}
		if u.Host == "" {
			return fmt.Sprintf("invalid URL %q: no host", s)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return fmt.Sprintf("invalid URL %q: bad port", s)
			}
		}
		return ""
	}
	return checkHostPort(s)
}

func checkHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Sprintf("invalid host %q: expected host:port or an http(s) URL", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("invalid host %q: port must be 1-65535", s)
	}
	return ""
}

func (v *validator) backend(path string, b *Backend) {
	if b.Weight != nil && *b.Weight < 0 {
		v.errorf(path+".weight", "weight %d must not be negative", *b.Weight)
	}
	if b.Host != nil {
		v.hostOrURL(path+".host", *b.Host)
	}
	if b.Service != nil {
		v.service(path+".service", b.Service)
	}
	v.backendPolicies(path+".policies", b.Policies)
	if b.AI != nil {
		v.aiBackend(path+".ai", b.AI)
	}
	if b.MCP != nil {
		v.mcpBackend(path+".mcp", b.MCP.Targets, b.MCP.StatefulMode, b.MCP.PrefixMode, b.MCP.FailureMode)
	}
}

func (v *validator) service(path string, s *ServiceRef) {
	if s.Name == "" {
		v.errorf(path+".name", "must not be empty")
	}
	if s.Port < 1 || s.Port > 65535 {
		v.errorf(path+".port", "port %d is out of range 1-65535", s.Port)
	}
}

func (v *validator) aiBackend(path string, a *AIBackend) {
	if len(a.Groups) > 0 {
		if a.Name != nil || a.Provider != nil || a.HostOverride != nil || a.PathOverride != nil ||
			a.PathPrefix != nil || a.Policies != nil {
			v.errorf(path, "groups cannot be combined with name, provider, hostOverride, pathOverride, pathPrefix or policies")
		}
		for i, g := range a.Groups {
			for j := range g.Providers {
				p := &g.Providers[j]
				pp := indexPath(indexPath(path+".groups", i)+".providers", j)
				v.aiProvider(pp+".provider", &p.Provider)
				if p.HostOverride != nil {
					v.hostOrURL(pp+".hostOverride", *p.HostOverride)
				}
				v.backendPolicies(pp+".policies", p.Policies)
			}
		}
		return
	}
	if a.Name == nil {
		v.errorf(path, "missing required key \"name\"")
	}
	if a.Provider == nil {
		v.errorf(path, "missing required key \"provider\" (or use groups)")
	} else {
		v.aiProvider(path+".provider", a.Provider)
	}
	if a.HostOverride != nil {
		v.hostOrURL(path+".hostOverride", *a.HostOverride)
	}
	v.backendPolicies(path+".policies", a.Policies)
}

func (v *validator) aiProvider(path string, p *AIProvider) {
	for key, pm := range map[string]*ProviderModel{"anthropic": p.Anthropic, "gemini": p.Gemini, "copilot": p.Copilot} {
		if pm != nil && pm.Moderation != nil {
			v.errorf(path+"."+key+".moderation", "moderation is only supported by the openAI provider")
		}
	}
	if p.Azure != nil {
		v.enum(path+".azure.resourceType", &p.Azure.ResourceType, "openAI", "foundry", "aiServices")
	}
}

func (v *validator) mcpBackend(path string, targets []MCPTarget, stateful, prefix, failure *string) {
	v.enum(path+".statefulMode", stateful, "stateful", "stateless")
	v.enum(path+".prefixMode", prefix, "conditional", "always", "never")
	v.enum(path+".failureMode", failure, "failClosed", "failOpen")
	seen := map[string]string{}
	for i := range targets {
		t := &targets[i]
		tp := indexPath(path+".targets", i)
		switch {
		case strings.TrimSpace(t.Name) == "":
			v.errorf(tp+".name", "target name must not be empty")
		case len(targets) > 1 && strings.Contains(t.Name, "_"):
			v.errorf(tp+".name", "target name %q must not contain \"_\" (the tool-name delimiter) when there is more than one target", t.Name)
		}
		if prev, dup := seen[t.Name]; dup && t.Name != "" {
			v.errorf(tp+".name", "duplicate target name %q (also %s)", t.Name, prev)
		} else {
			seen[t.Name] = tp
		}
		if t.Stdio != nil && strings.TrimSpace(t.Stdio.Cmd) == "" {
			v.errorf(tp+".stdio.cmd", "must not be empty")
		}
		if t.MCP != nil {
			v.mcpHost(tp+".mcp", t.MCP.Host, t.MCP.Port, t.MCP.Path, t.MCP.Backend)
		}
		if t.SSE != nil {
			v.mcpHost(tp+".sse", t.SSE.Host, t.SSE.Port, t.SSE.Path, t.SSE.Backend)
		}
		if o := t.OpenAPI; o != nil {
			host := ""
			if o.Host != nil {
				host = *o.Host
			}
			v.mcpHost(tp+".openapi", host, o.Port, o.Path, o.Backend)
		}
		if t.Policies != nil {
			v.backendPolicies(tp+".policies", t.Policies.AsBackendPolicies())
		}
	}
}

// mcpHost checks the forms {host: URL|host:port}, {host, port, path}, {backend, path?}.
func (v *validator) mcpHost(path, host string, port *int, p *string, backend *string) {
	switch {
	case backend != nil:
		if host != "" || port != nil {
			v.errorf(path, "backend cannot be combined with host or port")
		}
	case host == "":
		v.errorf(path, "missing required key \"host\" (or \"backend\")")
	case port != nil || p != nil:
		if port == nil || p == nil {
			v.errorf(path, "host with port or path needs all three of host, port and path")
			return
		}
		if *port < 1 || *port > 65535 {
			v.errorf(path+".port", "port %d is out of range 1-65535", *port)
		}
		if strings.Contains(host, "/") || strings.Contains(host, ":") {
			v.errorf(path+".host", "with port and path, host is a hostname, got %q", host)
		}
	default:
		v.hostOrURL(path+".host", host)
	}
	if p != nil && *p != "" && !strings.HasPrefix(*p, "/") {
		v.errorf(path+".path", "path %q must start with \"/\"", *p)
	}
}
