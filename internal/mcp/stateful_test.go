package mcp

import (
	"bytes"
	"context"
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

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tests of the stateful relay (stateful.go): a tools/call in a stateful
// session goes to the session's own upstream session without the SDK.

// relayTarget is a go-sdk MCP server (sessions on) that records the
// bodies POSTed to it. Its tools: echo; ask, which elicits; roots, which
// lists the client's roots; sample; slow, which blocks until cancelled
// (reported on cancelled) or released; fail500 makes the next tools/call
// answer HTTP 500.
type relayTarget struct {
	*httptest.Server
	mu        sync.Mutex
	bodies    []string
	inits     atomic.Int32
	started   chan struct{}
	cancelled chan struct{}
	fail500   atomic.Bool
}

func newRelayTarget(t *testing.T) *relayTarget {
	t.Helper()
	return newNamedRelayTarget(t, "one")
}

// newNamedRelayTarget is a relayTarget whose answers name it (as
// newUpstreamServer's do), with one more prompt: linked, whose message is
// a link to test://static/1.
func newNamedRelayTarget(t *testing.T, name string) *relayTarget {
	t.Helper()
	rt := &relayTarget{started: make(chan struct{}, 8), cancelled: make(chan struct{}, 8)}
	srv := newUpstreamServer(name, func() { rt.inits.Add(1) })
	srv.AddPrompt(&mcp.Prompt{Name: "linked"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.ResourceLink{URI: "test://static/1", Name: "static"}}}}, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "ask"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		res, err := req.Session.Elicit(ctx, &mcp.ElicitParams{Message: in.Text, RequestedSchema: map[string]any{"type": "object", "properties": map[string]any{"ok": map[string]any{"type": "boolean"}}}})
		if err != nil {
			return nil, nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "elicited " + res.Action}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "roots"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		res, err := req.Session.ListRoots(ctx, nil) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		if err != nil {
			return nil, nil, err
		}
		var uris []string
		for _, r := range res.Roots {
			uris = append(uris, r.URI)
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "roots " + strings.Join(uris, ",")}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "slow"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		rt.started <- struct{}{}
		<-ctx.Done()
		rt.cancelled <- struct{}{}
		return nil, nil, ctx.Err()
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	rt.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			rt.mu.Lock()
			rt.bodies = append(rt.bodies, string(body))
			rt.mu.Unlock()
			if bytes.Contains(body, []byte(`"tools/call"`)) && rt.fail500.CompareAndSwap(true, false) {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(rt.Close)
	return rt
}

// posted returns the bodies POSTed so far that contain s.
func (rt *relayTarget) posted(s string) []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []string
	for _, b := range rt.bodies {
		if strings.Contains(b, s) {
			out = append(out, b)
		}
	}
	return out
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal("never: " + what)
	}
}

// TestStatefulRelayCarriesCalls: calls in a stateful session reach the
// target under the gateway's own ids, on the session's one upstream
// session, and come back with the client's ids, numbers and strings,
// also when many are in flight at once.
func TestStatefulRelayCarriesCalls(t *testing.T) {
	up := newRelayTarget(t)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	sid := openRaw(t, gw.URL+"/mcp")
	echoCalls(t, func(body string) (int, string) { return post(t, gw.URL+"/mcp", sid, body) },
		func(text string) string { return `"c` + text + `"` }) // a session refuses an id in flight twice
	calls := up.posted(`"tools/call"`)
	if len(calls) != 19 {
		t.Fatalf("target got %d calls, want 19", len(calls))
	}
	for _, b := range calls {
		if !strings.Contains(b, `"id":"agw-`) {
			t.Fatalf("a call took the SDK path: %s", b)
		}
	}
	if n := up.inits.Load(); n != 1 {
		t.Fatalf("target sessions: %d, want 1", n)
	}
	// The go-sdk client, which declares roots, is relayed too.
	cs := connect(t, gw.URL+"/mcp", nil)
	if res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "sdk"}}); err != nil || text(t, res) != "one:sdk" {
		t.Fatalf("go-sdk client: %v %v", res, err)
	}
	if got := len(up.posted(`"id":"agw-`)); got != 20 {
		t.Fatalf("relayed calls: %d, want 20", got)
	}
}

// twoTargetSession is a gateway over two relay targets, one and two
// (names prefixed), its MCP URL, and a session opened on it.
func twoTargetSession(t *testing.T) (one, two *relayTarget, url, sid string) {
	t.Helper()
	one, two = newNamedRelayTarget(t, "one"), newNamedRelayTarget(t, "two")
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{
		{Name: "one", Kind: KindStreamable, URL: one.URL}, {Name: "two", Kind: KindStreamable, URL: two.URL}}})
	url = gw.URL + "/mcp"
	return one, two, url, openRaw(t, url)
}

// TestStatefulRelayGets: prompts/get, resources/read and
// completion/complete in a stateful session are relayed too (the targets
// see the gateway's ids and their own names) and answer as on the SDK
// path: routed by prefix, URIs in prompt messages and read contents
// qualified, the target's error passed on, an unknown prefix refused
// (by the SDK path, which the relay leaves it to).
func TestStatefulRelayGets(t *testing.T) {
	one, two, url, sid := twoTargetSession(t)
	for _, tc := range []struct {
		body, want string
		up         *relayTarget
		sent       string // in the body the target got
	}{
		{rpc("1", "prompts/get", `{"name":"one_greet"}`), `"id":1,"result":{"messages":[{"content":{"type":"text","text":"hello from one"}`, one, `"name":"greet"`},
		{rpc("2", "prompts/get", `{"name":"two_linked"}`), `"uri":"two+test://static/1"`, two, `"name":"linked"`},
		{rpc(`"r"`, "resources/read", `{"uri":"two+test://static/1"}`), `"contents":[{"uri":"two+test://static/1","text":"two resource"}]}`, two, `"uri":"test://static/1"`},
		{rpc("4", "completion/complete", `{"ref":{"type":"ref/prompt","name":"one_greet"},"argument":{"name":"a","value":"b"}}`), `"id":4,"error":{"code":-32601`, one, `"name":"greet"`},
	} {
		status, out := post(t, url, sid, tc.body)
		if status != http.StatusOK || !strings.Contains(out, tc.want) {
			t.Fatalf("%s: %d %s", tc.body, status, out)
		}
		method := firstMember(json.RawMessage(tc.body), "method")
		got := tc.up.posted(`"method":"` + method + `"`)
		if len(got) == 0 {
			t.Fatalf("%s: the target got no %s", tc.body, method)
		}
		last := got[len(got)-1]
		if !strings.Contains(last, `"id":"agw-`) || !strings.Contains(last, tc.sent) {
			t.Fatalf("%s: the target got %s", tc.body, last)
		}
	}
	if status, out := post(t, url, sid, rpc("5", "prompts/get", `{"name":"three_greet"}`)); status != http.StatusOK || !strings.Contains(out, `unknown prompt`) {
		t.Fatalf("unknown prefix: %d %s", status, out)
	}
	if a, b := one.inits.Load(), two.inits.Load(); a != 1 || b != 1 {
		t.Fatalf("target sessions: %d, %d; want 1 each", a, b)
	}
}

// TestStatefulRelayAsksTheClient: a target's requests during a relayed
// call (elicitation, roots, sampling) reach the client under the
// gateway's ids, and its answers reach the target under the target's own.
func TestStatefulRelayAsksTheClient(t *testing.T) {
	up := newRelayTarget(t)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"ok": true}}, nil
		},
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) { //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "sampled"}}, nil //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		},
	})
	c.AddRoots(&mcp.Root{URI: "file:///work"}) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: gw.URL + "/mcp", MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for tool, want := range map[string]string{"ask": "elicited accept", "roots": "roots file:///work", "sample": "sampled"} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"text": "q"}})
		if err != nil || res.IsError || text(t, res) != want {
			t.Fatalf("%s: %v %v", tool, res, err)
		}
	}
	if got := len(up.posted(`"id":"agw-`)); got != 3 {
		t.Fatalf("relayed calls: %d, want 3", got)
	}
	// The client's three answers reached the target with the target's ids
	// (the go-sdk server numbers its requests).
	answers := up.posted(`"result":`)
	if len(answers) < 3 {
		t.Fatalf("answers at the target: %q", answers)
	}
	for _, a := range answers {
		if strings.Contains(a, `agw-ask`) {
			t.Fatalf("the target saw the gateway's id: %s", a)
		}
	}
	// A client that answers with an error: the target gets the error.
	refusing := connect(t, gw.URL+"/mcp", &mcp.ClientOptions{
		ElicitationHandler: func(context.Context, *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			return nil, errors.New("no user here")
		},
	})
	res, err := refusing.CallTool(context.Background(), &mcp.CallToolParams{Name: "ask", Arguments: map[string]any{"text": "q"}})
	if err == nil && (res == nil || !res.IsError) {
		t.Fatalf("a refused elicitation: %v %v", res, err)
	}
	if got := up.posted(`"error":`); len(got) == 0 || !strings.Contains(strings.Join(got, ""), "no user here") {
		t.Fatalf("the target never got the client's error: %q", got)
	}
}

// TestStatefulRelayCancels: a client's cancel, a call timeout and a client
// that goes away each stop the relayed call and cancel it at the target.
func TestStatefulRelayCancels(t *testing.T) {
	up := newRelayTarget(t)
	_, gw := gateway(t, Spec{CallTimeout: time.Hour, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	sid := openRaw(t, gw.URL+"/mcp")
	slow := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"slow","arguments":{"text":""}}}`

	t.Run("client cancel", func(t *testing.T) {
		out := inFlight(gw.URL+"/mcp", sid, slow)
		waitFor(t, up.started, "the call started")
		if code, _ := post(t, gw.URL+"/mcp", sid, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"user"}}`); code != http.StatusAccepted {
			t.Fatalf("cancel: %d", code)
		}
		waitFor(t, up.cancelled, "the target saw the cancel")
		if got := <-out; !strings.Contains(got, "cancelled") {
			t.Fatalf("the cancelled call's answer: %s", got)
		}
		if n := len(up.posted(`"notifications/cancelled"`)); n != 1 {
			t.Fatalf("cancels sent to the target: %d", n)
		}
	})
	t.Run("client goes away", func(t *testing.T) {
		goAway(t, gw.URL+"/mcp", sid, slow, up)
		waitFor(t, up.cancelled, "the target saw the cancel")
	})

	_, gw2 := gateway(t, Spec{CallTimeout: 200 * time.Millisecond, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	sid2 := openRaw(t, gw2.URL+"/mcp")
	t.Run("timeout", func(t *testing.T) {
		_, out := post(t, gw2.URL+"/mcp", sid2, slow)
		if !strings.Contains(out, "no answer within 200ms") || !strings.Contains(out, `"id":5`) {
			t.Fatalf("timed-out call: %s", out)
		}
		waitFor(t, up.started, "the call started")
		waitFor(t, up.cancelled, "the target saw the cancel")
	})
}

// goAway POSTs body (in session sid, if not "") and goes away once the
// target has started on it.
func goAway(t *testing.T, url, sid, body string, up *relayTarget) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}()
	waitFor(t, up.started, "the call started")
	cancel()
	<-done
}

// TestStatefulRelayTargetErrors: a target answering HTTP 500 gets the
// client a JSON-RPC error, and the session goes on; an answer to no
// relayed request goes to the SDK; a session the target forgot (404) is
// re-initialized, as on the SDK path (TestUpstreamSessionReinitializedAfterExpiry).
func TestStatefulRelayTargetErrors(t *testing.T) {
	up := newRelayTarget(t)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	sid := openRaw(t, gw.URL+"/mcp")
	up.fail500.Store(true)
	status, out := post(t, gw.URL+"/mcp", sid, echoCall("3", "echo", "x"))
	if status != 200 || !strings.Contains(out, `"id":3`) || !strings.Contains(out, "answered HTTP 500") {
		t.Fatalf("500: %d %s", status, out)
	}
	if _, out := post(t, gw.URL+"/mcp", sid, echoCall("4", "echo", "y")); !strings.Contains(out, "one:y") {
		t.Fatalf("after the 500: %s", out)
	}
	if status, out := post(t, gw.URL+"/mcp", sid, `{"jsonrpc":"2.0","id":"agw-ask-999999","result":{}}`); status >= 500 {
		t.Fatalf("a stray answer: %d %s", status, out)
	}
	if status, out := post(t, gw.URL+"/mcp", sid, echoCall("6", "nope", "z")); status != 200 || !strings.Contains(out, `"error"`) || !strings.Contains(out, `"id":6`) {
		t.Fatalf("unknown tool: %d %s", status, out)
	}
	// Cancels naming nothing relayed, or nothing at all, are passed to the
	// SDK and change nothing.
	for _, params := range []string{`{"requestId":{"a":1}}`, `{"requestId":null}`, `{}`, `[]`, `{"requestId":"agw-1"}`, `{"requestId":99999999999999999999}`} {
		if status, out := post(t, gw.URL+"/mcp", sid, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":`+params+`}`); status >= 500 {
			t.Fatalf("cancel %s: %d %s", params, status, out)
		}
	}
	if _, out := post(t, gw.URL+"/mcp", sid, echoCall("8", "echo", "still")); !strings.Contains(out, "one:still") {
		t.Fatalf("after the odd cancels: %s", out)
	}
}

// TestAnswerTargetPassesTheAnswerOn: a client's answer to a relayed
// request is taken by the relay (202), sent to the target under the
// target's id as the client wrote it (here a null result), and only once.
func TestAnswerTargetPassesTheAnswerOn(t *testing.T) {
	up := newRelayTarget(t)
	h, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	_ = openRaw(t, gw.URL+"/mcp")
	s := onlySession(t, h)
	rs := &rawSession{t: h.spec.Targets[0], rt: defaultUpstream, down: s}
	rs.template()
	s.asked.Store(`"agw-ask-1"`, &askedReq{rs: rs, id: json.RawMessage(`3`)})
	msgs, code, msg := parseMessages([]byte(`{"jsonrpc":"2.0","id":"agw-ask-1","result":null}`))
	if code != 0 {
		t.Fatalf("parse: %d %s", code, msg)
	}
	for i, want := range []bool{true, false} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		if got := h.statefulServe(w, r, s, msgs); got != want {
			t.Fatalf("answer %d taken by the relay: %v, want %v", i, got, want)
		}
		if want && w.Code != http.StatusAccepted {
			t.Fatalf("answer %d: %d %s", i, w.Code, w.Body.String())
		}
	}
	if got := up.posted(`"id":3,"result":null`); len(got) != 1 {
		t.Fatalf("at the target: %q", got)
	}
}

// TestStatelessRelayStopsAbandonedCalls: on the stateless fast path, a
// call that times out or whose client goes away is cancelled at a target
// that issues sessions (each such call has an upstream session of its own,
// ended with DELETE when the call is; the DELETE alone does not stop the
// go-sdk server's handler, the cancel does).
func TestStatelessRelayStopsAbandonedCalls(t *testing.T) {
	up := newRelayTarget(t)
	slow := `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"slow","arguments":{"text":""}}}`
	_, gw := gateway(t, Spec{Stateless: true, CallTimeout: 200 * time.Millisecond, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	t.Run("timeout", func(t *testing.T) {
		_, _, out := call(t, gw.URL+"/mcp", slow)
		if !strings.Contains(out, "no answer within 200ms") || !strings.Contains(out, `"id":5`) {
			t.Fatalf("timed-out call: %s", out)
		}
		waitFor(t, up.started, "the call started")
		waitFor(t, up.cancelled, "the target stopped the call")
		if got := up.posted(`"notifications/cancelled"`); len(got) != 1 || !strings.Contains(got[0], `"reason":"no answer within 200ms"`) {
			t.Fatalf("cancels sent to the target: %q", got)
		}
	})
	_, gw2 := gateway(t, Spec{Stateless: true, CallTimeout: time.Hour, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	t.Run("client goes away", func(t *testing.T) {
		goAway(t, gw2.URL+"/mcp", "", slow, up)
		waitFor(t, up.cancelled, "the target stopped the call")
		if got := up.posted(`"notifications/cancelled"`); len(got) != 2 || !strings.Contains(got[1], `"reason":"the client went away"`) {
			t.Fatalf("cancels sent to the target: %q", got)
		}
	})
}

// TestStatefulRelayLists: the lists of a stateful session are asked on the
// session's own target sessions (the targets see the gateway's ids) and
// merged as on the SDK path; a request with a cursor is left to the SDK
// path; a target session the target forgot (404) is re-initialized by the
// SDK path, which then answers the list.
func TestStatefulRelayLists(t *testing.T) {
	one, two, url, sid := twoTargetSession(t)
	for _, tc := range []struct{ method, want string }{
		{"tools/list", `"name":"one_echo"`},
		{"prompts/list", `"name":"two_linked"`},
		{"resources/list", `"uri":"two+test://static/1"`},
		{"resources/templates/list", `"resourceTemplates":[]`},
	} {
		status, out := post(t, url, sid, rpc("7", tc.method, "{}"))
		// An SSE answer, as the SDK path gives (the conformance suite's
		// server-sse-multiple-streams counts SSE streams).
		if status != http.StatusOK || !strings.HasPrefix(out, "event: message\ndata: ") || !strings.Contains(out, `"id":7`) || !strings.Contains(out, tc.want) || !strings.Contains(out, `"cacheScope":"public"`) {
			t.Fatalf("%s: %d %s", tc.method, status, out)
		}
		for _, up := range []*relayTarget{one, two} {
			got := up.posted(`"method":"` + tc.method + `"`)
			if len(got) == 0 || !strings.Contains(got[len(got)-1], `"id":"agw-`) {
				t.Fatalf("%s: the target got %q", tc.method, got)
			}
		}
	}
	// Both targets' tools, under their prefixes.
	_, out := post(t, url, sid, rpc("8", "tools/list", "{}"))
	for _, name := range []string{"one_echo", "two_echo", "one_slow", "two_ask"} {
		if !strings.Contains(out, `"name":"`+name+`"`) {
			t.Fatalf("tools/list lacks %s: %s", name, out)
		}
	}
	before := len(one.posted(`"id":"agw-`))
	if status, out := post(t, url, sid, rpc("9", "tools/list", `{"cursor":"x"}`)); status != http.StatusOK || !strings.Contains(out, `"id":9`) {
		t.Fatalf("with a cursor: %d %s", status, out)
	}
	if after := len(one.posted(`"id":"agw-`)); after != before {
		t.Fatalf("a list with a cursor was relayed (%d -> %d)", before, after)
	}

	up := newUpstream(t, "solo")
	frontURL, drop := sessionDropper(t, up.URL)
	_, gw2 := gateway(t, Spec{Targets: []*TargetSpec{{Name: "solo", Kind: KindStreamable, URL: frontURL}}})
	cs := connect(t, gw2.URL+"/mcp", nil)
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	drop.Store(true)
	tl, err := cs.ListTools(context.Background(), nil)
	if err != nil || len(tl.Tools) == 0 {
		t.Fatalf("list after expiry: %v %v", tl, err)
	}
	if drop.Load() {
		t.Fatal("the expiry was never met")
	}
	if n := up.inits.Load(); n != 2 {
		t.Fatalf("initializations: %d, want 2", n)
	}
}
