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
	if !firstPage(req.Params) {
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
	tgs := make([]listTarget, len(ups))
	for i, u := range ups {
		tgs[i] = listTarget{u.t, u}
	}
	var gone forgotten
	res, err := h.mergedList(ctx, s, req.Method, tgs, func(ctx context.Context, lt listTarget, c byte, params []byte) (json.RawMessage, error) {
		if !lt.u.hasCap(c) {
			return nil, errNoCap
		}
		rs, cs := lt.u.relaySession()
		if rs == nil {
			return nil, fmt.Errorf("%w: %s: not connected", errUnavailable, lt.t.Name)
		}
		res, err := h.listOn(ctx, rs, req.Method, params)
		if errors.Is(err, errSessionGone) {
			gone.add(lt.u, cs)
		}
		return res, err
	})
	if gone.reset(h) {
		return false
	}
	writeList(w, r, req.ID, res, err, writeEventResult)
	return true
}

// forgotten collects the target sessions a list found forgotten (404),
// with the client session each belongs to.
type forgotten struct {
	mu  sync.Mutex
	ups []*upstream
	css []*mcp.ClientSession
}

func (f *forgotten) add(u *upstream, cs *mcp.ClientSession) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ups, f.css = append(f.ups, u), append(f.css, cs)
}

// reset resets them (the SDK path re-initializes them), and reports
// whether there were any.
func (f *forgotten) reset(h *Handler) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, u := range f.ups {
		h.spec.Log.Info("mcp upstream session expired; re-initializing", "target", u.t.Name)
		u.reset(f.css[i])
	}
	return len(f.ups) > 0
}

// listOn sends a list request (one page) on rs and returns its result.
func (h *Handler) listOn(ctx context.Context, rs *rawSession, method string, params []byte) (json.RawMessage, error) {
	upID := relayID("")
	resp, err := rs.post(ctx, requestBody(upID, method, params), true)
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
	return h.resultOf(ctx, rs, resp, upID)
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
