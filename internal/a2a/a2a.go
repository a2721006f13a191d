// Package a2a is the `a2a: {}` route policy: the gateway understands the
// Agent2Agent protocol passing through it, v0.3 and v1.0.
//
//   - Agent cards (GET …/.well-known/agent-card.json or …/agent.json, under
//     any route prefix) are read (at most 1 MiB, uncompressed) and
//     rewritten so that every interface URL points at the gateway, as the
//     client reached it (scheme, host, path prefix), not at the agent.
//   - JSON-RPC calls are parsed for their method (message/send,
//     SendStreamingMessage, …) without buffering the body beyond the method;
//     REST-binding calls are named from their path. The method goes to the
//     access log as a2a.method and to agentgateway_a2a_requests_total.
//   - Responses, including SSE streams, pass through untouched and
//     unbuffered (only agent cards are read).
package a2a

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"strconv"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// MaxCardBytes bounds an agent card.
const MaxCardBytes = 1 << 20

// Spec configures the policy.
type Spec struct {
	// OnMethod is told each request's method for metrics: a known A2A
	// method name, "agent_card", or "other".
	OnMethod func(method string)
}

// Policy is the a2a policy. Outer goes before any URL rewrite in the route's
// chain (it needs the path the client used); Inner goes right before the
// backend (it records the path the agent is asked for).
type Policy struct {
	spec Spec
}

// New returns the policy.
func New(spec Spec) *Policy { return &Policy{spec: spec} }

type cardKey struct{}

type cardState struct{ backendPath string }

func (p *Policy) count(m string) {
	if p.spec.OnMethod != nil {
		p.spec.OnMethod(m)
	}
}

// Outer classifies the request, parses its method and rewrites agent cards.
func (p *Policy) Outer() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := pipeline.InfoFrom(r.Context())
			switch {
			case r.Method == http.MethodGet && IsCardPath(r.URL.Path):
				p.count("agent_card")
				p.serveCard(w, r, next)
				return
			case r.Method == http.MethodPost && isJSON(r.Header.Get("Content-Type")) && RESTMethod(r.Method, r.URL.Path) == "":
				method, body := ParseMethod(r.Body, MaxPeek)
				r.Body = readCloser{body, r.Body}
				p.record(info, method)
			default:
				if m := RESTMethod(r.Method, r.URL.Path); m != "" {
					p.record(info, m)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (p *Policy) record(info *pipeline.Info, method string) {
	info.AddField("a2a.method", logSafe(method))
	if Methods[method] {
		p.count(method)
	} else {
		p.count("other")
	}
}

// Inner records the path the agent is asked for (after URL rewrites).
func (p *Policy) Inner() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if st, ok := r.Context().Value(cardKey{}).(*cardState); ok {
				st.backendPath = r.URL.EscapedPath()
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (p *Policy) serveCard(w http.ResponseWriter, r *http.Request, next http.Handler) {
	st := &cardState{backendPath: r.URL.EscapedPath()}
	r2 := r.WithContext(context.WithValue(r.Context(), cardKey{}, st))
	r2.Header = r.Header.Clone()
	r2.Header.Set("Accept-Encoding", "identity") // the card must be readable
	cw := &captureWriter{header: http.Header{}}
	next.ServeHTTP(cw, r2)

	if cw.status == 0 {
		cw.status = http.StatusOK
	}
	h := w.Header()
	for k, vs := range cw.header {
		h[k] = vs
	}
	if cw.overflow {
		pipeline.Error(w, r, http.StatusBadGateway, "agent card too large")
		return
	}
	body := cw.buf.Bytes()
	if cw.status == http.StatusOK && isJSON(cw.header.Get("Content-Type")) && cw.header.Get("Content-Encoding") == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		out, err := NewRewriter(scheme, r.Host, r.URL.EscapedPath(), st.backendPath).Rewrite(body)
		if err != nil {
			pipeline.Error(w, r, http.StatusBadGateway, "invalid agent card from the agent")
			return
		}
		body = out
	}
	h.Del("Content-Length")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(cw.status)
	_, _ = w.Write(body)
}

// captureWriter buffers a card response (up to MaxCardBytes).
type captureWriter struct {
	header   http.Header
	status   int
	buf      bytes.Buffer
	overflow bool
}

func (c *captureWriter) Header() http.Header { return c.header }

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.buf.Len()+len(p) > MaxCardBytes {
		c.overflow = true
		return 0, errTooLarge
	}
	return c.buf.Write(p)
}

func (c *captureWriter) Flush() {}

type errString string

func (e errString) Error() string { return string(e) }

const errTooLarge = errString("agent card too large")

type readCloser struct {
	r interface{ Read([]byte) (int, error) }
	c interface{ Close() error }
}

func (rc readCloser) Read(p []byte) (int, error) { return rc.r.Read(p) }
func (rc readCloser) Close() error               { return rc.c.Close() }

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || mt == "application/a2a+json" || len(mt) > 5 && mt[len(mt)-5:] == "+json")
}
