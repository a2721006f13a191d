package route

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

func prefix(p string) MatchSpec { return MatchSpec{Path: PathSpec{Kind: PathPrefix, Value: p}} }
func exact(p string) MatchSpec  { return MatchSpec{Path: PathSpec{Kind: PathExact, Value: p}} }
func regex(p string) MatchSpec  { return MatchSpec{Path: PathSpec{Kind: PathRegex, Value: p}} }

func hdr(name, v string) KV   { return KV{Name: name, Value: v} }
func hdrRe(name, v string) KV { return KV{Name: name, Kind: ValueRegex, Value: v} }

type req struct {
	method, host, target string
	header               http.Header
}

func (q req) build() *http.Request {
	m := q.method
	if m == "" {
		m = http.MethodGet
	}
	r := httptest.NewRequest(m, q.target, nil)
	r.Host = q.host
	for k, v := range q.header {
		r.Header[k] = v
	}
	return r
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		specs  []Spec
		req    req
		want   string // route name, "" = no match
		prefix string
	}{
		{
			name:  "exact beats longer prefix",
			specs: []Spec{{Name: "p", Matches: []MatchSpec{prefix("/a/b")}}, {Name: "e", Matches: []MatchSpec{exact("/a/b")}}},
			req:   req{target: "/a/b"}, want: "e", prefix: "/a/b",
		},
		{
			name:  "exact does not match with trailing slash",
			specs: []Spec{{Name: "p", Matches: []MatchSpec{prefix("/a")}}, {Name: "e", Matches: []MatchSpec{exact("/a/b")}}},
			req:   req{target: "/a/b/"}, want: "p", prefix: "/a",
		},
		{
			name:  "longer prefix wins",
			specs: []Spec{{Name: "short", Matches: []MatchSpec{prefix("/a")}}, {Name: "long", Matches: []MatchSpec{prefix("/a/b")}}},
			req:   req{target: "/a/b/c"}, want: "long", prefix: "/a/b",
		},
		{
			name:  "longer prefix with method loses to nothing when method differs",
			specs: []Spec{{Name: "short", Matches: []MatchSpec{prefix("/a")}}, {Name: "long", Matches: []MatchSpec{{Path: PathSpec{Value: "/a/b"}, Method: "POST"}}}},
			req:   req{target: "/a/b/c"}, want: "short", prefix: "/a",
		},
		{
			name:  "prefix beats regex",
			specs: []Spec{{Name: "re", Matches: []MatchSpec{regex("/a/.*")}}, {Name: "p", Matches: []MatchSpec{prefix("/")}}},
			req:   req{target: "/a/b"}, want: "p", prefix: "/",
		},
		{
			name:  "regex used when no prefix matches",
			specs: []Spec{{Name: "re", Matches: []MatchSpec{regex("/a/[0-9]+")}}, {Name: "p", Matches: []MatchSpec{prefix("/b")}}},
			req:   req{target: "/a/12"}, want: "re", prefix: "",
		},
		{
			name:  "regex must match whole path",
			specs: []Spec{{Name: "re", Matches: []MatchSpec{regex("/a/[0-9]+")}}},
			req:   req{target: "/a/12x"}, want: "",
		},
		{
			name:  "longer regex wins",
			specs: []Spec{{Name: "short", Matches: []MatchSpec{regex("/a/.*")}}, {Name: "long", Matches: []MatchSpec{regex("/a/[0-9]+")}}},
			req:   req{target: "/a/12"}, want: "long",
		},
		{
			name: "method beats headers",
			specs: []Spec{
				{Name: "hdr", Matches: []MatchSpec{{Path: PathSpec{Value: "/x"}, Headers: []KV{hdr("a", "1"), hdr("b", "2")}}}},
				{Name: "method", Matches: []MatchSpec{{Path: PathSpec{Value: "/x"}, Method: "get"}}},
			},
			req:  req{target: "/x", header: http.Header{"A": {"1"}, "B": {"2"}}},
			want: "method", prefix: "/x",
		},
		{
			name: "more headers win",
			specs: []Spec{
				{Name: "one", Matches: []MatchSpec{{Path: PathSpec{Value: "/x"}, Headers: []KV{hdr("a", "1")}}}},
				{Name: "two", Matches: []MatchSpec{{Path: PathSpec{Value: "/x"}, Headers: []KV{hdr("a", "1"), hdr("b", "2")}}}},
			},
			req:  req{target: "/x", header: http.Header{"A": {"1"}, "B": {"2"}}},
			want: "two", prefix: "/x",
		},
		{
			name: "headers beat query",
			specs: []Spec{
				{Name: "q", Matches: []MatchSpec{{Path: PathSpec{Value: "/x"}, Query: []KV{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}}}},
				{Name: "h", Matches: []MatchSpec{{Path: PathSpec{Value: "/x"}, Headers: []KV{hdr("a", "1")}}}},
			},
			req:  req{target: "/x?a=1&b=2", header: http.Header{"A": {"1"}}},
			want: "h", prefix: "/x",
		},
		{
			name: "more query wins",
			specs: []Spec{
				{Name: "one", Matches: []MatchSpec{{Query: []KV{{Name: "a", Value: "1"}}}}},
				{Name: "two", Matches: []MatchSpec{{Query: []KV{{Name: "a", Value: "1"}, {Name: "b", Value: "x y"}}}}},
			},
			req:  req{target: "/x?a=1&b=x+y"},
			want: "two", prefix: "/",
		},
		{
			name:  "config order breaks ties",
			specs: []Spec{{Name: "first", Matches: []MatchSpec{prefix("/x")}}, {Name: "second", Matches: []MatchSpec{prefix("/x/")}}},
			req:   req{target: "/x/y"}, want: "first", prefix: "/x",
		},
		{
			name:  "no matches means everything",
			specs: []Spec{{Name: "all"}, {Name: "b", Matches: []MatchSpec{prefix("/b")}}},
			req:   req{target: "/anything"}, want: "all", prefix: "/",
		},
		{
			name:  "best match across a route's matches",
			specs: []Spec{{Name: "r", Matches: []MatchSpec{prefix("/"), exact("/z")}}, {Name: "s", Matches: []MatchSpec{prefix("/z")}}},
			req:   req{target: "/z"}, want: "r", prefix: "/z",
		},
		{
			name:  "failed conditions fall back to a shorter prefix",
			specs: []Spec{{Name: "root", Matches: []MatchSpec{prefix("/")}}, {Name: "api", Matches: []MatchSpec{{Path: PathSpec{Value: "/api"}, Headers: []KV{hdr("x-v", "2")}}}}},
			req:   req{target: "/api/v"}, want: "root", prefix: "/",
		},
		{
			name:  "nothing matches",
			specs: []Spec{{Name: "a", Matches: []MatchSpec{prefix("/a")}}},
			req:   req{target: "/b"}, want: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := New(tc.specs)
			if err != nil {
				t.Fatal(err)
			}
			rt, res := tab.Match(tc.req.build())
			got := ""
			if rt != nil {
				got = rt.Name
			}
			if got != tc.want {
				t.Fatalf("route = %q, want %q", got, tc.want)
			}
			if rt != nil && res.Prefix != tc.prefix {
				t.Fatalf("prefix = %q, want %q", res.Prefix, tc.prefix)
			}
		})
	}
}

func TestHostPrecedence(t *testing.T) {
	specs := []Spec{
		{Name: "none"},
		{Name: "wild-short", Hostnames: []string{"*.com"}},
		{Name: "wild", Hostnames: []string{"*.example.com"}},
		{Name: "exact", Hostnames: []string{"api.example.com"}, Matches: []MatchSpec{prefix("/v1")}},
		{Name: "star", Hostnames: []string{"*"}, Matches: []MatchSpec{exact("/only-star")}},
		{Name: "multi", Hostnames: []string{"a.test", "B.Test."}},
	}
	tab, err := New(specs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ host, path, want string }{
		{"api.example.com", "/v1/x", "exact"},
		{"API.Example.COM:8443", "/v1", "exact"},
		{"api.example.com.", "/v1", "exact"},
		{"api.example.com", "/v2", "wild"}, // falls through to the next group
		{"x.y.example.com", "/", "wild"},
		{"example.com", "/", "wild-short"},
		{"foo.org", "/", "none"},
		{"", "/", "none"},
		{"[::1]:80", "/", "none"},
		{"b.test", "/", "multi"},
		{"a.test:1", "/", "multi"},
		{"foo.org", "/only-star", "star"}, // exact path beats the "none" route's "/"
	}
	for _, tc := range tests {
		rt, _ := tab.Match(req{host: tc.host, target: tc.path}.build())
		if rt == nil || rt.Name != tc.want {
			t.Errorf("%s%s: got %v, want %s", tc.host, tc.path, rt, tc.want)
		}
	}
}

func TestPathPrefixElementWise(t *testing.T) {
	for _, p := range []string{"/foo", "/foo/"} {
		tab, err := New([]Spec{{Name: "foo", Matches: []MatchSpec{prefix(p)}}})
		if err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]bool{
			"/foo": true, "/foo/": true, "/foo/bar": true, "/foo//bar": true,
			"/foobar": false, "/fo": false, "/": false, "/bar/foo": false, "/x/../foo/a": true,
		} {
			rt, res := tab.Match(req{target: path}.build())
			if (rt != nil) != want {
				t.Errorf("prefix %q path %q: matched=%v want %v", p, path, rt != nil, want)
			}
			if rt != nil && res.Prefix != "/foo" {
				t.Errorf("prefix %q path %q: result prefix %q", p, path, res.Prefix)
			}
		}
	}
}

func TestHeaderAndQueryMatching(t *testing.T) {
	tls := &tls.ConnectionState{}
	tests := []struct {
		name string
		m    MatchSpec
		req  req
		tls  bool
		want bool
	}{
		{"name case-insensitive", MatchSpec{Headers: []KV{hdr("X-Tenant", "a")}}, req{target: "/", header: http.Header{"X-Tenant": {"a"}}}, false, true},
		{"lower-case config name", MatchSpec{Headers: []KV{hdr("x-tenant", "a")}}, req{target: "/", header: http.Header{"X-Tenant": {"a"}}}, false, true},
		{"value case-sensitive", MatchSpec{Headers: []KV{hdr("x-tenant", "a")}}, req{target: "/", header: http.Header{"X-Tenant": {"A"}}}, false, false},
		{"missing header", MatchSpec{Headers: []KV{hdr("x-tenant", "")}}, req{target: "/"}, false, false},
		{"first value", MatchSpec{Headers: []KV{hdr("x-t", "b")}}, req{target: "/", header: http.Header{"X-T": {"a", "b"}}}, false, false},
		{"regex full", MatchSpec{Headers: []KV{hdrRe("x-v", "v[0-9]")}}, req{target: "/", header: http.Header{"X-V": {"v1"}}}, false, true},
		{"regex anchored", MatchSpec{Headers: []KV{hdrRe("x-v", "v[0-9]")}}, req{target: "/", header: http.Header{"X-V": {"v12"}}}, false, false},
		{":method", MatchSpec{Headers: []KV{hdr(":method", "PUT")}}, req{method: "PUT", target: "/"}, false, true},
		{":authority", MatchSpec{Headers: []KV{hdr(":authority", "h:1")}}, req{host: "h:1", target: "/"}, false, true},
		{"host", MatchSpec{Headers: []KV{hdrRe("Host", "h.*")}}, req{host: "h:1", target: "/"}, false, true},
		{":path", MatchSpec{Headers: []KV{hdr(":path", "/a?b=c")}}, req{target: "/a?b=c"}, false, true},
		{":scheme http", MatchSpec{Headers: []KV{hdr(":scheme", "http")}}, req{target: "/"}, false, true},
		{":scheme https", MatchSpec{Headers: []KV{hdr(":scheme", "https")}}, req{target: "/"}, true, true},
		{"method upper-cased", MatchSpec{Method: "post"}, req{method: "POST", target: "/"}, false, true},
		{"method mismatch", MatchSpec{Method: "POST"}, req{target: "/"}, false, false},
		{"query decoded", MatchSpec{Query: []KV{{Name: "q", Value: "a b/c"}}}, req{target: "/?x=1&q=a%20b%2Fc"}, false, true},
		{"query encoded name", MatchSpec{Query: []KV{{Name: "a b", Value: "1"}}}, req{target: "/?a+b=1"}, false, true},
		{"query first value", MatchSpec{Query: []KV{{Name: "q", Value: "2"}}}, req{target: "/?q=1&q=2"}, false, false},
		{"query empty value", MatchSpec{Query: []KV{{Name: "q", Value: ""}}}, req{target: "/?q"}, false, true},
		{"query missing", MatchSpec{Query: []KV{{Name: "q", Value: ""}}}, req{target: "/?qq="}, false, false},
		{"query regex", MatchSpec{Query: []KV{{Name: "n", Kind: ValueRegex, Value: "[0-9]+"}}}, req{target: "/?n=42"}, false, true},
		{"query name case-sensitive", MatchSpec{Query: []KV{{Name: "Q", Value: "1"}}}, req{target: "/?q=1"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := New([]Spec{{Name: "r", Matches: []MatchSpec{tc.m}}})
			if err != nil {
				t.Fatal(err)
			}
			r := tc.req.build()
			if tc.tls {
				r.TLS = tls
			}
			rt, _ := tab.Match(r)
			if (rt != nil) != tc.want {
				t.Fatalf("matched = %v, want %v", rt != nil, tc.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{Name: "bad-re", Matches: []MatchSpec{regex("(")}}, `route "bad-re" (routes[0]): matches[0].path.regex`},
		{Spec{Name: "bad-hre", Matches: []MatchSpec{{Headers: []KV{hdrRe("x", "[")}}}}, `route "bad-hre" (routes[0]): matches[0].headers[0] "x": regex`},
		{Spec{Name: "bad-qre", Matches: []MatchSpec{{Query: []KV{{Name: "x", Kind: ValueRegex, Value: "*"}}}}}, `matches[0].query[0]`},
		{Spec{Name: "bad-host", Hostnames: []string{"a.com:80"}}, `hostnames[0] "a.com:80"`},
		{Spec{Name: "bad-wild", Hostnames: []string{"a.*.com"}}, `hostnames[0]`},
		{Spec{Name: "bad-path", Matches: []MatchSpec{exact("a")}}, `path.exact "a": must start with /`},
		{Spec{Name: "bad-prefix", Matches: []MatchSpec{prefix("a")}}, `pathPrefix "a"`},
		{Spec{Name: "bad-hname", Matches: []MatchSpec{{Headers: []KV{hdr("a b", "1")}}}}, `invalid header name "a b"`},
		{Spec{Name: "empty-q", Matches: []MatchSpec{{Query: []KV{{Name: ""}}}}}, `name is empty`},
	}
	for _, tc := range tests {
		_, err := New([]Spec{tc.spec})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want containing %q", tc.spec.Name, err, tc.want)
		}
	}
}

func TestNormalizePath(t *testing.T) {
	tests := map[string]string{
		"":               "/",
		"/":              "/",
		"//":             "/",
		"/a/b":           "/a/b",
		"/a//b///c":      "/a/b/c",
		"/a/./b":         "/a/b",
		"/a/../b":        "/b",
		"/../../a":       "/a",
		"/a/b/..":        "/a/",
		"/a/.":           "/a/",
		"/a/":            "/a/",
		"/a/%2e%2e/b":    "/b",
		"/a/%2E./b":      "/b",
		"/%61pi":         "/api",
		"/a%2Fb":         "/a%2Fb",
		"/a%2fb/../c":    "/c",
		"/a%252e%252e/b": "/a%252e%252e/b",
		"/a/...":         "/a/...",
		"/.a/b.":         "/.a/b.",
		"*":              "*",
		"/a%":            "/a%25",
		"/a%4":           "/a%254",
		"/%7%41":         "/%257A",
		"/%7e/x":         "/~/x",
	}
	for in, want := range tests {
		if got := NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
		if got := NormalizePath(want); got != want {
			t.Errorf("NormalizePath not idempotent on %q: %q", want, got)
		}
	}
}

func TestNormalizeRequest(t *testing.T) {
	r := httptest.NewRequest("GET", "/a//b/../c%2Fd?x=1", nil)
	r2 := NormalizeRequest(r)
	if r2 == r {
		t.Fatal("expected a copy")
	}
	if r2.URL.EscapedPath() != "/a/c%2Fd" || r2.URL.Path != "/a/c/d" || r2.URL.RawQuery != "x=1" {
		t.Fatalf("got %q %q %q", r2.URL.EscapedPath(), r2.URL.Path, r2.URL.RawQuery)
	}
	if r.URL.EscapedPath() != "/a//b/../c%2Fd" {
		t.Fatalf("original changed: %q", r.URL.EscapedPath())
	}
	clean := httptest.NewRequest("GET", "/a/b", nil)
	if NormalizeRequest(clean) != clean {
		t.Fatal("clean request copied")
	}
}

func TestServeHTTP(t *testing.T) {
	var gotPath string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.EscapedPath()
		w.WriteHeader(http.StatusTeapot)
	})
	tab, err := New([]Spec{{Name: "api", Matches: []MatchSpec{prefix("/api/")}, Handler: h}, {Name: "nil", Matches: []MatchSpec{exact("/nil")}}})
	if err != nil {
		t.Fatal(err)
	}
	info := &pipeline.Info{}
	r := httptest.NewRequest("GET", "/x/../api//v1", nil)
	r = r.WithContext(pipeline.WithInfo(r.Context(), info))
	w := httptest.NewRecorder()
	tab.ServeHTTP(w, r)
	if w.Code != http.StatusTeapot || info.Route != "api" || info.MatchedPrefix != "/api" || gotPath != "/api/v1" {
		t.Fatalf("code=%d route=%q prefix=%q path=%q", w.Code, info.Route, info.MatchedPrefix, gotPath)
	}

	info = &pipeline.Info{}
	r = httptest.NewRequest("GET", "/nope", nil)
	r = r.WithContext(pipeline.WithInfo(r.Context(), info))
	w = httptest.NewRecorder()
	tab.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound || info.Err != "route not found" || w.Body.String() != "route not found\n" {
		t.Fatalf("code=%d err=%q body=%q", w.Code, info.Err, w.Body.String())
	}

	w = httptest.NewRecorder()
	tab.ServeHTTP(w, httptest.NewRequest("GET", "/nil", nil))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("nil handler: code=%d", w.Code)
	}
}

func TestMatchZeroAlloc(t *testing.T) {
	specs := benchSpecs(200)
	tab, err := New(specs)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*http.Request{
		httptest.NewRequest("GET", "http://svc7.example.com/svc7/api/items/42", nil),
		httptest.NewRequest("GET", "http://Other.test/exact/150", nil),
		httptest.NewRequest("POST", "http://x.test/svc149/api/v2?tenant=acme&debug=1", nil),
	}
	reqs[2].Header.Set("X-Env", "prod")
	for i, r := range reqs {
		if rt, _ := tab.Match(r); rt == nil {
			t.Fatalf("request %d did not match", i)
		}
	}
	for i, r := range reqs[1:] {
		if n := testing.AllocsPerRun(100, func() { tab.Match(r) }); n > 1 { // "Other.test" lower-casing may allocate
			t.Errorf("request %d: %v allocs per Match", i+1, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { tab.Match(reqs[0]) }); n != 0 {
		t.Errorf("%v allocs per Match", n)
	}
}
