// Package extauthz is the extAuthz policy: each request is checked by an
// external authorization service, over Envoy's ext_authz v3 gRPC protocol
// (envoy.service.auth.v3.Authorization/Check) or plain HTTP.
//
// gRPC: the CheckRequest carries the request's method, path, host, scheme,
// headers (all of them, or includeRequestHeaders), optionally its body, the
// client address and the configured context extensions. An OK answer lets
// the request through with the OkHttpResponse's headers set (or appended)
// and removed upstream, and its response_headers_to_add added to the
// response; a denial's status (default 403), headers and body go back to
// the client.
//
// HTTP: the service gets the request's method and path (or the CEL `path`),
// the includeRequestHeaders (default Authorization) and the CEL
// addRequestHeaders; a 2xx lets the request through, copying
// includeResponseHeaders into it; any other answer is passed back to the
// client as is (status, headers, body up to 64 KiB).
//
// When the service cannot answer (connect error, timeout, gRPC error), the
// failure mode decides: deny (403, the default), denyWithStatus, or allow.
package extauthz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

// Protocol is the wire protocol to the service.
type Protocol uint8

// Protocols.
const (
	GRPC Protocol = iota
	HTTP
)

// DefaultTimeout bounds one check (agentgateway's default).
const DefaultTimeout = 2 * time.Second

// maxDeniedBody bounds the body of an HTTP denial passed back to clients.
const maxDeniedBody = 64 << 10

// Body says whether the request body is sent, and how much of it.
type Body struct {
	MaxBytes     int  // default 8 KiB
	AllowPartial bool // send the first MaxBytes of a longer body (else 413)
	PackAsBytes  bool // gRPC: raw_body instead of body
}

// Spec configures the policy.
type Spec struct {
	Target   string // host:port
	Protocol Protocol
	Timeout  time.Duration

	// FailOpen lets requests through when the service cannot answer;
	// otherwise they get FailureStatus (default 403).
	FailOpen      bool
	FailureStatus int

	IncludeRequestHeaders []string
	Body                  *Body

	// gRPC.
	Context map[string]string

	// HTTP: Path is CEL (default: the request's path and query);
	// AddRequestHeaders values are CEL.
	Path                   string
	AddRequestHeaders      map[string]string
	IncludeResponseHeaders []string

	// OnResult is told "allow", "deny" or "error" after each check (metrics).
	OnResult func(result string)
}

// checker performs one check. It returns the decision, or an error when
// the service could not decide (the failure mode applies).
type checker interface {
	check(ctx context.Context, r *http.Request, body []byte) (*decision, error)
}

// decision is the service's answer.
type decision struct {
	allow bool
	// On allow: upstream request header edits and response headers to add.
	set, add http.Header
	remove   []string
	respAdd  http.Header
	// On deny: the response to send.
	status  int
	headers http.Header
	body    []byte
}

// Policy is a built extAuthz policy; Close releases its connection.
type Policy struct {
	spec    Spec
	checker checker
	closer  func()
}

// New builds the policy. A gRPC connection is created (lazily connected).
func New(spec Spec) (*Policy, error) {
	if spec.Target == "" {
		return nil, errors.New("host: the authorization service address is required")
	}
	if spec.Timeout <= 0 {
		spec.Timeout = DefaultTimeout
	}
	if spec.FailureStatus == 0 {
		spec.FailureStatus = http.StatusForbidden
	}
	if spec.FailureStatus < 100 || spec.FailureStatus > 599 {
		return nil, fmt.Errorf("failureMode.denyWithStatus %d is not an HTTP status", spec.FailureStatus)
	}
	if spec.Body != nil && spec.Body.MaxBytes <= 0 {
		spec.Body.MaxBytes = 8 << 10
	}
	p := &Policy{spec: spec, closer: func() {}}
	switch spec.Protocol {
	case GRPC:
		g, conn, err := newGRPC(spec)
		if err != nil {
			return nil, err
		}
		p.checker, p.closer = g, func() { _ = conn.Close() }
	case HTTP:
		h, err := newHTTP(spec)
		if err != nil {
			return nil, err
		}
		p.checker = h
	}
	return p, nil
}

// Close releases the connection to the service.
func (p *Policy) Close() { p.closer() }

// Middleware returns the extAuthz middleware.
func (p *Policy) Middleware() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body []byte
			if b := p.spec.Body; b != nil && r.Body != nil && r.Body != http.NoBody {
				buf, err := io.ReadAll(io.LimitReader(r.Body, int64(b.MaxBytes)+1))
				if err != nil {
					pipeline.Error(w, r, http.StatusBadRequest, "cannot read request body")
					return
				}
				if len(buf) > b.MaxBytes {
					if !b.AllowPartial {
						pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body too large for authorization")
						return
					}
					body = buf[:b.MaxBytes]
				} else {
					body = buf
				}
				r.Body = readCloser{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
			}
			ctx, cancel := context.WithTimeout(r.Context(), p.spec.Timeout)
			d, err := p.checker.check(ctx, r, body)
			cancel()
			info := pipeline.InfoFrom(r.Context())
			if err != nil {
				p.result("error")
				if p.spec.FailOpen {
					next.ServeHTTP(w, r)
					return
				}
				info.Err = "extAuthz: service unavailable: " + err.Error()
				authn.Deny(w, r, p.spec.FailureStatus, "authorization service unavailable")
				return
			}
			if !d.allow {
				p.result("deny")
				info.Err = "extAuthz: denied"
				info.Denied = pipeline.DeniedAuth
				h := w.Header()
				for k, vs := range d.headers {
					h[k] = vs
				}
				if h.Get("Content-Type") == "" && len(d.body) > 0 {
					h.Set("Content-Type", "text/plain; charset=utf-8")
				}
				w.WriteHeader(d.status)
				_, _ = w.Write(d.body)
				return
			}
			p.result("allow")
			for k, vs := range d.set {
				r.Header[k] = vs
			}
			for k, vs := range d.add {
				r.Header[k] = append(r.Header[k], vs...)
			}
			for _, k := range d.remove {
				r.Header.Del(k)
			}
			for k, vs := range d.respAdd {
				w.Header()[k] = append(w.Header()[k], vs...)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (p *Policy) result(s string) {
	if p.spec.OnResult != nil {
		p.spec.OnResult(s)
	}
}

type readCloser struct {
	io.Reader
	io.Closer
}

// headerAllowed says whether the authorization service may set or remove
// header k on the upstream request: never Host, hop-by-hop or pseudo
// headers.
func headerAllowed(k string) bool {
	switch strings.ToLower(k) {
	case "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "content-length":
		return false
	}
	return k != "" && !strings.HasPrefix(k, ":")
}

// celHeaders compiles the HTTP protocol's addRequestHeaders.
func celHeaders(m map[string]string) (map[string]*cel.Program, error) {
	out := map[string]*cel.Program{}
	for k, expr := range m {
		prg, err := cel.CompileString(expr)
		if err != nil {
			return nil, fmt.Errorf("addRequestHeaders.%s: %w", k, err)
		}
		out[http.CanonicalHeaderKey(k)] = prg
	}
	return out, nil
}
