package mcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/version"
)

// binder returns the gateway session a server session belongs to, and
// whether it is ephemeral (stateless mode: the caller closes it).
type binder func(*mcp.ServerSession) (*session, bool)

// newServer builds a downstream MCP server. It registers nothing: its
// receiving middleware answers every feature request from the targets. A
// non-empty sid is the id the SDK hands out for the session it creates.
func (h *Handler) newServer(bind binder, sid string) *mcp.Server {
	opts := &mcp.ServerOptions{
		Capabilities:       &mcp.ServerCapabilities{},
		SubscribeHandler:   h.subscribe(bind),
		UnsubscribeHandler: h.unsubscribe(bind),
		CompletionHandler:  h.complete(bind),
		PageSize:           1 << 30,
	}
	if sid != "" {
		opts.GetSessionID = func() string { return sid }
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "agentgateway", Version: version.Version}, opts)
	srv.AddReceivingMiddleware(h.middleware(bind))
	srv.AddSendingMiddleware(relaySending)
	return srv
}

// relayKey marks a context carrying a notification to relay as is.
type relayKey struct{}

type relayMsg struct {
	method string
	params mcp.Params
}

// relaySending lets the gateway send any notification through the SDK: a
// progress notification sent with a relayKey context is replaced by the
// notification the context carries (the SDK has no generic notify).
func relaySending(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if m, ok := ctx.Value(relayKey{}).(*relayMsg); ok && method == "notifications/progress" {
			if ss, ok := req.GetSession().(*mcp.ServerSession); ok {
				return next(ctx, m.method, &mcp.ServerRequest[mcp.Params]{Session: ss, Params: m.params})
			}
		}
		return next(ctx, method, req)
	}
}

// middleware routes each client request to the targets.
func (h *Handler) middleware(bind binder) mcp.Middleware {
	return func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			ss, _ := req.GetSession().(*mcp.ServerSession)
			s, ephemeral := bind(ss)
			if s == nil {
				return next(ctx, method, req)
			}
			if ephemeral {
				defer s.close(false)
			} else if s.hold() {
				defer s.release()
			} else {
				return nil, &jsonrpc.Error{Code: codeSessionNotFound, Message: "Session not found"}
			}
			return h.dispatch(ctx, s, ss, next, method, req)
		}
	}
}

func (h *Handler) dispatch(ctx context.Context, s *session, ss *mcp.ServerSession, next mcp.MethodHandler, method string, req mcp.Request) (mcp.Result, error) {
	s.touch()
	ctx = h.withAccess(ctx, s, method, req)
	if method != "initialize" && !strings.HasPrefix(method, "notifications/") && method != "ping" {
		if ip := ss.InitializeParams(); ip != nil {
			s.setInit(ip)
		}
		if err := s.connectAll(ctx, nil); err != nil {
			return nil, rpcError(err)
		}
	}
	switch method {
	case "initialize":
		return h.initialize(ctx, s, next, method, req)
	case "tools/list":
		return h.listTools(ctx, s)
	case "tools/call":
		return h.callTool(ctx, s, req.GetParams().(*mcp.CallToolParamsRaw))
	case "prompts/list":
		return h.listPrompts(ctx, s)
	case "prompts/get":
		return h.getPrompt(ctx, s, req.GetParams().(*mcp.GetPromptParams))
	case "resources/list":
		return h.listResources(ctx, s)
	case "resources/templates/list":
		return h.listTemplates(ctx, s)
	case "resources/read":
		return h.readResource(ctx, s, req.GetParams().(*mcp.ReadResourceParams))
	case "logging/setLevel":
		res, err := next(ctx, method, req)
		if err == nil {
			p := req.GetParams().(*mcp.SetLoggingLevelParams) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
			h.each(ctx, s, 'l', func(ctx context.Context, u *upstream, cs *mcp.ClientSession) error {
				return cs.SetLoggingLevel(ctx, p) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
			})
		}
		return res, err
	case "notifications/roots/list_changed":
		for _, u := range s.live() {
			u.notifyRaw(ctx, method, map[string]any{})
		}
	}
	return next(ctx, method, req)
}

// initialize lets the SDK record the client's parameters, connects the
// targets if that has not happened yet (SSE and stateless sessions), and
// answers with the merged capabilities.
func (h *Handler) initialize(ctx context.Context, s *session, next mcp.MethodHandler, method string, req mcp.Request) (mcp.Result, error) {
	p, _ := req.GetParams().(*mcp.InitializeParams)
	s.setInit(p)
	if err := s.connectAll(ctx, nil); err != nil {
		return nil, rpcError(err)
	}
	res, err := next(ctx, method, req)
	if err != nil {
		return nil, err
	}
	ir, ok := res.(*mcp.InitializeResult)
	if !ok {
		return res, nil
	}
	caps := &mcp.ServerCapabilities{}
	var instructions []string
	for _, u := range s.live() {
		u.mu.Lock()
		cs := u.cs
		u.mu.Unlock()
		if cs == nil || cs.InitializeResult() == nil {
			continue
		}
		r := cs.InitializeResult()
		mergeCaps(caps, r.Capabilities)
		if r.Instructions != "" {
			if len(s.ups) == 1 {
				instructions = append(instructions, r.Instructions)
			} else {
				instructions = append(instructions, u.t.Name+": "+r.Instructions)
			}
		}
		if len(s.ups) == 1 && r.ServerInfo != nil {
			info := *r.ServerInfo
			ir.ServerInfo = &info
		}
	}
	ir.Capabilities = caps
	ir.Instructions = strings.Join(instructions, "\n\n")
	return ir, nil
}

// result is one target's share of a fan-out. u is nil on the stateless
// fast path (fastlist.go), which has no per-session upstreams.
type result[T any] struct {
	t     *TargetSpec
	u     *upstream
	items []T
	err   error
}

// fanOut calls list on every target that has capability c, each bounded by
// the list timeout (see gather).
func fanOut[T any](ctx context.Context, h *Handler, s *session, method string, c byte, list func(context.Context, *mcp.ClientSession) ([]T, error)) ([]result[T], error) {
	ups := s.live()
	out := make([]result[T], len(ups))
	for i, u := range ups {
		out[i].t, out[i].u = u.t, u
	}
	return gather(ctx, h, method, out, func(ctx context.Context, r *result[T]) ([]T, error) {
		if !r.u.hasCap(c) {
			return nil, nil
		}
		var items []T
		err := r.u.do(ctx, h.spec.ListTimeout, true, func(ctx context.Context, cs *mcp.ClientSession) error {
			var err error
			items, err = list(ctx, cs)
			return err
		})
		return items, err
	})
}

// gather runs list for every target of out concurrently, each bounded by
// the list timeout. failClosed turns any failure into an error; failOpen
// keeps what the healthy targets returned. "Method not found" is an empty
// answer, not a failure.
func gather[T any](ctx context.Context, h *Handler, method string, out []result[T], list func(context.Context, *result[T]) ([]T, error)) ([]result[T], error) {
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &out[i]
			lctx, cancel := context.WithTimeout(ctx, h.spec.ListTimeout)
			defer cancel()
			items, err := list(lctx, r)
			r.items = items
			if err != nil && lctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
				err = fmt.Errorf("%w: %s: no answer within %s", errUnavailable, r.t.Name, h.spec.ListTimeout)
			}
			var we *jsonrpc.Error
			if errors.As(err, &we) && we.Code == jsonrpc.CodeMethodNotFound {
				err = nil
			}
			r.err = err
			h.count(method, r.t.Name, "", err)
		}()
	}
	wg.Wait()
	var failed []error
	for _, r := range out {
		if r.err != nil {
			h.spec.Log.Warn("mcp target failed during fan-out", "method", method, "target", r.t.Name, "error", r.err)
			failed = append(failed, r.err)
		}
	}
	if len(failed) > 0 && !h.spec.FailOpen {
		return nil, rpcError(failed[0])
	}
	return out, nil
}

// each runs fn on every connected target with capability c, ignoring errors.
func (h *Handler) each(ctx context.Context, s *session, c byte, fn func(context.Context, *upstream, *mcp.ClientSession) error) {
	var wg sync.WaitGroup
	for _, u := range s.live() {
		if !u.hasCap(c) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = u.do(ctx, h.spec.ListTimeout, true, func(ctx context.Context, cs *mcp.ClientSession) error { return fn(ctx, u, cs) })
		}()
	}
	wg.Wait()
}

const maxPages = 100

// pages collects every page of a paginated list.
func pages[T any](ctx context.Context, call func(context.Context, string) ([]T, string, error)) ([]T, error) {
	var all []T
	cursor := ""
	for range maxPages {
		items, next, err := call(ctx, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" || next == cursor {
			break
		}
		cursor = next
	}
	return all, nil
}

func (h *Handler) listTools(ctx context.Context, s *session) (*mcp.ListToolsResult, error) {
	hint := &cacheHint{}
	rs, err := fanOut(ctx, h, s, "tools/list", 't', func(ctx context.Context, cs *mcp.ClientSession) ([]*mcp.Tool, error) {
		return pages(ctx, func(ctx context.Context, c string) ([]*mcp.Tool, string, error) {
			r, err := cs.ListTools(ctx, &mcp.ListToolsParams{Cursor: c})
			if err != nil {
				return nil, "", err
			}
			hint.add(r.TTLMs, r.CacheScope)
			return r.Tools, r.NextCursor, nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := h.toolsResult(ctx, s, rs)
	out.Cacheable = hint.merged(h.spec.Authz != nil)
	return out, nil
}

// toolsResult merges the targets' tools: exposed names, mcpAuthorization
// applied. s is nil on the stateless fast path.
func (h *Handler) toolsResult(ctx context.Context, s *session, rs []result[*mcp.Tool]) *mcp.ListToolsResult {
	out := &mcp.ListToolsResult{Tools: []*mcp.Tool{}}
	az := accessFrom(ctx)
	merge(h, s, 't', rs, func(t *mcp.Tool) string { return t.Name }, func(target string, t *mcp.Tool) {
		if !az.allow('t', target, t.Name) {
			return
		}
		c := *t
		c.Name = h.expose(target, t.Name)
		out.Tools = append(out.Tools, &c)
	})
	return out
}

func (h *Handler) listPrompts(ctx context.Context, s *session) (*mcp.ListPromptsResult, error) {
	hint := &cacheHint{}
	rs, err := fanOut(ctx, h, s, "prompts/list", 'p', func(ctx context.Context, cs *mcp.ClientSession) ([]*mcp.Prompt, error) {
		return pages(ctx, func(ctx context.Context, c string) ([]*mcp.Prompt, string, error) {
			r, err := cs.ListPrompts(ctx, &mcp.ListPromptsParams{Cursor: c})
			if err != nil {
				return nil, "", err
			}
			hint.add(r.TTLMs, r.CacheScope)
			return r.Prompts, r.NextCursor, nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := h.promptsResult(ctx, s, rs)
	out.Cacheable = hint.merged(h.spec.Authz != nil)
	return out, nil
}

func (h *Handler) promptsResult(ctx context.Context, s *session, rs []result[*mcp.Prompt]) *mcp.ListPromptsResult {
	out := &mcp.ListPromptsResult{Prompts: []*mcp.Prompt{}}
	az := accessFrom(ctx)
	merge(h, s, 'p', rs, func(p *mcp.Prompt) string { return p.Name }, func(target string, p *mcp.Prompt) {
		if !az.allow('p', target, p.Name) {
			return
		}
		c := *p
		c.Name = h.expose(target, p.Name)
		out.Prompts = append(out.Prompts, &c)
	})
	return out
}

func (h *Handler) listResources(ctx context.Context, s *session) (*mcp.ListResourcesResult, error) {
	hint := &cacheHint{}
	rs, err := fanOut(ctx, h, s, "resources/list", 'r', func(ctx context.Context, cs *mcp.ClientSession) ([]*mcp.Resource, error) {
		return pages(ctx, func(ctx context.Context, c string) ([]*mcp.Resource, string, error) {
			r, err := cs.ListResources(ctx, &mcp.ListResourcesParams{Cursor: c})
			if err != nil {
				return nil, "", err
			}
			hint.add(r.TTLMs, r.CacheScope)
			return r.Resources, r.NextCursor, nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := h.resourcesResult(ctx, s, rs)
	out.Cacheable = hint.merged(h.spec.Authz != nil)
	return out, nil
}

func (h *Handler) resourcesResult(ctx context.Context, s *session, rs []result[*mcp.Resource]) *mcp.ListResourcesResult {
	out := &mcp.ListResourcesResult{Resources: []*mcp.Resource{}}
	az := accessFrom(ctx)
	merge(h, s, 'r', rs, func(r *mcp.Resource) string { return r.URI }, func(target string, r *mcp.Resource) {
		if !az.allow('r', target, r.URI) {
			return
		}
		c := *r
		c.URI = h.exposeURI(target, r.URI)
		out.Resources = append(out.Resources, &c)
	})
	return out
}

func (h *Handler) listTemplates(ctx context.Context, s *session) (*mcp.ListResourceTemplatesResult, error) {
	hint := &cacheHint{}
	rs, err := fanOut(ctx, h, s, "resources/templates/list", 'r', func(ctx context.Context, cs *mcp.ClientSession) ([]*mcp.ResourceTemplate, error) {
		return pages(ctx, func(ctx context.Context, c string) ([]*mcp.ResourceTemplate, string, error) {
			r, err := cs.ListResourceTemplates(ctx, &mcp.ListResourceTemplatesParams{Cursor: c})
			if err != nil {
				return nil, "", err
			}
			hint.add(r.TTLMs, r.CacheScope)
			return r.ResourceTemplates, r.NextCursor, nil
		})
	})
	if err != nil {
		return nil, err
	}
	out := h.templatesResult(ctx, s, rs)
	out.Cacheable = hint.merged(h.spec.Authz != nil)
	return out, nil
}

func (h *Handler) templatesResult(ctx context.Context, s *session, rs []result[*mcp.ResourceTemplate]) *mcp.ListResourceTemplatesResult {
	out := &mcp.ListResourceTemplatesResult{ResourceTemplates: []*mcp.ResourceTemplate{}}
	az := accessFrom(ctx)
	merge(h, s, 'T', rs, func(r *mcp.ResourceTemplate) string { return r.URITemplate }, func(target string, r *mcp.ResourceTemplate) {
		if !az.allow('T', target, r.URITemplate) {
			return
		}
		c := *r
		c.URITemplate = h.exposeURI(target, r.URITemplate)
		out.ResourceTemplates = append(out.ResourceTemplates, &c)
	})
	return out
}

func (h *Handler) callTool(ctx context.Context, s *session, p *mcp.CallToolParamsRaw) (*mcp.CallToolResult, error) {
	u, name, err := h.resolve(ctx, s, 't', p.Name)
	if err != nil {
		return nil, err
	}
	if err := accessFrom(ctx).check('t', u.t.Name, name, p.Name); err != nil {
		return nil, err
	}
	var res *mcp.CallToolResult
	err = u.do(withProgress(ctx, p.GetProgressToken()), h.spec.CallTimeout, false, func(ctx context.Context, cs *mcp.ClientSession) error {
		var args any = map[string]any{} // absent or null arguments are sent as {}
		if a := strings.TrimSpace(string(p.Arguments)); a != "" && a != "null" {
			args = p.Arguments
		}
		var err error
		res, err = cs.CallTool(ctx, &mcp.CallToolParams{Meta: p.Meta, Name: name, Arguments: args})
		return err
	})
	h.count("tools/call", u.t.Name, name, err)
	if err != nil {
		return nil, rpcError(err)
	}
	return res, nil
}

func (h *Handler) getPrompt(ctx context.Context, s *session, p *mcp.GetPromptParams) (*mcp.GetPromptResult, error) {
	u, name, err := h.resolve(ctx, s, 'p', p.Name)
	if err != nil {
		return nil, err
	}
	if err := accessFrom(ctx).check('p', u.t.Name, name, p.Name); err != nil {
		return nil, err
	}
	var res *mcp.GetPromptResult
	err = u.do(withProgress(ctx, p.GetProgressToken()), h.spec.CallTimeout, true, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Meta: p.Meta, Name: name, Arguments: p.Arguments})
		return err
	})
	h.count("prompts/get", u.t.Name, name, err)
	if err != nil {
		return nil, rpcError(err)
	}
	if h.spec.prefixed() {
		for _, m := range res.Messages {
			qualifyContent(u.t.Name, m.Content)
		}
	}
	return res, nil
}

func (h *Handler) readResource(ctx context.Context, s *session, p *mcp.ReadResourceParams) (*mcp.ReadResourceResult, error) {
	u, uri, err := h.resolve(ctx, s, 'r', p.URI)
	if err != nil {
		return nil, err
	}
	if err := accessFrom(ctx).check('r', u.t.Name, uri, p.URI); err != nil {
		return nil, err
	}
	var res *mcp.ReadResourceResult
	err = u.do(withProgress(ctx, p.GetProgressToken()), h.spec.CallTimeout, true, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{Meta: p.Meta, URI: uri})
		return err
	})
	h.count("resources/read", u.t.Name, uri, err)
	if err != nil {
		return nil, rpcError(err)
	}
	if h.spec.prefixed() {
		for _, c := range res.Contents {
			if c != nil && c.URI != "" {
				c.URI = qualifyURI(u.t.Name, c.URI)
			}
		}
	}
	return res, nil
}

func (h *Handler) subscribe(bind binder) func(context.Context, *mcp.SubscribeRequest) error {
	return func(ctx context.Context, req *mcp.SubscribeRequest) error {
		return h.subscription(ctx, bind, req.Session, true, req.Params.Meta, req.Params.URI)
	}
}

func (h *Handler) unsubscribe(bind binder) func(context.Context, *mcp.UnsubscribeRequest) error {
	return func(ctx context.Context, req *mcp.UnsubscribeRequest) error {
		return h.subscription(ctx, bind, req.Session, false, req.Params.Meta, req.Params.URI)
	}
}

func (h *Handler) subscription(ctx context.Context, bind binder, ss *mcp.ServerSession, on bool, meta mcp.Meta, exposed string) error {
	s, eph := bind(ss)
	if s == nil {
		return &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "no session"}
	}
	if eph {
		defer s.close(false)
	}
	if err := s.connectAll(ctx, nil); err != nil {
		return rpcError(err)
	}
	u, uri, err := h.resolve(ctx, s, 'r', exposed)
	if err != nil {
		return err
	}
	if err := accessFrom(ctx).check('r', u.t.Name, uri, exposed); err != nil {
		return err
	}
	method := "resources/subscribe"
	if !on {
		method = "resources/unsubscribe"
	}
	err = u.do(ctx, h.spec.CallTimeout, true, func(ctx context.Context, cs *mcp.ClientSession) error {
		if on {
			return cs.Subscribe(ctx, &mcp.SubscribeParams{Meta: meta, URI: uri})
		}
		return cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{Meta: meta, URI: uri})
	})
	h.count(method, u.t.Name, uri, err)
	if err != nil {
		return rpcError(err)
	}
	return nil
}

func (h *Handler) complete(bind binder) func(context.Context, *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	return func(ctx context.Context, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
		return h.completeIn(ctx, bind, req)
	}
}

func (h *Handler) completeIn(ctx context.Context, bind binder, req *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
	s, eph := bind(req.Session)
	if s == nil || req.Params == nil || req.Params.Ref == nil {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion needs a ref"}
	}
	if eph {
		defer s.close(false)
	}
	if err := s.connectAll(ctx, nil); err != nil {
		return nil, rpcError(err)
	}
	ref := *req.Params.Ref
	var u *upstream
	var err error
	switch ref.Type {
	case "ref/prompt":
		u, ref.Name, err = h.resolve(ctx, s, 'p', ref.Name)
	case "ref/resource":
		u, ref.URI, err = h.resolve(ctx, s, 'T', ref.URI)
	default:
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown ref type %q", ref.Type)}
	}
	if err != nil {
		return nil, err
	}
	kind, name, exposed := byte('p'), ref.Name, req.Params.Ref.Name
	if ref.Type == "ref/resource" {
		kind, name, exposed = 'T', ref.URI, req.Params.Ref.URI
	}
	if err := accessFrom(ctx).check(kind, u.t.Name, name, exposed); err != nil {
		return nil, err
	}
	p := *req.Params
	p.Ref = &ref
	var res *mcp.CompleteResult
	err = u.do(ctx, h.spec.CallTimeout, true, func(ctx context.Context, cs *mcp.ClientSession) error {
		var err error
		res, err = cs.Complete(ctx, &p)
		return err
	})
	h.count("completion/complete", u.t.Name, ref.Name+ref.URI, err)
	if err != nil {
		return nil, rpcError(err)
	}
	return res, nil
}
