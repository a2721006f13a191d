package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Lists in stateful sessions, relayed. On the SDK path a list crosses the
// go-sdk's server session, then every target's client session (a decode
// into typed results and a reader goroutine each), and is encoded again by
// the server. Here it is asked on the session's own target sessions (the
// relay sessions of stateful.go), every page of every target, and merged
// by the same code as on the SDK path (gather, merge and the *Result
// builders: names, ambiguity, failOpen, mcpAuthorization, the index that
// routes names in sessions without prefixes, cache hints).
//
// It applies when every target of the session is a streamable-HTTP target
// with a connected session, and the request has no cursor (the federation
// collects every page and gives clients none). A target session the target
// forgot (404) is reset and the whole list left to the SDK path, which
// re-initializes it: nothing has been written then.

// listMethod reports whether method is a list the relays serve.
func listMethod(method string) bool {
	switch method {
	case "tools/list", "prompts/list", "resources/list", "resources/templates/list":
		return true
	}
	return false
}

// errSessionGone: a target answered 404 to a session it no longer knows.
var errSessionGone = errors.New("the target no longer knows the session")

// statefulList serves a list posted in session s, and reports whether it
// did (false: nothing was written, the SDK path serves it).
func (h *Handler) statefulList(w http.ResponseWriter, r *http.Request, s *session, req *jsonrpc.Request) bool {
	var p struct {
		Cursor *string `json:"cursor"`
	}
	if len(req.Params) > 0 && (json.Unmarshal(req.Params, &p) != nil || p.Cursor != nil && *p.Cursor != "") {
		return false
	}
	if s.connectAll(r.Context(), nil) != nil {
		return false // the SDK path answers the failure
	}
	ups := s.live()
	for _, u := range ups {
		if rs, _ := u.relaySession(); rs == nil {
			return false
		}
	}
	ctx := r.Context()
	if h.spec.Authz != nil {
		ctx = context.WithValue(ctx, accessKey{}, &access{h: h, r: r, method: req.Method, sid: fingerprint(s.id)})
	}
	fo := &listFanOut{h: h, ups: ups, method: req.Method, hint: &cacheHint{}}
	var res any
	var err error
	switch req.Method {
	case "tools/list":
		var rs []result[*mcp.Tool]
		if rs, err = relayedLists[*mcp.Tool](ctx, fo, 't', "tools"); err == nil {
			out := h.toolsResult(ctx, s, rs)
			out.Cacheable = fo.hint.merged(h.spec.Authz != nil)
			res = out
		}
	case "prompts/list":
		var rs []result[*mcp.Prompt]
		if rs, err = relayedLists[*mcp.Prompt](ctx, fo, 'p', "prompts"); err == nil {
			out := h.promptsResult(ctx, s, rs)
			out.Cacheable = fo.hint.merged(h.spec.Authz != nil)
			res = out
		}
	case "resources/list":
		var rs []result[*mcp.Resource]
		if rs, err = relayedLists[*mcp.Resource](ctx, fo, 'r', "resources"); err == nil {
			out := h.resourcesResult(ctx, s, rs)
			out.Cacheable = fo.hint.merged(h.spec.Authz != nil)
			res = out
		}
	default:
		var rs []result[*mcp.ResourceTemplate]
		if rs, err = relayedLists[*mcp.ResourceTemplate](ctx, fo, 'r', "resourceTemplates"); err == nil {
			out := h.templatesResult(ctx, s, rs)
			out.Cacheable = fo.hint.merged(h.spec.Authz != nil)
			res = out
		}
	}
	if fo.resetGone() {
		return false
	}
	if err != nil {
		we := rpcError(err).(*jsonrpc.Error)
		writeRPCError(w, r, http.StatusOK, req.ID, int(we.Code), we.Message)
		return true
	}
	data, err := json.Marshal(res)
	if err != nil {
		writeRPCError(w, r, http.StatusOK, req.ID, jsonrpc.CodeInternalError, "cannot encode the list")
		return true
	}
	writeEventResult(w, rawID(req.ID), data)
	return true
}

// writeEventResult answers with a JSON-RPC result as the one event of an
// SSE stream, as the SDK path answers a session's lists (clients may get
// either; some check that concurrent streams in a session work).
func writeEventResult(w http.ResponseWriter, id, result []byte) {
	out := make([]byte, 0, len(result)+len(id)+64)
	out = append(out, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":"...)
	out = append(out, id...)
	out = append(out, `,"result":`...)
	out = append(out, result...)
	out = append(out, "}\n\n"...)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
}

// listFanOut is one relayed list's state across its targets.
type listFanOut struct {
	h      *Handler
	ups    []*upstream
	method string
	hint   *cacheHint

	mu   sync.Mutex
	gone []*upstream // targets that answered 404, with the client session to reset
	css  []*mcp.ClientSession
}

// resetGone resets the target sessions that were forgotten, and reports
// whether there were any.
func (fo *listFanOut) resetGone() bool {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	for i, u := range fo.gone {
		fo.h.spec.Log.Info("mcp upstream session expired; re-initializing", "target", u.t.Name)
		u.reset(fo.css[i])
	}
	return len(fo.gone) > 0
}

// relayedLists lists field (every page) of every target with capability
// c on its relay session.
func relayedLists[T any](ctx context.Context, fo *listFanOut, c byte, field string) ([]result[T], error) {
	out := make([]result[T], len(fo.ups))
	for i, u := range fo.ups {
		out[i].t, out[i].u = u.t, u
	}
	return gather(ctx, fo.h, fo.method, out, func(ctx context.Context, r *result[T]) ([]T, error) {
		if !r.u.hasCap(c) {
			return nil, nil
		}
		rs, cs := r.u.relaySession()
		if rs == nil {
			return nil, fmt.Errorf("%w: %s: not connected", errUnavailable, r.t.Name)
		}
		items, err := pages(ctx, func(ctx context.Context, cursor string) ([]T, string, error) {
			params := []byte("{}")
			if cursor != "" {
				params, _ = json.Marshal(map[string]string{"cursor": cursor})
			}
			res, err := fo.exchange(ctx, rs, params)
			if err != nil {
				return nil, "", err
			}
			return readPage[T](res, r.t.Name, fo.method, field, fo.hint)
		})
		if errors.Is(err, errSessionGone) {
			fo.mu.Lock()
			fo.gone, fo.css = append(fo.gone, r.u), append(fo.css, cs)
			fo.mu.Unlock()
		}
		return items, err
	})
}

// exchange sends the list request on rs and returns its result.
func (fo *listFanOut) exchange(ctx context.Context, rs *rawSession, params []byte) (json.RawMessage, error) {
	upID := relayID("")
	resp, err := rs.post(ctx, requestBody(upID, fo.method, params), true)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: connection lost: %v", errUnavailable, rs.t.Name, err)
	}
	if resp.StatusCode == http.StatusNotFound && rs.id != "" {
		drain(resp)
		return nil, errSessionGone
	}
	if !answerable(resp) {
		drain(resp)
		return nil, fmt.Errorf("%w: %s answered HTTP %d", errUnavailable, rs.t.Name, resp.StatusCode)
	}
	return fo.h.resultOf(ctx, rs, resp, upID)
}
