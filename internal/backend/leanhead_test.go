package backend

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestLeanHeadAsTransport: raw answers, most of them read by the fast
// path (readFast), come out of the lean client as out of http.Transport:
// status, header, Close, length, body and whether the body ends in an
// error; and a connection whose answer was read to its end is reused.
func TestLeanHeadAsTransport(t *testing.T) {
	answers := []struct {
		name, method, raw string
		fast              bool
	}{
		{"content-length", "GET", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", true},
		{"empty body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
		{"lower-case keys, repeated", "POST", "HTTP/1.1 201 Created\r\ncontent-length: 2\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nx-b:  v \r\n\r\nok", true},
		{"no reason", "GET", "HTTP/1.1 503\r\nContent-Length: 3\r\nRetry-After: 1\r\n\r\nbad", true},
		{"Connection: close", "GET", "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 4\r\n\r\noops", true},
		{"Pragma", "GET", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\nok", true},
		{"short body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", false},
		{"chunked", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", true},
		{"chunked SSE", "POST", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"1e\r\nevent: message\ndata: {\"id\":1}\n\n\r\n0\r\n\r\n", true},
		{"chunked, undeclared trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\nx-more: a\r\n\r\n", true},
		{"chunked, extension and upper-case size", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n", true},
		{"chunked, declared trailer", "GET", "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 42\r\n\r\n", false},
		{"chunked, bad size", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n", true},
		{"chunked, cut short", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true},
		{"chunked, trailer cut short", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 4", true},
		{"chunked, malformed trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nbad trailer\r\n\r\n", true},
		{"chunked and Content-Length", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n", false},
		{"until close", "GET", "HTTP/1.1 200 OK\r\n\r\nto the end", false},
		{"HTTP/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"103 then 200", "GET", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n", false},
		{"bare LF", "GET", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false},
		{"two lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", false},
	}
	type result struct {
		Status        string
		StatusCode    int
		Header        http.Header
		Close         bool
		ContentLength int64
		TE            []string
		Body          string
		BodyErr       bool
		Trailer       http.Header
	}
	read := func(rt http.RoundTripper, url, method string) result {
		req := mustReq(t, method, url, nil)
		res, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", rt, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		res.Header.Del("Date")
		return result{res.Status, res.StatusCode, res.Header, res.Close, res.ContentLength, res.TransferEncoding, string(b), err != nil, res.Trailer}
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			srv := newRawServer(t, func(_ int, c net.Conn, br *bufio.Reader) {
				for {
					if _, err := readReq(br); err != nil {
						return
					}
					_, _ = io.WriteString(c, a.raw)
					if a.name == "short body" || a.name == "until close" || strings.Contains(a.name, "cut short") {
						return
					}
				}
			})
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			want := read(tr, srv.url(), a.method)
			st := leanRT(t)
			got := read(st, srv.url(), a.method)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("lean client:\n got %+v\nwant %+v (http.Transport)", got, want)
			}
			if a.fast != readsFast(t, a.raw, a.method) {
				t.Fatalf("fast path taken = %v, want %v", !a.fast, a.fast)
			}
			reusable := !want.Close && !want.BodyErr && a.name != "until close"
			if n := st.lean.pool(srv.ln.Addr().String()).len(); (n == 1) != reusable {
				t.Fatalf("%d connections pooled, reusable = %v", n, reusable)
			}
		})
	}
}

// readsFast reports whether readFast takes raw, answering method.
func readsFast(t *testing.T, raw, method string) bool {
	t.Helper()
	c := pipeLeanConn(raw, len(raw))
	defer c.close()
	return c.readFast(mustReq(t, method, "http://x/", nil)) != nil
}

// pipeLeanConn is a lean connection over a pipe whose far end writes raw
// in pieces of step bytes, then closes. The caller closes c.
func pipeLeanConn(raw string, step int) *leanConn {
	a, b := net.Pipe()
	go func() {
		for i := 0; i < len(raw); i += step {
			_, _ = io.WriteString(b, raw[i:min(i+step, len(raw))])
		}
		b.Close()
	}()
	c := &leanConn{nc: a, limit: maxResponseHeaderBytes}
	c.io.Init(a)
	c.br = bufio.NewReaderSize(c, leanBufSize)
	return c
}

// fastAnswer reads raw's head with readFast over pipeLeanConn and ties the
// body to the connection, as roundTrip does. The caller closes c.
func fastAnswer(t *testing.T, raw string, step int) (*leanConn, *leanResponse) {
	t.Helper()
	c := pipeLeanConn(raw, step)
	lr := c.readFast(mustReq(t, "GET", "http://x/", nil))
	if lr == nil {
		t.Fatal("not fast")
	}
	lr.body.c = c
	return c, lr
}
