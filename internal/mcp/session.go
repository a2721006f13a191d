package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// session is one downstream client session and its upstream sessions.
type session struct {
	h  *Handler
	id string // sealed id; "" for SSE and stateless sessions

	mu        sync.Mutex
	ss        *mcp.ServerSession
	srv       *mcp.Server  // this session's SDK server
	sh        http.Handler // its streamable HTTP handler (nil for SSE and stateless)
	init      *mcp.InitializeParams
	pv        string
	ups       []*upstream // in target order
	connected bool        // upstreams were connected (or given up on)
	names     *nameIndex  // for prefixMode never with several targets
	// streamReq is the GET that opened a legacy SSE session: its identity
	// authorizes the session's requests (authz.go).
	streamReq *http.Request

	// borrowed: the SDK owns ss (stateless requests); close leaves it open.
	borrowed bool

	// gate holds the targets' standalone streams until the client listens
	// (standalone.go).
	gate listenGate

	// relays are the tools/calls relayed without the SDK (stateful.go)
	// and in flight, by the client's request id (rawID): their cancels.
	relays sync.Map
	// asked are the targets' requests relayed to the client during those
	// calls, by the id the client sees (stateful.go).
	asked sync.Map

	lastUse atomic.Int64
	// state counts the requests holding the session and records a close
	// waiting for them (lifecycle.go).
	state  atomic.Int64
	closed atomic.Bool // teardown has begun
}

func (h *Handler) newSession(id string) *session {
	s := &session{h: h, id: id}
	for _, t := range h.spec.Targets {
		s.ups = append(s.ups, &upstream{t: t, s: s, connecting: make(chan struct{}, 1)})
	}
	s.touch()
	return s
}

func (s *session) touch() { s.lastUse.Store(time.Now().UnixNano()) }

func (s *session) server() *mcp.ServerSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ss
}

func (s *session) setInit(p *mcp.InitializeParams) {
	s.mu.Lock()
	if s.init == nil {
		s.init = p
	}
	s.mu.Unlock()
}

// clientCaps mirrors the downstream client's capabilities upstream, so a
// target only asks for sampling, elicitation or roots when the client has them.
// Sampling and roots are deprecated as of 2026-07-28 and still relayed for
// older protocol versions.
//
//nolint:staticcheck // SA1019, see above
func (s *session) clientCaps() *mcp.ClientCapabilities {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &mcp.ClientCapabilities{}
	if s.init == nil || s.init.Capabilities == nil {
		return out
	}
	c := s.init.Capabilities
	out.Sampling, out.Elicitation, out.Experimental = c.Sampling, c.Elicitation, c.Experimental
	if c.RootsV2 != nil {
		r := *c.RootsV2
		out.RootsV2 = &r
	} else if c.Roots.ListChanged {
		out.RootsV2 = &mcp.RootCapabilities{ListChanged: true}
	}
	return out
}

// upstreamVersion is the protocol version offered to targets: the client's
// own when it is a session-based version, else 2025-11-25.
func (s *session) upstreamVersion() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.init != nil && s.init.ProtocolVersion != "" && s.init.ProtocolVersion < "2026-01-01" {
		return s.init.ProtocolVersion
	}
	return "2025-11-25"
}

// connectAll initializes every target concurrently. With failClosed the
// first failure is returned; with failOpen failed targets are skipped (and
// retried on their next use).
func (s *session) connectAll(ctx context.Context, resume map[string]*sealedUp) error {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	s.connected = true
	s.mu.Unlock()
	errs := make([]error, len(s.ups))
	var wg sync.WaitGroup
	for i, u := range s.ups {
		if r := resume[u.t.Name]; r != nil {
			u.resume = r
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = u.get(ctx)
			s.h.count("initialize", u.t.Name, "", errs[i])
		}()
	}
	wg.Wait()
	var failed []error
	for i, err := range errs {
		if err != nil {
			s.h.spec.Log.Warn("mcp target failed to initialize", "target", s.ups[i].t.Name, "error", err)
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 && (!s.h.spec.FailOpen || len(failed) == len(s.ups)) {
		return errors.Join(failed...)
	}
	return nil
}

// seal returns the session id recording the current upstream sessions.
func (s *session) seal() (string, error) {
	st := &sealedState{PV: s.pv}
	s.mu.Lock()
	if s.init != nil {
		st.Init, _ = json.Marshal(s.init)
	}
	s.mu.Unlock()
	for _, u := range s.ups {
		st.Up = append(st.Up, u.state())
	}
	return s.h.sealer.seal(st)
}

// teardown ends the session now; detach leaves HTTP upstream sessions
// open so a replica (or this process after a reload) can resume them.
// close (lifecycle.go) calls it once no request holds the session.
func (s *session) teardown(detach bool) {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	var wg sync.WaitGroup
	for _, u := range s.ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.close(detach)
		}()
	}
	s.mu.Lock()
	ss := s.ss
	s.mu.Unlock()
	if ss != nil && !s.borrowed {
		_ = ss.Close()
	}
	wg.Wait()
	s.h.forget(s)
}

// live returns the upstreams to fan out to.
func (s *session) live() []*upstream { return s.ups }

// bind returns a binder that ties the session to the server session the
// SDK creates for it.
func (s *session) bind() binder {
	return func(ss *mcp.ServerSession) (*session, bool) {
		s.mu.Lock()
		if s.ss == nil {
			s.ss = ss
		}
		s.mu.Unlock()
		return s, false
	}
}

// forward relays a target's notification to the client, rewriting the
// resource URI it may carry. ctx routes it to the related request's stream.
func (s *session) forward(ctx context.Context, u *upstream, method string, params mcp.Params) {
	ss := s.server()
	if ss == nil || s.ended() {
		return
	}
	if params == nil || reflect.ValueOf(params).IsNil() {
		// Never relay "params": null: strict clients (the TS SDK) reject it.
		switch method {
		case "notifications/tools/list_changed":
			params = &mcp.ToolListChangedParams{}
		case "notifications/prompts/list_changed":
			params = &mcp.PromptListChangedParams{}
		case "notifications/resources/list_changed":
			params = &mcp.ResourceListChangedParams{}
		default:
			return
		}
	}
	if p, ok := params.(*mcp.ResourceUpdatedNotificationParams); ok && s.h.spec.prefixed() {
		c := *p
		c.URI = qualifyURI(u.t.Name, p.URI)
		params = &c
	}
	if ctx.Err() != nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, relayKey{}, &relayMsg{method: method, params: params}), 10*time.Second)
	defer cancel()
	_ = ss.NotifyProgress(ctx, &mcp.ProgressNotificationParams{})
}

// rpcError turns an upstream failure into the JSON-RPC error the client gets.
func rpcError(err error) error {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return we
	}
	msg := err.Error()
	if errors.Is(err, errUnavailable) {
		// errUnavailable's text is the prefix; keep what follows.
		msg = strings.TrimPrefix(msg, errUnavailable.Error()+": ")
		return &jsonrpc.Error{Code: codeUnavailable, Message: "MCP target unavailable: " + msg}
	}
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("upstream error: %v", msg)}
}

// codeUnavailable is the JSON-RPC error code for a target that cannot be
// reached or did not answer in time (server-defined range).
const codeUnavailable = -32001

// replayInit brings a resumed session's SDK handler to the state the
// original gateway left it in: it replays the client's initialize and
// initialized messages (sealed in the id) through the SDK, in process, and
// discards the answers. The SDK then hands out the same session id.
func replayInit(s *session, st *sealedState) error {
	init := st.Init
	if len(init) == 0 {
		init = json.RawMessage(fmt.Sprintf(`{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"resumed","version":""}}`, st.PV))
	}
	send := func(body string, sid string) (int, http.Header) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
			req.Header.Set("Mcp-Protocol-Version", st.PV)
		}
		w := &discard{h: http.Header{}}
		s.sh.ServeHTTP(w, req)
		return w.code, w.h
	}
	code, hdr := send(`{"jsonrpc":"2.0","id":"agentgateway-resume","method":"initialize","params":`+string(init)+`}`, "")
	if code != http.StatusOK || hdr.Get("Mcp-Session-Id") != s.id {
		return fmt.Errorf("resuming the session: replayed initialize answered %d", code)
	}
	if code, _ := send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`, s.id); code != http.StatusAccepted {
		return fmt.Errorf("resuming the session: replayed initialized answered %d", code)
	}
	return nil
}

// discard is a ResponseWriter that keeps only the status and headers.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) Write(p []byte) (int, error) {
	if d.code == 0 {
		d.code = http.StatusOK
	}
	return len(p), nil
}
func (d *discard) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}
func (d *discard) Flush() {}
