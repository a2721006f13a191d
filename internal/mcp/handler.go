package mcp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// Handler serves one MCP route: streamable HTTP (POST/GET/DELETE on any
// path) and the legacy SSE transport (GET …/sse, then POST ?sessionid=).
type Handler struct {
	spec      Spec
	sealer    *sealer
	stateless http.Handler // the SDK's stateless handler (statefulMode: stateless)
	procs     *procPool
	raw       *rawPool // stateless mode's pooled upstream sessions (rawpool.go)
	openapi   map[string]*mcp.Server

	mu       sync.Mutex
	sessions map[string]*session // streamable sessions by sealed id
	sse      map[string]*sseSession
	pending  map[string]chan struct{} // ids being resumed
	deleted  map[string]time.Time     // ids DELETEd here, refused until they idle out
	closed   bool
	stop     chan struct{}

	reqs sync.Map // client requests being served, by requestHeader key (authz.go)
}

type sseSession struct {
	s *session
	t *mcp.SSEServerTransport
}

// New builds a route's handler. It starts no process: targets are
// connected when a client initializes.
func New(spec Spec) (*Handler, error) {
	spec.defaults()
	if len(spec.Targets) == 0 {
		return nil, errors.New("an mcp backend needs at least one target")
	}
	se, err := newSealer(spec.Key, spec.Route)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		spec: spec, sealer: se, procs: newProcPool(spec.MaxProcesses), openapi: map[string]*mcp.Server{},
		sessions: map[string]*session{}, sse: map[string]*sseSession{},
		pending: map[string]chan struct{}{}, deleted: map[string]time.Time{}, stop: make(chan struct{}),
	}
	for _, t := range spec.Targets {
		if t.Kind == KindOpenAPI {
			srv, err := newOpenAPIServer(t)
			if err != nil {
				return nil, fmt.Errorf("target %q: %w", t.Name, err)
			}
			h.openapi[t.Name] = srv
		}
	}
	if spec.Stateless {
		h.raw = newRawPool(h)
		srv := h.newServer(h.ephemeral, "")
		h.stateless = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv },
			&mcp.StreamableHTTPOptions{Stateless: true, DisableLocalhostProtection: true, MaxRequestBodyBytes: MaxBodyBytes})
	}
	live.add(h)
	go h.janitor()
	return h, nil
}

// Close ends every session without telling HTTP targets (their sessions
// stay resumable: after a reload the next snapshot resumes them) and stops
// stdio processes.
func (h *Handler) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.stop)
	h.mu.Unlock()
	live.remove(h)
	h.closeAll(true)
	if h.raw != nil {
		h.raw.close()
	}
}

func (h *Handler) closeAll(detach bool) {
	h.mu.Lock()
	var all []*session
	for _, s := range h.sessions {
		all = append(all, s)
	}
	for _, e := range h.sse {
		all = append(all, e.s)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.close(detach)
		}()
	}
	wg.Wait()
}

// Sessions reports the live downstream sessions (for tests and the admin view).
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions) + len(h.sse)
}

func (h *Handler) register(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.id != "" {
		h.sessions[s.id] = s
	}
}

func (h *Handler) forget(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.id != "" && h.sessions[s.id] == s {
		delete(h.sessions, s.id)
	}
}

// ephemeral binds a stateless request to a fresh session the caller closes.
func (h *Handler) ephemeral(ss *mcp.ServerSession) (*session, bool) {
	if ss == nil {
		return nil, false
	}
	s := h.newSession("")
	s.ss, s.borrowed = ss, true
	s.init = ss.InitializeParams()
	return s, true
}

func (h *Handler) janitor() {
	tick := time.NewTicker(min(h.spec.SessionIdle/4, 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-tick.C:
			h.sweepIdle(now)
		}
	}
}

// sweepIdle ends the sessions idle at now, those no request holds
// (lifecycle.go), and forgets old DELETEd ids.
func (h *Handler) sweepIdle(now time.Time) {
	h.mu.Lock()
	var idle []*session
	for _, s := range h.sessions {
		if now.Sub(time.Unix(0, s.lastUse.Load())) > h.spec.SessionIdle {
			idle = append(idle, s)
		}
	}
	for id, at := range h.deleted {
		if now.Sub(at) > h.spec.SessionIdle {
			delete(h.deleted, id)
		}
	}
	h.mu.Unlock()
	if h.raw != nil {
		h.raw.sweep(h.spec.SessionIdle)
	}
	for _, s := range idle {
		if s.closeIfIdle() {
			h.spec.Log.Info("mcp session idle; closed", "session", fingerprint(s.id))
		}
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := pipeline.InfoFrom(r.Context())
	info.Backend = "mcp"
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		live.watch(srv)
	}
	if !h.checkOrigin(w, r) {
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/sse"):
		h.serveSSE(w, r)
	case r.Method == http.MethodPost && r.URL.RawQuery != "" && sseMessage(r.URL.Query()):
		h.serveSSEMessage(w, r)
	case h.spec.Stateless:
		if r.Method == http.MethodPost {
			msgs, ok := h.readBody(w, r)
			if !ok || h.fastServe(w, r, msgs) {
				return
			}
		}
		defer h.keep(r)()
		h.stateless.ServeHTTP(w, r)
	case r.Method == http.MethodPost:
		h.servePOST(w, r)
	case r.Method == http.MethodGet:
		h.serveGET(w, r)
	case r.Method == http.MethodDelete:
		h.serveDELETE(w, r)
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		pipeline.Error(w, r, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// sseMessage reports whether a POST's query names a legacy SSE session
// (its message endpoint).
func sseMessage(q url.Values) bool { return q.Has("sessionid") || q.Has("sessionId") }

func (h *Handler) servePOST(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		pipeline.Error(w, r, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	if j, s := accepts(r.Header.Values("Accept")); !j || !s {
		pipeline.Error(w, r, http.StatusBadRequest, "Accept must list application/json and text/event-stream")
		return
	}
	msgs, ok := h.readBody(w, r)
	if !ok {
		return
	}
	sid := r.Header.Get("Mcp-Session-Id")
	if sid == "" {
		if req, ok := msgs[0].(*jsonrpc.Request); ok && len(msgs) == 1 && req.Method == "initialize" && req.IsCall() {
			h.startSession(w, r, req)
			return
		}
		writeRPCError(w, r, http.StatusBadRequest, firstID(msgs), jsonrpc.CodeInvalidRequest, "Bad Request: Mcp-Session-Id header is required (initialize first)")
		return
	}
	s, herr := h.lookup(r.Context(), sid, false)
	if herr != nil {
		writeRPCError(w, r, herr.status, firstID(msgs), herr.code, herr.msg)
		return
	}
	defer s.release()
	pipeline.InfoFrom(r.Context()).AddField("mcp.session.id", fingerprint(sid))
	s.touch()
	if h.statefulServe(w, r, s, msgs) {
		return
	}
	defer h.keep(r)()
	s.sh.ServeHTTP(w, r)
}

func (h *Handler) serveGET(w http.ResponseWriter, r *http.Request) {
	if _, s := accepts(r.Header.Values("Accept")); !s {
		pipeline.Error(w, r, http.StatusBadRequest, "Accept must list text/event-stream")
		return
	}
	sid := r.Header.Get("Mcp-Session-Id")
	if sid == "" {
		pipeline.Error(w, r, http.StatusBadRequest, "Mcp-Session-Id header is required")
		return
	}
	s, herr := h.lookup(r.Context(), sid, true)
	if herr != nil {
		writeRPCError(w, r, herr.status, jsonrpc.ID{}, herr.code, herr.msg)
		return
	}
	s.release() // a stream does not keep the session from idling out
	pipeline.InfoFrom(r.Context()).AddField("mcp.session.id", fingerprint(sid))
	s.listen(r.Context())
	s.sh.ServeHTTP(w, r)
}

func (h *Handler) serveDELETE(w http.ResponseWriter, r *http.Request) {
	sid := r.Header.Get("Mcp-Session-Id")
	if sid == "" {
		pipeline.Error(w, r, http.StatusBadRequest, "Mcp-Session-Id header is required")
		return
	}
	if !validSessionID(sid) {
		pipeline.Error(w, r, http.StatusBadRequest, "invalid Mcp-Session-Id")
		return
	}
	pipeline.InfoFrom(r.Context()).AddField("mcp.session.id", fingerprint(sid))
	h.mu.Lock()
	s := h.sessions[sid]
	_, gone := h.deleted[sid]
	h.mu.Unlock()
	if gone {
		writeRPCError(w, r, http.StatusNotFound, jsonrpc.ID{}, codeSessionNotFound, "Session not found")
		return
	}
	if s == nil {
		st, err := h.sealer.open(sid)
		if err != nil {
			writeRPCError(w, r, http.StatusNotFound, jsonrpc.ID{}, codeSessionNotFound, "Session not found")
			return
		}
		h.deleteRemote(r.Context(), st)
	}
	h.mu.Lock()
	h.deleted[sid] = time.Now()
	h.mu.Unlock()
	if s != nil {
		s.close(false)
	}
	w.WriteHeader(http.StatusNoContent)
}

// startSession initializes every target, seals their session ids into the
// new session's id and lets the SDK answer the client's initialize.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request) {
	var ip mcp.InitializeParams
	if err := json.Unmarshal(req.Params, &ip); err != nil {
		writeRPCError(w, r, http.StatusBadRequest, req.ID, jsonrpc.CodeInvalidParams, "invalid initialize params")
		return
	}
	s := h.newSession("")
	s.acquire()
	defer s.release()
	s.setInit(&ip)
	if err := s.connectAll(r.Context(), nil); err != nil {
		s.close(false)
		// A JSON-RPC error on 200, as a server's own initialize error
		// would be: both SDKs show its message (on 502 the Go SDK does not).
		we := rpcError(err).(*jsonrpc.Error)
		writeRPCError(w, r, http.StatusOK, req.ID, int(we.Code), we.Message)
		return
	}
	id, err := s.seal()
	if err != nil {
		s.close(false)
		writeRPCError(w, r, http.StatusInternalServerError, req.ID, jsonrpc.CodeInternalError, "cannot create a session")
		return
	}
	s.id = id
	h.attach(s)
	pipeline.InfoFrom(r.Context()).AddField("mcp.session.id", fingerprint(id))
	s.sh.ServeHTTP(w, r)
	if ss := s.server(); ss == nil || ss.InitializeParams() == nil {
		s.close(false)
	}
}

// attach gives s its own SDK server and streamable HTTP handler, which
// hand out s.id, and registers it.
func (h *Handler) attach(s *session) {
	srv := h.newServer(s.bind(), s.id)
	sh := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		EventStore:                 mcp.NewMemoryEventStore(nil),
		DisableLocalhostProtection: true, // checkOrigin did it, also for non-loopback binds
		MaxRequestBodyBytes:        MaxBodyBytes,
	})
	s.mu.Lock()
	s.srv, s.sh = srv, sh
	s.mu.Unlock()
	h.register(s)
}

type httpErr struct {
	status, code int
	msg          string
}

// codeSessionNotFound is the JSON-RPC code for an unknown session.
const codeSessionNotFound = -32001

// lookup finds a live session, or resumes one sealed by a gateway with the
// same key, and holds it: the caller releases it. Anything else is 404.
// A closing session, whose calls in flight are still being answered,
// takes a stream (the client's GET) but no new request.
func (h *Handler) lookup(ctx context.Context, sid string, stream bool) (*session, *httpErr) {
	if !validSessionID(sid) {
		return nil, &httpErr{http.StatusBadRequest, jsonrpc.CodeInvalidRequest, "invalid Mcp-Session-Id"}
	}
	notFound := &httpErr{http.StatusNotFound, codeSessionNotFound, "Session not found"}
	for range 2 {
		h.mu.Lock()
		if s := h.sessions[sid]; s != nil && ((!stream && s.acquire()) || (stream && s.hold())) {
			h.mu.Unlock()
			return s, nil
		}
		if _, gone := h.deleted[sid]; gone || h.closed {
			h.mu.Unlock()
			return nil, notFound
		}
		if ch := h.pending[sid]; ch != nil {
			h.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, notFound
			}
		}
		st, err := h.sealer.open(sid)
		if err != nil {
			h.mu.Unlock()
			return nil, notFound
		}
		ch := make(chan struct{})
		h.pending[sid] = ch
		h.mu.Unlock()
		s, rerr := h.resume(ctx, sid, st)
		h.mu.Lock()
		delete(h.pending, sid)
		close(ch)
		h.mu.Unlock()
		if rerr != nil {
			we := rpcError(rerr).(*jsonrpc.Error)
			return nil, &httpErr{http.StatusOK, int(we.Code), we.Message}
		}
		return s, nil
	}
	return nil, notFound
}

func (h *Handler) resume(ctx context.Context, sid string, st *sealedState) (*session, error) {
	s := h.newSession(sid)
	s.acquire() // for lookup's caller
	var ip mcp.InitializeParams
	if len(st.Init) > 0 {
		_ = json.Unmarshal(st.Init, &ip)
	}
	if ip.ProtocolVersion == "" {
		ip.ProtocolVersion = st.PV
	}
	s.setInit(&ip)
	s.pv = st.PV
	prev := map[string]*sealedUp{}
	for i := range st.Up {
		prev[st.Up[i].Target] = &st.Up[i]
	}
	if err := s.connectAll(ctx, prev); err != nil {
		s.release()
		s.close(false)
		return nil, err
	}
	h.attach(s)
	if err := replayInit(s, st); err != nil {
		s.release()
		s.close(false)
		return nil, err
	}
	h.spec.Log.Info("mcp session resumed from its sealed id", "session", fingerprint(sid), "route", h.spec.Route)
	return s, nil
}

// deleteRemote ends the HTTP upstream sessions a session id names, for a
// DELETE of a session this process does not hold.
func (h *Handler) deleteRemote(ctx context.Context, st *sealedState) {
	for _, up := range st.Up {
		for _, t := range h.spec.Targets {
			if t.Name != up.Target || t.Kind != KindStreamable || up.ID == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			req, err := http.NewRequestWithContext(ctx, http.MethodDelete, t.URL, nil) //nolint:gosec // G704: the target URL comes from the operator's config
			if err == nil {
				req.Header.Set("Mcp-Session-Id", up.ID)
				if resp, err := newUpstreamRT(t).RoundTrip(req); err == nil {
					_ = resp.Body.Close()
				}
			}
			cancel()
		}
	}
}

func (h *Handler) serveSSE(w http.ResponseWriter, r *http.Request) {
	if _, ok := w.(http.Flusher); !ok {
		pipeline.Error(w, r, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	id := rand.Text()
	t := &mcp.SSEServerTransport{Endpoint: r.URL.Path + "?sessionid=" + id, Response: w, MaxRequestBodyBytes: MaxBodyBytes}
	s := h.newSession("")
	s.gate.openGate() // the client listens from the start
	srv := h.newServer(s.bind(), "")
	s.srv = srv
	s.streamReq = r
	h.mu.Lock()
	h.sse[id] = &sseSession{s: s, t: t}
	h.mu.Unlock()
	ss, err := srv.Connect(r.Context(), t, nil)
	if err != nil {
		h.mu.Lock()
		delete(h.sse, id)
		h.mu.Unlock()
		pipeline.Error(w, r, http.StatusInternalServerError, "cannot start the session")
		return
	}
	s.bind()(ss)
	defer func() {
		h.mu.Lock()
		delete(h.sse, id)
		h.mu.Unlock()
		s.close(false)
	}()
	done := make(chan struct{})
	go func() {
		_ = ss.Wait()
		close(done)
	}()
	select {
	case <-r.Context().Done():
	case <-done:
	}
}

func (h *Handler) serveSSEMessage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("sessionid")
	if id == "" {
		id = r.URL.Query().Get("sessionId")
	}
	h.mu.Lock()
	e := h.sse[id]
	h.mu.Unlock()
	if e == nil {
		pipeline.Error(w, r, http.StatusNotFound, "session not found")
		return
	}
	if _, ok := h.readBody(w, r); !ok {
		return
	}
	e.s.touch()
	e.t.ServeHTTP(w, r)
}

// count records one MCP request in agentgateway_mcp_requests_total.
func (h *Handler) count(method, server, resource string, err error) {
	if h.spec.Metrics != nil {
		h.spec.Metrics.Request(method, server, resourceLabel(resource), err != nil)
	}
}

// resourceLabel bounds the label's values: a URI is cut to scheme://host.
func resourceLabel(r string) string {
	if scheme, rest, ok := strings.Cut(r, "://"); ok {
		host, _, _ := strings.Cut(rest, "/")
		return scheme + "://" + host
	}
	if len(r) > 128 {
		return r[:128]
	}
	return r
}

// fingerprint names a session in logs without revealing its id (the id is
// a bearer capability).
func fingerprint(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:8])
}

func validSessionID(id string) bool {
	if len(id) == 0 || len(id) > maxSessionIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}
