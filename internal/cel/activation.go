package cel

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"

	"cel.dev/cel-go/interpreter"
)

// Identity is what the authentication policies learned about the caller. It
// is stored once per request (EnsureIdentity) and filled in by jwtAuth,
// apiKey and basicAuth; CEL sees it as jwt.*, apiKey.* and basicAuth.*.
type Identity struct {
	// JWT holds the verified token's claims (jwt.*).
	JWT map[string]any
	// APIKey holds the matched key's metadata (apiKey.*); never the key.
	APIKey map[string]any
	// BasicAuth holds {"username": …} (basicAuth.*).
	BasicAuth map[string]any
}

type identityKey struct{}

// IdentityFrom returns the request's identity, or nil when no
// authentication policy ran.
func IdentityFrom(ctx context.Context) *Identity {
	id, _ := ctx.Value(identityKey{}).(*Identity)
	return id
}

// EnsureIdentity returns the request's identity, attaching an empty one (and
// returning the request carrying it) when there is none yet.
func EnsureIdentity(r *http.Request) (*Identity, *http.Request) {
	if id := IdentityFrom(r.Context()); id != nil {
		return id, r
	}
	id := &Identity{}
	return id, r.WithContext(context.WithValue(r.Context(), identityKey{}, id))
}

// MCPTarget names one MCP entity: a tool, a prompt or a resource, and the
// target (upstream server) serving it.
type MCPTarget struct {
	Name   string
	Target string
}

// MCP is what the MCP layer knows about the call being authorized; CEL sees
// it as mcp.methodName, mcp.sessionId, mcp.tool.{name,target},
// mcp.prompt.{name,target} and mcp.resource.{name,target}. The entities not
// concerned by the call have empty names, so a rule such as
// `mcp.tool.name == "echo"` is simply false for a prompt.
type MCP struct {
	Method    string
	SessionID string
	Tool      MCPTarget
	Prompt    MCPTarget
	Resource  MCPTarget
}

func (m *MCP) value() map[string]any {
	t := func(x MCPTarget) map[string]any { return map[string]any{"name": x.Name, "target": x.Target} }
	return map[string]any{
		"methodName": m.Method,
		"sessionId":  m.SessionID,
		"tool":       t(m.Tool),
		"prompt":     t(m.Prompt),
		"resource":   t(m.Resource),
	}
}

// Activation resolves the gateway's variables for one request, building
// each only when an expression refers to it, and at most once. It is not
// safe for concurrent use; create one per request (or per MCP decision).
type Activation struct {
	r   *http.Request
	id  *Identity
	mcp map[string]any
	llm map[string]any

	request, source map[string]any
}

var _ interpreter.Activation = (*Activation)(nil)

// NewActivation returns the activation for r (and the identity it carries).
func NewActivation(r *http.Request) *Activation {
	return &Activation{r: r, id: IdentityFrom(r.Context())}
}

// WithMCP returns a copy of a that also resolves mcp.* to m. The request
// and source values already built are shared.
func (a *Activation) WithMCP(m MCP) *Activation {
	b := *a
	b.mcp = m.value()
	return &b
}

// WithLLMRequest returns a copy of a that also resolves llmRequest.* to
// body (the request's parsed JSON object; nil resolves to an empty map).
func (a *Activation) WithLLMRequest(body map[string]any) *Activation {
	b := *a
	b.llm = body
	return &b
}

var (
	emptyMap = map[string]any{}
	emptyMCP = (&MCP{}).value()
)

// ResolveName implements interpreter.Activation.
func (a *Activation) ResolveName(name string) (any, bool) {
	switch name {
	case VarRequest:
		if a.request == nil {
			a.request = requestValue(a.r)
		}
		return a.request, true
	case VarSource:
		if a.source == nil {
			a.source = sourceValue(a.r)
		}
		return a.source, true
	case VarJWT:
		if a.id != nil && a.id.JWT != nil {
			return a.id.JWT, true
		}
		return emptyMap, true
	case VarAPIKey:
		if a.id != nil && a.id.APIKey != nil {
			return a.id.APIKey, true
		}
		return emptyMap, true
	case VarBasicAuth:
		if a.id != nil && a.id.BasicAuth != nil {
			return a.id.BasicAuth, true
		}
		return emptyMap, true
	case VarMCP:
		if a.mcp != nil {
			return a.mcp, true
		}
		return emptyMCP, true
	case VarLLMRequest:
		if a.llm != nil {
			return a.llm, true
		}
		return emptyMap, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *Activation) Parent() interpreter.Activation { return nil }

func requestValue(r *http.Request) map[string]any {
	if r == nil {
		return emptyMap
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	hdr := make(map[string]any, len(r.Header))
	for k, vs := range r.Header {
		hdr[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	pq := r.URL.EscapedPath()
	if pq == "" {
		pq = "/"
	}
	if r.URL.RawQuery != "" {
		pq += "?" + r.URL.RawQuery
	}
	return map[string]any{
		"method":       r.Method,
		"path":         r.URL.Path,
		"pathAndQuery": pq,
		"host":         r.Host,
		"scheme":       scheme,
		"uri":          scheme + "://" + r.Host + pq,
		"version":      r.Proto,
		"headers":      hdr,
	}
}

func sourceValue(r *http.Request) map[string]any {
	if r == nil {
		return emptyMap
	}
	host, port, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return map[string]any{"address": r.RemoteAddr}
	}
	p, _ := strconv.Atoi(port)
	return map[string]any{"address": host, "port": int64(p)}
}
