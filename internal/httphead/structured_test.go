package httphead

import (
	"strings"
	"testing"
)

// TestStructuredDifferential: every single byte in every position of a plain
// head, and every pair of a set of tricky header lines, is either left to
// net/http or read as net/http reads it (checkRequest / checkResponse).
func TestStructuredDifferential(t *testing.T) {
	reqTmpl := []string{
		"M%sT / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a%sb HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a?x%sy HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a? HTTP/1.1\r\nHost: a\r\nX%sY: v\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nX: v%sw\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a%s\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\n%sX: 1\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1%s\r\n\r\n",
		"GET /%s HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a%s HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a?%s HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1%s\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\n%s\r\nHost: a\r\n\r\n",
	}
	resTmpl := []string{
		"HTTP/1.1 200 O%sK\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 2%s0 OK\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200%s\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1%s200 OK\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX%sY: v\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: v%sw\r\nContent-Length: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: %s1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: %sclose\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n%s\r\n\r\n",
	}
	for c := 0; c < 256; c++ {
		for _, s := range []string{string(rune(c))[:1], string([]byte{byte(c)}), string([]byte{byte(c), byte(c)})} {
			for _, tm := range reqTmpl {
				checkRequest(t, []byte(strings.Replace(tm, "%s", s, 1)))
			}
			for _, tm := range resTmpl {
				checkResponse(t, []byte(strings.Replace(tm, "%s", s, 1)))
			}
		}
	}
	lines := []string{
		"Host: a", "host: a", "HOST: b", "hOsT:a", "Host:", "Host: a:80", "Host: [::1]:80", "Host: a b",
		"Content-Length: 0", "content-length: 0", "Content-Length: 5", "content-length:  5 ", "Content-length: 007",
		"Content-Length: 999999999999999999", "Content-Length: 9999999999999999999", "Content-Length:",
		"Transfer-Encoding: chunked", "transfer-encoding: identity", "Upgrade: h2c", "upgrade:", "Expect: 100-continue", "expect:",
		"Connection: close", "connection: Close", "Connection: keep-alive, close", "Connection: closed", "Connection: upgrade",
		"Pragma: no-cache", "pragma: No-Cache", "Cache-Control: max-age=0", "cache-control:",
		"X-A: 1", "x-a: 2", "X-a:", "x_a: 3", "X--A: 4", "1-a: 5", "a-1b: 6", "X: caf\xc3\xa9", "X: \x80\xff",
		"X: a\tb", "X:\t", "X: \t a \t", "Trailer: X", "Te: trailers", "Content-Type: a/b", "Set-Cookie: a", "set-cookie: b",
		"Keep-Alive: 5", "Proxy-Connection: close", "Host : a", "X :1", ":x", " X: 1", "\tX: 1", "X", "X: a\rb", "X: a\x00b",
	}
	for _, a := range lines {
		for _, b := range lines {
			for _, first := range []string{"GET /x HTTP/1.1", "POST /x?y HTTP/1.1", "get //x HTTP/1.1"} {
				checkRequest(t, []byte(first+"\r\n"+a+"\r\n"+b+"\r\n\r\n"))
				checkRequest(t, []byte(first+"\r\nHost: h\r\n"+a+"\r\n"+b+"\r\n\r\n"))
				checkRequest(t, []byte(first+"\r\n"+a+"\r\nHost: h\r\n"+b+"\r\n\r\n"))
			}
			for _, first := range []string{"HTTP/1.1 200 OK", "HTTP/1.1 404", "HTTP/1.1 101 S", "HTTP/1.1 304 N"} {
				checkResponse(t, []byte(first+"\r\n"+a+"\r\n"+b+"\r\n\r\n"))
				checkResponse(t, []byte(first+"\r\n"+a+"\r\nContent-Length: 3\r\n"+b+"\r\n\r\n"))
			}
		}
	}
	// Many headers, around maxFields.
	for n := 28; n <= 36; n++ {
		var b strings.Builder
		b.WriteString("GET / HTTP/1.1\r\nHost: a\r\n")
		var r strings.Builder
		r.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n")
		for i := range n {
			b.WriteString("X-H: v\r\n")
			r.WriteString("x-h" + string(rune('a'+i%26)) + ": v\r\n")
		}
		b.WriteString("\r\n")
		r.WriteString("\r\n")
		checkRequest(t, []byte(b.String()))
		checkResponse(t, []byte(r.String()))
	}
}
