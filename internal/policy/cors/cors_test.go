package cors

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestOriginMatching(t *testing.T) {
	tests := []struct {
		allow  []string
		origin string
		want   bool
	}{
		{[]string{"*"}, "https://anything.test", true},
		{[]string{"https://app.example.com"}, "https://app.example.com", true},
		{[]string{"https://app.example.com"}, "https://APP.example.com", true},
		{[]string{"https://app.example.com"}, "https://app.example.com:443", true},
		{[]string{"https://app.example.com:443"}, "https://app.example.com", true},
		{[]string{"https://app.example.com"}, "http://app.example.com", false},
		{[]string{"https://app.example.com"}, "https://app.example.com:8443", false},
		{[]string{"https://app.example.com"}, "https://app.example.com.evil.test", false},
		{[]string{"https://*.example.com"}, "https://a.example.com", true},
		{[]string{"https://*.example.com"}, "https://a.b.example.com", true},
		{[]string{"https://*.example.com"}, "https://example.com", false},
		{[]string{"https://*.example.com"}, "https://evilexample.com", false},
		{[]string{"https://*.example.com"}, "http://a.example.com", false},
		{[]string{"https://*.example.com:8443"}, "https://a.example.com:8443", true},
		{[]string{"https://*.example.com"}, "https://a.example.com:8443", false},
		{[]string{"http://*"}, "http://localhost", true},
		{[]string{"http://localhost:3000"}, "http://localhost:3000", true},
		{[]string{"null"}, "null", true},
		{[]string{"https://a.test"}, "null", false},
		{[]string{"https://a.test"}, "https://a.test/path", false},
		{[]string{"https://*.test"}, "https://*.test", false},
		{nil, "https://a.test", false},
	}
	for _, tc := range tests {
		p, err := Compile(Spec{AllowOrigins: tc.allow})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Allowed(tc.origin); got != tc.want {
			t.Errorf("allow %v origin %q: got %v, want %v", tc.allow, tc.origin, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	maxAge := -time.Second
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{AllowOrigins: []string{"example.com"}}, `allowOrigins: "example.com" is not an origin`},
		{Spec{AllowOrigins: []string{"ftp://example.com"}}, `not an origin`},
		{Spec{AllowOrigins: []string{"https://example.com/x"}}, `not an origin`},
		{Spec{AllowOrigins: []string{"https://example.com:99999"}}, `not an origin`},
		{Spec{AllowHeaders: []string{"bad header"}}, `allowHeaders: invalid entry`},
		{Spec{AllowMethods: []string{"GET,POST"}}, `allowMethods: invalid entry`},
		{Spec{MaxAge: &maxAge}, `maxAge`},
	} {
		if _, err := New(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}

type result struct {
	forwarded bool
	status    int
	header    http.Header
}

func run(t *testing.T, spec Spec, method string, reqHeader http.Header, upstream http.Header) result {
	t.Helper()
	mw, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res.forwarded = true
		for k, v := range upstream {
			w.Header()[k] = v
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	r := httptest.NewRequest(method, "/", nil)
	for k, v := range reqHeader {
		r.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res.status = rec.Code
	res.header = rec.Header()
	return res
}

func TestPreflightAndActual(t *testing.T) {
	hour := time.Hour
	list := Spec{
		AllowOrigins:  []string{"https://app.example.com", "https://*.dev.example.com"},
		AllowMethods:  []string{"get", "POST"},
		AllowHeaders:  []string{"Content-Type", "mcp-session-id"},
		ExposeHeaders: []string{"mcp-session-id"},
		MaxAge:        &hour,
	}
	star := Spec{AllowOrigins: []string{"*"}, AllowHeaders: []string{"*"}, AllowMethods: []string{"*"}}
	creds := Spec{AllowOrigins: []string{"*"}, AllowCredentials: true, AllowHeaders: []string{"*"}}
	pre := func(origin, method, headers string) http.Header {
		h := http.Header{"Origin": {origin}, "Access-Control-Request-Method": {method}}
		if headers != "" {
			h["Access-Control-Request-Headers"] = []string{headers}
		}
		return h
	}
	tests := []struct {
		name      string
		spec      Spec
		method    string
		req       http.Header
		upstream  http.Header
		forwarded bool
		status    int
		want      http.Header // exact response header
	}{
		{
			name: "no origin passes through", spec: list, method: "GET",
			forwarded: true, status: http.StatusTeapot, want: http.Header{},
		},
		{
			name: "preflight allowed (list)", spec: list, method: "OPTIONS", req: pre("https://app.example.com", "POST", "content-type"),
			status: http.StatusOK,
			want: http.Header{
				"Access-Control-Allow-Origin":  {"https://app.example.com"},
				"Access-Control-Allow-Methods": {"GET, POST"},
				"Access-Control-Allow-Headers": {"content-type, mcp-session-id"},
				"Access-Control-Max-Age":       {"3600"},
				"Vary":                         {"Origin"},
				"Content-Length":               {"0"},
			},
		},
		{
			name: "preflight wildcard subdomain", spec: list, method: "OPTIONS", req: pre("https://x.dev.example.com", "GET", ""),
			status: http.StatusOK,
			want: http.Header{
				"Access-Control-Allow-Origin":  {"https://x.dev.example.com"},
				"Access-Control-Allow-Methods": {"GET, POST"},
				"Access-Control-Allow-Headers": {"content-type, mcp-session-id"},
				"Access-Control-Max-Age":       {"3600"},
				"Vary":                         {"Origin"},
				"Content-Length":               {"0"},
			},
		},
		{
			name: "preflight disallowed origin answered without CORS headers", spec: list, method: "OPTIONS", req: pre("https://evil.test", "POST", ""),
			status: http.StatusOK, want: http.Header{},
		},
		{
			name: "preflight star echoes requested method and headers", spec: star, method: "OPTIONS", req: pre("https://a.test", "PUT", "X-A,  x-b"),
			status: http.StatusOK,
			want: http.Header{
				"Access-Control-Allow-Origin":  {"*"},
				"Access-Control-Allow-Methods": {"PUT"},
				"Access-Control-Allow-Headers": {"x-a, x-b"},
				"Vary":                         {"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
				"Content-Length":               {"0"},
			},
		},
		{
			name: "preflight with credentials echoes origin", spec: creds, method: "OPTIONS", req: pre("https://a.test", "GET", "authorization"),
			status: http.StatusOK,
			want: http.Header{
				"Access-Control-Allow-Origin":      {"https://a.test"},
				"Access-Control-Allow-Credentials": {"true"},
				"Access-Control-Allow-Headers":     {"authorization"},
				"Vary":                             {"Origin, Access-Control-Request-Headers"},
				"Content-Length":                   {"0"},
			},
		},
		{
			name: "OPTIONS without request method is forwarded", spec: list, method: "OPTIONS", req: http.Header{"Origin": {"https://app.example.com"}},
			forwarded: true, status: http.StatusTeapot,
			want: http.Header{
				"Access-Control-Allow-Origin":   {"https://app.example.com"},
				"Access-Control-Expose-Headers": {"mcp-session-id"},
				"Vary":                          {"Origin"},
			},
		},
		{
			name: "actual request allowed (list) replaces upstream CORS", spec: list, method: "POST", req: http.Header{"Origin": {"https://app.example.com"}},
			upstream:  http.Header{"Access-Control-Allow-Origin": {"*"}, "Vary": {"Accept-Encoding"}},
			forwarded: true, status: http.StatusTeapot,
			want: http.Header{
				"Access-Control-Allow-Origin":   {"https://app.example.com"},
				"Access-Control-Expose-Headers": {"mcp-session-id"},
				"Vary":                          {"Accept-Encoding", "Origin"},
			},
		},
		{
			name: "actual request star", spec: star, method: "GET", req: http.Header{"Origin": {"https://a.test"}},
			upstream:  http.Header{"Vary": {"origin"}},
			forwarded: true, status: http.StatusTeapot,
			want: http.Header{"Access-Control-Allow-Origin": {"*"}, "Vary": {"origin"}},
		},
		{
			name: "actual request with credentials", spec: creds, method: "GET", req: http.Header{"Origin": {"https://a.test"}},
			forwarded: true, status: http.StatusTeapot,
			want: http.Header{
				"Access-Control-Allow-Origin":      {"https://a.test"},
				"Access-Control-Allow-Credentials": {"true"},
				"Vary":                             {"Origin"},
			},
		},
		{
			name: "actual request disallowed origin forwarded untouched", spec: list, method: "GET", req: http.Header{"Origin": {"https://evil.test"}},
			forwarded: true, status: http.StatusTeapot, want: http.Header{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.spec, tc.method, tc.req, tc.upstream)
			if res.forwarded != tc.forwarded || res.status != tc.status {
				t.Fatalf("forwarded=%v status=%d, want %v %d", res.forwarded, res.status, tc.forwarded, tc.status)
			}
			if !reflect.DeepEqual(res.header, tc.want) {
				t.Fatalf("header\n got %v\nwant %v", res.header, tc.want)
			}
		})
	}
}
