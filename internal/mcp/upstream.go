package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/version"
)

// upstream is one target's MCP session inside one downstream session. It
// connects lazily, reconnects (re-initializes) when the target forgets the
// session or its process dies, and relays what the target sends to the
// downstream client.
type upstream struct {
	t *TargetSpec
	s *session

	mu      sync.Mutex
	cs      *mcp.ClientSession
	conn    mcp.Connection // the SDK's connection, for raw notifications
	rt      *upstreamRT
	proc    *process
	id      string // upstream Mcp-Session-Id
	pv      string
	caps    string
	retryAt time.Time // backoff after a failed connect
	backoff time.Duration
	resume  *sealedUp // used by the next connect, then cleared

	connecting chan struct{} // one connect at a time

	imu      sync.Mutex
	inflight []*context.Context // downstream request contexts being served, newest last

	// raw relays requests on cs's upstream session without the SDK
	// (stateful.go); nil unless cs is a streamable-HTTP session.
	raw *rawSession
}

// errUnavailable marks a target that cannot be reached right now.
var errUnavailable = errors.New("target unavailable")

// get returns a connected client session, connecting first if needed.
// Connecting holds no lock the relay needs: a target may talk to the
// gateway while it initializes.
func (u *upstream) get(ctx context.Context) (*mcp.ClientSession, error) {
	u.mu.Lock()
	cs := u.cs
	u.mu.Unlock()
	if cs != nil {
		return cs, nil
	}
	if u.s.ended() {
		// Nothing would end a session opened now.
		return nil, fmt.Errorf("%w: %s: the session is closed", errUnavailable, u.t.Name)
	}
	select {
	case u.connecting <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %s: %v", errUnavailable, u.t.Name, ctx.Err())
	}
	defer func() { <-u.connecting }()
	u.mu.Lock()
	cs, retryAt := u.cs, u.retryAt
	u.mu.Unlock()
	if cs != nil {
		return cs, nil
	}
	if time.Now().Before(retryAt) {
		return nil, fmt.Errorf("%w: %s: reconnecting after a failure", errUnavailable, u.t.Name)
	}
	err := u.connect(ctx)
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		if u.backoff == 0 {
			u.backoff = 500 * time.Millisecond
		} else if u.backoff < 30*time.Second {
			u.backoff *= 2
		}
		u.retryAt = time.Now().Add(u.backoff)
		return nil, err
	}
	u.backoff, u.retryAt = 0, time.Time{}
	return u.cs, nil
}

func (u *upstream) connect(ctx context.Context) error {
	h := u.s.h
	ctx, cancel := context.WithTimeout(ctx, h.spec.InitTimeout)
	defer cancel()
	u.mu.Lock()
	resume := u.resume
	u.resume = nil
	u.mu.Unlock()

	var transport mcp.Transport
	var rt *upstreamRT
	var proc *process
	switch u.t.Kind {
	case KindStdio:
		p, err := h.procs.start(u.t, h.spec.Log)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", errUnavailable, u.t.Name, err)
		}
		proc = p
		transport = p.transport()
	case KindStreamable, KindSSE:
		rt = newUpstreamRT(u.t)
		rt.order = u.t.Kind == KindStreamable
		if rt.order {
			rt.hold = func(b *lateBody) bool { return u.s.gate.hold(u, b) }
		}
		if resume != nil && resume.ID != "" && u.t.Kind == KindStreamable {
			rt.resumeWith(resume)
		}
		client := &http.Client{Transport: rt}
		if u.t.Kind == KindStreamable {
			transport = &mcp.StreamableClientTransport{Endpoint: u.t.URL, HTTPClient: client, MaxRetries: 2}
		} else {
			transport = &mcp.SSEClientTransport{Endpoint: u.t.URL, HTTPClient: client}
		}
	case KindOpenAPI:
		srv := h.openapi[u.t.Name]
		if srv == nil {
			return fmt.Errorf("%w: %s: no OpenAPI server", errUnavailable, u.t.Name)
		}
		ct, st := mcp.NewInMemoryTransports()
		if _, err := srv.Connect(ctx, st, nil); err != nil {
			return fmt.Errorf("%w: %s: %v", errUnavailable, u.t.Name, err)
		}
		transport = ct
	}
	capt := &capture{Transport: transport, detach: u.t.Kind == KindSSE, order: u.t.Kind != KindStreamable}
	client := mcp.NewClient(&mcp.Implementation{Name: "agentgateway", Version: version.Version}, &mcp.ClientOptions{
		Capabilities: u.s.clientCaps(),
	})
	client.AddReceivingMiddleware(u.relay)
	pv := u.s.upstreamVersion()
	if resume != nil && resume.PV != "" {
		pv = resume.PV
	}
	cs, err := client.Connect(ctx, capt, &mcp.ClientSessionOptions{ProtocolVersion: pv})
	if err != nil {
		if proc != nil {
			proc.stop()
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer to initialize within %s", h.spec.InitTimeout)
		}
		return fmt.Errorf("%w: %s: %v", errUnavailable, u.t.Name, err)
	}
	u.mu.Lock()
	if u.s.ended() {
		// The session was torn down while connecting: close saw no
		// session to end, so this one is ended here.
		u.mu.Unlock()
		if rt != nil {
			rt.detach.Store(u.s.state.Load()&stateDetach != 0)
		}
		_ = cs.Close()
		if proc != nil {
			proc.stop()
		}
		return fmt.Errorf("%w: %s: the session is closed", errUnavailable, u.t.Name)
	}
	u.cs, u.conn, u.rt, u.proc = cs, capt.conn, rt, proc
	u.id = cs.ID()
	if ir := cs.InitializeResult(); ir != nil {
		u.pv = ir.ProtocolVersion
		u.caps = capsString(ir.Capabilities)
	}
	if resume != nil && resume.Caps != "" {
		u.caps = resume.Caps
	}
	u.raw = nil
	if u.t.Kind == KindStreamable && fastVersion(u.pv) {
		u.raw = &rawSession{t: u.t, rt: relayRT{rt}, id: u.id, pv: u.pv, caps: u.caps, down: u.s}
		u.raw.template()
	}
	u.mu.Unlock()
	go u.watch(cs, proc)
	return nil
}

// watch forgets the session when its connection ends (process exit, stream
// loss), reaping a stdio process.
func (u *upstream) watch(cs *mcp.ClientSession, proc *process) {
	_ = cs.Wait()
	u.mu.Lock()
	if u.cs == cs {
		u.cs, u.conn, u.raw = nil, nil, nil
	}
	u.mu.Unlock()
	if proc != nil {
		proc.stop()
	}
}

// reset drops cs so the next use re-initializes the target.
func (u *upstream) reset(cs *mcp.ClientSession) {
	u.mu.Lock()
	if u.cs != cs {
		u.mu.Unlock()
		return
	}
	u.cs, u.conn, u.raw = nil, nil, nil
	rt := u.rt
	u.mu.Unlock()
	if rt != nil {
		rt.detach.Store(true) // the upstream already forgot it; no DELETE
	}
	// Close waits for the session's other calls in flight: the caller
	// (retrying on a new session) does not.
	go func() { _ = cs.Close() }()
}

// close ends the upstream session. With detach, HTTP targets are not told
// (another gateway may resume them); stdio processes always stop.
func (u *upstream) close(detach bool) {
	u.mu.Lock()
	cs, rt := u.cs, u.rt
	u.cs, u.conn, u.raw = nil, nil, nil
	u.mu.Unlock()
	if cs == nil {
		return
	}
	if rt != nil && detach {
		rt.detach.Store(true)
	}
	_ = cs.Close()
}

// state is what the sealed session id records for this target.
func (u *upstream) state() sealedUp {
	u.mu.Lock()
	defer u.mu.Unlock()
	return sealedUp{Target: u.t.Name, ID: u.id, PV: u.pv, Caps: u.caps}
}

func (u *upstream) hasCap(c byte) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.caps == "" || strings.IndexByte(u.caps, c) >= 0
}

// do runs fn against the target, bounded by timeout. A session the target
// no longer knows (404) is re-initialized and fn retried once; an idempotent
// fn is also retried when the connection broke.
func (u *upstream) do(ctx context.Context, timeout time.Duration, idempotent bool, fn func(context.Context, *mcp.ClientSession) error) error {
	for attempt := 0; ; attempt++ {
		cs, err := u.get(ctx)
		if err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		done := u.track(&ctx)
		err = fn(cctx, cs)
		done()
		timedOut := cctx.Err() == context.DeadlineExceeded && ctx.Err() == nil
		cancel()
		switch {
		case err == nil:
			return nil
		case timedOut:
			return fmt.Errorf("%w: %s: no answer within %s", errUnavailable, u.t.Name, timeout)
		case errors.Is(err, mcp.ErrSessionMissing):
			u.s.h.spec.Log.Info("mcp upstream session expired; re-initializing", "target", u.t.Name)
			u.reset(cs)
			if attempt == 0 {
				continue
			}
		case errors.Is(err, mcp.ErrConnectionClosed), isClosedErr(err):
			u.reset(cs)
			if idempotent && attempt == 0 {
				continue
			}
			return fmt.Errorf("%w: %s: connection lost: %v", errUnavailable, u.t.Name, err)
		}
		return err
	}
}

// isClosedErr reports whether err is a lost connection. An error the
// target answered with is not, whatever its message says.
func isClosedErr(err error) bool {
	var we *jsonrpc.Error
	if errors.As(err, &we) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "connection closed") || strings.Contains(s, "EOF")
}

// track records ctx as a downstream request this target is serving, so
// what the target sends meanwhile goes to that request's stream.
func (u *upstream) track(ctx *context.Context) func() {
	u.imu.Lock()
	u.inflight = append(u.inflight, ctx)
	u.imu.Unlock()
	return func() {
		u.imu.Lock()
		for i, c := range u.inflight {
			if c == ctx {
				u.inflight = append(u.inflight[:i], u.inflight[i+1:]...)
				break
			}
		}
		u.imu.Unlock()
	}
}

// related returns the newest live downstream request context, or a
// detached one (the client's standalone stream).
func (u *upstream) related() context.Context { return u.relatedTo(nil) }

// relatedTo is related, preferring the request whose progress token is
// token (so progress goes to the call it is about, among concurrent ones).
func (u *upstream) relatedTo(token any) context.Context {
	if !scalarToken(token) {
		token = nil
	}
	u.imu.Lock()
	defer u.imu.Unlock()
	var newest context.Context
	for i := len(u.inflight) - 1; i >= 0; i-- {
		c := *u.inflight[i]
		if c.Err() != nil {
			continue
		}
		if token == nil || c.Value(progressKey{}) == token {
			return c
		}
		if newest == nil {
			newest = c
		}
	}
	if newest != nil {
		return newest
	}
	return context.Background()
}

// progressKey marks a downstream request context with the progress token
// of the request (withProgress).
type progressKey struct{}

// withProgress records the request's progress token in ctx, for relatedTo.
func withProgress(ctx context.Context, token any) context.Context {
	if !scalarToken(token) {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, token)
}

// scalarToken reports whether a decoded progress token is a string or a
// number, as the spec requires: only those are compared (comparing two
// decoded objects would panic).
func scalarToken(t any) bool {
	switch t.(type) {
	case string, float64, int64, int:
		return true
	}
	return false
}

// relay is the upstream client's receiving middleware: requests the target
// makes (sampling, elicitation, roots) go to the downstream client;
// notifications are forwarded with names rewritten.
func (u *upstream) relay(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		ss := u.s.server()
		switch method {
		case "sampling/createMessage":
			p, ok := req.GetParams().(*mcp.CreateMessageWithToolsParams) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
			if !ok || ss == nil {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "sampling is not available"}
			}
			c, cancel := u.bounded(ctx)
			defer cancel()
			return ss.CreateMessageWithTools(c, p) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		case "elicitation/create":
			p, ok := req.GetParams().(*mcp.ElicitParams)
			if !ok || ss == nil {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "elicitation is not available"}
			}
			c, cancel := u.bounded(ctx)
			defer cancel()
			return ss.Elicit(c, p)
		case "roots/list":
			p, _ := req.GetParams().(*mcp.ListRootsParams) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
			if ss == nil {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "roots are not available"}
			}
			c, cancel := u.bounded(ctx)
			defer cancel()
			return ss.ListRoots(c, p) //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		case "ping":
			return next(ctx, method, req)
		}
		if strings.HasPrefix(method, "notifications/") {
			switch method {
			case "notifications/cancelled", "notifications/subscriptions/acknowledged":
				// Cancels name upstream request ids the client never saw.
			case "notifications/progress":
				if releaseBarrier(req.GetParams()) {
					break
				}
				var token any
				if p, ok := req.GetParams().(*mcp.ProgressNotificationParams); ok && p != nil {
					token = p.ProgressToken
				}
				u.s.forward(u.relatedTo(token), u, method, req.GetParams())
			default:
				u.s.forward(u.related(), u, method, req.GetParams())
			}
			return nil, nil
		}
		return next(ctx, method, req)
	}
}

// bounded joins the upstream request's context with the related downstream
// request, so a server→client request lands on the right stream.
func (u *upstream) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(u.related())
	stop := context.AfterFunc(ctx, cancel)
	return c, func() { stop(); cancel() }
}

// notifyRaw sends a notification to the target as is.
func (u *upstream) notifyRaw(ctx context.Context, method string, params any) {
	u.mu.Lock()
	conn := u.conn
	u.mu.Unlock()
	if conn == nil {
		return
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return
	}
	_ = conn.Write(ctx, &jsonrpc.Request{Method: method, Params: raw})
}

// capture is a Transport that keeps the connection it made, so the gateway
// can send notifications the SDK has no method for.
type capture struct {
	mcp.Transport
	conn mcp.Connection
	// detach keeps the connection alive after ctx ends (the SSE client
	// transport ties its stream to the context it connects with).
	detach bool
	// order wraps the connection in an orderedConn (order.go).
	order bool
}

func (c *capture) Connect(ctx context.Context) (mcp.Connection, error) {
	conn, err := c.connect(ctx)
	if err == nil && c.order {
		conn = newOrderedConn(conn)
	}
	c.conn = conn
	return conn, err
}

func (c *capture) connect(ctx context.Context) (mcp.Connection, error) {
	if !c.detach {
		return c.Transport.Connect(ctx)
	}
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	conn, err := c.Transport.Connect(dctx)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		cancel()
		return nil, err
	}
	return conn, nil
}

// SupportsProtocolVersion forwards to the wrapped transport.
func (c *capture) SupportsProtocolVersion(v string) bool {
	if s, ok := c.Transport.(interface{ SupportsProtocolVersion(string) bool }); ok {
		return s.SupportsProtocolVersion(v)
	}
	return true
}

// capsString records a server's capabilities as letters: t(ools),
// p(rompts), r(esources), s(ubscribe), l(ogging), c(ompletions).
func capsString(c *mcp.ServerCapabilities) string {
	if c == nil {
		return "-"
	}
	var b strings.Builder
	b.WriteByte('-')
	if c.Tools != nil {
		b.WriteByte('t')
	}
	if c.Prompts != nil {
		b.WriteByte('p')
	}
	if c.Resources != nil {
		b.WriteByte('r')
		if c.Resources.Subscribe {
			b.WriteByte('s')
		}
	}
	if c.Logging != nil { //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		b.WriteByte('l')
	}
	if c.Completions != nil {
		b.WriteByte('c')
	}
	return b.String()
}

// mergeCaps adds a target's capabilities to the merged ones.
func mergeCaps(dst, c *mcp.ServerCapabilities) {
	if c == nil {
		return
	}
	if c.Tools != nil {
		dst.Tools = &mcp.ToolCapabilities{ListChanged: c.Tools.ListChanged || (dst.Tools != nil && dst.Tools.ListChanged)}
	}
	if c.Prompts != nil {
		dst.Prompts = &mcp.PromptCapabilities{ListChanged: c.Prompts.ListChanged || (dst.Prompts != nil && dst.Prompts.ListChanged)}
	}
	if c.Resources != nil {
		r := &mcp.ResourceCapabilities{ListChanged: c.Resources.ListChanged, Subscribe: c.Resources.Subscribe}
		if dst.Resources != nil {
			r.ListChanged = r.ListChanged || dst.Resources.ListChanged
			r.Subscribe = r.Subscribe || dst.Resources.Subscribe
		}
		dst.Resources = r
	}
	if c.Logging != nil { //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
		dst.Logging = &mcp.LoggingCapabilities{} //nolint:staticcheck // SA1019: deprecated in 2026-07-28, still relayed for older protocol versions
	}
	if c.Completions != nil {
		dst.Completions = &mcp.CompletionCapabilities{}
	}
	if c.Experimental != nil && dst.Experimental == nil {
		dst.Experimental = c.Experimental
	}
}
