package backend

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// Mirror defaults.
const (
	DefaultMirrorMaxBody     = 1 << 20
	DefaultMirrorMaxInFlight = 64
	DefaultMirrorTimeout     = 60 * time.Second
)

// MirrorSpec copies a fraction of requests to a shadow target
// (agentgateway's requestMirror).
type MirrorSpec struct {
	Target     http.Handler // usually an *Upstream
	Percentage float64      // 0..1, the fraction of requests mirrored
	// MaxBody is the largest body mirrored (0: DefaultMirrorMaxBody); a
	// request with a larger body is not mirrored.
	MaxBody int64
	// MaxInFlight bounds concurrent mirror requests (0: default); above it
	// the copy is dropped.
	MaxInFlight int
	// Timeout bounds one mirror request (0: DefaultMirrorTimeout).
	Timeout time.Duration
}

// Mirror is the requestMirror middleware. The copy is sent asynchronously,
// its response discarded; it never delays or changes the main request
// beyond buffering the (capped) body once, which an earlier layer can then
// reuse for retries through r.GetBody.
type Mirror struct {
	target   http.Handler
	pct      float64
	maxBody  int64
	maxIn    int64
	timeout  time.Duration
	inflight atomic.Int64
	dropped  atomic.Int64
	sent     atomic.Int64
}

// NewMirror validates spec and returns the mirror.
func NewMirror(spec MirrorSpec) (*Mirror, error) {
	if spec.Target == nil {
		return nil, errors.New("backend: mirror has no target")
	}
	if math.IsNaN(spec.Percentage) || spec.Percentage < 0 || spec.Percentage > 1 {
		return nil, errors.New("backend: mirror percentage must be within 0..1")
	}
	if spec.MaxBody < 0 || spec.MaxInFlight < 0 || spec.Timeout < 0 {
		return nil, errors.New("backend: mirror limits must not be negative")
	}
	m := &Mirror{
		target:  spec.Target,
		pct:     spec.Percentage,
		maxBody: spec.MaxBody,
		maxIn:   int64(spec.MaxInFlight),
		timeout: spec.Timeout,
	}
	if m.maxBody == 0 {
		m.maxBody = DefaultMirrorMaxBody
	}
	if m.maxIn == 0 {
		m.maxIn = DefaultMirrorMaxInFlight
	}
	if m.timeout == 0 {
		m.timeout = DefaultMirrorTimeout
	}
	return m, nil
}

// Middleware returns the mirror as a pipeline middleware.
func (m *Mirror) Middleware() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.maybeMirror(r)
			next.ServeHTTP(w, r)
		})
	}
}

// Stats reports mirrored copies sent and dropped (sampling aside).
func (m *Mirror) Stats() (sent, dropped int64) { return m.sent.Load(), m.dropped.Load() }

func (m *Mirror) sample() bool {
	switch {
	case m.pct >= 1:
		return true
	case m.pct <= 0:
		return false
	}
	return rand.Float64() < m.pct
}

// maybeMirror starts the copy of r, buffering r's body (and replacing it by
// a replayable one) when it does.
func (m *Mirror) maybeMirror(r *http.Request) {
	if !m.sample() || r.Header.Get("Upgrade") != "" || r.Method == http.MethodConnect {
		return
	}
	if m.inflight.Add(1) > m.maxIn {
		m.inflight.Add(-1)
		m.dropped.Add(1)
		return
	}
	body, ok, err := bufferBody(r, m.maxBody)
	if err != nil || !ok {
		m.inflight.Add(-1) // too large or unreadable: the main request goes on alone
		m.dropped.Add(1)
		return
	}
	if body.getBody == nil && body.buf != nil {
		buf := body.buf
		r.Body = io.NopCloser(bytes.NewReader(buf))
		r.ContentLength = int64(len(buf))
		r.TransferEncoding = nil
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	}
	// The copy gets its own context: the main request's cancellation and
	// its pipeline.Info must not reach it.
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	ctx = pipeline.WithInfo(ctx, &pipeline.Info{Start: time.Now()})
	mr := r.Clone(ctx)
	rc, err := body.open()
	if err != nil {
		cancel()
		m.inflight.Add(-1)
		return
	}
	mr.Body = rc
	m.sent.Add(1)
	go m.send(mr, cancel)
}

func (m *Mirror) send(r *http.Request, cancel context.CancelFunc) {
	defer m.inflight.Add(-1)
	defer cancel()
	defer func() { _ = recover() }() // a shadow request must never take the process down
	m.target.ServeHTTP(&discardWriter{h: make(http.Header)}, r)
}

// discardWriter swallows the mirror's response.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}
