package gateway

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// health is a target's passive health record (outlier ejection).
type health struct {
	mu        sync.Mutex
	fails     int
	ejections int
	until     time.Time
}

func (h *health) available(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !now.Before(h.until)
}

// failed records a failed attempt; retryAfter > 0 ejects the target for
// that long at once (the provider said so), otherwise EjectAfter failures
// in a row eject it for EjectBase × ejections.
func (h *health) failed(now time.Time, retryAfter time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if retryAfter > 0 {
		h.until = now.Add(min(retryAfter, EjectMax))
		return
	}
	h.fails++
	if h.fails >= EjectAfter {
		h.fails = 0
		h.ejections++
		h.until = now.Add(min(EjectBase*time.Duration(h.ejections), EjectMax))
	}
}

func (h *health) succeeded() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fails, h.ejections = 0, 0
}

// matchName reports how well a backend name matches a model: 3 exact,
// 2 prefix wildcard (longer prefixes rank higher via plen), 1 "*", 0 none.
func matchName(name, model string) (rank, plen int) {
	switch {
	case name == model:
		return 3, len(name)
	case name == "*":
		return 1, 0
	case strings.HasSuffix(name, "/*") && strings.HasPrefix(model, name[:len(name)-1]):
		return 2, len(name)
	}
	return 0, 0
}

// candidates returns the backends that may serve model, by name only
// (route also applies virtual models and header matches).
func (h *Handler) candidates(model string) []*Backend {
	if !h.spec.ModelRouted {
		return h.spec.Backends
	}
	var best []*Backend
	br, bl := 0, 0
	for _, b := range h.spec.Backends {
		r, l := matchName(b.Name, model)
		if r == 0 || b.Internal {
			continue
		}
		if r > br || (r == br && l > bl) {
			best, br, bl = []*Backend{b}, r, l
		} else if r == br && l == bl {
			best = append(best, b)
		}
	}
	return best
}

// plan orders the targets to try: backends by weighted random choice,
// then each backend's priority groups in order, shuffled inside a group,
// leaving out ejected targets unless every target is ejected.
func plan(backends []*Backend) []*Target {
	order := weightedOrder(backends)
	now := time.Now()
	n := 0
	for _, b := range order {
		for _, tier := range b.Tiers {
			n += len(tier)
		}
	}
	all := make([]*Target, 0, n)
	var healthy []*Target // nil while every target so far is available: then all
	add := func(t *Target) {
		all = append(all, t)
		switch {
		case t.health.available(now):
			if healthy != nil {
				healthy = append(healthy, t)
			}
		case healthy == nil:
			healthy = append(make([]*Target, 0, n), all[:len(all)-1]...)
		}
	}
	for _, b := range order {
		for _, tier := range b.Tiers {
			if len(tier) == 1 {
				add(tier[0])
				continue
			}
			for _, i := range rand.Perm(len(tier)) {
				add(tier[i])
			}
		}
	}
	if len(healthy) == 0 {
		healthy = all // all available; or none: never eject the last target, try them anyway
	}
	if len(healthy) > maxAttempts {
		healthy = healthy[:maxAttempts]
	}
	return healthy
}

func weightedOrder(bs []*Backend) []*Backend {
	if len(bs) <= 1 {
		return bs
	}
	return weighted(bs, func(b *Backend) int { return b.Weight })
}

// weighted orders items by repeated weighted random draws (weight <= 0
// goes last, in random order); items is not modified.
func weighted[T any](items []T, weight func(T) int) []T {
	rest := append([]T(nil), items...)
	out := make([]T, 0, len(items))
	for len(rest) > 0 {
		total := 0
		for _, it := range rest {
			total += max(weight(it), 0)
		}
		i := 0
		if total > 0 {
			x := rand.IntN(total)
			for j, it := range rest {
				w := max(weight(it), 0)
				if x < w {
					i = j
					break
				}
				x -= w
			}
		} else {
			i = rand.IntN(len(rest))
		}
		out = append(out, rest[i])
		rest = append(rest[:i], rest[i+1:]...)
	}
	return out
}

func contextWithTimeout(ctx context.Context, d time.Duration) (context.Context, func()) {
	return context.WithTimeout(ctx, d)
}

func itoa(n int) string { return strconv.Itoa(n) }
