package httphead

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// Request heads real clients send: each must take the fast path.
var clientRequests = []struct{ name, head string }{
	{"curl", "GET /get?x=1 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"},
	{"fortio", "GET / HTTP/1.1\r\nHost: 127.0.0.1:19080\r\nUser-Agent: fortio.org/fortio-1.66.5\r\n\r\n"},
	{"Go http.Client", "GET /v1/models HTTP/1.1\r\nHost: localhost:3000\r\nUser-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n"},
	// The OpenAI Node SDK (through undici): lower-case keys.
	{"openai-node", "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost:3000\r\nconnection: keep-alive\r\naccept: application/json\r\ncontent-type: application/json\r\nuser-agent: OpenAI/JS 4.104.0\r\nx-stainless-lang: js\r\nx-stainless-retry-count: 0\r\nauthorization: Bearer sk-test\r\ncontent-length: 1065\r\naccept-language: *\r\nsec-fetch-mode: cors\r\naccept-encoding: gzip, deflate\r\n\r\n"},
	{"MCP streamable HTTP", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nMcp-Session-Id: 4f1c2b3a\r\nMcp-Protocol-Version: 2025-06-18\r\nContent-Length: 90\r\n\r\n"},
	{"repeated key, spaces and tabs around values", "GET /a/b;c=d,e HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a:2 \r\nX-B:\t\tv\t \r\nX-Empty:\r\n\r\n"},
	{"Pragma: no-cache", "GET /?q HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n"},
	{"Connection: close", "DELETE /x HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, close\r\n\r\n"},
	{"empty query", "GET /x? HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"query with ?, # and %", "GET /x??a=%20#f HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"obs-text value", "GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n"},
}

// Request heads the fast path leaves to net/http (which may serve or
// refuse them).
var otherRequests = []string{
	"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
	"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
	"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a%20b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /a!b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /?caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost: a\r\n",
	"GET / HTTP/1.1\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
	"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x01b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x7fb\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"G\xe9T / HTTP/1.1\r\nHost: a\r\n\r\n",
}

func TestRequestClients(t *testing.T) {
	for _, tc := range clientRequests {
		t.Run(tc.name, func(t *testing.T) {
			if !checkRequest(t, []byte(tc.head)) {
				t.Fatal("left to net/http")
			}
		})
	}
}

func TestRequestOthers(t *testing.T) {
	for _, head := range otherRequests {
		if checkRequest(t, []byte(head)) {
			t.Errorf("%q: parsed, want it left to net/http", head)
		}
	}
}

func TestRequestFields(t *testing.T) {
	var req http.Request
	var u url.URL
	head := "POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: gw:3000\r\ncontent-length: 12\r\nx-a: 1\r\nX-A: 2\r\nconnection: close\r\n\r\n"
	if !Request([]byte(head), &req, &u) {
		t.Fatal("not parsed")
	}
	want := http.Header{"Content-Length": {"12"}, "X-A": {"1", "2"}, "Connection": {"close"}}
	if req.Method != "POST" || req.RequestURI != "/v1/chat/completions?x=1" || u.Path != "/v1/chat/completions" ||
		u.RawQuery != "x=1" || req.Host != "gw:3000" || req.ContentLength != 12 || !req.Close ||
		!reflect.DeepEqual(req.Header, want) {
		t.Fatalf("got %+v, URL %+v", req, u)
	}
}

// checkRequest parses head with Request and, when it accepts, checks
// that net/http reads the same request with the same fields and that the
// lean server's eligibility rules hold for it.
func checkRequest(t *testing.T, head []byte) bool {
	t.Helper()
	var req http.Request
	var u url.URL
	if !Request(bytes.Clone(head), &req, &u) {
		return false
	}
	br := bufio.NewReader(bytes.NewReader(head))
	std, err := http.ReadRequest(br)
	if err != nil {
		t.Fatalf("%q: parsed, but net/http refuses it: %v", head, err)
	}
	if br.Buffered() != 0 {
		t.Fatalf("%q: net/http's head is %d bytes shorter", head, br.Buffered())
	}
	if req.Method != std.Method || req.RequestURI != std.RequestURI || req.Proto != std.Proto ||
		req.ProtoMajor != std.ProtoMajor || req.ProtoMinor != std.ProtoMinor ||
		req.Host != std.Host || req.ContentLength != std.ContentLength || req.Close != std.Close ||
		req.TransferEncoding != nil || std.TransferEncoding != nil || std.Trailer != nil {
		t.Fatalf("%q:\n got %+v\nwant %+v", head, req, *std)
	}
	if !reflect.DeepEqual(req.URL, std.URL) {
		t.Fatalf("%q: URL\n got %#v\nwant %#v", head, *req.URL, *std.URL)
	}
	if !reflect.DeepEqual(req.Header, std.Header) {
		t.Fatalf("%q: header\n got %#v\nwant %#v", head, req.Header, std.Header)
	}
	// The lean server's own rules (internal/listen leanEligible, leanHostOK).
	switch std.Method {
	case "CONNECT", "HEAD", "PRI":
		t.Fatalf("%q: method %s parsed", head, std.Method)
	}
	if std.ProtoMajor != 1 || std.ProtoMinor != 1 || std.ContentLength < 0 || hostLines(head) != 1 ||
		!httpguts.ValidHostHeader(std.Host) {
		t.Fatalf("%q: not a lean request: %+v", head, *std)
	}
	for k, vv := range std.Header {
		if k == "Upgrade" || k == "Expect" || k == "Transfer-Encoding" || !httpguts.ValidHeaderFieldName(k) {
			t.Fatalf("%q: header %q parsed", head, k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				t.Fatalf("%q: value %q parsed", head, v)
			}
		}
	}
	return true
}

// hostLines counts the head's Host lines.
func hostLines(head []byte) int {
	n := 0
	for _, line := range strings.Split(string(head), "\r\n")[1:] {
		if k, _, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Host") {
			n++
		}
	}
	return n
}

func FuzzRequest(f *testing.F) {
	for _, tc := range clientRequests {
		f.Add([]byte(tc.head))
	}
	for _, h := range otherRequests {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		checkRequest(t, head)
	})
}

// Response heads upstreams send: each must take the fast path.
var upstreamResponses = []struct{ name, head string }{
	{"net/http", "HTTP/1.1 200 OK\r\nContent-Length: 1024\r\nContent-Type: application/octet-stream\r\nDate: Sun, 06 Dec 2026 12:00:00 GMT\r\n\r\n"},
	{"nginx", "HTTP/1.1 404 Not Found\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 12:00:00 GMT\r\nContent-Type: text/html\r\nContent-Length: 153\r\nConnection: keep-alive\r\n\r\n"},
	{"OpenAI-style", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1115\r\nopenai-processing-ms: 12\r\nx-request-id: req_1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n"},
	{"no reason phrase", "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n"},
	{"Connection: close", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 5\r\n\r\n"},
	{"Pragma", "HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 2\r\n\r\n"},
	{"Trailer without chunking", "HTTP/1.1 200 OK\r\nTrailer: X-T\r\nContent-Length: 2\r\n\r\n"},
	{"reason with odd bytes", "HTTP/1.1 299 fine\tby\rme \r\nContent-Length: 2\r\n\r\n"},
	{"chunked SSE (go-sdk MCP server)", "HTTP/1.1 200 OK\r\nCache-Control: no-cache, no-transform\r\nConnection: keep-alive\r\nContent-Type: text/event-stream\r\nDate: Sun, 06 Dec 2026 13:06:03 GMT\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"Chunked, any case", "HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n"},
}

var otherResponses = []string{
	"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
	"HTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
	"HTTP/1.1 600 Odd\r\nContent-Length: 1\r\n\r\n",
	"HTTP/1.1 20 OK\r\nContent-Length: 1\r\n\r\n",
	"HTTP/1.1 2000 OK\r\nContent-Length: 1\r\n\r\n",
	"HTTP/1.1  200 OK\r\nContent-Length: 1\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 1\n\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n folded\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX Y: 1\r\nContent-Length: 1\r\n\r\n",
}

func TestResponseUpstreams(t *testing.T) {
	for _, tc := range upstreamResponses {
		t.Run(tc.name, func(t *testing.T) {
			if !checkResponse(t, []byte(tc.head)) {
				t.Fatal("left to net/http")
			}
		})
	}
}

func TestResponseOthers(t *testing.T) {
	for _, head := range otherResponses {
		if checkResponse(t, []byte(head)) {
			t.Errorf("%q: parsed, want it left to net/http", head)
		}
	}
}

// checkResponse parses head with Response and, when it accepts, checks
// that net/http reads the same response (to a GET) with the same fields.
func checkResponse(t *testing.T, head []byte) bool {
	t.Helper()
	var res http.Response
	if !Response(bytes.Clone(head), &res) {
		return false
	}
	br := bufio.NewReader(bytes.NewReader(head))
	std, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("%q: parsed, but net/http refuses it: %v", head, err)
	}
	if br.Buffered() != 0 {
		t.Fatalf("%q: net/http's head is %d bytes shorter", head, br.Buffered())
	}
	if res.Status != std.Status || res.StatusCode != std.StatusCode || res.Proto != std.Proto ||
		res.ProtoMajor != std.ProtoMajor || res.ProtoMinor != std.ProtoMinor ||
		res.ContentLength != std.ContentLength || res.Close != std.Close ||
		!reflect.DeepEqual(res.TransferEncoding, std.TransferEncoding) || std.Trailer != nil || std.Uncompressed {
		t.Fatalf("%q:\n got %+v\nwant %+v", head, res, *std)
	}
	if !reflect.DeepEqual(res.Header, std.Header) {
		t.Fatalf("%q: header\n got %#v\nwant %#v", head, res.Header, std.Header)
	}
	if (std.ContentLength == 0) != (std.Body == http.NoBody) || (std.ContentLength < 0) != (res.TransferEncoding != nil) {
		t.Fatalf("%q: body %T for length %d", head, std.Body, std.ContentLength)
	}
	return true
}

func FuzzResponse(f *testing.F) {
	for _, tc := range upstreamResponses {
		f.Add([]byte(tc.head))
	}
	for _, h := range otherResponses {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		checkResponse(t, head)
	})
}

// The head is copied: the results do not change when the caller's buffer
// is reused.
func TestOwnCopy(t *testing.T) {
	buf := []byte(clientRequests[0].head)
	var req http.Request
	var u url.URL
	if !Request(buf, &req, &u) {
		t.Fatal("not parsed")
	}
	for i := range buf {
		buf[i] = 'x'
	}
	if req.Method != "GET" || u.Path != "/get" || req.Header.Get("User-Agent") != "curl/7.88.1" {
		t.Fatalf("results changed with the buffer: %+v", req)
	}
}

func BenchmarkRequest(b *testing.B) {
	head := []byte(clientRequests[1].head)
	b.ReportAllocs()
	for b.Loop() {
		var req http.Request
		var u url.URL
		if !Request(head, &req, &u) {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkRequestNetHTTP(b *testing.B) {
	head := clientRequests[1].head
	b.ReportAllocs()
	r := strings.NewReader(head)
	br := bufio.NewReader(r)
	for b.Loop() {
		r.Reset(head)
		br.Reset(r)
		if _, err := http.ReadRequest(br); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResponse(b *testing.B) {
	head := []byte(upstreamResponses[0].head)
	b.ReportAllocs()
	for b.Loop() {
		var res http.Response
		if !Response(head, &res) {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkResponseNetHTTP(b *testing.B) {
	head := upstreamResponses[0].head
	b.ReportAllocs()
	r := strings.NewReader(head)
	br := bufio.NewReader(r)
	req := &http.Request{Method: "GET"}
	for b.Loop() {
		r.Reset(head)
		br.Reset(r)
		if _, err := http.ReadResponse(br, req); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRequestGenerated checks structured random heads (targets and
// headers drawn from every printable byte and a few others), which reach
// corners byte-level fuzzing finds slowly: each is either left to
// net/http or read as it reads it.
func TestRequestGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const pool = "aZ09-._~!$&'()*+,;=:@/?#%[] \t\"<>\\^`{|}\x01\x7f\xc3\xa9"
	pick := picker(rng, pool)
	keys := []string{"host", "Host", "HOST", "x-a", "X-A", "content-length", "Connection", "pragma", "Cache-Control", "x" + pick(4)}
	generated(t, checkRequest, func(b *strings.Builder) {
		b.WriteString([]string{"GET", "POST", "PUT", "M-SEARCH", "get"}[rng.IntN(5)])
		b.WriteString(" /" + pick(12) + " HTTP/1.1\r\n")
		for range rng.IntN(5) {
			k := keys[rng.IntN(len(keys))]
			v := pick(8)
			switch k {
			case "host", "Host", "HOST":
				if rng.IntN(2) == 0 {
					v = "a.example:80"
				}
			case "content-length":
				v = []string{"0", "12", " 7 ", "0012", ""}[rng.IntN(5)]
			case "pragma":
				v = "no-cache"
			}
			b.WriteString(k + ":" + v + "\r\n")
		}
		if rng.IntN(2) == 0 {
			b.WriteString("Host: h\r\n")
		}
		b.WriteString("\r\n")
	})
}

// TestResponseGenerated: structured random response heads, as
// TestRequestGenerated.
func TestResponseGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const pool = "aZ09-._~!$&'()*+,;=:@/?#% \t\"<>\\^`{|}\x01\x7f\r\xc3\xa9"
	pick := picker(rng, pool)
	keys := []string{"content-length", "Content-Length", "connection", "Transfer-Encoding", "transfer-encoding", "pragma", "Cache-Control", "set-cookie", "Trailer", "x" + pick(4)}
	generated(t, checkResponse, func(b *strings.Builder) {
		b.WriteString([]string{"HTTP/1.1 ", "HTTP/1.0 ", "HTTP/1.1  ", "http/1.1 "}[rng.IntN(4)])
		b.WriteString([]string{"200", "201", "204", "304", "101", "404", "503", "599", "600", "2x0", "99"}[rng.IntN(11)])
		b.WriteString([]string{"", " OK", " ", " " + pick(10)}[rng.IntN(4)] + "\r\n")
		for range rng.IntN(5) {
			k := keys[rng.IntN(len(keys))]
			v := pick(8)
			switch k {
			case "content-length", "Content-Length":
				v = []string{"0", "12", " 7 ", "0012", "", "-1", "1,1"}[rng.IntN(7)]
			case "connection":
				v = []string{"close", "keep-alive", "Close, x", v}[rng.IntN(4)]
			case "Transfer-Encoding", "transfer-encoding":
				v = []string{"chunked", " Chunked ", "gzip", "chunked, gzip", v}[rng.IntN(5)]
			case "pragma":
				v = "no-cache"
			}
			b.WriteString(k + ":" + v + "\r\n")
		}
		if rng.IntN(2) == 0 {
			b.WriteString("Content-Length: 3\r\n")
		}
		b.WriteString("\r\n")
	})
}

// picker returns a function drawing up to n-1 random bytes of pool.
func picker(rng *rand.Rand, pool string) func(n int) string {
	return func(n int) string {
		var b strings.Builder
		for range rng.IntN(n) {
			b.WriteByte(pool[rng.IntN(len(pool))])
		}
		return b.String()
	}
}

// generated checks 50,000 heads written by gen and requires at least
// 1,000 of them to take the fast path (the generators are not idle).
func generated(t *testing.T, check func(*testing.T, []byte) bool, gen func(b *strings.Builder)) {
	t.Helper()
	fast := 0
	for range 50000 {
		var b strings.Builder
		gen(&b)
		if check(t, []byte(b.String())) {
			fast++
		}
	}
	t.Logf("%d of 50000 generated heads took the fast path", fast)
	if fast < 1000 {
		t.Fatalf("only %d of the generated heads took the fast path", fast)
	}
}

// ResponseLine takes a status line exactly when Response would.
func TestResponseLine(t *testing.T) {
	for _, tc := range []struct {
		line   string
		status bool
		want   bool
	}{
		{"HTTP/1.1 200 OK", true, true},
		{"HTTP/1.1 503", true, true},
		{"HTTP/1.1 299 any reason at all", true, true},
		{"HTTP/1.1 abc", true, false},
		{"HTTP/1.1 2000 OK", true, false},
		{"HTTP/1.1 20", true, false},
		{"HTTP/1.1 100 Continue", true, false}, // 1xx: net/http reads it
		{"HTTP/1.1 204 No Content", true, false},
		{"HTTP/1.1 304 Not Modified", true, false},
		{"HTTP/1.0 200 OK", true, false},
		{"SSH-2.0-OpenSSH", true, false},
		{"Content-Length: 5", false, true},
		{"X-Empty:", false, true},
		{"X A: b", false, false},
		{" folded", false, false},
		{"X-A: a\x01b", false, false},
		{"no colon", false, false},
	} {
		if got := ResponseLine([]byte(tc.line), tc.status); got != tc.want {
			t.Errorf("ResponseLine(%q, %v) = %v, want %v", tc.line, tc.status, got, tc.want)
		}
	}
}

// A head left to net/http costs at most its copy: the framing and the
// lean-path rules are decided before the header map is built.
func TestRefusedHeadAllocatesLittle(t *testing.T) {
	res := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\nX-A: 1\r\n\r\n")
	req := []byte("GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-A: 1\r\n\r\n")
	if n := testing.AllocsPerRun(100, func() {
		var r http.Response
		if Response(res, &r) {
			t.Fatal("parsed")
		}
	}); n > 1 {
		t.Errorf("refused response head: %.0f allocations, want at most 1", n)
	}
	var r http.Request
	var u url.URL // (the lean server's are in a record it allocates anyway)
	if n := testing.AllocsPerRun(100, func() {
		if Request(req, &r, &u) {
			t.Fatal("parsed")
		}
	}); n > 1 {
		t.Errorf("refused request head: %.0f allocations, want at most 1", n)
	}
}
