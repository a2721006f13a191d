// Package ratelimit is the localRateLimit policy: in-process token buckets
// (maxTokens, tokensPerFill every fillInterval) counting requests, shared by
// every request of the route (as agentgateway's, the bucket is per policy,
// not per client). A request takes one token from every bucket, or from
// none: when one bucket is empty the request gets 429 with Retry-After and
// no other bucket is charged. Responses carry x-ratelimit-limit,
// x-ratelimit-remaining and x-ratelimit-reset for the most constrained
// bucket.
//
// The conditional form selects the buckets of the first entry whose CEL
// condition holds (an entry without one is the fallback); a condition that
// fails to evaluate denies the request (403).
package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/pipeline"
)

// Limit is one token bucket. It starts full.
type Limit struct {
	MaxTokens     int64
	TokensPerFill int64
	FillInterval  time.Duration
}

// Entry is a set of buckets applied when Condition (CEL; "" = always)
// holds.
type Entry struct {
	Condition string
	Limits    []Limit
}

// Spec configures the policy: plain Limits, or Conditional entries.
type Spec struct {
	Limits      []Limit
	Conditional []Entry
	Now         func() time.Time // tests
}

type bucket struct {
	max, perFill int64
	interval     time.Duration

	mu     sync.Mutex
	tokens int64
	last   time.Time // time of the last refill step
}

// refill brings the bucket up to date; the caller holds mu.
func (b *bucket) refill(now time.Time) {
	if b.tokens >= b.max {
		b.last = now
		return
	}
	n := int64(now.Sub(b.last) / b.interval)
	if n <= 0 {
		return
	}
	b.last = b.last.Add(time.Duration(n) * b.interval)
	if add := n * b.perFill; n > b.max || add >= b.max-b.tokens {
		b.tokens = b.max
	} else {
		b.tokens += add
	}
}

// reset is the time until the next refill; the caller holds mu.
func (b *bucket) reset(now time.Time) time.Duration {
	d := b.interval - now.Sub(b.last)
	if d < 0 {
		d = 0
	}
	return d
}

type entry struct {
	cond    *cel.Program
	buckets []*bucket
}

type policy struct {
	entries []entry
	now     func() time.Time
}

// New returns the localRateLimit middleware.
func New(spec Spec) (pipeline.Middleware, error) {
	p := &policy{now: spec.Now}
	if p.now == nil {
		p.now = time.Now
	}
	start := p.now()
	mk := func(ls []Limit) ([]*bucket, error) {
		var out []*bucket
		for i, l := range ls {
			switch {
			case l.MaxTokens < 1:
				return nil, fmt.Errorf("[%d].maxTokens must be at least 1", i)
			case l.TokensPerFill < 1:
				return nil, fmt.Errorf("[%d].tokensPerFill must be at least 1", i)
			case l.FillInterval <= 0:
				return nil, fmt.Errorf("[%d].fillInterval must be positive", i)
			}
			out = append(out, &bucket{max: l.MaxTokens, perFill: l.TokensPerFill, interval: l.FillInterval, tokens: l.MaxTokens, last: start})
		}
		return out, nil
	}
	switch {
	case len(spec.Conditional) > 0 && len(spec.Limits) > 0:
		return nil, errors.New("use limits or conditional, not both")
	case len(spec.Conditional) > 0:
		for i, e := range spec.Conditional {
			bs, err := mk(e.Limits)
			if err != nil {
				return nil, fmt.Errorf("conditional[%d]%w", i, err)
			}
			en := entry{buckets: bs}
			if e.Condition != "" {
				if en.cond, err = cel.CompileBool(e.Condition); err != nil {
					return nil, fmt.Errorf("conditional[%d].condition: %w", i, err)
				}
			} else if i != len(spec.Conditional)-1 {
				return nil, fmt.Errorf("conditional[%d]: an entry without a condition must be the last (the fallback)", i)
			}
			p.entries = append(p.entries, en)
		}
	default:
		bs, err := mk(spec.Limits)
		if err != nil {
			return nil, fmt.Errorf("localRateLimit%w", err)
		}
		if len(bs) == 0 {
			return nil, errors.New("no limits")
		}
		p.entries = []entry{{buckets: bs}}
	}
	return p.middleware, nil
}

// status is what the x-ratelimit-* headers report.
type status struct {
	limit, remaining int64
	reset            time.Duration
}

// take charges one token to every bucket, or to none if one is empty.
func take(bs []*bucket, now time.Time) (status, bool) {
	for _, b := range bs { // fixed order: no lock-order inversion
		b.mu.Lock()
	}
	defer func() {
		for _, b := range bs {
			b.mu.Unlock()
		}
	}()
	ok := true
	for _, b := range bs {
		b.refill(now)
		if b.tokens < 1 {
			ok = false
		}
	}
	var st status
	first := true
	for _, b := range bs {
		if ok {
			b.tokens--
		} else if b.tokens >= 1 {
			continue // on a rejection, report the empty bucket(s)
		}
		rem, rs := b.tokens, b.reset(now)
		if first || rem < st.remaining || rem == st.remaining && rs > st.reset {
			st = status{limit: b.max, remaining: rem, reset: rs}
			first = false
		}
	}
	return st, ok
}

func (p *policy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bs, err := p.pick(r)
		if err != nil {
			info := pipeline.InfoFrom(r.Context())
			info.Err = "localRateLimit: condition failed to evaluate (denied): " + err.Error()
			info.Denied = pipeline.DeniedAuth
			pipeline.Error(w, r, http.StatusForbidden, "forbidden")
			return
		}
		if bs == nil {
			next.ServeHTTP(w, r)
			return
		}
		st, ok := take(bs, p.now())
		h := w.Header()
		reset := int64((st.reset + time.Second - 1) / time.Second)
		h.Set("X-Ratelimit-Limit", strconv.FormatInt(st.limit, 10))
		h.Set("X-Ratelimit-Remaining", strconv.FormatInt(st.remaining, 10))
		h.Set("X-Ratelimit-Reset", strconv.FormatInt(reset, 10))
		if !ok {
			if reset < 1 {
				reset = 1
			}
			h.Set("Retry-After", strconv.FormatInt(reset, 10))
			info := pipeline.InfoFrom(r.Context())
			info.Denied = pipeline.DeniedRateLimit
			pipeline.Error(w, r, http.StatusTooManyRequests, "rate limit exceeded")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// pick returns the buckets that apply to r (nil: none).
func (p *policy) pick(r *http.Request) ([]*bucket, error) {
	if len(p.entries) == 1 && p.entries[0].cond == nil {
		return p.entries[0].buckets, nil
	}
	act := cel.NewActivation(r)
	for _, e := range p.entries {
		if e.cond == nil {
			return e.buckets, nil
		}
		ok, err := e.cond.EvalBool(act)
		if err != nil {
			return nil, err
		}
		if ok {
			return e.buckets, nil
		}
	}
	return nil, nil
}
