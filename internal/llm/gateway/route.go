package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
)

// VirtualKind is how a virtual model picks among its targets.
type VirtualKind int

// Virtual model routing kinds (llm.virtualModels[].routing).
const (
	// VirtualWeighted splits requests by weight; a failed attempt moves
	// on to another target (weighted order).
	VirtualWeighted VirtualKind = iota + 1
	// VirtualFailover tries targets by priority, lower first; targets of
	// one priority share the load.
	VirtualFailover
	// VirtualConditional takes the first target whose condition holds (a
	// target without one always does).
	VirtualConditional
)

// VirtualModel is a public model name served by other models.
type VirtualModel struct {
	Name    string
	Kind    VirtualKind
	Targets []VirtualTarget
}

// VirtualTarget is one model a virtual model routes to: a model name as
// a client would ask for it (resolved against the backends, internal ones
// included).
type VirtualTarget struct {
	Model    string
	Weight   int        // VirtualWeighted
	Priority int        // VirtualFailover
	When     *Condition // VirtualConditional; nil = always
}

// HeaderMatch holds when all its conditions hold.
type HeaderMatch []HeaderCond

// HeaderCond compares one request header (or :authority, :method, :path,
// :scheme) with an exact value or an anchored regular expression.
type HeaderCond struct {
	Name  string // canonical header name, or a pseudo-header
	Exact string
	Regex *regexp.Regexp // when set, Exact is unused
}

// NewHeaderCond builds a condition; regex (when not "") must match the
// whole value.
func NewHeaderCond(name, exact, regex string) (HeaderCond, error) {
	c := HeaderCond{Name: http.CanonicalHeaderKey(name), Exact: exact}
	switch name {
	case ":authority", ":method", ":path", ":scheme":
		c.Name = name
	case "host", "Host":
		c.Name = ":authority"
	}
	if regex != "" {
		re, err := regexp.Compile(`^(?:` + regex + `)$`)
		if err != nil {
			return c, fmt.Errorf("header %q: regex: %w", name, err)
		}
		c.Regex = re
	}
	return c, nil
}

func (c *HeaderCond) holds(r *http.Request) bool {
	var v string
	switch c.Name {
	case ":authority":
		v = r.Host
	case ":method":
		v = r.Method
	case ":path":
		v = r.URL.RequestURI()
	case ":scheme":
		v = "http"
		if r.TLS != nil {
			v = "https"
		}
	default:
		vs := r.Header[c.Name]
		if len(vs) == 0 {
			return false
		}
		v = vs[0]
	}
	if c.Regex != nil {
		return c.Regex.MatchString(v)
	}
	return v == c.Exact
}

// matches reports whether b serves r by its header matches.
func (b *Backend) matches(r *http.Request) bool {
	if len(b.Matches) == 0 {
		return true
	}
	for _, m := range b.Matches {
		ok := true
		for i := range m {
			if !m[i].holds(r) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// initRouting checks the virtual models and sets the routing flags.
func (h *Handler) initRouting() error {
	for _, b := range h.spec.Backends {
		h.routed = h.routed || b.Internal || len(b.Matches) > 0
		h.passModels = h.passModels || b.Passthrough != ""
	}
	if len(h.spec.VirtualModels) == 0 {
		return nil
	}
	if !h.spec.ModelRouted {
		return errors.New("llm: virtual models need a model-routed (llm:) route")
	}
	h.routed = true
	h.virtual = make(map[string]*VirtualModel, len(h.spec.VirtualModels))
	for _, v := range h.spec.VirtualModels {
		if len(v.Targets) == 0 {
			return errors.New("llm: virtual model " + v.Name + " has no targets")
		}
		if _, dup := h.virtual[v.Name]; dup {
			return errors.New("llm: duplicate virtual model " + v.Name)
		}
		for _, t := range v.Targets {
			if _, virt := h.virtual[t.Model]; virt || t.Model == v.Name {
				return errors.New("llm: virtual model " + v.Name + " targets virtual model " + t.Model)
			}
		}
		h.virtual[v.Name] = v
	}
	for _, v := range h.spec.VirtualModels {
		for _, t := range v.Targets {
			if _, virt := h.virtual[t.Model]; virt {
				return errors.New("llm: virtual model " + v.Name + " targets virtual model " + t.Model)
			}
		}
	}
	return nil
}

// choice is a backend to try, the model name to ask it for ("" = the
// request's) and its place in the order: group (failover priority) and
// weight inside the group.
type choice struct {
	b      *Backend
	model  string
	group  int
	weight int
}

// routePlan is the backends one request may go to. For a plain llm: or
// ai route it is just the candidates (no extra work or allocation).
type routePlan struct {
	cands   []*Backend
	choices []choice
}

func (p *routePlan) empty() bool { return len(p.cands) == 0 && len(p.choices) == 0 }

// sameDialect reports whether every target of the plan speaks d.
func (p *routePlan) sameDialect(d llm.Dialect) bool {
	if p.choices == nil {
		return sameDialect(p.cands, d)
	}
	for i := range p.choices {
		for _, tier := range p.choices[i].b.Tiers {
			for _, t := range tier {
				if t.Provider.Dialect() != d {
					return false
				}
			}
		}
	}
	return true
}

// first is the backend tried first when all is healthy (nil if none).
func (p *routePlan) first() *Backend {
	if p.choices != nil {
		return p.choices[0].b
	}
	if len(p.cands) > 0 {
		return p.cands[0]
	}
	return nil
}

// targets orders the plan's targets (see plan) and, for a routed plan,
// names the model each is asked for (nil: the request's model).
func (p *routePlan) targets() ([]*Target, []string) {
	if p.choices == nil {
		return plan(p.cands), nil
	}
	return planChoices(p.choices)
}

// route resolves the backends for a request's model. body is the request
// body (for conditional virtual models: llmRequest); it may be nil. A
// plain route answers h.candidates(model). The error is for the client.
func (h *Handler) route(r *http.Request, model string, body []byte) (routePlan, *llm.Error) {
	if !h.routed {
		return routePlan{cands: h.candidates(model)}, nil
	}
	v := h.virtual[model]
	if v == nil {
		b := h.concrete(r, model, false)
		if b == nil {
			return routePlan{}, nil
		}
		return routePlan{choices: []choice{{b: b, weight: 1}}}, nil
	}
	var out []choice
	switch v.Kind {
	case VirtualConditional:
		var req map[string]any
		if body != nil {
			_ = json.Unmarshal(body, &req)
		}
		for _, t := range v.Targets {
			if t.When != nil {
				ok, err := t.When.Eval(r, req)
				if err != nil {
					h.spec.Log.Debug("virtual model condition failed", "model", v.Name, "when", t.When.String(), "err", err)
				}
				if !ok {
					continue
				}
			}
			b := h.concrete(r, t.Model, true)
			if b == nil {
				return routePlan{}, virtualErr(http.StatusNotFound, "virtual_model_target_not_found",
					fmt.Sprintf("virtual model %q selected %q, but no model serves it", v.Name, t.Model))
			}
			out = append(out, choice{b: b, model: t.Model, weight: 1})
			break
		}
		if out == nil {
			return routePlan{}, virtualErr(http.StatusBadRequest, "virtual_model_no_matching_target",
				fmt.Sprintf("virtual model %q did not match any conditional target", v.Name))
		}
	default:
		for _, t := range v.Targets {
			b := h.concrete(r, t.Model, true)
			if b == nil {
				continue // e.g. its header matches do not hold
			}
			c := choice{b: b, model: t.Model, weight: 1}
			if v.Kind == VirtualWeighted {
				c.weight = t.Weight
			} else {
				c.group = t.Priority
			}
			out = append(out, c)
		}
		if out == nil {
			return routePlan{}, virtualErr(http.StatusNotFound, "virtual_model_target_not_found",
				fmt.Sprintf("virtual model %q: none of its targets serves this request", v.Name))
		}
	}
	return routePlan{choices: out}, nil
}

func virtualErr(status int, code, msg string) *llm.Error {
	t := llm.ErrNotFound
	if status == http.StatusBadRequest {
		t = llm.ErrInvalidRequest
	}
	return &llm.Error{Status: status, Type: t, Code: code, Message: msg}
}

// concrete is the backend serving model for r: the best name match
// (exact, longest prefix wildcard, "*") whose header matches hold, the
// first in config order on a tie. Internal backends only serve virtual
// models (internal = true).
func (h *Handler) concrete(r *http.Request, model string, internal bool) *Backend {
	var best *Backend
	br, bl := 0, 0
	for _, b := range h.spec.Backends {
		if b.Internal && !internal {
			continue
		}
		rk, l := matchName(b.Name, model)
		if rk == 0 || rk < br || (rk == br && l <= bl) {
			continue
		}
		if b.matches(r) {
			best, br, bl = b, rk, l
		}
	}
	return best
}

// planChoices orders the targets of a routed plan: failover groups by
// ascending priority; inside a group, backends in weighted random order;
// each backend's own priority groups in order, shuffled inside a group.
// Ejected targets are left out unless every target is ejected.
func planChoices(cs []choice) ([]*Target, []string) {
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].group < cs[j].group })
	var order []choice
	for i := 0; i < len(cs); {
		j := i
		for j < len(cs) && cs[j].group == cs[i].group {
			j++
		}
		order = append(order, weighted(cs[i:j], func(c choice) int { return c.weight })...)
		i = j
	}
	now := time.Now()
	var healthy, all []*Target
	var hm, am []string
	for _, c := range order {
		for _, tier := range c.b.Tiers {
			for _, i := range rand.Perm(len(tier)) {
				t := tier[i]
				all, am = append(all, t), append(am, c.model)
				if t.health.available(now) {
					healthy, hm = append(healthy, t), append(hm, c.model)
				}
			}
		}
	}
	if len(healthy) == 0 {
		healthy, hm = all, am
	}
	if len(healthy) > maxAttempts {
		healthy, hm = healthy[:maxAttempts], hm[:maxAttempts]
	}
	return healthy, hm
}
