package redirect

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/rewrite"
)

func TestRedirect(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		target  string
		host    string
		tls     bool
		matched string
		status  int
		want    string
	}{
		{name: "defaults keep everything", spec: Spec{}, target: "/a/b?x=1", host: "gw.test:8080",
			status: 302, want: "http://gw.test:8080/a/b?x=1"},
		{name: "https upgrade drops port", spec: Spec{Scheme: "https", Status: 301}, target: "/a", host: "gw.test:8080",
			status: 301, want: "https://gw.test/a"},
		{name: "same scheme keeps port", spec: Spec{Scheme: "HTTPS"}, target: "/a", host: "gw.test:8443", tls: true,
			status: 302, want: "https://gw.test:8443/a"},
		{name: "default port dropped", spec: Spec{}, target: "/a", host: "gw.test:80",
			status: 302, want: "http://gw.test/a"},
		{name: "host keeps non-default port", spec: Spec{Authority: rewrite.Authority{Kind: rewrite.AuthorityHost, Value: "new.test"}}, target: "/a", host: "gw.test:8080",
			status: 302, want: "http://new.test:8080/a"},
		{name: "host with scheme uses default port", spec: Spec{Scheme: "https", Authority: rewrite.Authority{Kind: rewrite.AuthorityHost, Value: "new.test"}}, target: "/a", host: "gw.test:8080",
			status: 302, want: "https://new.test/a"},
		{name: "port", spec: Spec{Authority: rewrite.Authority{Kind: rewrite.AuthorityPort, Port: 9090}}, target: "/a", host: "gw.test:8080",
			status: 302, want: "http://gw.test:9090/a"},
		{name: "port default for scheme", spec: Spec{Scheme: "https", Authority: rewrite.Authority{Kind: rewrite.AuthorityPort, Port: 443}}, target: "/a", host: "gw.test",
			status: 302, want: "https://gw.test/a"},
		{name: "full", spec: Spec{Authority: rewrite.Authority{Kind: rewrite.AuthorityFull, Value: "other.test:1"}, Status: 308}, target: "/a", host: "gw.test",
			status: 308, want: "http://other.test:1/a"},
		{name: "auto keeps", spec: Spec{Authority: rewrite.Authority{Kind: rewrite.AuthorityAuto}}, target: "/a", host: "gw.test",
			status: 302, want: "http://gw.test/a"},
		{name: "full path", spec: Spec{Path: rewrite.Path{Kind: rewrite.PathFull, Value: "/login"}}, target: "/a?next=%2Fb", host: "gw.test",
			status: 302, want: "http://gw.test/login?next=%2Fb"},
		{name: "prefix path", spec: Spec{Path: rewrite.Path{Kind: rewrite.PathPrefix, Value: "/v2"}}, target: "/v1/items/7", host: "gw.test", matched: "/v1",
			status: 302, want: "http://gw.test/v2/items/7"},
		{name: "normalized path", spec: Spec{}, target: "/a//b/../c", host: "gw.test",
			status: 302, want: "http://gw.test/a/c"},
		{name: "no host gives a relative location", spec: Spec{}, target: "/a", host: "",
			status: 302, want: "/a"},
		{name: "ipv6 host", spec: Spec{Scheme: "https"}, target: "/a", host: "[::1]:8080",
			status: 302, want: "https://[::1]/a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := New(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			forwarded := false
			h := mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { forwarded = true }))
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Host = tc.host
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			r = r.WithContext(pipeline.WithInfo(r.Context(), &pipeline.Info{MatchedPrefix: tc.matched}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if forwarded {
				t.Fatal("redirect forwarded the request")
			}
			if rec.Code != tc.status || rec.Header().Get("Location") != tc.want {
				t.Fatalf("status %d Location %q, want %d %q", rec.Code, rec.Header().Get("Location"), tc.status, tc.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Scheme: "ftp"}, `requestRedirect.scheme: "ftp"`},
		{Spec{Status: 200}, `requestRedirect.status: 200 is not a redirect status`},
		{Spec{Path: rewrite.Path{Kind: rewrite.PathFull, Value: "x"}}, `requestRedirect.path`},
		{Spec{Authority: rewrite.Authority{Kind: rewrite.AuthorityPort}}, `requestRedirect.authority.port`},
	} {
		if _, err := New(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}
