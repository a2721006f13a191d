package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tests of the stateless fast path (fastpath.go) and its pooled upstream
// sessions (rawpool.go).

// call POSTs a stateless tools/call and returns the status, content type
// and body.
func call(t *testing.T, url, body string, hdr ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func echoCall(id, name, text string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"` + name + `","arguments":{"text":"` + text + `"}}}`
}

// sdkUpstream serves newUpstreamServer with the given SDK options and
// records the headers of every request it gets.
type sdkUpstream struct {
	*httptest.Server
	inits atomic.Int32
	mu    sync.Mutex
	hdrs  []http.Header
}

func newSDKUpstream(t *testing.T, name string, opts *mcp.StreamableHTTPOptions) *sdkUpstream {
	u := &sdkUpstream{}
	srv := newUpstreamServer(name, func() { u.inits.Add(1) })
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, opts)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hdrs = append(u.hdrs, r.Header.Clone())
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *sdkUpstream) headers() []http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]http.Header(nil), u.hdrs...)
}

// TestStatelessCallsShareOneUpstreamSession: stateless calls reuse one
// initialized upstream session (stateful and stateless targets), answer
// with the client's own id, and concurrent calls do not mix up answers.
func TestStatelessCallsShareOneUpstreamSession(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(map[bool]string{false: "stateful target", true: "stateless target"}[stateless], func(t *testing.T) {
			up := newSDKUpstream(t, "one", &mcp.StreamableHTTPOptions{Stateless: stateless, JSONResponse: stateless})
			_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
			for i, id := range []string{`1`, `"a-string"`, `7`} {
				status, _, out := call(t, gw.URL+"/mcp", echoCall(id, "echo", "x"))
				if status != 200 || !strings.Contains(out, `"id":`+id+`,`) || !strings.Contains(out, "one:x") {
					t.Fatalf("call %d: %d %s", i, status, out)
				}
			}
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					text := strings.Repeat("c", i+1)
					_, _, out := call(t, gw.URL+"/mcp", echoCall("100", "echo", text))
					if !strings.Contains(out, `"one:`+text+`"`) {
						t.Errorf("concurrent call %d: %s", i, out)
					}
				}()
			}
			wg.Wait()
			if !stateless {
				if n := up.inits.Load(); n != 1 {
					t.Fatalf("upstream initializations: %d, want 1", n)
				}
			}
			var inits int
			for _, h := range up.headers() {
				if h.Get("Mcp-Session-Id") == "" {
					inits++
				}
			}
			if !stateless && inits != 1 {
				t.Fatalf("upstream requests without a session: %d, want 1 (the initialize)", inits)
			}
		})
	}
}

// TestStatelessPooledSessionExpiry: a pooled session the target forgot
// (404) is replaced by a new one and the call is sent again.
func TestStatelessPooledSessionExpiry(t *testing.T) {
	up := newSDKUpstream(t, "one", nil)
	frontURL, drop := sessionDropper(t, up.URL)
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: frontURL}}})
	if _, _, out := call(t, gw.URL+"/mcp", echoCall("1", "echo", "before")); !strings.Contains(out, "one:before") {
		t.Fatalf("first call: %s", out)
	}
	drop.Store(true)
	if _, _, out := call(t, gw.URL+"/mcp", echoCall("2", "echo", "after")); !strings.Contains(out, "one:after") {
		t.Fatalf("call after expiry: %s", out)
	}
	if n := up.inits.Load(); n != 2 {
		t.Fatalf("initializations: %d, want 2", n)
	}
	if _, _, out := call(t, gw.URL+"/mcp", echoCall("3", "echo", "again")); !strings.Contains(out, "one:again") {
		t.Fatalf("call on the new session: %s", out)
	}
	if n := up.inits.Load(); n != 2 {
		t.Fatalf("initializations: %d, want still 2", n)
	}
}

// TestStatelessPoolKeepsClientsApart: clients with different credentials
// share the pooled session, but none of their headers reaches the target
// (only the target's configured ones), and mcpAuthorization is decided
// per request, on each client's own identity.
func TestStatelessPoolKeepsClientsApart(t *testing.T) {
	up := newSDKUpstream(t, "one", nil)
	tg := &TargetSpec{Name: "one", Kind: KindStreamable, URL: up.URL,
		Headers: []Header{{Name: "Authorization", Value: "Bearer gateway", Op: HeaderSet}}}
	url := authzGateway(t, Spec{Stateless: true, Targets: []*TargetSpec{tg},
		Authz: policy(t, `mcp.tool.name == "echo" && jwt.sub == "alice"`)}) + "/mcp"
	_, _, out := call(t, url, echoCall("1", "echo", "a"), "X-Test-Sub", "alice", "Authorization", "Bearer alice-secret", "Cookie", "alice=1")
	if !strings.Contains(out, "one:a") {
		t.Fatalf("alice: %s", out)
	}
	_, _, out = call(t, url, echoCall("2", "echo", "b"), "X-Test-Sub", "bob", "Authorization", "Bearer bob-secret")
	if !strings.Contains(out, `"code":-32010`) || strings.Contains(out, "one:b") {
		t.Fatalf("bob was not refused: %s", out)
	}
	for _, h := range up.headers() {
		if h.Get("Authorization") != "Bearer gateway" || h.Get("Cookie") != "" || h.Get("X-Test-Sub") != "" || h.Get(requestHeader) != "" {
			t.Fatalf("a client header reached the target: %v", h)
		}
	}
	if n := up.inits.Load(); n != 1 {
		t.Fatalf("initializations: %d, want 1", n)
	}
}

// TestStatelessFastPathStream: progress notifications precede the result
// on the call's stream, in order; a target's request to a stateless client
// is refused without hanging the call; prefixed names route.
func TestStatelessFastPathStream(t *testing.T) {
	one, two := newSDKUpstream(t, "one", nil), newSDKUpstream(t, "two", nil)
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{
		{Name: "one", Kind: KindStreamable, URL: one.URL}, {Name: "two", Kind: KindStreamable, URL: two.URL}}})
	_, ct, out := call(t, gw.URL+"/mcp", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"two_progress","arguments":{"text":"p"},"_meta":{"progressToken":"tok"}}}`)
	if !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("content type %q: %s", ct, out)
	}
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params struct {
					Progress float64 `json:"progress"`
					Token    string  `json:"progressToken"`
				} `json:"params"`
			}
			if err := json.Unmarshal([]byte(data), &m); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			if m.Method != "" {
				got = append(got, m.Method+":"+m.Params.Token)
			} else {
				got = append(got, "answer:"+string(m.ID))
			}
		}
	}
	want := "notifications/progress:tok notifications/progress:tok notifications/progress:tok answer:5"
	if strings.Join(got, " ") != want {
		t.Fatalf("stream %v, want %s", got, want)
	}
	if _, _, out := call(t, gw.URL+"/mcp", echoCall("6", "one_sample", "hi")); !strings.Contains(out, `"id":6`) || !strings.Contains(out, "not available to a stateless client") {
		t.Fatalf("sampling from a stateless call: %s", out)
	}
	if _, _, out := call(t, gw.URL+"/mcp", echoCall("7", "three_echo", "x")); !strings.Contains(out, "unknown tool") {
		t.Fatalf("unknown target: %s", out)
	}
}

// TestStatelessFastPathErrors: an unreachable target is a JSON-RPC error
// naming it; requests the fast path does not take still work.
func TestStatelessFastPathErrors(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "gone", Kind: KindStreamable, URL: dead.URL}}})
	status, _, out := call(t, gw.URL+"/mcp", echoCall("1", "echo", "x"))
	if status != 200 || !strings.Contains(out, "MCP target unavailable: gone") || !strings.Contains(out, `"id":1`) {
		t.Fatalf("dead target: %d %s", status, out)
	}

	up := newSDKUpstream(t, "one", nil)
	_, gw = gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	for body, want := range map[string]string{
		`[` + echoCall("1", "echo", "batch") + `]`: "one:batch", // a batch
		benchInit: `"serverInfo":{"name":"one"`, // initialize
	} {
		status, _, out := call(t, gw.URL+"/mcp", body)
		if status != 200 || !strings.Contains(out, want) {
			t.Fatalf("SDK path %s: %d %s", body, status, out)
		}
	}
}

func TestReadEvents(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"one", "event: message\ndata: {\"a\":1}\n\n", []string{`{"a":1}`}},
		{"crlf and id", "id: 3\r\nevent: message\r\ndata: x\r\n\r\n", []string{"x"}},
		{"multi-line data", "data: a\ndata: b\n\n", []string{"a\nb"}},
		{"comments and other events", ": ping\n\nevent: other\ndata: no\n\ndata: yes\n\n", []string{"yes"}},
		{"long line", "data: " + strings.Repeat("x", 10000) + "\n\n", []string{strings.Repeat("x", 10000)}},
		{"cut short", "data: x\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := readEvents(strings.NewReader(tc.in), func(b []byte) (bool, error) {
				got = append(got, string(b))
				return false, nil
			})
			if !errors.Is(err, io.ErrUnexpectedEOF) { // each stream ends without an answer
				t.Fatalf("err %v", err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("events %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDecodeMessageMatchesTheSDK: the gateway's decoder agrees with the
// SDK's on what a message is.
func TestDecodeMessageMatchesTheSDK(t *testing.T) {
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
		`{"jsonrpc":"2.0","id":"s","method":"ping"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":null,"method":"n"}`,
		`{"jsonrpc":"2.0","id":2,"result":{"ok":true}}`,
		`{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}}`,
		`{"jsonrpc":"2.0","id":1.0,"method":"m"}`,
	} {
		got, errMsg := decodeMessage(json.RawMessage(in))
		want, err := jsonrpc.DecodeMessage([]byte(in))
		if errMsg != "" || err != nil {
			t.Fatalf("%s: %q %v", in, errMsg, err)
		}
		a, _ := jsonrpc.EncodeMessage(got)
		b, _ := jsonrpc.EncodeMessage(want)
		if !bytes.Equal(a, b) {
			t.Fatalf("%s: decoded as %s, the SDK as %s", in, a, b)
		}
	}
	for _, in := range []string{`{"jsonrpc":"1.0","id":1,"method":"m"}`, `{"jsonrpc":"2.0","ID":1,"Method":"m"}`, `{"jsonrpc":"2.0","id":{},"method":"m"}`, `{"jsonrpc":"2.0","id":1,"method":"m","params":3}`} {
		if _, errMsg := decodeMessage(json.RawMessage(in)); errMsg == "" {
			t.Fatalf("%s accepted", in)
		}
	}
}
