package mcp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tests of the sessions' lifecycle against calls in flight: an idle
// sweep, a config reload (Handler.Close), the stateless pool's sweep and
// close, a DELETE and a target's error must not end a call that is being
// served, nor leave an upstream session behind.

// blockUpstream is an MCP target whose "block" tool and "block" prompt
// report on started when called and answer once release is closed; its
// "eof" prompt fails with an error mentioning EOF. inits counts its
// initialized sessions.
type blockUpstream struct {
	*httptest.Server
	started chan string
	release chan struct{}
	inits   atomic.Int32
}

func newBlockUpstream(t *testing.T, opts *mcp.StreamableHTTPOptions) *blockUpstream {
	t.Helper()
	u := &blockUpstream{started: make(chan string, 8), release: make(chan struct{})}
	srv := newUpstreamServer("one", func() { u.inits.Add(1) })
	mcp.AddTool(srv, &mcp.Tool{Name: "block"}, func(ctx context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		u.started <- "tool"
		select {
		case <-u.release:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done:" + in.Text}}}, nil, nil
	})
	srv.AddPrompt(&mcp.Prompt{Name: "block"}, func(ctx context.Context, _ *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		u.started <- "prompt"
		select {
		case <-u.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "done"}}}}, nil
	})
	srv.AddPrompt(&mcp.Prompt{Name: "eof"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return nil, errors.New("reading the template: unexpected EOF")
	})
	u.Server = httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, opts))
	t.Cleanup(u.Close)
	return u
}

// wait returns what started next, failing the test if nothing does.
func (u *blockUpstream) wait(t *testing.T) string {
	t.Helper()
	select {
	case what := <-u.started:
		return what
	case <-time.After(30 * time.Second):
		t.Fatal("the call never reached the target")
		return ""
	}
}

// inFlight POSTs body on session sid, and returns where the response
// body arrives. The request is raw HTTP, so that what it gets does not
// depend on the client's other streams (a client fails its calls when its
// GET stream ends, which the end of a session does).
func inFlight(url, sid, body string) <-chan string {
	out := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out <- string(b)
	}()
	return out
}

// answered reports whether body is the answer to request id 5 with text.
func answered(body, text string) bool {
	return strings.Contains(body, `"id":5`) && strings.Contains(body, `"text":"`+text+`"`) && !strings.Contains(body, `"error"`)
}

// onlySession returns the handler's one streamable session.
func onlySession(t *testing.T, h *Handler) *session {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.sessions {
		return s
	}
	t.Fatal("no session")
	return nil
}

// eventually waits (bounded) for cond, which the code under test makes
// true asynchronously after the client has its answer.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("never: " + what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestInFlightCallSurvivesReload: Handler.Close (a config reload or a
// shutdown) while a call of a session is being served ends the session
// only once the call is answered, and refuses new requests meanwhile.
func TestInFlightCallSurvivesReload(t *testing.T) {
	up := newBlockUpstream(t, nil)
	h, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	cs := connect(t, gw.URL+"/mcp", nil)
	res := inFlight(gw.URL+"/mcp", cs.ID(), echoCall("5", "block", "x"))
	up.wait(t)
	h.Close()
	if code, _ := post(t, gw.URL+"/mcp", cs.ID(), rpc("7", "tools/list", `{}`)); code != http.StatusNotFound {
		t.Errorf("a new request after Close: HTTP %d, want 404", code)
	}
	close(up.release)
	if got := <-res; !answered(got, "done:x") {
		t.Fatalf("the call in flight got %s", got)
	}
	eventually(t, "the session ends after its last call", func() bool { return h.Sessions() == 0 })
}

// TestInFlightCallSurvivesIdleSweep: the idle sweep skips a session with
// a call in flight, however long ago the call began, and ends it once idle.
func TestInFlightCallSurvivesIdleSweep(t *testing.T) {
	up := newBlockUpstream(t, nil)
	h, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	cs := connect(t, gw.URL+"/mcp", nil)
	res := inFlight(gw.URL+"/mcp", cs.ID(), echoCall("5", "block", "x"))
	up.wait(t)
	later := time.Now().Add(2 * h.spec.SessionIdle)
	h.sweepIdle(later)
	if h.Sessions() != 1 {
		t.Fatal("the sweep ended a session with a call in flight")
	}
	close(up.release)
	if got := <-res; !answered(got, "done:x") {
		t.Fatalf("the call in flight got %s", got)
	}
	s := onlySession(t, h)
	eventually(t, "the call is released", func() bool { return s.state.Load() == 0 })
	h.sweepIdle(later)
	if h.Sessions() != 0 {
		t.Fatal("the sweep kept an idle session")
	}
}

// TestSessionHoldIsAtomicWithIdleClose: a request that holds the session
// keeps the idle sweep from ending it, and a session the sweep ended is
// never held again (no check-then-close window between them).
func TestSessionHoldIsAtomicWithIdleClose(t *testing.T) {
	up := newBlockUpstream(t, nil)
	h, _ := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	s := h.newSession("")
	if !s.acquire() {
		t.Fatal("a new session cannot be held")
	}
	if s.closeIfIdle() {
		t.Fatal("closeIfIdle ended a held session")
	}
	s.release()
	if !s.closeIfIdle() {
		t.Fatal("closeIfIdle kept an unheld session")
	}
	if s.acquire() || s.hold() {
		t.Fatal("a closed session was held")
	}
}

// TestStatelessInFlightCallSurvivesPoolClose: the stateless fast path's
// call in flight is answered though the pool is swept and closed under
// it, with a pooled session (a target without session ids) and with a
// session of its own (a target with them).
func TestStatelessInFlightCallSurvivesPoolClose(t *testing.T) {
	for name, opts := range map[string]*mcp.StreamableHTTPOptions{"pooled": {Stateless: true}, "own": nil} {
		t.Run(name, func(t *testing.T) {
			up := newBlockUpstream(t, opts)
			h, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
			out := make(chan string, 1)
			go func() {
				_, _, body := call(t, gw.URL+"/mcp", echoCall("5", "block", "x"))
				out <- body
			}()
			up.wait(t)
			h.raw.sweep(0)
			h.Close()
			close(up.release)
			if body := <-out; !strings.Contains(body, `"done:x"`) || !strings.Contains(body, `"id":5`) {
				t.Fatalf("the call in flight got %s", body)
			}
		})
	}
}

// TestTargetErrorKeepsTheSession: a target's JSON-RPC error whose message
// mentions EOF is an answer, not a lost connection: the upstream session,
// and the call in flight on it, live on.
func TestTargetErrorKeepsTheSession(t *testing.T) {
	up := newBlockUpstream(t, nil)
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	cs := connect(t, gw.URL+"/mcp", nil)
	res := inFlight(gw.URL+"/mcp", cs.ID(), echoCall("5", "block", "x"))
	up.wait(t)
	if _, err := cs.GetPrompt(context.Background(), &mcp.GetPromptParams{Name: "eof"}); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("the failing prompt: %v", err)
	}
	close(up.release)
	if got := <-res; !answered(got, "done:x") {
		t.Fatalf("the call in flight got %s", got)
	}
	if n := up.inits.Load(); n != 1 {
		t.Fatalf("upstream sessions: %d, want 1", n)
	}
}

// TestDeleteWaitsForInFlightCall: a DELETE while a request of the
// session is in flight is answered at once and refuses the session's new
// requests; the request in flight is answered, then the session ends
// (its upstream session too), and no upstream session is opened for it.
func TestDeleteWaitsForInFlightCall(t *testing.T) {
	up := newBlockUpstream(t, nil)
	h, gw := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	cs := connect(t, gw.URL+"/mcp", nil)
	s := onlySession(t, h)
	got := inFlight(gw.URL+"/mcp", cs.ID(), rpc("5", "prompts/get", `{"name":"block"}`))
	up.wait(t)
	del, _ := http.NewRequest(http.MethodDelete, gw.URL+"/mcp", nil)
	del.Header.Set("Mcp-Session-Id", cs.ID())
	resp, err := http.DefaultClient.Do(del)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: HTTP %d", resp.StatusCode)
	}
	if code, _ := post(t, gw.URL+"/mcp", cs.ID(), rpc("7", "tools/list", `{}`)); code != http.StatusNotFound {
		t.Errorf("a new request after DELETE: HTTP %d, want 404", code)
	}
	close(up.release)
	if body := <-got; !answered(body, "done") {
		t.Fatalf("the request in flight got %s", body)
	}
	eventually(t, "the session ends after its last request", func() bool { return s.closed.Load() && h.Sessions() == 0 })
	u := s.ups[0]
	u.mu.Lock()
	open := u.cs != nil
	u.mu.Unlock()
	if n := up.inits.Load(); n != 1 || open {
		t.Fatalf("after the DELETE: %d upstream sessions opened, one open: %v", n, open)
	}
}

// TestClosedSessionDoesNotReconnect: an upstream of a session that was
// torn down is not connected again (by a retry of a request that lost its
// connection, or a late use): nothing would ever end that session.
func TestClosedSessionDoesNotReconnect(t *testing.T) {
	up := newBlockUpstream(t, nil)
	h, _ := gateway(t, Spec{Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: up.URL}}})
	s := h.newSession("")
	s.close(false)
	if _, err := s.ups[0].get(context.Background()); err == nil {
		t.Fatal("a closed session's upstream connected")
	}
	if n := up.inits.Load(); n != 0 {
		t.Fatalf("upstream sessions opened: %d", n)
	}
}
