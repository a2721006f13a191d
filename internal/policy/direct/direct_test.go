package direct

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDirect(t *testing.T) {
	tests := []struct {
		name     string
		spec     Spec
		method   string
		status   int
		body     string
		ctype    string
		hasCType bool
		extra    map[string][]string
	}{
		{name: "body without type", spec: Spec{Status: 503, Body: []byte("<html>down</html>")}, method: "GET", status: 503, body: "<html>down</html>"},
		{name: "headers", spec: Spec{Status: 200, Body: []byte(`{"ok":true}`), Headers: []Header{
			{Name: "content-type", Value: "application/json"}, {Name: "x-a", Value: "1"}, {Name: "X-A", Value: "2"},
		}}, method: "GET", status: 200, body: `{"ok":true}`, ctype: "application/json", hasCType: true, extra: map[string][]string{"X-A": {"1", "2"}}},
		{name: "head has no body", spec: Spec{Status: 200, Body: []byte("abc")}, method: "HEAD", status: 200, body: ""},
		{name: "204", spec: Spec{Status: 204}, method: "GET", status: 204, body: ""},
		{name: "empty body", spec: Spec{Status: 404}, method: "GET", status: 404, body: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := New(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(mw(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				t.Error("forwarded")
			})))
			defer srv.Close()
			req, _ := http.NewRequest(tc.method, srv.URL+"/x", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || string(body) != tc.body {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if _, ok := resp.Header["Content-Type"]; ok != tc.hasCType || resp.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			for k, v := range tc.extra {
				if got := resp.Header.Values(k); strings.Join(got, ",") != strings.Join(v, ",") {
					t.Fatalf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.status != 204 && tc.method != "HEAD" && resp.ContentLength != int64(len(tc.spec.Body)) {
				t.Fatalf("Content-Length %d", resp.ContentLength)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Status: 200, BodyExpression: `"hi"`}, `bodyExpression: CEL expressions are not supported yet`},
		{Spec{Status: 99}, `directResponse.status: 99`},
		{Spec{Status: 600}, `directResponse.status: 600`},
		{Spec{Status: 204, Body: []byte("x")}, `cannot have a body`},
		{Spec{Status: 200, Headers: []Header{{Name: "Content-Length", Value: "1"}}}, `Content-Length is set by the gateway`},
		{Spec{Status: 200, Headers: []Header{{Name: "x y", Value: "1"}}}, `invalid header name`},
	} {
		if _, err := New(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
}
