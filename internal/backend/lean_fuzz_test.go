package backend

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
)

// FuzzLeanWriteRequest: whatever leanEligible lets through, writeRequest
// serialises into exactly one request that net/http parses back with the
// same method, header value and body (no injected headers or requests).
func FuzzLeanWriteRequest(f *testing.F) {
	f.Add("GET", "/p", "a=b", "example.com:8080", "X-Test", " v ", "")
	f.Add("POST", "/v1/chat", "", "", "Content-Type", "application/json", `{"a":1}`)
	f.Add("DELETE", "", "", "[::1]:80", "Connection", "close", "")
	f.Add("PUT", "/a%2Fb", "x=%zz", "h", "User-Agent", "", "body")
	f.Fuzz(func(t *testing.T, method, path, query, host, hk, hv, body string) {
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:80", Path: path, RawQuery: query}
		r := &http.Request{Method: method, URL: u, Host: host, Header: http.Header{hk: {hv}}}
		if body != "" {
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
		}
		if !leanEligible(r) {
			return
		}
		var buf bytes.Buffer
		c := &leanConn{}
		c.bw = bufio.NewWriter(&buf)
		if _, err := c.writeRequest(r, false); err != nil {
			t.Fatalf("writeRequest: %v", err)
		}
		wire := buf.String()
		br := bufio.NewReader(&buf)
		got, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("unparsable request %q: %v", wire, err)
		}
		b, err := io.ReadAll(got.Body)
		if err != nil || string(b) != body {
			t.Fatalf("body %q (%v), want %q; wire %q", b, err, body, wire)
		}
		if br.Buffered() > 0 {
			t.Fatalf("a second request follows: %q", wire)
		}
		if got.Method != methodOf(r) {
			t.Fatalf("method %q, want %q", got.Method, methodOf(r))
		}
		wantHost := host
		if wantHost == "" {
			wantHost = u.Host
		}
		if got.Host != wantHost {
			t.Fatalf("host %q, want %q", got.Host, wantHost)
		}
		ck := textproto.CanonicalMIMEHeaderKey(hk)
		switch ck {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer", "Connection":
			return
		}
		if g, want := got.Header.Get(ck), textproto.TrimString(hv); g != want {
			t.Fatalf("%s: %q, want %q; wire %q", ck, g, want, wire)
		}
	})
}
