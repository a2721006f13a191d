// Package pipeline holds what every data-plane layer shares: the per-request
// record that routing, policies, the backend and the access log fill in, and
// the error responses the gateway itself produces.
package pipeline

import (
	"context"
	"net/http"
	"time"
)

// Middleware wraps the next handler. Policies are middlewares built once per
// config snapshot, never per request.
type Middleware func(next http.Handler) http.Handler

// Chain applies middlewares so that the first one runs first.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Info is the per-request record. The listener creates it; the router, the
// policies and the backend fill it in; the access log and metrics read it.
type Info struct {
	Start    time.Time
	Bind     string // "bind/3000"
	Listener string
	Route    string
	Backend  string // backend name, e.g. "127.0.0.1:8080" or a provider name
	Endpoint string // the upstream address actually dialled (host:port)
	Status   int
	Retries  int
	Err      string // why the gateway failed the request, if it did
	// MatchedPrefix is the path prefix the router matched (escaped form, no
	// trailing slash except for the root "/"); for an exact path match it is
	// the whole matched path, for a regex match it is empty. Set by
	// route.Table.ServeHTTP; read by the urlRewrite and requestRedirect
	// policies when they replace a prefix.
	MatchedPrefix string
	// Extra access-log fields added by protocol layers (llm, mcp, a2a), in order.
	Fields []Field
	// Denied says which kind of policy rejected the request, for the
	// `reason` metric label (DeniedNone when none did).
	Denied Denial
}

// Denial is the kind of policy that rejected a request.
type Denial uint8

// Denials.
const (
	DeniedNone      Denial = iota
	DeniedAuth             // authentication or authorization (401, 403, ext_authz denial)
	DeniedRateLimit        // a rate limit (429)
)

// Field is one extra key=value for the access log.
type Field struct{ Key, Value string }

// AddField appends an access-log field. The first call makes room for
// eight (an LLM call adds five or six): one allocation instead of the four
// of growing from empty (docs/performance.md).
func (i *Info) AddField(k, v string) {
	if i.Fields == nil {
		i.Fields = make([]Field, 0, 8)
	}
	i.Fields = append(i.Fields, Field{k, v})
}

type infoKey struct{}

// WithInfo returns a context carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the request's Info. It never returns nil: outside a
// gateway request it returns a throwaway record so callers need no checks.
func InfoFrom(ctx context.Context) *Info {
	if i, ok := ctx.Value(infoKey{}).(*Info); ok {
		return i
	}
	return &Info{}
}

// Error writes a short plain-text error produced by the gateway itself
// (never a Go error string with internals, never a stack) and records why.
func Error(w http.ResponseWriter, r *http.Request, status int, msg string) {
	info := InfoFrom(r.Context())
	if info.Err == "" {
		info.Err = msg
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// HeaderAdopter is a ResponseWriter that can take a whole header map as
// its response header instead of having it copied in: the forwarder hands
// over the upstream answer's header map (its own, freshly parsed) when
// nothing has been set on the response yet, which saves the map and the
// copy on every proxied request. A wrapper implements it only when its
// Header is the wrapped writer's (or, holding a header of its own, it
// adopts into that one).
type HeaderAdopter interface {
	// AdoptHeader makes h the response header and reports true, or
	// reports false and changes nothing (a header was already set or
	// written). The caller gives h up.
	AdoptHeader(h http.Header) bool
}

// AdoptHeader hands h to w if w is a HeaderAdopter that takes it.
func AdoptHeader(w http.ResponseWriter, h http.Header) bool {
	a, ok := w.(HeaderAdopter)
	return ok && a.AdoptHeader(h)
}
