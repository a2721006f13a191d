// Package redirect implements the requestRedirect route policy: the gateway
// answers with a redirect (302 unless configured) and a Location built from
// the request and the spec; nothing is forwarded.
//
// Location = scheme "://" authority path ["?" query]:
//
//   - scheme: the configured one, else the one the client used ("https"
//     over TLS, else "http"; X-Forwarded-Proto is not trusted);
//   - authority: full → as given; host → the new host, keeping the request's
//     port only when no scheme is configured and the port is not the
//     scheme's default; port → the request's host with the new port (dropped
//     when it is the scheme's default); none/auto → the request's Host,
//     without its port when the configured scheme differs from the
//     request's (Gateway API: the port then is the new scheme's default);
//   - path: full → as given; prefix → the router's matched prefix
//     (pipeline.Info.MatchedPrefix) replaced, as in urlRewrite; none → the
//     request's (normalized) path;
//   - the query string is kept.
package redirect

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/phttp"
	"github.com/agentgw/agentgateway/internal/policy/rewrite"
	"github.com/agentgw/agentgateway/internal/route"
)

// Spec is the requestRedirect policy.
type Spec struct {
	Scheme    string // "", "http" or "https"
	Authority rewrite.Authority
	Path      rewrite.Path
	Status    int // 0 = 302; else 301, 302, 303, 307 or 308
}

// New compiles spec into a middleware that answers every request.
func New(spec Spec) (pipeline.Middleware, error) {
	s, err := compile(spec)
	if err != nil {
		return nil, err
	}
	return func(http.Handler) http.Handler { return s }, nil
}

func compile(spec Spec) (*handler, error) {
	spec.Scheme = strings.ToLower(spec.Scheme)
	if spec.Scheme != "" && spec.Scheme != "http" && spec.Scheme != "https" {
		return nil, fmt.Errorf("requestRedirect.scheme: %q is not http or https", spec.Scheme)
	}
	switch spec.Status {
	case 0:
		spec.Status = http.StatusFound
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return nil, fmt.Errorf("requestRedirect.status: %d is not a redirect status (301, 302, 303, 307, 308)", spec.Status)
	}
	if err := spec.Authority.Check("requestRedirect"); err != nil {
		return nil, err
	}
	if err := spec.Path.Check("requestRedirect"); err != nil {
		return nil, err
	}
	return &handler{spec: spec}, nil
}

type handler struct{ spec Spec }

// Location returns the redirect target for r.
func (h *handler) Location(r *http.Request) string {
	s := &h.spec
	reqScheme := phttp.Scheme(r)
	scheme := s.Scheme
	if scheme == "" {
		scheme = reqScheme
	}
	var authority string
	switch s.Authority.Kind {
	case rewrite.AuthorityHost:
		authority = s.Authority.Value
		if s.Scheme == "" {
			if _, port := phttp.SplitHostPort(r.Host); port != "" && !phttp.DefaultPort(scheme, port) {
				authority += ":" + port
			}
		}
	case rewrite.AuthorityFull, rewrite.AuthorityPort:
		authority = rewrite.RewriteAuthority(s.Authority, r.Host, scheme)
	default:
		authority = r.Host
		if host, port := phttp.SplitHostPort(r.Host); port != "" && (scheme != reqScheme || phttp.DefaultPort(scheme, port)) {
			authority = host
		}
	}
	path := route.NormalizePath(r.URL.EscapedPath())
	path = rewrite.RewritePath(s.Path, path, pipeline.InfoFrom(r.Context()).MatchedPrefix)
	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(authority) + len(path) + 1 + len(r.URL.RawQuery))
	if authority != "" {
		b.WriteString(scheme)
		b.WriteString("://")
		b.WriteString(authority)
	}
	b.WriteString(path)
	if r.URL.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(r.URL.RawQuery)
	}
	return b.String()
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header()["Location"] = []string{h.Location(r)}
	w.WriteHeader(h.spec.Status)
}
