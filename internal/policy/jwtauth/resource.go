package jwtauth

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

// WellKnownResource is RFC 9728's protected resource metadata path.
const WellKnownResource = "/.well-known/oauth-protected-resource"

// ResourceSpec configures an OAuth 2.1 protected resource (MCP's
// mcpAuthentication): tokens are validated by Auth (whose providers'
// audiences name the resource: RFC 8707, no token passthrough), and
// Metadata is served at /.well-known/oauth-protected-resource[/path].
type ResourceSpec struct {
	Auth Spec
	// Metadata is `resourceMetadata` as configured (camelCase keys such as
	// resource, scopesSupported, bearerMethodsSupported); keys are served
	// in RFC 9728's snake_case. Without "resource", the resource is the
	// URL the client used, minus the well-known prefix.
	Metadata map[string]any
}

// ResourceServer is the mcpAuthentication policy, ready for the MCP layer
// to wire: Middleware answers the metadata requests and refuses requests
// without a valid token with 401 and WWW-Authenticate: Bearer
// resource_metadata="…".
type ResourceServer struct {
	auth     *Authenticator
	issuer   string
	metadata map[string]any
	resource string // configured canonical resource URI ("" = derive)
}

// NewResourceServer builds the policy. The mode defaults to strict.
func NewResourceServer(spec ResourceSpec) (*ResourceServer, error) {
	a, err := NewAuthenticator(spec.Auth)
	if err != nil {
		return nil, err
	}
	rs := &ResourceServer{auth: a, metadata: map[string]any{}}
	if len(spec.Auth.Providers) > 0 {
		rs.issuer = spec.Auth.Providers[0].Issuer
	}
	for k, v := range spec.Metadata {
		rs.metadata[snake(k)] = v
	}
	if r, ok := rs.metadata["resource"].(string); ok {
		rs.resource = strings.TrimSuffix(r, "/")
	}
	return rs, nil
}

// IsMetadataPath reports whether path is a protected resource metadata path.
func IsMetadataPath(path string) bool {
	return path == WellKnownResource || strings.HasPrefix(path, WellKnownResource+"/")
}

// Middleware returns the policy.
func (rs *ResourceServer) Middleware() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if IsMetadataPath(r.URL.Path) {
				rs.serveMetadata(w, r)
				return
			}
			r2, err := rs.auth.Authenticate(r)
			if err != nil {
				pipeline.InfoFrom(r.Context()).Err = "mcpAuthentication: " + err.Error()
				w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+rs.metadataURL(r)+`"`)
				w.Header().Set("Content-Type", "application/json")
				info := pipeline.InfoFrom(r.Context())
				info.Denied = pipeline.DeniedAuth
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":"unauthorized","error_description":"JWT token required"}`))
				return
			}
			next.ServeHTTP(w, r2)
		})
	}
}

func base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// metadataURL is where the metadata of the resource r asked for is served.
func (rs *ResourceServer) metadataURL(r *http.Request) string {
	b := base(r)
	if rs.resource != "" {
		if i := strings.Index(rs.resource, "://"); i >= 0 {
			if j := strings.IndexByte(rs.resource[i+3:], '/'); j >= 0 {
				b = rs.resource[:i+3+j]
			} else {
				b = rs.resource
			}
		}
	}
	return b + WellKnownResource + r.URL.EscapedPath()
}

func (rs *ResourceServer) serveMetadata(w http.ResponseWriter, r *http.Request) {
	doc := make(map[string]any, len(rs.metadata)+2)
	for k, v := range rs.metadata {
		doc[k] = v
	}
	if _, ok := doc["resource"]; !ok {
		doc["resource"] = base(r) + strings.TrimPrefix(r.URL.EscapedPath(), WellKnownResource)
	}
	if _, ok := doc["authorization_servers"]; !ok && rs.issuer != "" {
		doc["authorization_servers"] = []string{rs.issuer}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		authn.Deny(w, r, http.StatusInternalServerError, "cannot encode metadata")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "content-type")
	_, _ = w.Write(b)
}

// snake converts camelCase to snake_case (scopesSupported → scopes_supported).
func snake(s string) string {
	var b strings.Builder
	for i, c := range s {
		if unicode.IsUpper(c) {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(c))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
