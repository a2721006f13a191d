package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// upstreamServer is an in-process MCP server on streamable HTTP with a
// few tools, a prompt and resources. inits counts initialize handshakes.
type upstreamServer struct {
	*httptest.Server
	inits   atomic.Int32
	lastHdr atomic.Value // http.Header of the last request
}

type echoIn struct {
	Text string `json:"text"`
}

func newUpstream(t *testing.T, name string) *upstreamServer {
	t.Helper()
	u := &upstreamServer{}
	srv := newUpstreamServer(name, func() { u.inits.Add(1) })
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.lastHdr.Store(r.Header.Clone())
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// newUpstreamServer is the MCP server behind newUpstream; onInit runs on
// each initialized notification.
func newUpstreamServer(name string, onInit ...func()) *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ServerOptions{
		InitializedHandler: func(context.Context, *mcp.InitializedRequest) {
			for _, f := range onInit {
				f()
			}
		},
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "echo from " + name}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + in.Text}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "progress"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		for i := 1; i <= 3; i++ {
			_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: req.Params.GetProgressToken(), Progress: float64(i), Total: 3})
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "sample"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		res, err := req.Session.CreateMessage(ctx, &mcp.CreateMessageParams{MaxTokens: 10, Messages: []*mcp.SamplingMessage{{Role: "user", Content: &mcp.TextContent{Text: in.Text}}}}) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		if err != nil {
			return nil, nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{res.Content}}, nil, nil
	})
	srv.AddPrompt(&mcp.Prompt{Name: "greet"}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello from " + name}}}}, nil
	})
	srv.AddResource(&mcp.Resource{URI: "test://static/1", Name: "one"}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: name + " resource"}}}, nil
	})
	return srv
}

func gateway(t *testing.T, spec Spec) (*Handler, *httptest.Server) {
	t.Helper()
	if spec.Key == nil {
		spec.Key = make([]byte, 32)
	}
	if spec.Route == "" {
		spec.Route = "test"
	}
	h, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return h, srv
}

func target(name string, u *upstreamServer) *TargetSpec {
	return &TargetSpec{Name: name, Kind: KindStreamable, URL: u.URL}
}

func connect(t *testing.T, url string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, opts)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tl := range res.Tools {
		out = append(out, tl.Name)
	}
	slices.Sort(out)
	return out
}

func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) == 0 {
		t.Fatalf("empty result %+v", res)
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("not text: %T", res.Content[0])
	}
	return tc.Text
}

func TestSingleTargetPassesNamesThrough(t *testing.T) {
	up := newUpstream(t, "one")
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{target("one", up)}})
	cs := connect(t, gw.URL+"/mcp", nil)
	if got := toolNames(t, cs); !slices.Equal(got, []string{"echo", "progress", "sample"}) {
		t.Fatalf("tools = %v", got)
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil || text(t, res) != "one:hi" {
		t.Fatalf("call: %v %v", res, err)
	}
	if err := cs.Ping(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	rr, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "test://static/1"})
	if err != nil || rr.Contents[0].Text != "one resource" {
		t.Fatalf("read: %v %v", rr, err)
	}
}

func TestFederationPrefixesAndRoutes(t *testing.T) {
	a, b := newUpstream(t, "a"), newUpstream(t, "b")
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{target("alpha", a), target("beta", b)}})
	cs := connect(t, gw.URL+"/mcp", nil)
	want := []string{"alpha_echo", "alpha_progress", "alpha_sample", "beta_echo", "beta_progress", "beta_sample"}
	if got := toolNames(t, cs); !slices.Equal(got, want) {
		t.Fatalf("tools = %v", got)
	}
	for _, tc := range []struct{ tool, want string }{{"alpha_echo", "a:x"}, {"beta_echo", "b:x"}} {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tc.tool, Arguments: map[string]any{"text": "x"}})
		if err != nil || text(t, res) != tc.want {
			t.Fatalf("%s: %v %v", tc.tool, res, err)
		}
	}
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "gamma_echo"}); err == nil {
		t.Fatal("unknown prefix: want an error")
	}
	rl, err := cs.ListResources(context.Background(), nil)
	if err != nil || len(rl.Resources) != 2 || rl.Resources[0].URI != "alpha+test://static/1" {
		t.Fatalf("resources: %+v %v", rl, err)
	}
	rr, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "beta+test://static/1"})
	if err != nil || rr.Contents[0].Text != "b resource" || rr.Contents[0].URI != "beta+test://static/1" {
		t.Fatalf("read: %+v %v", rr, err)
	}
	pl, err := cs.ListPrompts(context.Background(), nil)
	if err != nil || len(pl.Prompts) != 2 {
		t.Fatalf("prompts: %+v %v", pl, err)
	}
	gp, err := cs.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "beta_greet"})
	if err != nil || gp.Messages[0].Content.(*mcp.TextContent).Text != "hello from b" {
		t.Fatalf("prompt: %+v %v", gp, err)
	}
	if err := cs.Subscribe(context.Background(), &mcp.SubscribeParams{URI: "alpha+test://static/1"}); err != nil {
		t.Fatal(err)
	}
}

func TestPrefixNeverDropsCollisions(t *testing.T) {
	a, b := newUpstream(t, "a"), newUpstream(t, "b")
	_, gw := gateway(t, Spec{Prefix: PrefixNever, Targets: []*TargetSpec{target("alpha", a), target("beta", b)}})
	cs := connect(t, gw.URL+"/mcp", nil)
	if got := toolNames(t, cs); len(got) != 0 {
		t.Fatalf("every name collides, want none exposed, got %v", got)
	}
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo"}); err == nil {
		t.Fatal("ambiguous tool: want an error")
	}
}

func TestNotificationsAndSamplingRelayed(t *testing.T) {
	up := newUpstream(t, "one")
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{target("one", up)}})
	progress := make(chan float64, 16)
	cs := connect(t, gw.URL+"/mcp", &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			progress <- req.Params.Progress
		},
		CreateMessageHandler: func(ctx context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) { //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
			return &mcp.CreateMessageResult{Model: "m", Role: "assistant", Content: &mcp.TextContent{Text: "sampled " + req.Params.Messages[0].Content.(*mcp.TextContent).Text}}, nil //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		},
	})
	p := &mcp.CallToolParams{Name: "progress", Arguments: map[string]any{"text": ""}}
	p.SetProgressToken("tok")
	if res, err := cs.CallTool(context.Background(), p); err != nil || res.IsError {
		t.Fatal(err, res)
	}
	// The gateway writes the three notifications before the result (see
	// TestProgressPrecedesResultOnItsStream); the SDK client hands them to
	// its handler goroutine, which may run after CallTool returned.
	for want := 1.0; want <= 3; want++ {
		select {
		case got := <-progress:
			if got != want {
				t.Fatalf("progress %v, want %v", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("progress notification %v never arrived", want)
		}
	}
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "sample", Arguments: map[string]any{"text": "q"}})
	if err != nil || text(t, res) != "sampled q" {
		t.Fatalf("sampling: %v %v", res, err)
	}
}

func TestSessionResumesOnAnotherGatewayWithTheSameKey(t *testing.T) {
	up := newUpstream(t, "one")
	key := []byte("0123456789abcdef0123456789abcdef")
	spec := Spec{Key: key, Targets: []*TargetSpec{target("one", up)}}
	_, gw1 := gateway(t, spec)
	_, gw2 := gateway(t, spec)
	cs := connect(t, gw1.URL+"/mcp", nil)
	id := cs.ID()
	if id == "" || strings.Contains(id, "one") {
		t.Fatalf("session id %q", id)
	}
	// Replay the session on the second gateway with a raw request.
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"again"}}}`
	status, out := post(t, gw2.URL+"/mcp", id, body)
	if status != 200 || !strings.Contains(out, "one:again") {
		t.Fatalf("resumed call: %d %s", status, out)
	}
	if n := up.inits.Load(); n != 1 {
		t.Fatalf("upstream initialized %d times; the second gateway should resume its session", n)
	}
	// A flipped character is a forged id.
	forged := []byte(id)
	forged[len(forged)/2] ^= 1
	if status, _ := post(t, gw2.URL+"/mcp", string(forged), body); status != 404 {
		t.Fatalf("forged id: %d", status)
	}
	// Another key cannot open it either.
	_, gw3 := gateway(t, Spec{Key: []byte("another-key-another-key-another!"), Targets: []*TargetSpec{target("one", up)}})
	if status, _ := post(t, gw3.URL+"/mcp", id, body); status != 404 {
		t.Fatalf("other key: %d", status)
	}
}

func post(t *testing.T, url, sid, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFailOpenAndFailClosed(t *testing.T) {
	good := newUpstream(t, "good")
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(readAll(r), `"initialize"`) {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	targets := []*TargetSpec{target("good", good), {Name: "bad", Kind: KindStreamable, URL: hang.URL}}
	_, open := gateway(t, Spec{FailOpen: true, ListTimeout: 500 * time.Millisecond, Targets: targets})
	cs := connect(t, open.URL+"/mcp", nil)
	// failOpen: the healthy target's tools (bad failed to initialize and
	// is skipped; its calls fail fast while it backs off).
	if got := toolNames(t, cs); len(got) != 3 {
		t.Fatalf("failOpen: %v", got)
	}
	_, closed := gateway(t, Spec{Targets: targets})
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	_, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: closed.URL + "/mcp", MaxRetries: -1}, nil)
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("failClosed initialize: %v", err)
	}
}

func readAll(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestBadRequests(t *testing.T) {
	up := newUpstream(t, "one")
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{target("one", up)}})
	cases := []struct {
		name, sid, body string
		status          int
		code            int
	}{
		{"not json", "", `{"jsonrpc":`, 400, -32700},
		{"wrong version", "", `{"jsonrpc":"1.0","id":1,"method":"initialize"}`, 400, -32600},
		{"object id", "", `{"jsonrpc":"2.0","id":{},"method":"ping"}`, 400, -32600},
		{"no session", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 400, -32600},
		{"random session", "abc", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, 404, -32001},
		{"deep", "", strings.Repeat("[", 200) + strings.Repeat("]", 200), 400, -32600},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := post(t, gw.URL+"/mcp", c.sid, c.body)
			var resp struct {
				Error struct{ Code int } `json:"error"`
			}
			_ = json.Unmarshal([]byte(out), &resp)
			if status != c.status || resp.Error.Code != c.code {
				t.Fatalf("got %d %s", status, out)
			}
		})
	}
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", MaxBodyBytes) + `"}}`
	if status, _ := post(t, gw.URL+"/mcp", "", big); status != 413 {
		t.Fatalf("oversized body: %d", status)
	}
	req, _ := http.NewRequest("POST", gw.URL+"/mcp", strings.NewReader(`{}`))
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("evil origin: %d", resp.StatusCode)
	}
}

func TestStatelessMode(t *testing.T) {
	up := newUpstream(t, "one")
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{target("one", up)}})
	status, out := post(t, gw.URL+"/mcp", "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"s"}}}`)
	if status != 200 || !strings.Contains(out, "one:s") {
		t.Fatalf("stateless call: %d %s", status, out)
	}
	cs := connect(t, gw.URL+"/mcp", nil)
	if cs.ID() != "" {
		t.Fatalf("stateless session id %q", cs.ID())
	}
	if got := toolNames(t, cs); len(got) != 3 {
		t.Fatalf("tools %v", got)
	}
}

func TestCredentialsNotForwardedButPolicyHeadersAre(t *testing.T) {
	up := newUpstream(t, "one")
	tg := target("one", up)
	tg.Headers = []Header{{Name: "Authorization", Value: "Bearer upstream", Op: HeaderSet}}
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{tg}})
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	hc := &http.Client{Transport: headerRT{"Authorization", "Bearer client-secret"}}
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: gw.URL + "/mcp", HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := up.lastHdr.Load().(http.Header).Get("Authorization"); got != "Bearer upstream" {
		t.Fatalf("upstream saw Authorization %q", got)
	}
}

type headerRT struct{ k, v string }

func (h headerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.k, h.v)
	return http.DefaultTransport.RoundTrip(r)
}

func TestLegacySSETransport(t *testing.T) {
	up := newUpstream(t, "one")
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{target("one", up)}})
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.SSEClientTransport{Endpoint: gw.URL + "/sse"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "sse"}})
	if err != nil || text(t, res) != "one:sse" {
		t.Fatalf("call over SSE: %v %v", res, err)
	}
}

func TestSSEUpstream(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "legacy", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "legacy:" + in.Text}}}, nil, nil
	})
	sse := httptest.NewServer(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(sse.Close)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "legacy", Kind: KindSSE, URL: sse.URL}}})
	cs := connect(t, gw.URL+"/mcp", nil)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
	if err != nil || text(t, res) != "legacy:x" {
		t.Fatalf("call: %v %v", res, err)
	}
}

func TestUpstreamSessionReinitializedAfterExpiry(t *testing.T) {
	up := newUpstream(t, "one")
	frontURL, drop := sessionDropper(t, up.URL)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: frontURL}}})
	cs := connect(t, gw.URL+"/mcp", nil)
	// A request in the session first: the initialized notification goes
	// upstream in the background (initializedLater), and the dropped
	// request must be the call, not that notification.
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	drop.Store(true)
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "after"}})
	if err != nil || text(t, res) != "one:after" {
		t.Fatalf("call after expiry: %v %v", res, err)
	}
	if n := up.inits.Load(); n != 2 {
		t.Fatalf("initializations: %d, want 2", n)
	}
}

func TestSealRoundTripAndTamper(t *testing.T) {
	s, err := newSealer(make([]byte, 32), "r")
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.seal(&sealedState{PV: "2025-06-18", Up: []sealedUp{{Target: "t", ID: "upstream-id"}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(id, "upstream") {
		t.Fatal("id leaks its content")
	}
	st, err := s.open(id)
	if err != nil || st.Up[0].ID != "upstream-id" {
		t.Fatalf("open: %+v %v", st, err)
	}
	other, _ := newSealer(make([]byte, 32), "other-route")
	if _, err := other.open(id); err == nil {
		t.Fatal("an id from another route opened")
	}
	for i := range id {
		b := []byte(id)
		b[i] ^= 0x01
		if _, err := s.open(string(b)); err == nil && string(b) != id {
			t.Fatalf("tampered byte %d accepted", i)
		}
	}
}

func TestParseKey(t *testing.T) {
	if _, err := ParseKey(strings.Repeat("ab", 32)); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKey("short"); err == nil {
		t.Fatal("short key accepted")
	}
}

func ExampleParseKey() {
	k, _ := ParseKey(strings.Repeat("00", 32))
	fmt.Println(len(k))
	// Output: 32
}

func TestSSEClientToSSEUpstream(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "legacy", Version: "1"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "legacy:" + in.Text}}}, nil, nil
	})
	sse := httptest.NewServer(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(sse.Close)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "legacy", Kind: KindSSE, URL: sse.URL}}})
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.SSEClientTransport{Endpoint: gw.URL + "/sse"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
	if err != nil || text(t, res) != "legacy:x" {
		t.Fatalf("call: %v %v", res, err)
	}
}

// sessionDropper is a reverse proxy in front of upURL that answers 404
// ("session not found") to the first in-session request (not a
// notification) POSTed after drop is set,
// as a target that forgot its session does; everything else is relayed,
// each read flushed so streams pass as they come.
func sessionDropper(t *testing.T, upURL string) (string, *atomic.Bool) {
	t.Helper()
	drop := new(atomic.Bool)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if drop.Load() && r.Header.Get("Mcp-Session-Id") != "" && r.Method == "POST" && !bytes.Contains(body, []byte(`"notifications/`)) {
			drop.Store(false)
			http.Error(w, "session not found", http.StatusNotFound)
			return
		}
		rp, _ := http.NewRequestWithContext(r.Context(), r.Method, upURL+r.URL.Path, bytes.NewReader(body))
		rp.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(rp)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			if n > 0 {
				_, _ = w.Write(buf[:n])
				w.(http.Flusher).Flush()
			}
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(front.Close)
	return front.URL, drop
}
