package compile

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/backend"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/policy/headers"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// service builds the route's backend set with its retry and timeout policies.
func (rc *routeCtx) service(p *config.Policies, backends []config.Backend) http.Handler {
	c := rc.c
	spec := backend.ServiceSpec{}
	if t := p.Timeout; t != nil {
		if t.RequestTimeout != nil {
			spec.RequestTimeout = t.RequestTimeout.Duration
		}
		if t.BackendRequestTimeout != nil {
			spec.BackendRequestTimeout = t.BackendRequestTimeout.Duration
		}
	}
	if r := p.Retry; r != nil {
		if r.Precondition != nil || r.Condition != nil {
			c.errs.add(rc.path+".policies.retry", "retry precondition/condition are CEL expressions, which this gateway does not evaluate yet")
		}
		rs := &backend.RetrySpec{Codes: r.Codes}
		if r.Attempts != nil {
			rs.Attempts = *r.Attempts
		}
		if r.Backoff != nil {
			rs.Backoff = r.Backoff.Duration
		}
		spec.Retry = rs
		rc.dump.Policies = append(rc.dump.Policies, "retry")
	}
	if p.Timeout != nil {
		rc.dump.Policies = append(rc.dump.Policies, "timeout")
	}
	rc.metrics = map[string]*telemetry.RouteMetrics{}
	for i := range backends {
		bp := fmt.Sprintf("%s.backends[%d]", rc.path, i)
		t, ok := rc.target(bp, p, &backends[i])
		if ok {
			spec.Targets = append(spec.Targets, t)
		}
	}
	if len(spec.Targets) == 0 {
		return http.NotFoundHandler() // only reached when errors were recorded
	}
	h, err := backend.NewService(spec)
	if err != nil {
		c.errs.add(rc.path+".backends", "%v", err)
		return http.NotFoundHandler()
	}
	return h
}

// target builds one weighted backend.
func (rc *routeCtx) target(path string, rp *config.Policies, b *config.Backend) (backend.Target, bool) {
	c := rc.c
	weight := 1
	if b.Weight != nil {
		weight = *b.Weight
	}
	bp := b.Policies
	if bp == nil {
		bp = &config.BackendPolicies{}
	}
	c.refuseUnbuilt(path+".policies", bp, builtBackendPolicies, "backend policy")

	kind, name, served := backendKind(b)
	rc.dump.Backends = append(rc.dump.Backends, &backendDump{Name: name, Kind: kind, Weight: weight, Served: served})
	rc.metrics[name] = c.deps.Metrics.Route(telemetry.RouteLabels{
		Bind: rc.bind, Gateway: rc.bind, Listener: rc.listener, Route: rc.name, Backend: name, Protocol: protocolOf(kind),
	})
	if !served {
		c.errs.add(path, "this backend kind is part of agentgateway's config language but not supported by this gateway yet (supported: host; parsed: ai, openAI, anthropic, gemini, vertex, bedrock, azureOpenAI, mcp)")
		return backend.Target{}, false
	}

	// Route-level backendTLS/backendAuth apply to every backend; a backend's own override them.
	tlsCfg, auth := rp.BackendTLS, rp.BackendAuth
	if bp.BackendTLS != nil {
		tlsCfg = bp.BackendTLS
	}
	if bp.BackendAuth != nil {
		auth = bp.BackendAuth
	}
	cloudAuth, auth, err := hostCloudAuth(auth, *b.Host) // backendAuth.gcp/aws/azure (cloudauth_host.go)
	if err != nil {
		c.errs.add(path, "%v", err)
		return backend.Target{}, false
	}
	up, timeout, err := c.upstream(path+".host", name, *b.Host, tlsCfg, auth, bp.HTTP)
	if err != nil {
		c.errs.add(path, "%v", err)
		return backend.Target{}, false
	}
	var h http.Handler = up
	if cloudAuth != nil {
		h = cloudAuth(h)
	}
	if bp.RequestHeaderModifier != nil || bp.ResponseHeaderModifier != nil {
		mw, err := headers.New(headers.Spec{Request: modifier(bp.RequestHeaderModifier), Response: modifier(bp.ResponseHeaderModifier)})
		if err != nil {
			c.errs.add(path+".policies", "%v", err)
			return backend.Target{}, false
		}
		h = mw(h)
	}
	return backend.Target{Handler: h, Weight: weight, Timeout: timeout}, true
}

func protocolOf(kind string) string {
	switch kind {
	case "mcp":
		return "mcp"
	case "host":
		return "http"
	}
	return "llm"
}

// backendKind names a backend's kind, its display name, and whether this
// gateway serves it.
func backendKind(b *config.Backend) (kind, name string, served bool) {
	short := func(k string, s *config.ShortLLM) (string, string, bool) {
		n := k
		if s.Model != nil {
			n = k + "/" + *s.Model
		}
		return k, n, false
	}
	switch {
	case b.Host != nil:
		return "host", hostName(*b.Host), true
	case b.AI != nil:
		n := "ai"
		if b.AI.Name != nil {
			n = *b.AI.Name
		}
		return "ai", n, false
	case b.MCP != nil:
		return "mcp", "mcp", true
	case b.OpenAI != nil:
		return short("openAI", b.OpenAI)
	case b.Anthropic != nil:
		return short("anthropic", b.Anthropic)
	case b.Gemini != nil:
		return short("gemini", b.Gemini)
	case b.Vertex != nil:
		return short("vertex", b.Vertex)
	case b.Bedrock != nil:
		return short("bedrock", b.Bedrock)
	case b.Azure != nil:
		return short("azureOpenAI", b.Azure)
	}
	return "unsupported", "unsupported", false
}

// hostName is the backend's name in metrics and logs: host:port.
func hostName(h string) string {
	if u, err := url.Parse(h); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return hostPort(u)
	}
	return h
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// upstream builds the proxy to one host ("host:port" or an http(s) URL).
func (c *compiler) upstream(path, name, host string, tlsCfg *config.BackendTLS, auth *config.BackendAuth, hc *config.BackendHTTP) (*backend.Upstream, time.Duration, error) {
	spec := backend.UpstreamSpec{Name: name, Scheme: "http", Logger: c.deps.Log}
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, 0, fmt.Errorf("host %q: want host:port or an http(s) URL", host)
		}
		if u.Path != "" && u.Path != "/" {
			return nil, 0, fmt.Errorf("host %q: a backend URL cannot carry a path here; use urlRewrite to change the path", host)
		}
		spec.Scheme, spec.Address = u.Scheme, hostPort(u)
	} else {
		if _, port, err := net.SplitHostPort(host); err != nil || port == "" {
			return nil, 0, fmt.Errorf("host %q: want host:port or an http(s) URL", host)
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, 0, fmt.Errorf("host %q: invalid port", host)
		}
		spec.Address = host
	}
	if tlsCfg != nil {
		c.refuseUnbuilt(path+".backendTLS", tlsCfg, builtBackendTLS, "backendTLS key")
		spec.Scheme = "https"
		spec.TLS = &backend.TLSSpec{
			RootFile: deref(tlsCfg.Root), CertFile: deref(tlsCfg.Cert), KeyFile: deref(tlsCfg.Key),
			ServerName: deref(tlsCfg.Hostname), Insecure: tlsCfg.Insecure, InsecureHost: tlsCfg.InsecureHost,
			SubjectAltNames: tlsCfg.SubjectAltNames, ALPN: tlsCfg.ALPN,
		}
	}
	if auth != nil {
		c.refuseUnbuilt(path+".backendAuth", auth, builtBackendAuth, "backendAuth kind")
		if auth.Copilot {
			return nil, 0, fmt.Errorf("backendAuth: copilot is not supported by this gateway yet")
		}
		if auth.Key != nil {
			if auth.Key.Loc != nil {
				return nil, 0, fmt.Errorf("backendAuth.key.location is not supported by this gateway yet (the key is sent as Authorization: Bearer)")
			}
			key, err := readSecret(auth.Key.Value)
			if err != nil {
				return nil, 0, fmt.Errorf("backendAuth.key: %w", err)
			}
			spec.AuthHeader = "Authorization: Bearer " + key
		}
	}
	var timeout time.Duration
	if hc != nil {
		if hc.Version != nil {
			switch strings.ToUpper(*hc.Version) {
			case "HTTP/2", "HTTP2", "H2":
				spec.HTTP2 = true
			case "HTTP/1.1", "HTTP1", "HTTP/1":
				spec.HTTP1 = true
			default:
				return nil, 0, fmt.Errorf("http.version %q: want HTTP/1.1 or HTTP/2", *hc.Version)
			}
		}
		if hc.RequestTimeout != nil {
			timeout = hc.RequestTimeout.Duration
		}
	}
	up, err := backend.NewUpstream(spec, c.deps.Transports)
	if err != nil {
		return nil, 0, err
	}
	c.snap.keys = append(c.snap.keys, up.TransportKey())
	return up, timeout, nil
}

func readSecret(f config.FileOrInline) (string, error) {
	if f.File != nil {
		b, err := os.ReadFile(*f.File)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(string(b)), nil
	}
	return deref(f.Inline), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// dumpBackends records non-HTTP backends in the snapshot view and gives each
// a metrics series.
func (rc *routeCtx) dumpBackends(bs []config.Backend) {
	if rc.metrics == nil {
		rc.metrics = map[string]*telemetry.RouteMetrics{}
	}
	for i := range bs {
		kind, name, served := backendKind(&bs[i])
		weight := 1
		if bs[i].Weight != nil {
			weight = *bs[i].Weight
		}
		rc.dump.Backends = append(rc.dump.Backends, &backendDump{Name: name, Kind: kind, Weight: weight, Served: served})
		rc.metrics[name] = rc.c.deps.Metrics.Route(telemetry.RouteLabels{
			Bind: rc.bind, Gateway: rc.bind, Listener: rc.listener, Route: rc.name, Backend: name, Protocol: protocolOf(kind),
		})
	}
}
