// Package route compiles one listener's routes into an immutable table and
// matches requests against it with Gateway API HTTPRoute semantics.
//
// Selection works in two steps. First the host: routes listing the request's
// exact hostname, then routes with the longest matching wildcard
// ("*.example.com" matches "a.example.com" and "a.b.example.com", never
// "example.com"), then shorter wildcards, then routes without hostnames. If
// no route in one host group matches the rest of the request, the next, less
// specific group is tried. Second, within a host group, the candidate matches
// are ranked:
//
//  1. an exact path match beats any prefix match;
//  2. a longer path prefix beats a shorter one;
//  3. prefix matches beat regex matches; a longer regex beats a shorter one;
//  4. a match with a method beats one without;
//  5. more header conditions beat fewer;
//  6. more query conditions beat fewer;
//  7. earlier in config order (route, then its match entry) wins.
//
// Lookups do not scan the routes: exact paths sit in a map and prefixes in a
// segment trie per host group, so the cost grows with the path's length, not
// with the number of routes. Only regex path matches are tried one by one.
// Matching allocates nothing in the common cases.
//
// The table is also the listener's http.Handler: ServeHTTP normalizes the
// path, matches, records the route name and matched prefix in pipeline.Info,
// and calls the route's handler (404 "route not found" otherwise).
package route

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// PathKind says how a path condition compares the request path.
type PathKind uint8

// Path match kinds. The zero PathSpec is the prefix "/" (matches every path).
const (
	PathPrefix PathKind = iota // element-wise prefix: "/foo" matches "/foo", "/foo/", "/foo/bar", not "/foobar"
	PathExact                  // the whole normalized path
	PathRegex                  // RE2, must match the whole normalized path
)

func (k PathKind) String() string {
	switch k {
	case PathExact:
		return "exact"
	case PathRegex:
		return "regex"
	}
	return "pathPrefix"
}

// ValueKind says how a header or query condition compares its value.
type ValueKind uint8

// Value match kinds.
const (
	ValueExact ValueKind = iota // byte-for-byte equality
	ValueRegex                  // RE2, must match the whole value
)

// PathSpec is a path condition. Values are in escaped form and are
// normalized with NormalizePath; a prefix's trailing slash is ignored.
type PathSpec struct {
	Kind  PathKind
	Value string
}

// KV is a header or query condition. Header names are case-insensitive and
// may be the pseudo-headers ":method", ":authority" (also "host"), ":path"
// (path and query) and ":scheme". Query names are case-sensitive and compared
// with decoded names and values. A repeated header or parameter is compared
// by its first value.
type KV struct {
	Name  string
	Kind  ValueKind
	Value string
}

// MatchSpec is one entry of a route's `matches`: all its conditions must hold.
type MatchSpec struct {
	Path    PathSpec
	Method  string // empty = any; compared upper-cased
	Headers []KV
	Query   []KV
}

// Spec is one route as the compiler hands it over, in config order.
type Spec struct {
	Name string
	// Hostnames are exact ("api.example.com") or wildcard ("*.example.com");
	// "*" or none at all means any host.
	Hostnames []string
	// Matches are alternatives; none at all means every request.
	Matches []MatchSpec
	// Handler serves the requests routed here (the route's policy chain and
	// backend).
	Handler http.Handler
}

// Route is a compiled route.
type Route struct {
	Name    string
	Index   int // position in the specs given to New
	Handler http.Handler
}

// MatchResult says how a request matched its route.
type MatchResult struct {
	Kind PathKind
	// Prefix is the matched prefix for a prefix match (no trailing slash,
	// except the root "/"), the whole matched path for an exact match, and
	// empty for a regex match. It is what a prefix urlRewrite replaces.
	Prefix string
	// Match is the index of the MatchSpec that matched, -1 for a route
	// without matches.
	Match int
}

// Table is an immutable, compiled route table for one listener. It is safe
// for concurrent use.
type Table struct {
	routes []*Route
	exact  map[string]*group // lower-case hostname → group
	wild   map[string]*group // ".example.com" (from "*.example.com") → group
	any    *group            // routes without hostnames
}

// group holds the candidates of one host group.
type group struct {
	exact map[string][]*candidate // normalized path → candidates, best first
	root  *node                   // prefix trie, nil when there are no prefixes
	regex []*candidate            // best first
}

type node struct {
	children map[string]*node
	cands    []*candidate // prefix candidates ending here, best first
	up       *node        // nearest ancestor with candidates
}

type candidate struct {
	route   *Route
	res     MatchResult
	re      *regexp.Regexp
	reLen   int
	method  string
	headers []valueMatcher
	query   []valueMatcher
}

// New compiles specs into a table. It fails on an invalid hostname, path,
// header name or regex, naming the route.
func New(specs []Spec) (*Table, error) {
	t := &Table{}
	for i := range specs {
		s := &specs[i]
		rt := &Route{Name: s.Name, Index: i, Handler: s.Handler}
		t.routes = append(t.routes, rt)
		where := fmt.Sprintf("route %q (routes[%d])", s.Name, i)
		cands, err := compileMatches(rt, s.Matches, where)
		if err != nil {
			return nil, err
		}
		groups, err := t.groupsFor(s.Hostnames, where)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			for _, c := range cands {
				g.add(c)
			}
		}
	}
	for _, g := range t.allGroups() {
		g.finish()
	}
	return t, nil
}

// Routes returns the compiled routes in config order.
func (t *Table) Routes() []*Route { return t.routes }

func (t *Table) allGroups() []*group {
	var gs []*group
	for _, g := range t.exact {
		gs = append(gs, g)
	}
	for _, g := range t.wild {
		gs = append(gs, g)
	}
	if t.any != nil {
		gs = append(gs, t.any)
	}
	return gs
}

func (t *Table) groupsFor(hostnames []string, where string) ([]*group, error) {
	if len(hostnames) == 0 {
		return []*group{t.anyGroup()}, nil
	}
	var gs []*group
	for j, h := range hostnames {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		var g *group
		switch {
		case h == "*":
			g = t.anyGroup()
		case strings.HasPrefix(h, "*.") && validHostname(h[2:]):
			if t.wild == nil {
				t.wild = map[string]*group{}
			}
			g = getGroup(t.wild, h[1:])
		case validHostname(h):
			if t.exact == nil {
				t.exact = map[string]*group{}
			}
			g = getGroup(t.exact, h)
		default:
			return nil, fmt.Errorf("%s: hostnames[%d] %q: want a DNS name or *.wildcard, without port", where, j, hostnames[j])
		}
		if !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	return gs, nil
}

func (t *Table) anyGroup() *group {
	if t.any == nil {
		t.any = &group{}
	}
	return t.any
}

func getGroup(m map[string]*group, k string) *group {
	g := m[k]
	if g == nil {
		g = &group{}
		m[k] = g
	}
	return g
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return !strings.Contains(h, "..") && h[0] != '.'
}

func compileMatches(rt *Route, ms []MatchSpec, where string) ([]*candidate, error) {
	if len(ms) == 0 {
		return []*candidate{{route: rt, res: MatchResult{Kind: PathPrefix, Prefix: "/", Match: -1}}}, nil
	}
	cands := make([]*candidate, 0, len(ms))
	for j, m := range ms {
		at := fmt.Sprintf("%s: matches[%d]", where, j)
		c := &candidate{route: rt, res: MatchResult{Kind: m.Path.Kind, Match: j}, method: strings.ToUpper(m.Method)}
		v := m.Path.Value
		switch m.Path.Kind {
		case PathPrefix:
			if v == "" {
				v = "/"
			}
			if v[0] != '/' {
				return nil, fmt.Errorf("%s.path.pathPrefix %q: must start with /", at, v)
			}
			v = NormalizePath(v)
			if len(v) > 1 {
				v = strings.TrimSuffix(v, "/")
			}
			c.res.Prefix = v
		case PathExact:
			if v == "" || v[0] != '/' {
				return nil, fmt.Errorf("%s.path.exact %q: must start with /", at, v)
			}
			c.res.Prefix = NormalizePath(v)
		case PathRegex:
			re, err := compileRegex(v)
			if err != nil {
				return nil, fmt.Errorf("%s.path.regex: %w", at, err)
			}
			c.re, c.reLen = re, len(v)
		default:
			return nil, fmt.Errorf("%s.path: unknown kind %d", at, m.Path.Kind)
		}
		var err error
		if c.headers, err = compileKVs(m.Headers, true, at+".headers"); err != nil {
			return nil, err
		}
		if c.query, err = compileKVs(m.Query, false, at+".query"); err != nil {
			return nil, err
		}
		cands = append(cands, c)
	}
	return cands, nil
}

func compileRegex(expr string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + expr + `)$`)
}

func (g *group) add(c *candidate) {
	switch c.res.Kind {
	case PathExact:
		if g.exact == nil {
			g.exact = map[string][]*candidate{}
		}
		g.exact[c.res.Prefix] = append(g.exact[c.res.Prefix], c)
	case PathRegex:
		g.regex = append(g.regex, c)
	default:
		if g.root == nil {
			g.root = &node{}
		}
		n := g.root
		splitSegments(c.res.Prefix, func(seg string) bool {
			child := n.children[seg]
			if child == nil {
				if n.children == nil {
					n.children = map[string]*node{}
				}
				child = &node{}
				n.children[seg] = child
			}
			n = child
			return true
		})
		n.cands = append(n.cands, c)
	}
}

// finish sorts every candidate list by precedence and links each trie node
// to its nearest ancestor with candidates.
func (g *group) finish() {
	for _, cs := range g.exact {
		slices.SortStableFunc(cs, compareCandidates)
	}
	slices.SortStableFunc(g.regex, compareCandidates)
	var walk func(n, up *node)
	walk = func(n, up *node) {
		n.up = up
		slices.SortStableFunc(n.cands, compareCandidates)
		if len(n.cands) > 0 {
			up = n
		}
		for _, c := range n.children {
			walk(c, up)
		}
	}
	if g.root != nil {
		walk(g.root, nil)
	}
}

// compareCandidates orders candidates that share a path condition (same
// exact path, same prefix, or both regex): longer regex, method present,
// more headers, more query conditions, config order.
func compareCandidates(a, b *candidate) int {
	if c := cmp.Compare(b.reLen, a.reLen); c != 0 {
		return c
	}
	if am, bm := a.method != "", b.method != ""; am != bm {
		if am {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(len(b.headers), len(a.headers)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.query), len(a.query)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.route.Index, b.route.Index); c != 0 {
		return c
	}
	return cmp.Compare(a.res.Match, b.res.Match)
}

// Match finds the route for r. It returns nil when no route matches. The
// path is normalized with NormalizePath before matching (r is not changed).
func (t *Table) Match(r *http.Request) (*Route, MatchResult) {
	path := NormalizePath(r.URL.EscapedPath())
	host := hostOf(r.Host)
	if g := t.exact[host]; g != nil {
		if c := g.match(path, r); c != nil {
			return c.route, c.res
		}
	}
	if len(t.wild) > 0 {
		for i := 1; i < len(host); i++ {
			if host[i] != '.' {
				continue
			}
			if g := t.wild[host[i:]]; g != nil {
				if c := g.match(path, r); c != nil {
					return c.route, c.res
				}
			}
		}
	}
	if t.any != nil {
		if c := t.any.match(path, r); c != nil {
			return c.route, c.res
		}
	}
	return nil, MatchResult{}
}

// hostOf strips the port and a trailing dot and lower-cases the host. It
// allocates only when the host has upper-case letters.
func hostOf(h string) string {
	if h == "" {
		return h
	}
	if h[0] == '[' {
		if i := strings.IndexByte(h, ']'); i > 0 {
			h = h[:i+1]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

func (g *group) match(path string, r *http.Request) *candidate {
	if cs := g.exact[path]; cs != nil {
		if c := firstMatch(cs, r); c != nil {
			return c
		}
	}
	if g.root != nil {
		best := g.root
		if len(best.cands) == 0 {
			best = nil
		}
		if len(path) > 0 && path[0] == '/' {
			n := g.root
			for i := 1; i < len(path) && len(n.children) > 0; {
				j := strings.IndexByte(path[i:], '/')
				var seg string
				if j < 0 {
					seg, i = path[i:], len(path)
				} else {
					seg, i = path[i:i+j], i+j+1
				}
				if n = n.children[seg]; n == nil {
					break
				}
				if len(n.cands) > 0 {
					best = n
				}
			}
		}
		for n := best; n != nil; n = n.up {
			if c := firstMatch(n.cands, r); c != nil {
				return c
			}
		}
	}
	for _, c := range g.regex {
		if c.method != "" && c.method != r.Method {
			continue
		}
		if c.re.MatchString(path) && c.matchRest(r) {
			return c
		}
	}
	return nil
}

func firstMatch(cs []*candidate, r *http.Request) *candidate {
	for _, c := range cs {
		if (c.method == "" || c.method == r.Method) && c.matchRest(r) {
			return c
		}
	}
	return nil
}

// matchRest checks the header and query conditions.
func (c *candidate) matchRest(r *http.Request) bool {
	for i := range c.headers {
		if !c.headers[i].matchHeader(r) {
			return false
		}
	}
	for i := range c.query {
		if !c.query[i].matchQuery(r.URL.RawQuery) {
			return false
		}
	}
	return true
}

// ServeHTTP routes r: it normalizes the path (see NormalizeRequest), matches,
// sets Info.Route and Info.MatchedPrefix, and calls the route's handler. When
// nothing matches it answers 404 "route not found".
func (t *Table) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = NormalizeRequest(r)
	rt, res := t.Match(r)
	info := pipeline.InfoFrom(r.Context())
	if rt == nil {
		pipeline.Error(w, r, http.StatusNotFound, "route not found")
		return
	}
	info.Route = rt.Name
	info.MatchedPrefix = res.Prefix
	if rt.Handler == nil {
		pipeline.Error(w, r, http.StatusInternalServerError, "route has no handler")
		return
	}
	rt.Handler.ServeHTTP(w, r)
}
