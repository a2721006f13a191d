package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The stateful relay. In a stateful session (agentgateway's default mode)
// a tools/call normally crosses the go-sdk twice: the gateway's server
// session decodes it and runs the federation's handler on a goroutine of
// its own, which calls the target through its client session, whose
// answer comes back through the client's reader goroutine and is encoded
// again by the server. Each hand-off is a wake-up, and together they cost
// about three times the stateless relay's CPU per call.
//
// So a tools/call is relayed as on the stateless fast path (fastpath.go),
// and so are prompts/get, resources/read and completion/complete:
// sent on the target session the client's session already holds (its
// Mcp-Session-Id, under an id of the gateway's own that cannot collide
// with the SDK client's numeric ones), and the target's answer copied back
// message by message with the client's id put back. The relay applies when
//   - the call is a single request in an initialized streamable session,
//     on a session-based protocol version;
//   - the tool's (prompt's, resource's) target is a streamable-HTTP
//     target, found by its prefix or as the only target, and its session
//     is connected.
//
// What the target sends on the call's stream is relayed in order:
// notifications as they are (resource URIs qualified), and its requests
// to the client (sampling, elicitation, roots) under ids of the gateway's
// own, so that they cannot be confused with the requests of the gateway's
// SDK server or of other targets; the client's answer, POSTed in the
// session, is sent to the target with the target's id put back. ping is
// answered here, as the SDK client answers it.
// The lists of a session are relayed too (statelist.go).
// Everything else, and a target session the target no longer knows (404,
// before anything reached the client), takes the SDK path as before.
//
// A cancel from the client (notifications/cancelled) stops the relay, and
// the target is sent a cancel for its request, as the SDK client sends one
// when a call is abandoned; so is a call that times out or whose client
// goes away. Unlike the SDK's streams, a relayed answer's events carry no
// event ids: a client cannot resume it with Last-Event-ID (neither can it
// on the stateless path, nor on agentgateway's relay).

// relaySeq numbers the relayed requests (relayID).
var relaySeq atomic.Uint64

// relayID is the JSON-RPC id of the next relayed message: a string
// ("agw-N", or "agw-ask-N" for a target's request to the client), so it
// never equals the numeric ids of the SDK's client and server sessions.
func relayID(kind string) []byte {
	b := append(append(make([]byte, 0, 32), `"agw-`...), kind...)
	b = strconv.AppendUint(b, relaySeq.Add(1), 10)
	return append(b, '"')
}

// relayRT sends a relayed request on an upstream session's transport: its
// base round tripper (the target's headers are in the request template)
// once the session's initialized notification has gone.
type relayRT struct{ rt *upstreamRT }

func (x relayRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := x.rt.waitInitialized(req); err != nil {
		return nil, err
	}
	return x.rt.base.RoundTrip(req)
}

// relaySession returns the upstream's relay session and the client
// session it belongs to (nil when not connected or not relayable).
func (u *upstream) relaySession() (*rawSession, *mcp.ClientSession) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.raw == nil {
		return nil, nil
	}
	return u.raw, u.cs
}

// statefulServe serves msgs, posted in session s, with the relay if it
// applies, and reports whether it did. A client's cancel of a relayed call
// is acted on here and then goes on to the SDK path (which answers it).
func (h *Handler) statefulServe(w http.ResponseWriter, r *http.Request, s *session, msgs []jsonrpc.Message) bool {
	if len(msgs) != 1 || s.sh == nil || s.borrowed {
		return false
	}
	req, ok := msgs[0].(*jsonrpc.Request)
	if !ok {
		if resp, ok := msgs[0].(*jsonrpc.Response); ok {
			return s.answerTarget(w, r, resp)
		}
		return false
	}
	if !req.IsCall() {
		if req.Method == "notifications/cancelled" {
			s.cancelRelayed(req.Params)
		}
		return false
	}
	list := listMethod(req.Method)
	if !list && (!relayedMethod(req.Method) || (!h.spec.prefixed() && len(s.ups) != 1)) {
		return false
	}
	pv := r.Header.Get("Mcp-Protocol-Version")
	if pv == "" {
		pv = "2025-03-26" // as the SDK assumes
	}
	if !fastVersion(pv) {
		return false
	}
	ss := s.server()
	if ss == nil || ss.InitializeParams() == nil {
		return false // the SDK refuses calls before initialize
	}
	s.setInit(ss.InitializeParams())
	if list {
		return h.statefulList(w, r, s, req) // statelist.go
	}
	var rp relayParams
	if !rp.read(req) {
		return false
	}
	if s.connectAll(r.Context(), nil) != nil {
		return false // the SDK path answers the failure
	}
	u, name, err := h.resolve(r.Context(), s, rp.kind, rp.exposed)
	if err != nil {
		return false // the SDK path answers it
	}
	rs, cs := u.relaySession()
	if rs == nil {
		return false
	}
	if h.spec.Authz != nil {
		a := &access{h: h, r: r, method: req.Method, sid: fingerprint(s.id)}
		if err := a.check(rp.kind, u.t.Name, name, rp.exposed); err != nil {
			we := err.(*jsonrpc.Error)
			writeRPCError(w, r, http.StatusOK, req.ID, int(we.Code), we.Message)
			h.count(req.Method, u.t.Name, name, err)
			return true
		}
	}
	params, ok := rp.forTarget(req.Params, name, h.spec.Authz != nil)
	if !ok {
		return false
	}
	var rewrite func([]byte) ([]byte, error)
	if h.spec.prefixed() {
		rewrite = getRewrite(req.Method, u.t.Name)
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	key := string(rawID(req.ID))
	rc := &relayCancel{cancel: cancel}
	if _, dup := s.relays.LoadOrStore(key, rc); dup {
		return false // the same id twice in flight: the SDK path answers
	}
	defer s.relays.CompareAndDelete(key, rc)
	served, err := h.relayStateful(ctx, w, r, u, rs, cs, req, params, rewrite)
	if served {
		h.count(req.Method, u.t.Name, name, err)
	}
	return served
}

// relayedMethod reports whether the stateful relay serves method.
func relayedMethod(method string) bool {
	switch method {
	case "tools/call", "prompts/get", "resources/read", "completion/complete":
		return true
	}
	return false
}

// relayParams is a relayed request's params, read for routing: the
// entity's kind and exposed name, and what builds the target's params.
type relayParams struct {
	kind    byte
	exposed string
	call    callParams // tools/call
	get     getParams  // the others
}

// read reads req's params; false: the SDK path judges them.
func (p *relayParams) read(req *jsonrpc.Request) (ok bool) {
	if req.Method == "tools/call" {
		p.kind = 't'
		p.call, p.exposed, ok = readCall(req.Params)
		return ok
	}
	p.get, p.exposed, ok = readGet(req.Method, req.Params)
	p.kind = p.get.kind
	return ok
}

// forTarget returns the params for the target that knows the entity as
// name (see callParams.paramsFor and getParams.paramsFor).
func (p *relayParams) forTarget(params json.RawMessage, name string, authz bool) ([]byte, bool) {
	if p.kind == 't' {
		return p.call.paramsFor(params, name, p.exposed, authz)
	}
	return p.get.paramsFor(params, name, p.exposed, authz)
}

// relayCancel is a relayed call's cancel.
type relayCancel struct{ cancel context.CancelCauseFunc }

// errClientCancelled is the cause of a call the client cancelled.
var errClientCancelled = errors.New("cancelled by the client")

// cancelRelayed stops the relayed call a client's notifications/cancelled
// names, if one is in flight.
func (s *session) cancelRelayed(params json.RawMessage) {
	var p struct {
		RequestID any `json:"requestId"`
	}
	if json.Unmarshal(params, &p) != nil {
		return
	}
	id, err := jsonrpc.MakeID(p.RequestID)
	if err != nil || !id.IsValid() {
		return
	}
	if rc, ok := s.relays.Load(string(rawID(id))); ok {
		rc.(*relayCancel).cancel(errClientCancelled)
	}
}

// relayStateful sends the request on the client session's upstream
// session rs and relays the answer, its result passed through rewrite
// (when not nil). served is false when nothing was written and
// the SDK path should serve the request: the target no longer knows the
// session (404), which the SDK path re-initializes.
func (h *Handler) relayStateful(ctx context.Context, w http.ResponseWriter, r *http.Request, u *upstream, rs *rawSession, cs *mcp.ClientSession, req *jsonrpc.Request, params []byte, rewrite func([]byte) ([]byte, error)) (served bool, err error) {
	tctx, cancel := context.WithTimeout(ctx, h.spec.CallTimeout)
	defer cancel()
	upID := relayID("")
	call := &relayCall{}
	defer func() {
		call.mu.Lock()
		defer call.mu.Unlock()
		for _, k := range call.asked {
			rs.down.asked.Delete(k)
		}
	}()
	tctx = context.WithValue(tctx, relayCallKey{}, call)
	resp, err := rs.post(tctx, requestBody(upID, req.Method, params), true)
	if err != nil {
		if tctx.Err() != nil {
			h.cancelUpstream(rs, upID, tctx)
		}
		return true, h.fastError(w, r, req.ID, h.callFailed(tctx, r, rs.t, err))
	}
	if resp.StatusCode == http.StatusNotFound && rs.id != "" {
		drain(resp)
		h.spec.Log.Info("mcp upstream session expired; re-initializing", "target", rs.t.Name)
		u.reset(cs)
		return false, nil
	}
	defer func() { _ = resp.Body.Close() }()
	if !answerable(resp) {
		drain(resp)
		return true, h.fastError(w, r, req.ID, fmt.Errorf("%s answered HTTP %d", rs.t.Name, resp.StatusCode))
	}
	err = h.relayAnswer(tctx, w, r, rs, resp, upID, rawID(req.ID), req.ID, rewrite)
	if tctx.Err() != nil {
		// Cancelled, timed out or the client went away before the answer
		// was read: the target stops working on it.
		h.cancelUpstream(rs, upID, tctx)
	}
	return true, err
}

// cancelUpstream tells the target (in the background) that the gateway no
// longer waits for its request id, with the reason ctx ended.
func (h *Handler) cancelUpstream(rs *rawSession, id []byte, ctx context.Context) {
	body := h.cancelNote(id, ctx)
	// Not the call's context: it has ended, and the cancel must still go.
	go sendNote(rs, body) //nolint:gosec // G118: see above
}

// cancelNote is the notifications/cancelled for the target's request id,
// with the reason ctx ended.
func (h *Handler) cancelNote(id []byte, ctx context.Context) []byte {
	reason := "the client went away"
	switch {
	case errors.Is(context.Cause(ctx), errClientCancelled):
		reason = "cancelled by the client"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		reason = "no answer within " + h.spec.CallTimeout.String()
	}
	msg, _ := json.Marshal(reason)
	return []byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + string(id) + `,"reason":` + string(msg) + `}}`)
}

// sendNote posts a notification on rs, waiting at most 5 s.
func sendNote(rs *rawSession, body []byte) {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if resp, err := rs.post(c, body, true); err == nil {
		drain(resp)
	}
}

// relayCall is one relayed call's state: the ids of the requests the
// target asked the client during it (askClient), forgotten when it ends.
type relayCall struct {
	mu    sync.Mutex
	asked []string
}

type relayCallKey struct{}

// askedReq is a target's request relayed to the client, awaiting its
// answer.
type askedReq struct {
	rs *rawSession
	id json.RawMessage // the target's id
}

// askClient relays the target's request m, made during a relayed call
// (ctx), to the client under an id of the gateway's own, and returns the
// message to send. The client's answer is sent on by answerTarget.
func (s *session) askClient(ctx context.Context, rs *rawSession, m *rawMsg) []byte {
	call, _ := ctx.Value(relayCallKey{}).(*relayCall)
	if call == nil {
		return nil
	}
	id := relayID("ask-")
	call.mu.Lock()
	call.asked = append(call.asked, string(id))
	call.mu.Unlock()
	s.asked.Store(string(id), &askedReq{rs: rs, id: append(json.RawMessage(nil), m.ID...)})
	return requestBody(id, m.Method, m.Params)
}

// answerTarget sends the client's answer to a request askClient relayed
// to the target that asked it, with the target's id, and reports whether
// it did (else the SDK path takes the message: an answer to its own
// request, or to one of a call that has ended).
func (s *session) answerTarget(w http.ResponseWriter, r *http.Request, resp *jsonrpc.Response) bool {
	v, ok := s.asked.LoadAndDelete(string(rawID(resp.ID)))
	if !ok {
		return false
	}
	a := v.(*askedReq)
	data, err := jsonrpc.EncodeMessage(resp)
	var m rawMsg
	if err == nil {
		err = m.decode(data)
	}
	var body []byte
	if err == nil {
		body, err = withID(&m, a.id)
	}
	if err != nil {
		writeRPCError(w, r, http.StatusBadRequest, jsonrpc.ID{}, jsonrpc.CodeInvalidRequest, "Invalid Request: a malformed answer")
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.h.spec.CallTimeout)
	defer cancel()
	if up, err := a.rs.post(ctx, body, true); err != nil {
		s.h.spec.Log.Warn("mcp: sending the client's answer to the target failed", "target", a.rs.t.Name, "error", err)
	} else {
		drain(up)
	}
	w.WriteHeader(http.StatusAccepted)
	return true
}
