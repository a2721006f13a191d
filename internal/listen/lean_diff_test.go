package listen

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func get(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: example.com\r\n" + strings.Join(extra, "") + "\r\n"
}

func post(path, body string, extra ...string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: example.com\r\nContent-Length: " + itoa(len(body)) + "\r\n" + strings.Join(extra, "") + "\r\n" + body
}

func itoa(n int) string { return strconv.Itoa(n) }

// diffCases is the differential corpus (also the fuzz seed).
var diffCases = []struct {
	name string
	raw  string
}{
	{"small body without Content-Length", get("/small")},
	{"Content-Length", get("/cl")},
	{"Content-Length and Content-Type, header edited after WriteHeader", get("/clct") + get("/cl")},
	{"Content-Length and Content-Type with trailer keys", get("/clct-trailerprefix") + get("/cl")},
	{"Content-Length and Content-Type, handler Connection: close", get("/clct-close") + get("/cl")},
	{"Content-Length and Content-Type, body read after WriteHeader", post("/clct-readbody", "abcdef") + get("/cl")},
	{"body read to its end, then Content-Length and Content-Type", post("/clct-readfirst", "abcdef") + post("/clct-readfirst", "") + get("/cl")},
	{"Content-Length and Content-Type, full duplex echo", post("/clct-duplex", "duplex body") + get("/cl")},
	{"body larger than 4 KiB", get("/big")},
	{"many writes past the chunking buffer", get("/bigmulti")},
	{"flush mid-body", get("/flush")},
	{"announced trailers", get("/trailer")},
	{"TrailerPrefix trailers", get("/trailerprefix")},
	{"204", get("/204")},
	{"304", get("/304")},
	{"103 early hints", get("/103")},
	{"unknown status code", get("/unknown")},
	{"WriteHeader twice", get("/twice")},
	{"empty 200", get("/empty")},
	{"header value with CR/LF", get("/crlf")},
	{"invalid header name", get("/badname")},
	{"Content-Type sniffing", get("/sniff")},
	{"Content-Type key with empty slice", get("/ctempty")},
	{"write past Content-Length", get("/pastcl")},
	{"short body vs Content-Length", get("/short")},
	{"invalid handler Content-Length", get("/badcl")},
	{"handler Transfer-Encoding identity", get("/te-identity")},
	{"handler Transfer-Encoding chunked and Content-Length", get("/te-chunked")},
	{"request body echo", post("/echo", "hello request body")},
	{"ReadFrom", get("/readfrom")},
	{"unread small body", post("/unread", "leftover") + get("/small")},
	{"body closed by the handler", post("/closebody", strings.Repeat("c", 5000)) + get("/small")},
	{"unread body over 256 KiB", post("/unread", strings.Repeat("u", 300<<10))},
	{"pipelined requests", get("/small") + get("/cl") + get("/big") + get("/flush") + post("/echo", "abc") + get("/trailer")},
	{"request Connection: close", get("/small", "Connection: close\r\n")},
	{"handler Connection: close", get("/close")},
	{"panic", get("/panic")},
	{"panic after flush", get("/panicflushed")},
	{"ErrAbortHandler", get("/abort")},
	{"echo request", get("/x?a=1&b=%20", "X-B: 2\r\nX-A: 1\r\nX-A: 3\r\n")},
	{"absolute URI", "GET http://other.example/p HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"leading CRLF after POST", post("/echo", "x") + "\r\n" + get("/small")},
	{"truncated body", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"},
	{"hijack without Upgrade", get("/hijack") + get("/small")},
	{"empty Host", "GET /x HTTP/1.1\r\nHost:\r\n\r\n"},
	// Handed to net/http.
	{"HEAD", "HEAD /small HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"Upgrade hijack", get("/hijack", "Upgrade: test\r\nConnection: Upgrade\r\n")},
	{"Expect: 100-continue", post("/echo", "continued", "Expect: 100-continue\r\n")},
	{"unknown Expect", post("/echo", "x", "Expect: nothing\r\n")},
	{"chunked upload", "POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
	{"HTTP/1.0", "GET /small HTTP/1.0\r\n\r\n"},
	{"HTTP/1.0 keep-alive", "GET /cl HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + "GET /small HTTP/1.0\r\n\r\n"},
	{"head larger than 4 KiB", get("/small", "X-Big: "+strings.Repeat("b", 5000)+"\r\n")},
	{"head larger than MaxHeaderBytes", get("/small", "X-Big: "+strings.Repeat("b", 70<<10)+"\r\n")},
	{"bare LF", "GET /small HTTP/1.1\nHost: example.com\n\n"},
	{"missing Host", "GET /small HTTP/1.1\r\n\r\n"},
	{"duplicate Host", "GET /small HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
	{"malformed Host", "GET /small HTTP/1.1\r\nHost: a b\r\n\r\n"},
	{"invalid header value bytes", get("/small", "X-A: a\x01b\r\n")},
	{"invalid header name bytes", get("/small", "X A: b\r\n")},
	{"garbage", "hello there\r\n\r\n"},
	{"truncated head", "GET /small HTTP/1.1\r\nHost: exa"},
	{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n"},
	{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
	{"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"},
	{"negative Content-Length", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"},
	{"lean then handed off", get("/small") + "HEAD /small HTTP/1.1\r\nHost: example.com\r\n\r\n" + get("/cl")},
	{"lean then chunked upload", get("/cl") + "POST /echo HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get("/small")},
}

func TestLeanDifferential(t *testing.T) {
	h := diffHandler()
	plain := newTestServer(t, h, false, nil)
	lean := newTestServer(t, h, true, nil)
	handing := false
	for _, tc := range diffCases {
		handing = handing || tc.name == "HEAD" // the rest are handed off
		t.Run(tc.name, func(t *testing.T) {
			before := lean.ls.handoffs.Load()
			compareServers(t, plain, lean, []byte(tc.raw))
			if got := lean.ls.handoffs.Load() != before; got != handing {
				t.Errorf("handed off = %v, want %v", got, handing)
			}
		})
	}
}

// TestLeanH2CPriorKnowledge: an h2c client with prior knowledge is handed
// to net/http's HTTP/2 server.
func TestLeanH2CPriorKnowledge(t *testing.T) {
	lean := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}), true, nil)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("http://" + lean.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || string(b) != "HTTP/2.0" {
		t.Fatalf("proto %s, body %q", resp.Proto, b)
	}
}
