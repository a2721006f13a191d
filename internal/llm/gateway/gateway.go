// Package gateway is the LLM route handler: it detects the client API from
// the path (chat completions, messages, responses, embeddings, models,
// count tokens, passthrough), reads the body once under a cap, picks the
// model entry, translates the request for the chosen provider, sends it
// through the shared upstream transports, streams the answer back event
// by event in the client's dialect, fails over between providers before
// the answer is committed, and records token usage in metrics and the
// access log.
package gateway

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/telemetry"
)

// Limits and defaults (docs/llm.md, hardening H-28, H-37, H-40).
const (
	MaxBodyBytes     = 32 << 20 // request body cap: 413 above
	MaxResponseBytes = 64 << 20 // non-streaming upstream answer cap
	maxErrorBody     = 1 << 20
	// StreamIdleTimeout ends a stream (with an error event) when the
	// upstream sends nothing for this long, first token included.
	StreamIdleTimeout = 300 * time.Second
	// Passive health: a target failing EjectAfter times in a row is left
	// out for EjectBase × the number of its ejections (at most EjectMax).
	EjectAfter  = 5
	EjectBase   = 30 * time.Second
	EjectMax    = 5 * time.Minute
	maxAttempts = 10
)

// Target is one provider endpoint: a provider with its model, where to
// reach it and how to authenticate.
type Target struct {
	Name     string // provider entry name (logs, metrics)
	Provider llm.Provider
	Scheme   string // "http" or "https"
	Address  string // host:port dialled
	// HostHeader is sent as Host ("" = Address).
	HostHeader string
	Transport  http.RoundTripper
	Key        string // backend key ("" = none)
	// PassthroughAuth forwards the client's own credential instead.
	PassthroughAuth bool
	// PathOverride replaces the upstream path of chat calls.
	PathOverride string
	// KeepPath sends same-dialect chat calls to the client's own path
	// (a hostOverride without pathPrefix, as agentgateway does).
	KeepPath bool
	// Header edits the outgoing request headers (backend policies).
	Header func(http.Header)
	// Timeout bounds each attempt until its response headers (0: none).
	Timeout time.Duration

	health health
	url    atomic.Pointer[targetURL] // parsed once per path (outreq.go)
}

// Backend is one route backend: an llm: model entry, an ai backend or a
// short provider form. Its Tiers are priority groups of targets: the
// first group is tried first, the next only when all of it failed.
type Backend struct {
	// Name is the model name clients ask for (llm: shorthand names; may be
	// "*" or "prefix/*"); "" for an unnamed short form.
	Name   string
	Weight int
	Tiers  [][]*Target
	// Internal models are left out of GET /v1/models and served only
	// through a virtual model (llm.models[].visibility: internal).
	Internal bool
	// Matches: the backend serves a request only when one of these
	// header matches holds (nil: always).
	Matches []HeaderMatch
	// Passthrough forwards requests natively, without translation:
	// llm.OpDetect still reads token usage from the answer,
	// llm.OpPassthrough (opaque) does not; "" translates.
	Passthrough llm.Op
}

// Spec is an LLM route.
type Spec struct {
	Backends []*Backend
	// ModelRouted: the request's model selects the backend by Name (the
	// llm: shorthand); otherwise backends are chosen by weight.
	ModelRouted bool
	// Routes maps a path suffix to an op (ai.routes; "*" = default).
	Routes map[string]llm.Op
	// Aliases rewrite the requested model (ai.modelAliases).
	Aliases map[string]string
	// VirtualModels route one public name to backends (llm.virtualModels).
	VirtualModels []*VirtualModel
	// RequestTimeout bounds a whole request (0: none).
	RequestTimeout time.Duration
	Metrics        *telemetry.LLMMetrics
	Log            *slog.Logger
}

// Handler serves an LLM route.
type Handler struct {
	spec   Spec
	routes []routeRule
	// routed: model routing beyond names (virtual models, internal
	// models, header matches); passModels: some backend is passthrough.
	routed, passModels bool
	virtual            map[string]*VirtualModel
}

type routeRule struct {
	suffix string
	op     llm.Op
}

// New validates spec and returns the route handler.
func New(spec Spec) (*Handler, error) {
	if len(spec.Backends) == 0 {
		return nil, errors.New("llm: route has no backends")
	}
	for _, b := range spec.Backends {
		if len(b.Tiers) == 0 {
			return nil, errors.New("llm: backend " + b.Name + " has no providers")
		}
		for _, tier := range b.Tiers {
			for _, t := range tier {
				if t.Provider == nil || t.Transport == nil || t.Address == "" {
					return nil, errors.New("llm: incomplete target " + t.Name)
				}
				t.cacheURL()
			}
		}
	}
	if spec.Log == nil {
		spec.Log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{spec: spec}
	if err := h.initRouting(); err != nil {
		return nil, err
	}
	for s, op := range spec.Routes {
		h.routes = append(h.routes, routeRule{s, op})
	}
	sort.Slice(h.routes, func(i, j int) bool { return len(h.routes[i].suffix) > len(h.routes[j].suffix) })
	return h, nil
}

// Detect returns the op of a request path (agentgateway's default route
// types, or the ai.routes overrides).
func (h *Handler) Detect(method, path string) llm.Op {
	if len(h.routes) > 0 {
		for _, r := range h.routes {
			if r.suffix == "*" || strings.HasSuffix(path, r.suffix) {
				return r.op
			}
		}
		return llm.OpPassthrough
	}
	return DefaultOp(method, path)
}

// DefaultOp is the op of a path without ai.routes.
func DefaultOp(method, path string) llm.Op {
	p := strings.TrimSuffix(path, "/")
	if _, _, ok := gemini.PathModel(p); ok {
		return llm.OpGenerateContent
	}
	switch {
	case strings.HasSuffix(p, "/chat/completions"):
		return llm.OpCompletions
	case strings.HasSuffix(p, "/messages/count_tokens"):
		return llm.OpCountTokens
	case strings.HasSuffix(p, "/messages"):
		return llm.OpMessages
	case strings.HasSuffix(p, "/responses"):
		return llm.OpResponses
	case strings.HasSuffix(p, "/embeddings"):
		return llm.OpEmbeddings
	case (p == "/v1/models" || p == "/models") && method == http.MethodGet:
		return llm.OpModels
	}
	return llm.OpPassthrough
}

// formatFor is the client dialect of a chat op.
func formatFor(op llm.Op) llm.Format {
	switch op {
	case llm.OpMessages, llm.OpCountTokens:
		return anthropic.Client{}
	case llm.OpResponses:
		return openai.Responses{}
	case llm.OpGenerateContent:
		return gemini.Client{}
	}
	return openai.Client{}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := h.Detect(r.Method, r.URL.Path)
	switch op {
	case llm.OpModels:
		h.serveModels(w, r)
		return
	case llm.OpPassthrough:
		h.servePassthrough(w, r)
		return
	case llm.OpDetect:
		h.serveDetect(w, r)
		return
	}
	f := formatFor(op)
	if r.Method != http.MethodPost {
		writeError(w, r, f, &llm.Error{Status: http.StatusMethodNotAllowed, Type: llm.ErrInvalidRequest, Message: "method not allowed: use POST"})
		return
	}
	if r.ContentLength > MaxBodyBytes {
		writeError(w, r, f, &llm.Error{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Message: "request body too large"})
		return
	}
	// The body is read into a pooled buffer. Only the chat path gives it
	// back (serveChat's attempts hold references on it while a transport
	// may read it); the other paths leave it to the garbage collector.
	own := llm.NewBodyBuf()
	body, err := pipeline.ReadAllSizedInto(own.B, http.MaxBytesReader(w, r.Body, MaxBodyBytes), r.ContentLength, MaxBodyBytes)
	own.B = body
	if err != nil {
		own.Release()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, f, &llm.Error{Status: http.StatusRequestEntityTooLarge, Type: llm.ErrTooLarge, Message: "request body too large"})
			return
		}
		writeError(w, r, f, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "request body read error"})
		return
	}
	ctx := r.Context()
	if h.spec.RequestTimeout > 0 {
		var cancel func()
		ctx, cancel = contextWithTimeout(ctx, h.spec.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	if h.passModels && h.servePassthroughModel(w, r, op, f, body) {
		return
	}
	switch op {
	case llm.OpEmbeddings:
		h.serveEmbeddings(w, r, body)
	case llm.OpCountTokens:
		h.serveCountTokens(w, r, body)
	default:
		h.serveChat(w, r, op, f, body, own)
		own.Release()
	}
}

// writeError answers with e in the client's dialect and records it.
func writeError(w http.ResponseWriter, r *http.Request, f llm.Format, e *llm.Error) {
	info := pipeline.InfoFrom(r.Context())
	if info.Err == "" {
		info.Err = e.Message
	}
	status, body := f.ErrorBody(e)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 && (status == http.StatusTooManyRequests || status >= 500) {
		secs := int(e.RetryAfter.Round(time.Second) / time.Second)
		hd.Set("Retry-After", itoa(max(secs, 1)))
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readAllSized is pipeline.ReadAllSized (shared with the MCP gateway).
func readAllSized(r io.Reader, n, limit int64) ([]byte, error) {
	return pipeline.ReadAllSized(r, n, limit)
}
