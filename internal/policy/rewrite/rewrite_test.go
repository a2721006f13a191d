package rewrite

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

func TestReplacePrefix(t *testing.T) {
	tests := []struct{ path, prefix, repl, want string }{
		{"/api/users", "/api", "/v2", "/v2/users"},
		{"/api/users", "/api", "/v2/", "/v2/users"},
		{"/api", "/api", "/v2", "/v2"},
		{"/api/", "/api", "/v2", "/v2/"},
		{"/api/users", "/api", "/", "/users"},
		{"/api", "/api", "/", "/"},
		{"/api/", "/api", "/", "/"},
		{"/x", "/", "/v1", "/v1/x"},
		{"/", "/", "/v1", "/v1"},
		{"/x/", "", "/v1", "/v1/x/"},
		{"/apix", "/api", "/v2", "/v2/apix"}, // not an element prefix: treated as root
		{"/a%2Fb/c", "/a%2Fb", "/z", "/z/c"},
	}
	for _, tc := range tests {
		if got := ReplacePrefix(tc.path, tc.prefix, tc.repl); got != tc.want {
			t.Errorf("ReplacePrefix(%q, %q, %q) = %q, want %q", tc.path, tc.prefix, tc.repl, got, tc.want)
		}
	}
}

func TestRewrite(t *testing.T) {
	tests := []struct {
		name       string
		spec       Spec
		target     string
		host       string
		matched    string
		wantHost   string
		wantURI    string
		wantPath   string // decoded
		sameReqObj bool
	}{
		{name: "prefix", spec: Spec{Path: Path{Kind: PathPrefix, Value: "/v2"}}, target: "/api/users?q=1&r=a%20b", matched: "/api",
			wantHost: "gw.test", wantURI: "/v2/users?q=1&r=a%20b", wantPath: "/v2/users"},
		{name: "prefix strip", spec: Spec{Path: Path{Kind: PathPrefix, Value: "/"}}, target: "/api/users", matched: "/api",
			wantHost: "gw.test", wantURI: "/users", wantPath: "/users"},
		{name: "prefix from exact match", spec: Spec{Path: Path{Kind: PathPrefix, Value: "/new"}}, target: "/old/one", matched: "/old/one",
			wantHost: "gw.test", wantURI: "/new", wantPath: "/new"},
		{name: "prefix keeps encoded slash", spec: Spec{Path: Path{Kind: PathPrefix, Value: "/v2"}}, target: "/api/a%2Fb", matched: "/api",
			wantHost: "gw.test", wantURI: "/v2/a%2Fb", wantPath: "/v2/a/b"},
		{name: "full path keeps query", spec: Spec{Path: Path{Kind: PathFull, Value: "/fixed"}}, target: "/any/thing?x=1",
			wantHost: "gw.test", wantURI: "/fixed?x=1", wantPath: "/fixed"},
		{name: "authority full", spec: Spec{Authority: Authority{Kind: AuthorityFull, Value: "backend:9000"}}, target: "/a", host: "gw.test:8080",
			wantHost: "backend:9000", wantURI: "/a", wantPath: "/a"},
		{name: "authority host drops port", spec: Spec{Authority: Authority{Kind: AuthorityHost, Value: "backend"}}, target: "/a", host: "gw.test:8080",
			wantHost: "backend", wantURI: "/a", wantPath: "/a"},
		{name: "authority port", spec: Spec{Authority: Authority{Kind: AuthorityPort, Port: 9000}}, target: "/a", host: "gw.test:8080",
			wantHost: "gw.test:9000", wantURI: "/a", wantPath: "/a"},
		{name: "authority default port dropped", spec: Spec{Authority: Authority{Kind: AuthorityPort, Port: 80}}, target: "/a", host: "gw.test:8080",
			wantHost: "gw.test", wantURI: "/a", wantPath: "/a"},
		{name: "unchanged request is not copied", spec: Spec{Path: Path{Kind: PathPrefix, Value: "/api"}}, target: "/api/x", matched: "/api",
			wantHost: "gw.test", wantURI: "/api/x", wantPath: "/api/x", sameReqObj: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := New(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			var got *http.Request
			h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Host = "gw.test"
			if tc.host != "" {
				r.Host = tc.host
			}
			r = r.WithContext(pipeline.WithInfo(r.Context(), &pipeline.Info{MatchedPrefix: tc.matched}))
			origURI := r.URL.RequestURI()
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got.Host != tc.wantHost || got.URL.RequestURI() != tc.wantURI || got.URL.Path != tc.wantPath {
				t.Fatalf("host=%q uri=%q path=%q", got.Host, got.URL.RequestURI(), got.URL.Path)
			}
			if r.URL.RequestURI() != origURI {
				t.Fatalf("original request changed: %q", r.URL.RequestURI())
			}
			if (got == r) != tc.sameReqObj {
				t.Fatalf("same request object = %v", got == r)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Path: Path{Kind: PathFull, Value: "noslash"}}, `urlRewrite.path: "noslash" must start with /`},
		{Spec{Path: Path{Kind: PathPrefix, Value: "/a?b"}}, `must start with /`},
		{Spec{Path: Path{Kind: PathFull, Value: "/a%zz"}}, `invalid URL escape`},
		{Spec{Authority: Authority{Kind: AuthorityFull, Value: "a/b"}}, `urlRewrite.authority: invalid "a/b"`},
		{Spec{Authority: Authority{Kind: AuthorityFull, Value: "a:0"}}, `invalid port`},
		{Spec{Authority: Authority{Kind: AuthorityHost, Value: "a:80"}}, `has a port`},
		{Spec{Authority: Authority{Kind: AuthorityPort, Port: 70000}}, `out of range`},
	} {
		if _, err := New(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}
