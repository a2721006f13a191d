package backend

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// Defaults and limits of Service.
const (
	// DefaultMaxRetryBody is the largest request body buffered for replay; a
	// larger body is sent once, without retries.
	DefaultMaxRetryBody = 1 << 20
	// MaxRetryAttempts bounds RetrySpec.Attempts (agentgateway's u8).
	MaxRetryAttempts = 255
	// Retry budget (Envoy's defaults): retries in flight may be at most 20 %
	// of the service's active requests, but always at least 3.
	retryBudgetPercent = 20
	retryBudgetMin     = 3
)

// ServiceSpec is a route's backend set and its traffic policies.
type ServiceSpec struct {
	Targets []Target
	Retry   *RetrySpec
	// RequestTimeout bounds the whole request, retries and backoff included,
	// and also a response that is already streaming (it is then cut). 504 if
	// it fires before the response started. An accepted upgrade (101) is
	// exempt. Zero: none.
	RequestTimeout time.Duration
	// BackendRequestTimeout bounds each attempt until its response headers
	// arrive (504 "upstream request timeout", retryable); it never cuts a
	// response that is streaming. Target.Timeout overrides it. Zero: none.
	BackendRequestTimeout time.Duration
	// MaxBodyBytes caps the request body: 413 "request body too large",
	// before any upstream contact when Content-Length already exceeds it.
	// Zero: no cap.
	MaxBodyBytes int64
	// MaxRetryBody caps the body buffered for retries (0: DefaultMaxRetryBody).
	MaxRetryBody int64
}

// Target is one weighted member of a Service (usually an *Upstream, possibly
// wrapped by backend-level policies).
type Target struct {
	Handler http.Handler
	// Weight is the relative share of requests; 0 is never chosen unless
	// all weights are 0 (then the choice is uniform).
	Weight int
	// Timeout overrides ServiceSpec.BackendRequestTimeout for this target
	// (agentgateway's backend http.requestTimeout).
	Timeout time.Duration
}

// RetrySpec retries failed attempts. As in agentgateway, Attempts is the
// number of retries after the first attempt (attempts: 2 sends at most 3
// requests); 0 means the default, 1. An attempt is retried when its status
// is in Codes, or it failed to connect or reset before responding, or its
// per-attempt timeout fired. A retry goes to a different target when the
// service has several with non-zero weight. Backoff is a fixed delay between
// attempts. The client only ever sees the response of the final attempt.
type RetrySpec struct {
	Attempts int
	Backoff  time.Duration
	Codes    []int
}

// Service chooses a target per attempt and applies the retry, timeout and
// body-size policies. Build it with NewService.
type Service struct {
	targets        []target
	total          int // sum of weights
	positive       int // targets with weight > 0
	simple         bool
	attempts       int // total attempts (1 + retries)
	backoff        time.Duration
	codes          [10]uint64 // bitset of retryable status codes (< 640)
	reqTimeout     time.Duration
	attemptTimeout time.Duration
	maxBody        int64
	maxRetryBody   int64
	active         atomic.Int64
	retrying       atomic.Int64
}

type target struct {
	h       http.Handler
	weight  int
	timeout time.Duration
}

// NewService validates spec and returns the backend handler of a route.
func NewService(spec ServiceSpec) (http.Handler, error) {
	if len(spec.Targets) == 0 {
		return nil, errors.New("backend: service has no targets")
	}
	s := &Service{
		reqTimeout:     spec.RequestTimeout,
		attemptTimeout: spec.BackendRequestTimeout,
		maxBody:        spec.MaxBodyBytes,
		maxRetryBody:   spec.MaxRetryBody,
		attempts:       1,
	}
	if s.reqTimeout < 0 || s.attemptTimeout < 0 || s.maxBody < 0 || s.maxRetryBody < 0 {
		return nil, errors.New("backend: timeouts and sizes must not be negative")
	}
	if s.maxRetryBody == 0 {
		s.maxRetryBody = DefaultMaxRetryBody
	}
	anyTimeout := false
	for i, t := range spec.Targets {
		if t.Handler == nil {
			return nil, fmt.Errorf("backend: target %d has no handler", i)
		}
		if t.Weight < 0 || t.Timeout < 0 {
			return nil, fmt.Errorf("backend: target %d: negative weight or timeout", i)
		}
		if t.Weight > 0 {
			s.positive++
		}
		anyTimeout = anyTimeout || t.Timeout > 0
		s.targets = append(s.targets, target{h: t.Handler, weight: t.Weight, timeout: t.Timeout})
	}
	if s.positive == 0 { // all zero: uniform
		for i := range s.targets {
			s.targets[i].weight = 1
		}
		s.positive = len(s.targets)
	}
	for _, t := range s.targets {
		s.total += t.weight
	}
	if r := spec.Retry; r != nil {
		n := r.Attempts
		if n == 0 {
			n = 1
		}
		if n < 0 || n > MaxRetryAttempts || r.Backoff < 0 {
			return nil, fmt.Errorf("backend: retry attempts must be 0..%d and backoff not negative", MaxRetryAttempts)
		}
		s.attempts = 1 + n
		s.backoff = r.Backoff
		for _, c := range r.Codes {
			if c < 100 || c > 599 {
				return nil, fmt.Errorf("backend: invalid retry status code %d", c)
			}
			s.codes[c/64] |= 1 << (c % 64)
		}
	}
	s.simple = s.attempts == 1 && s.reqTimeout == 0 && s.attemptTimeout == 0 && !anyTimeout
	return s, nil
}

func (s *Service) retryCode(code int) bool {
	return code >= 0 && code < 640 && s.codes[code/64]&(1<<(code%64)) != 0
}

// pick returns a target index by weight, avoiding exclude when another
// target with non-zero weight exists.
func (s *Service) pick(exclude int) int {
	if len(s.targets) == 1 {
		return 0
	}
	total := s.total
	if exclude >= 0 && s.positive > 1 && s.targets[exclude].weight > 0 {
		total -= s.targets[exclude].weight
	} else {
		exclude = -1
	}
	x := rand.IntN(total)
	last := 0
	for i, t := range s.targets {
		if i == exclude || t.weight == 0 {
			continue
		}
		if x < t.weight {
			return i
		}
		x -= t.weight
		last = i
	}
	return last
}

func (s *Service) retryBudget() bool {
	limit := max(int64(retryBudgetMin), s.active.Load()*retryBudgetPercent/100)
	return s.retrying.Load() < limit
}

// ServeHTTP serves r from one of the targets.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.maxBody > 0 && r.Body != nil && r.Body != http.NoBody {
		if r.ContentLength > s.maxBody {
			pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	}
	if s.simple {
		s.targets[s.pick(-1)].h.ServeHTTP(w, r)
		return
	}
	s.active.Add(1)
	defer s.active.Add(-1)

	info := pipeline.InfoFrom(r.Context())
	st := &callState{}
	ctx := context.WithValue(r.Context(), stateKey{}, st)
	if s.reqTimeout > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		st.reqTimer = time.AfterFunc(s.reqTimeout, func() { cancel(errRequestTimeout) })
		defer func() {
			st.reqTimer.Stop()
			cancel(context.Canceled)
		}()
	}

	attempts := s.attempts
	var body *replayBody
	if attempts > 1 {
		var ok bool
		var err error
		body, ok, err = bufferBody(r, s.maxRetryBody)
		if err != nil {
			s.bodyError(w, r, ctx, err)
			return
		}
		if !ok {
			attempts = 1 // too large to replay: sent once
		}
	}

	prev := -1
	retrying := false
	for n := 0; ; n++ {
		if n > 0 {
			if !retrying {
				retrying = true
				s.retrying.Add(1)
				defer s.retrying.Add(-1)
			}
			info.Retries = n
			info.Err = ""
			if !sleep(ctx, s.backoff) {
				s.contextDone(w, r, ctx)
				return
			}
		}
		if ctx.Err() != nil {
			s.contextDone(w, r, ctx)
			return
		}
		i := s.pick(prev)
		prev = i
		final := n == attempts-1 || !s.retryBudget()
		aw, err := s.attempt(w, r, ctx, st, s.targets[i], body, n, final)
		if err != nil {
			s.bodyError(w, r, ctx, err)
			return
		}
		if !aw.discard {
			aw.finish()
			return
		}
	}
}

// attempt sends one attempt to t and returns its writer, whose discard
// flag says whether the attempt is to be retried.
func (s *Service) attempt(w http.ResponseWriter, r *http.Request, ctx context.Context,
	st *callState, t target, body *replayBody, n int, final bool) (*attemptWriter, error) {
	timeout := s.attemptTimeout
	if t.timeout > 0 {
		timeout = t.timeout
	}
	st.failed, st.discarding = false, false
	st.attemptTimer = nil
	if timeout > 0 {
		actx, cancel := context.WithCancelCause(ctx)
		st.attemptTimer = time.AfterFunc(timeout, func() { cancel(errAttemptTimeout) })
		defer func() {
			st.attemptTimer.Stop()
			cancel(context.Canceled)
		}()
		ctx = actx
	}
	req := r.WithContext(ctx)
	if body != nil && (n > 0 || body.getBody == nil) {
		rc, err := body.open()
		if err != nil {
			return nil, err
		}
		req.Body = rc
		if body.getBody == nil {
			req.ContentLength = int64(len(body.buf))
			req.TransferEncoding = nil
			req.GetBody = body.open // in memory: the lean client writes it inline and may resend it
		}
	}
	if n > 0 {
		req.Header = r.Header.Clone()
		req.Header.Set("X-Retry-Attempt", strconv.Itoa(n)) // as agentgateway
	}
	aw := &attemptWriter{w: w, st: st, retryable: s.retryCode, final: final}
	t.h.ServeHTTP(aw, req)
	return aw, nil
}

// contextDone answers a request whose context ended between attempts.
func (s *Service) contextDone(w http.ResponseWriter, r *http.Request, ctx context.Context) {
	if isTimeout(context.Cause(ctx)) {
		pipeline.Error(w, r, http.StatusGatewayTimeout, "upstream request timeout")
		return
	}
	clientGone(r)
}

// bodyError answers a request whose body could not be read for buffering.
func (s *Service) bodyError(w http.ResponseWriter, r *http.Request, ctx context.Context, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		pipeline.Error(w, r, http.StatusRequestEntityTooLarge, "request body too large")
	case ctx.Err() != nil:
		s.contextDone(w, r, ctx)
	default:
		pipeline.Error(w, r, http.StatusBadRequest, "request body read error")
	}
}

// sleep waits d or until ctx ends; it reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
