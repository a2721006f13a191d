package mcp

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/cel"
)

// Authorizer decides whether the client of request r may see or use one
// tool, prompt or resource (mcpAuthorization: *authz.Policy is one). r
// carries the identity the route's authentication set (jwt, apiKey,
// basicAuth) and the client's address; an evaluation error must deny.
type Authorizer interface {
	Allowed(r *http.Request, m *cel.MCP) bool
}

// codeForbidden is the JSON-RPC error of a call mcpAuthorization refuses,
// in the server-defined range (-32003 to -32005 are the SDK's own
// "closing"/"rejected" errors, which clients take for a closed connection).
const codeForbidden = -32010

// requestHeader carries, inside the gateway only, the key under which the
// client's HTTP request is kept while the SDK serves it: the SDK gives
// handlers the request's headers (RequestExtra.Header), not the request
// whose context holds the identity. A client's own value is overwritten,
// and client headers never go upstream.
const requestHeader = "X-Agentgateway-Mcp-Request"

// keep makes r findable by the handlers of the messages it carries, until
// the returned function is called (when the SDK has answered them).
func (h *Handler) keep(r *http.Request) func() {
	if h.spec.Authz == nil {
		r.Header.Del(requestHeader)
		return func() {}
	}
	key := rand.Text()
	r.Header.Set(requestHeader, key)
	h.reqs.Store(key, r)
	return func() { h.reqs.Delete(key) }
}

// clientRequest is the HTTP request that carried req: the POST (streamable
// HTTP, stateless), or the GET that opened the stream (legacy SSE, whose
// POSTs are answered 202 before they are handled). nil when unknown.
func (h *Handler) clientRequest(s *session, req mcp.Request) *http.Request {
	if ex := req.GetExtra(); ex != nil && ex.Header != nil {
		if key := ex.Header.Get(requestHeader); key != "" {
			if r, ok := h.reqs.Load(key); ok {
				return r.(*http.Request)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streamReq
}

// access is the authorization context of one client request.
type access struct {
	h      *Handler
	r      *http.Request // nil: the client's request is unknown; deny all
	method string
	sid    string
}

type accessKey struct{}

// withAccess records in ctx what authorizing req needs (nothing without
// mcpAuthorization).
func (h *Handler) withAccess(ctx context.Context, s *session, method string, req mcp.Request) context.Context {
	if h.spec.Authz == nil {
		return ctx
	}
	a := &access{h: h, r: h.clientRequest(s, req), method: method}
	if s.id != "" {
		a.sid = fingerprint(s.id)
	}
	return context.WithValue(ctx, accessKey{}, a)
}

func accessFrom(ctx context.Context) *access {
	a, _ := ctx.Value(accessKey{}).(*access)
	return a
}

// allow reports whether the client may see or use the entity of kind (t
// tool, p prompt, r resource, T resource template) that target knows as
// name. A nil access (no mcpAuthorization) allows everything.
func (a *access) allow(kind byte, target, name string) bool {
	if a == nil {
		return true
	}
	if a.r == nil {
		return false
	}
	m := &cel.MCP{Method: a.method, SessionID: a.sid}
	e := cel.MCPTarget{Name: name, Target: target}
	switch kind {
	case 't':
		m.Tool = e
	case 'p':
		m.Prompt = e
	default:
		m.Resource = e
	}
	return a.h.spec.Authz.Allowed(a.r, m)
}

// check is allow for a call: a refusal is a JSON-RPC error naming what the
// client asked for (never whether the target has it: nothing was asked of
// the target).
func (a *access) check(kind byte, target, name, exposed string) error {
	if a.allow(kind, target, name) {
		return nil
	}
	a.h.spec.Log.Info("mcp request denied by mcpAuthorization", "method", a.method, "kind", kindName(kind), "name", exposed)
	return &jsonrpc.Error{Code: codeForbidden, Message: fmt.Sprintf("Forbidden: %s %q is not allowed (mcpAuthorization)", kindName(kind), exposed)}
}
