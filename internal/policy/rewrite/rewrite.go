// Package rewrite implements the urlRewrite route policy (authority and path
// rewrite before the request goes upstream) and the authority/path helpers
// the requestRedirect policy shares.
//
// A prefix path rewrite replaces the prefix the router matched, read from
// pipeline.Info.MatchedPrefix (set by route.Table.ServeHTTP): with prefix
// "/api" matched, {prefix: "/v2"} turns "/api/users" into "/v2/users" and
// {prefix: "/"} turns it into "/users". For an exact path match the whole
// path is the matched prefix. When no prefix is known (a regex match, or no
// router in front), the root "/" is used, so the replacement is prepended;
// the compiler should reject prefix rewrites on routes with regex matches,
// as Gateway API does. The query string is always kept.
//
// The rewritten request is a shallow copy with its own URL: layers outside
// (access log) still see the original.
package rewrite

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/phttp"
	"github.com/agentgw/agentgateway/internal/route"
)

// AuthorityKind says how the authority (Host) is rewritten.
type AuthorityKind uint8

// Authority kinds; the zero value leaves the authority alone.
const (
	AuthorityNone AuthorityKind = iota // keep the request's authority
	AuthorityAuto                      // urlRewrite: left to the backend (its hostname); redirect: keep
	AuthorityFull                      // Value is "host[:port]"
	AuthorityHost                      // Value is the host; see each policy for the port
	AuthorityPort                      // Port replaces the port
)

// Authority is `authority:` of urlRewrite and requestRedirect.
type Authority struct {
	Kind  AuthorityKind
	Value string
	Port  int
}

// PathKind says how the path is rewritten.
type PathKind uint8

// Path kinds; the zero value leaves the path alone.
const (
	PathNone   PathKind = iota
	PathFull            // Value replaces the whole path
	PathPrefix          // Value replaces the matched prefix
)

// Path is `path:` of urlRewrite and requestRedirect.
type Path struct {
	Kind  PathKind
	Value string
}

// Spec is the urlRewrite policy.
type Spec struct {
	Authority Authority
	Path      Path
}

// Check validates an authority, for the error messages of both policies.
func (a Authority) Check(what string) error {
	switch a.Kind {
	case AuthorityNone, AuthorityAuto:
		return nil
	case AuthorityFull, AuthorityHost:
		host, port := phttp.SplitHostPort(a.Value)
		if host == "" || strings.ContainsAny(a.Value, "/?#@ \t\r\n") || !phttp.ValidHeaderValue(a.Value) {
			return fmt.Errorf("%s.authority: invalid %q", what, a.Value)
		}
		if a.Kind == AuthorityHost && port != "" {
			return fmt.Errorf("%s.authority.host: %q has a port (use full)", what, a.Value)
		}
		if port != "" {
			if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
				return fmt.Errorf("%s.authority.full: invalid port in %q", what, a.Value)
			}
		}
		return nil
	case AuthorityPort:
		if a.Port <= 0 || a.Port > 65535 {
			return fmt.Errorf("%s.authority.port: %d out of range", what, a.Port)
		}
		return nil
	}
	return fmt.Errorf("%s.authority: unknown kind %d", what, a.Kind)
}

// Check validates a path rewrite.
func (p Path) Check(what string) error {
	switch p.Kind {
	case PathNone:
		return nil
	case PathFull, PathPrefix:
		if !strings.HasPrefix(p.Value, "/") || strings.ContainsAny(p.Value, "?# \t\r\n") {
			return fmt.Errorf("%s.path: %q must start with / and have no query, fragment or spaces", what, p.Value)
		}
		if _, err := url.PathUnescape(p.Value); err != nil {
			return fmt.Errorf("%s.path: %q: %v", what, p.Value, err)
		}
		return nil
	}
	return fmt.Errorf("%s.path: unknown kind %d", what, p.Kind)
}

// New compiles spec into a middleware.
func New(spec Spec) (pipeline.Middleware, error) {
	if err := spec.Authority.Check("urlRewrite"); err != nil {
		return nil, err
	}
	if err := spec.Path.Check("urlRewrite"); err != nil {
		return nil, err
	}
	if spec.Path.Kind == PathNone && (spec.Authority.Kind == AuthorityNone || spec.Authority.Kind == AuthorityAuto) {
		return func(next http.Handler) http.Handler { return next }, nil
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, spec.Apply(r))
		})
	}, nil
}

// Apply returns r rewritten (a shallow copy with its own URL), or r itself
// when nothing changes.
func (s Spec) Apply(r *http.Request) *http.Request {
	host := r.Host
	if s.Authority.Kind == AuthorityHost {
		host = s.Authority.Value // the port goes with the old host
	} else {
		host = RewriteAuthority(s.Authority, host, phttp.Scheme(r))
	}
	path, newPath := "", false
	if s.Path.Kind != PathNone {
		old := r.URL.EscapedPath()
		path = RewritePath(s.Path, route.NormalizePath(old), pipeline.InfoFrom(r.Context()).MatchedPrefix)
		newPath = path != old
	}
	if host == r.Host && !newPath {
		return r
	}
	// One allocation for the request copy and its URL.
	c := &reqCopy{req: *r, url: *r.URL}
	c.req.URL = &c.url
	c.req.Host = host
	if c.url.Host != "" {
		c.url.Host = host
	}
	if newPath {
		setPath(&c.url, path)
	}
	return &c.req
}

type reqCopy struct {
	req http.Request
	url url.URL
}

// setPath sets an escaped path on u.
func setPath(u *url.URL, escaped string) {
	if dec, err := url.PathUnescape(escaped); err == nil {
		u.Path = dec
		if dec == escaped {
			u.RawPath = ""
		} else {
			u.RawPath = escaped
		}
	}
}

// RewriteAuthority returns the new authority for the Full and Port kinds
// (Host is policy-specific); None and Auto keep hostport. scheme decides
// whether a port is the default one and is dropped.
func RewriteAuthority(a Authority, hostport, scheme string) string {
	switch a.Kind {
	case AuthorityFull:
		return a.Value
	case AuthorityPort:
		host, _ := phttp.SplitHostPort(hostport)
		port := strconv.Itoa(a.Port)
		if phttp.DefaultPort(scheme, port) {
			return host
		}
		return host + ":" + port
	}
	return hostport
}

// RewritePath rewrites an escaped, normalized path. For PathPrefix,
// matchedPrefix (from pipeline.Info; "" means "/") is replaced by p.Value,
// keeping everything after it, including a trailing slash.
func RewritePath(p Path, path, matchedPrefix string) string {
	switch p.Kind {
	case PathFull:
		return p.Value
	case PathPrefix:
		return ReplacePrefix(path, matchedPrefix, p.Value)
	}
	return path
}

// ReplacePrefix replaces prefix (element-wise, trailing slash ignored) at
// the start of path with repl. If path does not start with prefix it is
// treated as matched by the root "/".
func ReplacePrefix(path, prefix, repl string) string {
	pfx := strings.TrimSuffix(prefix, "/")
	if !hasPathPrefix(path, pfx) {
		pfx = ""
	}
	rest := path[len(pfx):]
	if pfx == "" && rest == "/" {
		rest = ""
	}
	out := strings.TrimSuffix(repl, "/") + rest
	if out == "" {
		return "/"
	}
	return out
}

func hasPathPrefix(path, pfx string) bool {
	return strings.HasPrefix(path, pfx) && (len(path) == len(pfx) || path[len(pfx)] == '/')
}
