// Package cloudauth discovers and caches cloud credentials for upstream
// requests: Google OAuth2 access and ID tokens (Application Default
// Credentials or a credential JSON), AWS credentials for SigV4 (static
// keys, the AWS SDK's default chain, STS AssumeRole) and Microsoft Entra
// tokens (client secret, managed identity, workload identity, developer
// logins). Every source is built once per config and shared by all
// requests; tokens are fetched when first needed and refreshed before they
// expire, never per request.
package cloudauth

import (
	"context"
	"strings"
	"sync"
	"time"
)

// TokenSource yields a bearer token (cached by the source).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token implements TokenSource.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Describe is a one-line, bounded summary of a credential error, for the
// error a client sees.
func Describe(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// expiring is a token with its expiry.
type expiring struct {
	value   string
	expires time.Time
	refresh time.Time // refresh from here on (before expires)
}

// cache holds one token: callers share it until refreshAt, then one of
// them fetches a new one while the others wait. A failed refresh keeps
// serving the old token while it is still valid. A failure with no token
// to fall back on is remembered for failBackoff, so that requests queued
// behind an unreachable token endpoint (or metadata server) get its error
// at once instead of each waiting out the endpoint's timeout in turn.
type cache struct {
	mu        sync.Mutex
	tok       expiring
	err       error
	failUntil time.Time
	fetch     func(ctx context.Context) (expiring, error)
	now       func() time.Time
}

const (
	// refreshBefore is how long before expiry a token is replaced.
	refreshBefore = 5 * time.Minute
	// failBackoff is how long a failed fetch answers for the source.
	failBackoff = 5 * time.Second
)

func newCache(fetch func(ctx context.Context) (expiring, error)) *cache {
	return &cache{fetch: fetch, now: time.Now}
}

func (c *cache) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.tok.value != "" && now.Before(c.tok.refresh) {
		return c.tok.value, nil
	}
	if c.err != nil && now.Before(c.failUntil) {
		if c.tok.value != "" && now.Add(10*time.Second).Before(c.tok.expires) {
			return c.tok.value, nil
		}
		return "", c.err
	}
	t, err := c.fetch(ctx)
	if err != nil {
		if ctx.Err() == nil { // a caller that gave up says nothing of the source
			c.err, c.failUntil = err, c.now().Add(failBackoff)
		}
		if c.tok.value != "" && now.Add(10*time.Second).Before(c.tok.expires) {
			return c.tok.value, nil
		}
		return "", err
	}
	c.err = nil
	if t.refresh.IsZero() || !t.refresh.Before(t.expires) {
		t.refresh = t.expires.Add(-refreshBefore)
		if half := now.Add(t.expires.Sub(now) / 2); t.refresh.Before(half) {
			t.refresh = half // short-lived tokens: refresh at half-life
		}
	}
	c.tok = t
	return t.value, nil
}
