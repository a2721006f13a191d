package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestSecurityRateLimit: localRateLimit token buckets answer 429 with
// x-ratelimit-* and Retry-After once exhausted; requests refused by
// authentication never consume tokens; conditional buckets by CEL.
func TestSecurityRateLimit(t *testing.T) {
	be := echoBackend(t, "be")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %[1]d
  listeners:
  - routes:
    - name: limited
      matches: [{path: {pathPrefix: /limited}}]
      policies:
        apiKey: {mode: strict, keys: [{key: sk-rl-4d5e6f7a8b9c}]}
        localRateLimit:
        - maxTokens: 2
          tokensPerFill: 1
          fillInterval: 1h
      backends: [{host: %[2]s}]
    - name: tiers
      matches: [{path: {pathPrefix: /tiers}}]
      policies:
        localRateLimit:
          conditional:
          - condition: 'request.headers["x-tier"] == "free"'
            maxTokens: 1
            tokensPerFill: 1
            fillInterval: 1h
          - maxTokens: 100
            tokensPerFill: 100
            fillInterval: 1s
      backends: [{host: %[2]s}]
`, port, hostOf(be)))

	key := []string{"Authorization", "Bearer sk-rl-4d5e6f7a8b9c"}
	for range 5 {
		if status, _, _ := authReq(t, port, "GET", "/limited"); status != 401 {
			t.Fatalf("unauthenticated: %d", status)
		}
	}
	for i, want := range []string{"1", "0"} {
		status, _, h := authReq(t, port, "GET", "/limited", key...)
		if status != 200 || h.Get("X-Ratelimit-Remaining") != want || h.Get("X-Ratelimit-Limit") != "2" {
			t.Fatalf("request %d: %d remaining %q limit %q", i, status, h.Get("X-Ratelimit-Remaining"), h.Get("X-Ratelimit-Limit"))
		}
	}
	status, _, h := authReq(t, port, "GET", "/limited", key...)
	if status != 429 || h.Get("Retry-After") == "" || h.Get("X-Ratelimit-Remaining") != "0" || h.Get("X-Ratelimit-Reset") == "" {
		t.Fatalf("rate limit exceeded: %d %v", status, h)
	}

	if s, _, _ := authReq(t, port, "GET", "/tiers", "X-Tier", "free"); s != 200 {
		t.Fatalf("free tier first: %d", s)
	}
	if s, _, _ := authReq(t, port, "GET", "/tiers", "X-Tier", "free"); s != 429 {
		t.Fatalf("free tier second: %d", s)
	}
	// The fallback entry has no condition; a request without the header
	// cannot evaluate the first condition, which denies (fail closed).
	if s, _, _ := authReq(t, port, "GET", "/tiers", "X-Tier", "gold"); s != 200 {
		t.Fatalf("fallback bucket: %d", s)
	}
	if s, _, _ := authReq(t, port, "GET", "/tiers"); s != 403 {
		t.Fatalf("condition error: %d, want 403", s)
	}

	_, body := get(t, "http://"+g.Stats+"/metrics")
	if !strings.Contains(body, `reason="RateLimit"`) || !strings.Contains(body, `status="429"`) {
		t.Errorf("metrics lack the RateLimit reason")
	}
}
