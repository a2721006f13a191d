package pipeline

import (
	"context"
	"sync"
)

// RequestContext is a request's cancelable context with two fields that
// would otherwise cost a context layer each per request: the Info record
// (context.WithValue, plus the copy of the *http.Request that carries the
// new context) and one abort function run when the request is canceled
// (context.AfterFunc: its context, its stop closure and an entry in the
// parent's children map). A server that creates a context per request
// (internal/listen's lean HTTP/1.1 server) embeds one in a struct it
// allocates anyway and calls Init. AttachInfo and OnCancel use it when it
// is there and report when it is not, so callers keep the context
// package's way as the fallback.
//
// The fields are set on the request's own goroutine before the context is
// shared (AttachInfo, at the bind handler) or under mu (the abort).
type RequestContext struct {
	context.Context // from context.WithCancel(parent)
	cancel          context.CancelFunc
	info            *Info

	mu       sync.Mutex
	abort    func()
	canceled bool // Cancel has run: no abort can be registered
	fired    bool // the registered abort has been taken to run
}

type reqCtxKey struct{}

// Init makes rc a new cancelable child of parent. rc must not be in use.
func (rc *RequestContext) Init(parent context.Context) {
	*rc = RequestContext{}
	rc.Context, rc.cancel = context.WithCancel(parent)
}

// Value answers the Info and the RequestContext itself from its fields,
// and every other key from the context it wraps.
func (rc *RequestContext) Value(key any) any {
	switch key.(type) {
	case infoKey:
		if rc.info != nil {
			return rc.info
		}
	case reqCtxKey:
		return rc
	}
	return rc.Context.Value(key)
}

// Cancel cancels the context (Err and Done first, as context.AfterFunc
// callers expect), then runs the registered abort, if any.
func (rc *RequestContext) Cancel() {
	rc.cancel()
	rc.mu.Lock()
	f := rc.abort
	rc.abort = nil
	rc.canceled = true
	if f != nil {
		rc.fired = true
	}
	rc.mu.Unlock()
	if f != nil {
		f()
	}
}

// AttachInfo records info in ctx when ctx is a RequestContext that has
// none yet, and reports whether it did; otherwise the caller adds it with
// WithInfo.
func AttachInfo(ctx context.Context, info *Info) bool {
	rc, ok := ctx.(*RequestContext)
	if !ok || rc.info != nil {
		return false
	}
	rc.info = info
	return true
}

// OnCancel registers abort to run when ctx's request is canceled, like
// context.AfterFunc(ctx, abort) but without allocating. It applies when
// ctx derives from a RequestContext through value layers only (no
// cancelable layer of its own, such as a timeout, in between) and no other
// abort is registered; otherwise, or when the request is already
// canceled, it returns nil and the caller uses context.AfterFunc. Unlike
// AfterFunc, abort runs on the goroutine that cancels the request, so it
// must be quick and must not block. StopAbort unregisters it.
//
// When ctx is the RequestContext itself, OnCancel does not ask for its
// Done channel, which a cancelable context allocates on first use (the
// comparison that rules out a cancelable layer is needed only through
// value layers).
func OnCancel(ctx context.Context, abort func()) *RequestContext {
	rc, ok := ctx.(*RequestContext)
	if !ok {
		rc, ok = ctx.Value(reqCtxKey{}).(*RequestContext)
		if !ok || ctx.Done() != rc.Done() {
			return nil
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.canceled || rc.abort != nil {
		return nil
	}
	rc.abort = abort
	rc.fired = false
	return rc
}

// StopAbort unregisters the abort of OnCancel. Like the stop function of
// context.AfterFunc, it reports false when the abort has already been
// taken to run.
func (rc *RequestContext) StopAbort() bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.abort = nil
	return !rc.fired
}
