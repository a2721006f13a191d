package mcp

import (
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// cacheHint merges the cache hints (ttlMs, cacheScope) of the targets'
// list answers into the federated list's: the smallest TTL (an absent one
// is 0, "immediately stale"), and "private" if any answer is private or
// the list depends on who asks (mcpAuthorization filters it), else
// "public". cacheScope is required on the wire from protocol 2026-07-28,
// so it is never sent empty. Pages and targets add their hints
// concurrently.
type cacheHint struct {
	mu      sync.Mutex
	set     bool
	ttl     int
	private bool
}

func (c *cacheHint) add(ttl int, scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set || ttl < c.ttl {
		c.ttl = max(ttl, 0)
	}
	c.set = true
	c.private = c.private || scope == "private"
}

// merged returns the hint to send; perClient: the list is filtered for the
// client asking.
func (c *cacheHint) merged(perClient bool) mcp.Cacheable {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := mcp.Cacheable{TTLMs: c.ttl, CacheScope: "public"}
	if c.private || perClient {
		out.CacheScope = "private"
	}
	return out
}
