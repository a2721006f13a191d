package route

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func FuzzMatch(f *testing.F) {
	tab, err := New(append(benchSpecs(40),
		Spec{Name: "wild", Hostnames: []string{"*.example.com"}, Matches: []MatchSpec{prefix("/w"), exact("/w/x")}},
		Spec{Name: "pseudo", Matches: []MatchSpec{{Headers: []KV{{Name: ":path", Kind: ValueRegex, Value: "/p.*"}}}}},
	))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][3]string{
		{"/svc3/a", "svc0.example.com", "a=1"},
		{"//..//%2e%2E/./x", "A.B.EXAMPLE.COM.:80", "tenant=acme&x=%zz"},
		{"", "", ""},
		{"*", "[::1", "&&=&"},
		{"/a%2", ":::", "%+"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, path, host, query string) {
		n := NormalizePath(path)
		if NormalizePath(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", path, n, NormalizePath(n))
		}
		if strings.HasPrefix(path, "/") && (!strings.HasPrefix(n, "/") || strings.Contains(n, "//")) {
			t.Fatalf("bad normal form %q -> %q", path, n)
		}
		r := &http.Request{
			Method: "POST",
			Host:   host,
			URL:    &url.URL{Path: path, RawPath: path, RawQuery: query},
			Header: http.Header{"X-Env": {"prod"}},
		}
		rt, res := tab.Match(r)
		if np := NormalizePath(r.URL.EscapedPath()); rt != nil && res.Kind == PathPrefix && np[0] == '/' && !strings.HasPrefix(np, res.Prefix) {
			t.Fatalf("prefix %q does not prefix %q", res.Prefix, r.URL.EscapedPath())
		}
		_ = NormalizeRequest(r)
	})
}
