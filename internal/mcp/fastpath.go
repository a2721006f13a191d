package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"

	"github.com/agentgw/agentgateway/internal/jsonscan"
)

// The stateless fast path. In statefulMode stateless, a tools/call for a
// streamable-HTTP target is relayed without the SDK: the gateway resolves
// the target and checks mcpAuthorization itself, sends the call (its name
// rewritten, its id replaced) on the target's pooled session (rawpool.go),
// and copies the target's answer back, message by message and in order,
// with the client's id put back. The SDK path costs an upstream
// initialize + initialized + call + DELETE and a dozen JSON decodes (each
// with a 32 KiB buffer) per call; this one is one upstream request and a
// few small decodes. Everything else (batches, other methods, other target
// kinds, the 2026-07-28 protocol) takes the SDK path as before.

// fastServe serves msgs on the fast path if it applies, and reports
// whether it did.
func (h *Handler) fastServe(w http.ResponseWriter, r *http.Request, msgs []jsonrpc.Message) bool {
	if len(msgs) != 1 {
		return false
	}
	req, ok := msgs[0].(*jsonrpc.Request)
	if !ok || !req.IsCall() {
		return false
	}
	pv := r.Header.Get("Mcp-Protocol-Version")
	if pv == "" {
		pv = "2025-03-26" // as the SDK assumes
	}
	if !fastVersion(pv) || r.Header.Get("Mcp-Session-Id") != "" {
		return false
	}
	if mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		return false
	}
	if j, s := accepts(r.Header.Values("Accept")); !j || !s {
		return false
	}
	switch req.Method {
	case "tools/call":
		return h.fastCall(w, r, req, pv)
	case "ping":
		writeResult(w, rawID(req.ID), []byte("{}"))
		return true
	case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
		return h.fastList(w, r, req, pv)
	case "prompts/get", "resources/read", "completion/complete":
		return h.fastGet(w, r, req, pv)
	}
	return false
}

// callKeys are the tools/call params members fastCall reads.
var callKeys = [...]string{"name", "arguments"}

// fastCall serves a tools/call.
func (h *Handler) fastCall(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, pv string) bool {
	c, exposed, ok := readCall(req.Params)
	if !ok {
		return false
	}
	t, name, unknown := h.fastTarget(w, r, req, 't', exposed)
	if t == nil {
		return unknown
	}
	if h.fastDenied(w, r, req, 't', t.Name, name, exposed) {
		return true
	}
	params, ok := c.paramsFor(req.Params, name, exposed, h.spec.Authz != nil)
	if !ok {
		return false
	}
	err := h.relayCall(w, r, t, pv, req, params, nil)
	h.count("tools/call", t.Name, name, err)
	return true
}

// callParams is a tools/call's params as read by readCall.
type callParams struct {
	p map[string]json.RawMessage // decoded, when they are not plain
	v [len(callKeys)][]byte      // name and arguments
}

// readCall reads a tools/call's params and the tool name they carry.
// Member names match exactly, as in the SDK. Plain params (no member named
// twice, no escaped or case-variant name or arguments) are read in place;
// the rest are decoded into a map. ok is false when the request should
// take the SDK path (no usable name, case variants).
func readCall(params json.RawMessage) (c callParams, exposed string, ok bool) {
	if !jsonscan.Members(params, callKeys[:], c.v[:]) {
		if json.Unmarshal(params, &c.p) != nil || caseVariant(c.p, "name") {
			return c, "", false
		}
		c.v[0], c.v[1] = c.p["name"], c.p["arguments"]
	}
	exposed, ok = jsonscan.PeekString(c.v[0])
	return c, exposed, ok && exposed != ""
}

// paramsFor returns the params to send to the target that knows the tool
// as name: the client's own when nothing changes; else the target's name,
// and absent or null arguments sent as {}, as on the SDK path. With authz
// (mcpAuthorization) the params are always sent as decoded: a duplicate
// member, which a target might read differently, is not passed on.
func (c *callParams) paramsFor(params json.RawMessage, name, exposed string, authz bool) ([]byte, bool) {
	if name == exposed && !isNullish(c.v[1]) && !authz {
		return params, true
	}
	p := c.p
	if p == nil && json.Unmarshal(params, &p) != nil {
		return nil, false
	}
	p["name"], _ = json.Marshal(name)
	if isNullish(p["arguments"]) {
		p["arguments"] = json.RawMessage("{}")
	}
	out, err := json.Marshal(p)
	return out, err == nil
}

// fastDenied answers the request with mcpAuthorization's refusal when the
// client may not use the entity, and reports whether it did.
func (h *Handler) fastDenied(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, kind byte, target, name, exposed string) bool {
	if h.spec.Authz == nil {
		return false
	}
	a := &access{h: h, r: r, method: req.Method}
	if err := a.check(kind, target, name, exposed); err != nil {
		we := err.(*jsonrpc.Error)
		writeRPCError(w, r, http.StatusOK, req.ID, int(we.Code), we.Message)
		return true
	}
	return false
}

// fastTarget resolves an exposed name (kind t, p) or URI (kind r, T)
// without a session: by prefix, or the single target. Only
// streamable-HTTP targets qualify. A prefixed name that names no target
// is answered here, as resolve would (unknown reports that it was).
func (h *Handler) fastTarget(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, kind byte, exposed string) (t *TargetSpec, name string, unknown bool) {
	name = exposed
	delim := Delimiter
	if kind == 'r' || kind == 'T' {
		delim = URIDelimiter
	}
	switch {
	case h.spec.prefixed():
		for _, c := range h.spec.Targets {
			if rest, ok := strings.CutPrefix(exposed, c.Name+delim); ok && rest != "" {
				t, name = c, rest
				break
			}
		}
		if t == nil {
			writeRPCError(w, r, http.StatusOK, req.ID, jsonrpc.CodeInvalidParams, fmt.Sprintf("unknown %s %q", kindName(kind), exposed))
			return nil, "", true
		}
	case len(h.spec.Targets) == 1:
		t = h.spec.Targets[0]
	}
	if t == nil || t.Kind != KindStreamable {
		return nil, "", false
	}
	return t, name, false
}

// caseVariant reports whether m has a member whose name differs from one
// of names only in case. The gateway reads members exactly (as the SDK
// does) and authorizes what it read, but a target decoding
// case-insensitively (encoding/json) could take the variant instead; such
// a request takes the SDK path, which sends on only what it decoded.
func caseVariant(m map[string]json.RawMessage, names ...string) bool {
	for k := range m {
		for _, n := range names {
			if k != n && strings.EqualFold(k, n) {
				return true
			}
		}
	}
	return false
}

func isNullish(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// rawID is the JSON of a request id (a number or a string).
func rawID(id jsonrpc.ID) []byte {
	if n, ok := id.Raw().(int64); ok {
		return strconv.AppendInt(nil, n, 10)
	}
	b, err := json.Marshal(id.Raw())
	if err != nil {
		return []byte("null")
	}
	return b
}

// relayCall sends the client's request req, with params, on t's pooled
// session and relays the answer, its result passed through rewrite (when
// not nil). A session the target no longer knows (404) is replaced and the
// request sent again, once (the target did not run it). A call that times
// out or whose client goes away is cancelled at a target that issues
// sessions (notifications/cancelled, as the stateful relay sends); a
// sessionless target has only the aborted request to go by.
func (h *Handler) relayCall(w http.ResponseWriter, r *http.Request, t *TargetSpec, pv string, req *jsonrpc.Request, params []byte, rewrite func([]byte) ([]byte, error)) error {
	ctx, cancel := context.WithTimeout(r.Context(), h.spec.CallTimeout)
	defer cancel()
	clientID, id := rawID(req.ID), req.ID
	upID := h.raw.nextID()
	body := requestBody(upID, req.Method, params)
	// The sessions this call has to itself are ended with it; after the
	// cancel, when the call was abandoned (so in the background: the
	// client's answer does not wait for the target).
	var owned []*rawSession
	var abandoned *rawSession
	defer func() {
		if abandoned == nil || abandoned.id == "" {
			for _, s := range owned {
				s.end()
			}
			return
		}
		// Not the call's context: it has ended, and the cancel must still go.
		go cancelThenEnd(abandoned, h.cancelNote(upID, ctx), owned) //nolint:gosec // G118: see above
	}()
	var stale *rawSession
	for attempt := 0; ; attempt++ {
		s, own, err := h.raw.get(ctx, t, pv, stale)
		if err != nil {
			return h.fastError(w, r, id, err)
		}
		if own {
			owned = append(owned, s)
		}
		resp, err := s.post(ctx, body, true)
		if err != nil {
			if ctx.Err() != nil {
				abandoned = s
			}
			return h.fastError(w, r, id, h.callFailed(ctx, r, t, err))
		}
		if resp.StatusCode == http.StatusNotFound && s.id != "" && attempt == 0 {
			drain(resp)
			h.spec.Log.Info("mcp upstream session expired; re-initializing", "target", t.Name)
			stale = s
			continue
		}
		defer func() { _ = resp.Body.Close() }()
		if !answerable(resp) {
			drain(resp)
			return h.fastError(w, r, id, fmt.Errorf("%s answered HTTP %d", t.Name, resp.StatusCode))
		}
		err = h.relayAnswer(ctx, w, r, s, resp, upID, clientID, id, rewrite)
		if ctx.Err() != nil {
			abandoned = s // timed out or the client went away before the answer was read
		}
		return err
	}
}

// cancelThenEnd sends the target the cancel note on s, then ends the
// sessions owned.
func cancelThenEnd(s *rawSession, note []byte, owned []*rawSession) {
	sendNote(s, note)
	for _, o := range owned {
		o.end()
	}
}

// answerable reports whether a target's response to a request can carry
// its answer: 200 with a JSON body or an event stream.
func answerable(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	return resp.StatusCode == http.StatusOK && (strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "text/event-stream"))
}

// requestBody is a JSON-RPC request.
func requestBody(id []byte, method string, params []byte) []byte {
	body := make([]byte, 0, len(params)+len(method)+48)
	body = append(body, `{"jsonrpc":"2.0","id":`...)
	body = append(body, id...)
	body = append(body, `,"method":`...)
	body = strconv.AppendQuote(body, method)
	if len(params) > 0 {
		body = append(body, `,"params":`...)
		body = append(body, params...)
	}
	return append(body, '}')
}

// callFailed words a failed call like upstream.do does, and a call the
// client cancelled (stateful.go) as such.
func (h *Handler) callFailed(ctx context.Context, r *http.Request, t *TargetSpec, err error) error {
	if errors.Is(context.Cause(ctx), errClientCancelled) {
		return fmt.Errorf("%w: %s: the request was cancelled", errUnavailable, t.Name)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && r.Context().Err() == nil {
		return fmt.Errorf("%w: %s: no answer within %s", errUnavailable, t.Name, h.spec.CallTimeout)
	}
	return fmt.Errorf("%w: %s: connection lost: %v", errUnavailable, t.Name, err)
}

// fastError answers the client's call with err as a JSON-RPC error.
func (h *Handler) fastError(w http.ResponseWriter, r *http.Request, id jsonrpc.ID, err error) error {
	we := rpcError(err).(*jsonrpc.Error)
	writeRPCError(w, r, http.StatusOK, id, int(we.Code), we.Message)
	return err
}

// relayAnswer copies the target's answer to the client: notifications
// first, in the order the target sent them, as an SSE stream; then the
// answer, as the last event of that stream, or as a JSON body when nothing
// came before it. Requests the target makes are answered here: a stateless
// client cannot be asked anything.
func (h *Handler) relayAnswer(ctx context.Context, w http.ResponseWriter, r *http.Request, s *rawSession, resp *http.Response, upID, clientID []byte, id jsonrpc.ID, rewrite func([]byte) ([]byte, error)) error {
	streaming := false
	fl, _ := w.(http.Flusher)
	event := func(data []byte) {
		if !streaming {
			streaming = true
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
		}
		buf := make([]byte, 0, len(data)+24)
		buf = append(append(append(buf, "event: message\ndata: "...), data...), "\n\n"...)
		_, _ = w.Write(buf)
		if fl != nil {
			fl.Flush()
		}
	}
	answered := false
	var answerErr error // a JSON-RPC error answer, for the metrics
	err := readAnswer(resp, upID, func(m *rawMsg, _ []byte) error {
		if rewrite != nil && isNullish(m.Error) && len(m.Result) > 0 {
			res, err := rewrite(m.Result)
			if err != nil {
				return fmt.Errorf("a malformed answer: %w", err)
			}
			m.Result = res
		}
		out, err := withID(m, clientID)
		if err != nil {
			return err
		}
		answered = true
		if !isNullish(m.Error) {
			answerErr = errors.New("the target answered with an error")
		}
		if streaming {
			event(out)
			return nil
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
		if fl != nil {
			fl.Flush()
		}
		return nil
	}, func(m *rawMsg, data []byte) error {
		if out := h.fastOther(ctx, s, m, data); out != nil {
			event(out)
		}
		return nil
	})
	if answered {
		// What follows the answer (the end of the stream) is read so that
		// the connection can carry the next call.
		drainAnswered(resp)
		return answerErr
	}
	if err == nil {
		err = errors.New("no answer")
	}
	err = h.callFailed(ctx, r, s.t, err)
	if !streaming {
		return h.fastError(w, r, id, err)
	}
	we := rpcError(err).(*jsonrpc.Error)
	data, _ := jsonrpc.EncodeMessage(&jsonrpc.Response{ID: id, Error: we})
	event(bytes.TrimSpace(data))
	return err
}

// fastOther handles a message of the target's stream other than the
// answer: notifications are relayed (resource URIs qualified), requests
// answered. It returns what to send to the client, or nil.
func (h *Handler) fastOther(ctx context.Context, s *rawSession, m *rawMsg, data []byte) []byte {
	if m.Method == "" {
		return nil // a stray response
	}
	if !isNullish(m.ID) {
		if s.down != nil && m.Method != "ping" {
			return s.down.askClient(ctx, s, m)
		}
		if m.Method != "ping" {
			refuse(ctx, s, m, "to a stateless client")
			return nil
		}
		if resp, err := s.post(ctx, []byte(`{"jsonrpc":"2.0","id":`+string(m.ID)+`,"result":{}}`), true); err == nil {
			drain(resp)
		}
		return nil
	}
	switch m.Method {
	case "notifications/cancelled", "notifications/subscriptions/acknowledged":
		return nil // they name upstream request ids
	case "notifications/resources/updated":
		if h.spec.prefixed() {
			var p map[string]json.RawMessage
			var uri string
			if json.Unmarshal(m.Params, &p) != nil || json.Unmarshal(p["uri"], &uri) != nil {
				return nil
			}
			p["uri"], _ = json.Marshal(qualifyURI(s.t.Name, uri))
			params, _ := json.Marshal(p)
			out, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": m.Method, "params": json.RawMessage(params)})
			return out
		}
	}
	return data
}

// refuse answers the target's request m with an error: there is no
// client to ask (where: "to a stateless client", "during a list").
func refuse(ctx context.Context, s *rawSession, m *rawMsg, where string) {
	msg, _ := json.Marshal(m.Method + " is not available " + where)
	reply := []byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"error":{"code":-32600,"message":` + string(msg) + `}}`)
	if resp, err := s.post(ctx, reply, true); err == nil {
		drain(resp)
	}
}

// withID returns the answer m with its id replaced by id.
func withID(m *rawMsg, id []byte) ([]byte, error) {
	out := make([]byte, 0, len(m.Result)+len(m.Error)+len(id)+32)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	switch {
	case !isNullish(m.Error):
		out = append(out, `,"error":`...)
		out = append(out, m.Error...)
	case len(m.Result) > 0:
		out = append(out, `,"result":`...)
		out = append(out, m.Result...)
	default:
		return nil, errors.New("a malformed answer: no result")
	}
	return append(out, '}'), nil
}
