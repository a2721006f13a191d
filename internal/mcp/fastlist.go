package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The stateless fast path for requests other than tools/call (see
// fastpath.go). Lists fan out to every target over their pooled sessions
// (rawpool.go) and are merged as on the SDK path (gather, merge and the
// *Result builders of federate.go: names, ambiguity, failOpen and
// mcpAuthorization are the same code); prompts/get, resources/read and
// completion/complete route by prefix (or to the single target) and are
// relayed like tools/call. The federation gives clients no cursors (it
// collects every page of every target), and neither does this path: a
// request with a cursor takes the SDK path. Routes with a target the pool
// cannot serve (stdio, SSE, OpenAPI) take the SDK path for everything but
// the requests routed to a streamable-HTTP target.

// errNoCap: the target did not declare the capability a request needs.
var errNoCap = errors.New("capability not declared")

// fastList serves tools/list, prompts/list, resources/list and
// resources/templates/list.
func (h *Handler) fastList(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, pv string) bool {
	for _, t := range h.spec.Targets {
		if t.Kind != KindStreamable {
			return false
		}
	}
	if !firstPage(req.Params) {
		return false
	}
	ctx := r.Context()
	if h.spec.Authz != nil {
		ctx = context.WithValue(ctx, accessKey{}, &access{h: h, r: r, method: req.Method})
	}
	tgs := make([]listTarget, len(h.spec.Targets))
	for i, t := range h.spec.Targets {
		tgs[i].t = t
	}
	res, err := h.mergedList(ctx, nil, req.Method, tgs, func(ctx context.Context, lt listTarget, c byte, params []byte) (json.RawMessage, error) {
		return h.raw.exchange(ctx, lt.t, pv, c, req.Method, params)
	})
	writeList(w, r, req.ID, res, err, writeResult)
	return true
}

// firstPage reports whether a list request's params ask for the first
// page (no cursor, or an empty one). The federation collects every page
// of every target and gives clients no cursors; a request with one is the
// SDK path's to judge.
func firstPage(params json.RawMessage) bool {
	var p struct {
		Cursor *string `json:"cursor"`
	}
	return len(params) == 0 || json.Unmarshal(params, &p) == nil && (p.Cursor == nil || *p.Cursor == "")
}

// listTarget is a target a list asks: its spec, and its upstream in a
// stateful session (nil on the stateless path).
type listTarget struct {
	t *TargetSpec
	u *upstream
}

// pageFetch asks one page of a list of lt (params: {} or a cursor) and
// returns the answer's result; errNoCap when lt lacks capability c.
type pageFetch func(ctx context.Context, lt listTarget, c byte, params []byte) (json.RawMessage, error)

// mergedList asks method of every target of tgs (every page, all targets
// at once, each bounded by the list timeout) through fetch, and merges the
// items by the SDK path's code: names, ambiguity, failOpen/failClosed,
// mcpAuthorization (from ctx), cache hints; in session s (nil: stateless)
// the index that routes names without prefixes learns from them.
func (h *Handler) mergedList(ctx context.Context, s *session, method string, tgs []listTarget, fetch pageFetch) (any, error) {
	hint := &cacheHint{}
	perClient := h.spec.Authz != nil
	switch method {
	case "tools/list":
		rs, err := fanPages[*mcp.Tool](ctx, h, method, tgs, 't', "tools", hint, fetch)
		if err != nil {
			return nil, err
		}
		out := h.toolsResult(ctx, s, rs)
		out.Cacheable = hint.merged(perClient)
		return out, nil
	case "prompts/list":
		rs, err := fanPages[*mcp.Prompt](ctx, h, method, tgs, 'p', "prompts", hint, fetch)
		if err != nil {
			return nil, err
		}
		out := h.promptsResult(ctx, s, rs)
		out.Cacheable = hint.merged(perClient)
		return out, nil
	case "resources/list":
		rs, err := fanPages[*mcp.Resource](ctx, h, method, tgs, 'r', "resources", hint, fetch)
		if err != nil {
			return nil, err
		}
		out := h.resourcesResult(ctx, s, rs)
		out.Cacheable = hint.merged(perClient)
		return out, nil
	default: // resources/templates/list
		rs, err := fanPages[*mcp.ResourceTemplate](ctx, h, method, tgs, 'r', "resourceTemplates", hint, fetch)
		if err != nil {
			return nil, err
		}
		out := h.templatesResult(ctx, s, rs)
		out.Cacheable = hint.merged(perClient)
		return out, nil
	}
}

// fanPages lists field (every page) of every target of tgs with
// capability c through fetch.
func fanPages[T any](ctx context.Context, h *Handler, method string, tgs []listTarget, c byte, field string, hint *cacheHint, fetch pageFetch) ([]result[T], error) {
	out := make([]result[T], len(tgs))
	for i, lt := range tgs {
		out[i].t, out[i].u = lt.t, lt.u
	}
	return gather(ctx, h, method, out, func(ctx context.Context, r *result[T]) ([]T, error) {
		lt := listTarget{r.t, r.u}
		items, err := pages(ctx, func(ctx context.Context, cursor string) ([]T, string, error) {
			params := []byte("{}")
			if cursor != "" {
				params, _ = json.Marshal(map[string]string{"cursor": cursor})
			}
			res, err := fetch(ctx, lt, c, params)
			if err != nil {
				return nil, "", err
			}
			return readPage[T](res, r.t.Name, method, field, hint)
		})
		if errors.Is(err, errNoCap) {
			return nil, nil
		}
		return items, err
	})
}

// writeList answers a list with its merged result res (through write: a
// JSON body or an SSE event), or with err as a JSON-RPC error.
func writeList(w http.ResponseWriter, r *http.Request, id jsonrpc.ID, res any, err error, write func(http.ResponseWriter, []byte, []byte)) {
	if err != nil {
		we := rpcError(err).(*jsonrpc.Error)
		writeRPCError(w, r, http.StatusOK, id, int(we.Code), we.Message)
		return
	}
	data, err := json.Marshal(res)
	if err != nil {
		writeRPCError(w, r, http.StatusOK, id, jsonrpc.CodeInternalError, "cannot encode the list")
		return
	}
	write(w, rawID(id), data)
}

// readPage reads one page of a list answer (target's, to method): the
// items of field and the next cursor; its cache hints go to hint.
func readPage[T any](res json.RawMessage, target, method, field string, hint *cacheHint) ([]T, string, error) {
	var page map[string]json.RawMessage
	var items []T
	var next string
	if err := json.Unmarshal(res, &page); err != nil {
		return nil, "", fmt.Errorf("%s: a malformed %s answer: %w", target, method, err)
	}
	if err := json.Unmarshal(page[field], &items); len(page[field]) > 0 && err != nil {
		return nil, "", fmt.Errorf("%s: a malformed %s answer: %w", target, method, err)
	}
	if len(page["nextCursor"]) > 0 {
		_ = json.Unmarshal(page["nextCursor"], &next)
	}
	var ttl int
	var scope string
	_ = json.Unmarshal(page["ttlMs"], &ttl) // absent or malformed: 0, stale
	_ = json.Unmarshal(page["cacheScope"], &scope)
	hint.add(ttl, scope)
	return items, next, nil
}

// exchange sends one request on t's pooled session and returns the
// result of its answer; an error answer is a *jsonrpc.Error. Messages the
// target sends before the answer are dropped (its requests refused). need
// (0: none) is a capability the target must have declared (else errNoCap).
func (p *rawPool) exchange(ctx context.Context, t *TargetSpec, pv string, need byte, method string, params []byte) (json.RawMessage, error) {
	h := p.h
	upID := p.nextID()
	body := requestBody(upID, method, params)
	var stale *rawSession
	for attempt := 0; ; attempt++ {
		s, own, err := p.get(ctx, t, pv, stale)
		if err != nil {
			return nil, err
		}
		if own {
			defer s.end()
		}
		if need != 0 && !s.hasCap(need) {
			return nil, errNoCap
		}
		resp, err := s.post(ctx, body, true)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: connection lost: %v", errUnavailable, t.Name, err)
		}
		if resp.StatusCode == http.StatusNotFound && s.id != "" && attempt == 0 {
			drain(resp)
			h.spec.Log.Info("mcp upstream session expired; re-initializing", "target", t.Name)
			stale = s
			continue
		}
		if !answerable(resp) {
			drain(resp)
			return nil, fmt.Errorf("%w: %s answered HTTP %d", errUnavailable, t.Name, resp.StatusCode)
		}
		return h.resultOf(ctx, s, resp, upID)
	}
}

// resultOf reads the answer to upID from resp (a target's 200 with JSON
// or an event stream) and returns its result, or its error answer as a
// *jsonrpc.Error. Requests the target sends before it are refused,
// notifications dropped.
func (h *Handler) resultOf(ctx context.Context, s *rawSession, resp *http.Response, upID []byte) (json.RawMessage, error) {
	var res json.RawMessage
	var rerr error
	err := readAnswer(resp, upID, func(m *rawMsg, _ []byte) error {
		if !isNullish(m.Error) {
			we := &jsonrpc.Error{}
			if json.Unmarshal(m.Error, we) != nil {
				we = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "a malformed error answer"}
			}
			rerr = we
			return nil
		}
		if len(m.Result) == 0 {
			return errors.New("a malformed answer: no result")
		}
		res = m.Result
		return nil
	}, func(m *rawMsg, data []byte) error {
		if m.Method != "" && !isNullish(m.ID) && m.Method != "ping" {
			where := "to a stateless client"
			if s.down != nil {
				where = "during a list" // a stateful session's client is not asked
			}
			refuse(ctx, s, m, where)
			return nil
		}
		h.fastOther(ctx, s, m, data) // ping answered; notifications dropped
		return nil
	})
	drainAnswered(resp)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", errUnavailable, s.t.Name, err)
	}
	return res, rerr
}

// fastGet serves prompts/get, resources/read and completion/complete: the
// exposed name routes the request to its target, as tools/call.
func (h *Handler) fastGet(w http.ResponseWriter, r *http.Request, req *jsonrpc.Request, pv string) bool {
	g, exposed, ok := readGet(req.Method, req.Params)
	if !ok {
		return false
	}
	t, name, unknown := h.fastTarget(w, r, req, g.kind, exposed)
	if t == nil {
		return unknown
	}
	if h.fastDenied(w, r, req, g.kind, t.Name, name, exposed) {
		return true
	}
	params, ok := g.paramsFor(req.Params, name, exposed, h.spec.Authz != nil)
	if !ok {
		return false
	}
	var rewrite func([]byte) ([]byte, error)
	if h.spec.prefixed() {
		rewrite = getRewrite(req.Method, t.Name)
	}
	err := h.relayCall(w, r, t, pv, req, params, rewrite)
	h.count(req.Method, t.Name, name, err)
	return true
}

// getParams are the params of a prompts/get, resources/read or
// completion/complete, read for routing. holder[member] holds the
// exposed name: in the params themselves, or in a completion's ref.
type getParams struct {
	p, ref, holder map[string]json.RawMessage
	member         string
	kind           byte // 'p' prompt, 'r' resource, 'T' resource template
}

// readGet reads a get's params and the exposed name they carry. ok is
// false when the SDK path should judge the request: params that are not
// an object, case variants of the members read, no usable name, a
// completion of another ref type.
func readGet(method string, params json.RawMessage) (g getParams, exposed string, ok bool) {
	if json.Unmarshal(params, &g.p) != nil || caseVariant(g.p, "name", "uri", "ref") {
		return g, "", false
	}
	g.holder, g.member, g.kind = g.p, "name", 'p'
	switch method {
	case "resources/read":
		g.member, g.kind = "uri", 'r'
	case "completion/complete":
		var typ string
		if json.Unmarshal(g.p["ref"], &g.ref) != nil || json.Unmarshal(g.ref["type"], &typ) != nil || caseVariant(g.ref, "type", "name", "uri") {
			return g, "", false
		}
		switch typ {
		case "ref/prompt":
		case "ref/resource":
			g.member, g.kind = "uri", 'T'
		default:
			return g, "", false
		}
		g.holder = g.ref
	}
	if json.Unmarshal(g.holder[g.member], &exposed) != nil || exposed == "" {
		return g, "", false
	}
	return g, exposed, true
}

// paramsFor returns the params to send to the target that knows the entity
// as name: the client's own when nothing changes; else re-encoded with the
// target's name. With authz the params are always sent as decoded, as for
// tools/call.
func (g *getParams) paramsFor(params json.RawMessage, name, exposed string, authz bool) ([]byte, bool) {
	if name == exposed && !authz {
		return params, true
	}
	g.holder[g.member], _ = json.Marshal(name)
	if g.ref != nil {
		g.p["ref"], _ = json.Marshal(g.ref)
	}
	out, err := json.Marshal(g.p)
	return out, err == nil
}

// getRewrite returns what the SDK path does to a get's result when names
// are prefixed: resource URIs in prompt messages and read contents are
// qualified with the target's name. nil: the result passes as it is.
func getRewrite(method, target string) func([]byte) ([]byte, error) {
	switch method {
	case "prompts/get":
		return func(b []byte) ([]byte, error) {
			var res mcp.GetPromptResult
			if err := json.Unmarshal(b, &res); err != nil {
				return nil, err
			}
			for _, m := range res.Messages {
				if m != nil {
					qualifyContent(target, m.Content)
				}
			}
			return json.Marshal(&res)
		}
	case "resources/read":
		return func(b []byte) ([]byte, error) {
			var res mcp.ReadResourceResult
			if err := json.Unmarshal(b, &res); err != nil {
				return nil, err
			}
			for _, c := range res.Contents {
				if c != nil && c.URI != "" {
					c.URI = qualifyURI(target, c.URI)
				}
			}
			return json.Marshal(&res)
		}
	}
	return nil
}

// writeResult answers with a JSON-RPC result.
func writeResult(w http.ResponseWriter, id, result []byte) {
	out := make([]byte, 0, len(result)+len(id)+32)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	out = append(out, `,"result":`...)
	out = append(out, result...)
	out = append(out, '}')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
}
