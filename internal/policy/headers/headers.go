// Package headers implements the requestHeaderModifier and
// responseHeaderModifier route policies: add, set and remove headers, in
// that order (agentgateway's order).
//
// On the request side, "Host" (or ":authority") in add or set changes
// r.Host, which is what the backend sends upstream; it cannot be removed.
// On the response side the edits apply to whatever the next handler sends,
// exactly once, just before the header goes out (streamed responses
// included), and also to the empty 200 of a handler that writes nothing.
//
// Canonical keys and value slices are computed once in New. Values written
// by set (and by add, when the header was absent) are shared, read-only
// one-element slices: code downstream may replace or append to them (append
// copies, since their capacity is 1) but must not assign into them.
package headers

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/phttp"
)

// Header is one configured header.
type Header = phttp.Header

// Modifier is one header modifier. The compiler turns config maps into
// slices (sorted by name, for a stable order).
type Modifier struct {
	Add    []Header
	Set    []Header
	Remove []string
}

// Spec holds both modifiers of a route; either may be empty.
type Spec struct {
	Request  Modifier // requestHeaderModifier
	Response Modifier // responseHeaderModifier
}

type op struct {
	key string
	val []string // len 1, cap 1, shared
}

type modifier struct {
	add, set []op
	remove   []string
	host     string // new r.Host ("" = unchanged)
}

func (m *modifier) empty() bool {
	return len(m.add) == 0 && len(m.set) == 0 && len(m.remove) == 0 && m.host == ""
}

// New compiles spec. It returns a pass-through middleware when both
// modifiers are empty.
func New(spec Spec) (pipeline.Middleware, error) {
	req, err := compile(spec.Request, true, "requestHeaderModifier")
	if err != nil {
		return nil, err
	}
	resp, err := compile(spec.Response, false, "responseHeaderModifier")
	if err != nil {
		return nil, err
	}
	switch {
	case req.empty() && resp.empty():
		return func(next http.Handler) http.Handler { return next }, nil
	case resp.empty():
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req.applyRequest(r)
				next.ServeHTTP(w, r)
			})
		}, nil
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req.applyRequest(r)
			rw := phttp.NewWriter(w, resp)
			next.ServeHTTP(rw, r)
			rw.Finish()
		})
	}, nil
}

func isHost(name string) bool {
	return strings.EqualFold(name, "host") || name == ":authority"
}

func compile(m Modifier, request bool, what string) (*modifier, error) {
	out := &modifier{}
	conv := func(list []Header, kind string) ([]op, error) {
		var ops []op
		for _, h := range list {
			if request && isHost(h.Name) {
				if h.Value == "" || !phttp.ValidHeaderValue(h.Value) || strings.ContainsAny(h.Value, " /?#@") {
					return nil, fmt.Errorf("%s.%s: invalid Host %q", what, kind, h.Value)
				}
				out.host = h.Value
				continue
			}
			if err := phttp.CheckHeader(h.Name, h.Value); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", what, kind, err)
			}
			v := []string{h.Value}
			ops = append(ops, op{key: textproto.CanonicalMIMEHeaderKey(h.Name), val: v[:1:1]})
		}
		return ops, nil
	}
	var err error
	if out.add, err = conv(m.Add, "add"); err != nil {
		return nil, err
	}
	if out.set, err = conv(m.Set, "set"); err != nil {
		return nil, err
	}
	for _, name := range m.Remove {
		if request && isHost(name) {
			return nil, fmt.Errorf("%s.remove: the Host header cannot be removed", what)
		}
		if !phttp.ValidHeaderName(name) {
			return nil, fmt.Errorf("%s.remove: invalid header name %q", what, name)
		}
		out.remove = append(out.remove, textproto.CanonicalMIMEHeaderKey(name))
	}
	return out, nil
}

func (m *modifier) apply(h http.Header) {
	for _, o := range m.add {
		if old, ok := h[o.key]; ok && len(old) > 0 {
			h[o.key] = append(old, o.val[0])
		} else {
			h[o.key] = o.val
		}
	}
	for _, o := range m.set {
		h[o.key] = o.val
	}
	for _, k := range m.remove {
		delete(h, k)
	}
}

func (m *modifier) applyRequest(r *http.Request) {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	m.apply(r.Header)
	if m.host != "" {
		r.Host = m.host
		if r.URL != nil && r.URL.Host != "" {
			r.URL.Host = m.host
		}
	}
}

// BeforeHeaders implements phttp.Hook for the response modifier.
func (m *modifier) BeforeHeaders(h http.Header, _ int) { m.apply(h) }
