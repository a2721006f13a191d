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
	"time"

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
// records the headers of every request it gets. inits counts the
// initialized notifications the server handled (a session-issuing
// server's sessions), initPosts the initialize requests it was sent (a
// stateless server handles no notification).
type sdkUpstream struct {
	*httptest.Server
	inits     atomic.Int32
	initPosts atomic.Int32
	mu        sync.Mutex
	hdrs      []http.Header
}

func newSDKUpstream(t *testing.T, name string, opts *mcp.StreamableHTTPOptions) *sdkUpstream {
	u := &sdkUpstream{}
	srv := newUpstreamServer(name, func() { u.inits.Add(1) })
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, opts)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hdrs = append(u.hdrs, r.Header.Clone())
		u.mu.Unlock()
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte(`"method":"initialize"`)) {
				u.initPosts.Add(1)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
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

// echoCalls sends echo calls to target "one" with send: three in turn
// (number and string ids, each answered with its own), then 16 at once,
// the i-th with id concurrentID(its text), each answered with its own text
// (and id).
func echoCalls(t *testing.T, send func(body string) (int, string), concurrentID func(text string) string) {
	t.Helper()
	for _, id := range []string{`1`, `"a-string"`, `7`} {
		status, out := send(echoCall(id, "echo", "x"))
		if status != 200 || !strings.Contains(out, `"id":`+id+`,`) || !strings.Contains(out, "one:x") {
			t.Fatalf("call %s: %d %s", id, status, out)
		}
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := strings.Repeat("c", i+1)
			id := concurrentID(text)
			_, out := send(echoCall(id, "echo", text))
			if !strings.Contains(out, `"id":`+id) || !strings.Contains(out, `"one:`+text+`"`) {
				t.Errorf("concurrent call %d: %s", i, out)
			}
		}()
	}
	wg.Wait()
}

// sessionless makes an SDK upstream that issues no session ids (the SDK's
// stateless mode): its initialized session is pooled.
var sessionless = &mcp.StreamableHTTPOptions{Stateless: true}

// TestStatelessUpstreamSessions: stateless calls to a target without
// session ids share one initialized upstream session; a target that issues
// session ids (and may keep state in them) gets a session per request,
// never shared between clients. Answers carry the client's own id, and
// concurrent calls do not mix them up.
func TestStatelessUpstreamSessions(t *testing.T) {
	for _, stateless := range []bool{false, true} {
		t.Run(map[bool]string{false: "target with sessions", true: "target without sessions"}[stateless], func(t *testing.T) {
			up := newSDKUpstream(t, "one", &mcp.StreamableHTTPOptions{Stateless: stateless, JSONResponse: stateless})
			_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
			echoCalls(t, func(body string) (int, string) {
				status, _, out := call(t, gw.URL+"/mcp", body)
				return status, out
			}, func(string) string { return "100" })
			n, want := up.initPosts.Load(), int32(1)
			if !stateless {
				n, want = up.inits.Load(), 3+16
			}
			if n != want {
				t.Fatalf("upstream initializations: %d, want %d", n, want)
			}
			if !stateless {
				sids := map[string]bool{}
				for _, h := range up.headers() {
					if v := h.Get("Mcp-Session-Id"); v != "" {
						sids[v] = true
					}
				}
				if len(sids) != 3+16 {
					t.Fatalf("distinct upstream sessions used: %d, want %d", len(sids), 3+16)
				}
			}
		})
	}
}

// TestStatelessSessionExpiry: a session the target forgot before the call
// was asked (404) is replaced by a new one and the call is sent again.
func TestStatelessSessionExpiry(t *testing.T) {
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
	if n := up.inits.Load(); n != 3 { // one per call, and the replacement
		t.Fatalf("initializations: %d, want 3", n)
	}
	if _, _, out := call(t, gw.URL+"/mcp", echoCall("3", "echo", "again")); !strings.Contains(out, "one:again") {
		t.Fatalf("call on a new session: %s", out)
	}
	if n := up.inits.Load(); n != 4 {
		t.Fatalf("initializations: %d, want 4", n)
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

// lenientUpstream is a target that decodes params as encoding/json does,
// matching member names case-insensitively (as many Go servers do). It
// answers with what it was asked for and reports, through saw, every name
// and URI it decoded.
func lenientUpstream(t *testing.T, saw func(string)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var m struct {
			ID     json.RawMessage
			Method string
			Params struct {
				Name, URI string
				Ref       struct{ Type, Name, URI string }
			}
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &m)
		if m.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		asked := m.Params.Name + m.Params.URI + m.Params.Ref.Name + m.Params.Ref.URI
		if m.Method != "initialize" {
			saw(asked)
		}
		var res any
		switch m.Method {
		case "initialize":
			res = map[string]any{"protocolVersion": "2025-06-18", "serverInfo": map[string]any{"name": "lenient", "version": "1"},
				"capabilities": map[string]any{"tools": map[string]any{}, "prompts": map[string]any{}, "resources": map[string]any{}, "completions": map[string]any{}}}
		case "tools/call":
			res = map[string]any{"content": []any{map[string]any{"type": "text", "text": "ran:" + asked}}}
		case "prompts/get":
			res = map[string]any{"description": "ran:" + asked, "messages": []any{}}
		case "resources/read":
			res = map[string]any{"contents": []any{map[string]any{"uri": "x:", "text": "ran:" + asked}}}
		case "completion/complete":
			res = map[string]any{"completion": map[string]any{"values": []string{"ran:" + asked}}}
		default:
			res = map[string]any{}
		}
		out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": res})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestStatelessFastPathCaseVariantMembers: a client cannot smuggle a
// second name past mcpAuthorization in a member whose name differs from
// "name" or "uri" only in case: the gateway authorizes the exact member,
// but a target decoding case-insensitively would use the other.
func TestStatelessFastPathCaseVariantMembers(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	up := lenientUpstream(t, func(s string) { mu.Lock(); asked = append(asked, s); mu.Unlock() })
	url := authzGateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}},
		Authz: policy(t, `mcp.tool.name == "echo" || mcp.prompt.name == "greet" || mcp.resource.name == "file:///public"`)}) + "/mcp"
	for _, body := range []string{
		rpc("1", "tools/call", `{"name":"echo","Name":"secret","arguments":{}}`),
		rpc("2", "tools/call", `{"name":"echo","arguments":{},"NAME":"secret"}`),
		rpc("3", "prompts/get", `{"name":"greet","nAme":"secret"}`),
		rpc("4", "resources/read", `{"uri":"file:///public","URI":"file:///secret"}`),
		rpc("5", "completion/complete", `{"ref":{"type":"ref/prompt","name":"greet","Name":"secret"},"argument":{"name":"a","value":""}}`),
		rpc("6", "completion/complete", `{"ref":{"type":"ref/prompt","name":"greet","Type":"ref/resource","URI":"file:///secret"},"argument":{"name":"a","value":""}}`),
		rpc("7", "completion/complete", `{"ref":{"type":"ref/prompt","name":"greet"},"Ref":{"type":"ref/prompt","name":"secret"},"argument":{"name":"a","value":""}}`),
	} {
		_, _, out := call(t, url, body, "X-Test-Sub", "alice")
		if strings.Contains(out, "secret") {
			t.Errorf("%s: the target ran the unauthorized name: %s", body, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range asked {
		if strings.Contains(a, "secret") {
			t.Errorf("the target was asked for %q", a)
		}
	}
}

// TestStatelessFastPathOpenStreams: a target that answers on an SSE
// stream but keeps the stream open is not waited for (the initialize, a
// list, a call): the answer is relayed and the rest of the stream is given
// up on soon after.
func TestStatelessFastPathOpenStreams(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || json.Unmarshal(body, &m) != nil || m.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		res := `{}`
		switch m.Method {
		case "initialize":
			res = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"open","version":"1"}}`
		case "tools/list":
			res = `{"tools":[{"name":"echo","inputSchema":{"type":"object"}}]}`
		case "tools/call":
			res = `{"content":[{"type":"text","text":"called"}]}`
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Mcp-Session-Id", "s1")
		_, _ = io.WriteString(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":"+string(m.ID)+",\"result\":"+res+"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the stream stays open
	}))
	t.Cleanup(up.Close)
	_, gw := gateway(t, Spec{Stateless: true, ListTimeout: time.Hour, CallTimeout: time.Hour, InitTimeout: time.Hour,
		Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	client := &http.Client{Timeout: 30 * time.Second} // far more than enough; without the bound, an hour
	for _, tc := range []struct{ body, want string }{
		{rpc("1", "tools/list", `{}`), `"name":"echo"`},
		{echoCall("2", "echo", "x"), `"text":"called"`},
	} {
		req, _ := http.NewRequest("POST", gw.URL+"/mcp", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Fatalf("%s: %v %s", tc.body, err, out)
		}
	}
}

// firstMember is the string value of the first member named key of the
// JSON object raw, as a parser keeping the first of duplicate members
// reads it.
func firstMember(raw json.RawMessage, key string) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return ""
		}
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return ""
		}
		var s string
		if k == key && json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return ""
}

// TestStatelessFastPathDuplicateMembers: with mcpAuthorization, a target
// that keeps the first of duplicate members is sent the name that was
// authorized (the last, as the gateway reads it), not the other.
func TestStatelessFastPathDuplicateMembers(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || json.Unmarshal(body, &m) != nil || m.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		res := `{"protocolVersion":"2025-06-18","capabilities":{"tools":{},"resources":{}},"serverInfo":{"name":"first","version":"1"}}`
		if m.Method != "initialize" {
			got := firstMember(m.Params, "name") + firstMember(m.Params, "uri")
			mu.Lock()
			asked = append(asked, got)
			mu.Unlock()
			res = `{"content":[],"contents":[]}`
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(m.ID)+`,"result":`+res+`}`)
	}))
	t.Cleanup(up.Close)
	url := authzGateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}},
		Authz: policy(t, `mcp.tool.name == "echo" || mcp.resource.name == "file:///public"`)}) + "/mcp"
	for _, body := range []string{
		rpc("1", "tools/call", `{"name":"secret","name":"echo","arguments":{}}`),
		rpc("2", "tools/call", `{"name":"secret","na\u006de":"echo","arguments":{}}`),
		rpc("3", "resources/read", `{"uri":"file:///secret","uri":"file:///public"}`),
	} {
		call(t, url, body, "X-Test-Sub", "alice")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) == 0 {
		t.Fatal("the target was asked nothing")
	}
	for _, a := range asked {
		if strings.Contains(a, "secret") {
			t.Errorf("the target was asked for %q", a)
		}
	}
}

// TestStatelessSessionsAfterTargetEndsOne: a target that issues session
// ids and has ended one of them still serves calls in flight at once, each
// on a session of its own.
func TestStatelessSessionsAfterTargetEndsOne(t *testing.T) {
	up := newSDKUpstream(t, "one", nil)
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	if _, _, out := call(t, gw.URL+"/mcp", echoCall("1", "echo", "before")); !strings.Contains(out, "one:before") {
		t.Fatalf("first call: %s", out)
	}
	var sid string
	for _, h := range up.headers() {
		if v := h.Get("Mcp-Session-Id"); v != "" {
			sid = v
		}
	}
	del, _ := http.NewRequest(http.MethodDelete, up.URL, nil)
	del.Header.Set("Mcp-Session-Id", sid)
	if resp, err := http.DefaultClient.Do(del); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := strings.Repeat("e", i+1)
			if _, _, out := call(t, gw.URL+"/mcp", echoCall("9", "echo", text)); !strings.Contains(out, `"one:`+text+`"`) {
				t.Errorf("call %d: %s", i, out)
			}
		}()
	}
	wg.Wait()
	if n := up.inits.Load(); n != 17 {
		t.Fatalf("initializations: %d, want 17", n)
	}
}

// TestStatelessFastPathForeignAnswer: an answer whose id is not that of
// the request sent (a target mixing up the answers of calls interleaved on
// the shared session) is not relayed as the client's, in a JSON body as in
// an SSE stream.
func TestStatelessFastPathForeignAnswer(t *testing.T) {
	for _, sse := range []bool{false, true} {
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			body, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPost || json.Unmarshal(body, &m) != nil || m.ID == nil {
				w.WriteHeader(http.StatusAccepted)
				return
			}
			id, res := string(m.ID), `{"content":[{"type":"text","text":"another client's answer"}]}`
			if m.Method == "initialize" {
				res = `{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"mixed","version":"1"}}`
			} else {
				id = `"someone-else"`
			}
			msg := `{"jsonrpc":"2.0","id":` + id + `,"result":` + res + `}`
			if sse {
				w.Header().Set("Content-Type", "text/event-stream")
				_, _ = io.WriteString(w, "event: message\ndata: "+msg+"\n\n")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, msg)
		}))
		t.Cleanup(up.Close)
		_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
		for _, body := range []string{echoCall("1", "echo", "x"), rpc("2", "tools/list", `{}`)} {
			if _, _, out := call(t, gw.URL+"/mcp", body); strings.Contains(out, "another client") || !strings.Contains(out, `"error"`) {
				t.Errorf("sse %v: %s: %s", sse, body, out)
			}
		}
	}
}
