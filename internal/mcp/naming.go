package mcp

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Naming. With prefixes, tools and prompts are exposed as
// {target}_{name} and resources as {target}+{uri}; target names cannot
// contain the delimiter when there are several targets (checked at load),
// so a name splits in exactly one way. Without prefixes (one target, or
// prefixMode never) names pass through; with several targets a name that
// two targets serve is dropped from every list rather than routed by chance.

func (h *Handler) expose(target, name string) string {
	if !h.spec.prefixed() {
		return name
	}
	return target + Delimiter + name
}

func (h *Handler) exposeURI(target, uri string) string {
	if !h.spec.prefixed() {
		return uri
	}
	return qualifyURI(target, uri)
}

func qualifyURI(target, uri string) string { return target + URIDelimiter + uri }

// qualifyContent rewrites resource URIs embedded in prompt messages.
func qualifyContent(target string, c mcp.Content) {
	switch v := c.(type) {
	case *mcp.EmbeddedResource:
		if v.Resource != nil && v.Resource.URI != "" {
			v.Resource.URI = qualifyURI(target, v.Resource.URI)
		}
	case *mcp.ResourceLink:
		if v.URI != "" {
			v.URI = qualifyURI(target, v.URI)
		}
	}
}

// nameIndex maps unprefixed names to their target, per kind, from the
// latest lists (prefixMode never with several targets).
type nameIndex struct {
	mu sync.Mutex
	m  map[byte]map[string]*upstream
	// templates maps a resource template's literal prefix to its target.
	templates map[string]*upstream
}

func (n *nameIndex) set(kind byte, m map[string]*upstream) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = map[byte]map[string]*upstream{}
	}
	n.m[kind] = m
	if kind == 'T' {
		n.templates = map[string]*upstream{}
		for k, u := range m {
			lit, _, _ := strings.Cut(k, "{")
			n.templates[lit] = u
		}
	}
}

func (n *nameIndex) get(kind byte) (map[string]*upstream, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.m[kind]
	return m, ok
}

// merge adds every item of every target through add, dropping names that
// are ambiguous: served twice by one target, or (without prefixes) by two
// targets. Without prefixes and with several targets it records the index
// calls are routed by (s nil: nothing is recorded; the stateless fast path
// routes only prefixed names).
func merge[T any](h *Handler, s *session, kind byte, rs []result[T], key func(T) string, add func(target string, it T)) {
	prefixed := h.spec.prefixed()
	ck := func(t *TargetSpec, k string) string {
		if prefixed {
			return t.Name + "\x00" + k
		}
		return k
	}
	count := map[string]int{}
	for _, r := range rs {
		for _, it := range r.items {
			count[ck(r.t, key(it))]++
		}
	}
	index := map[string]*upstream{}
	for _, r := range rs {
		for _, it := range r.items {
			k := key(it)
			if count[ck(r.t, k)] > 1 {
				h.spec.Log.Warn("mcp: dropping an ambiguous name served more than once", "kind", kindName(kind), "name", k, "target", r.t.Name)
				continue
			}
			index[k] = r.u
			add(r.t.Name, it)
		}
	}
	if s != nil && !prefixed && len(s.ups) > 1 {
		s.index().set(kind, index)
	}
}

func kindName(kind byte) string {
	switch kind {
	case 't':
		return "tool"
	case 'p':
		return "prompt"
	case 'r':
		return "resource"
	}
	return "resource template"
}

func (s *session) index() *nameIndex {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names = &nameIndex{}
	}
	return s.names
}

// resolve finds the target serving an exposed name (kind t, p) or URI
// (kind r, T) and the name the target knows it by.
func (h *Handler) resolve(ctx context.Context, s *session, kind byte, exposed string) (*upstream, string, error) {
	unknown := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown %s %q", kindName(kind), exposed)}
	if exposed == "" {
		return nil, "", unknown
	}
	if h.spec.prefixed() {
		delim := Delimiter
		if kind == 'r' || kind == 'T' {
			delim = URIDelimiter
		}
		for _, u := range s.ups {
			if rest, ok := strings.CutPrefix(exposed, u.t.Name+delim); ok && rest != "" {
				return u, rest, nil
			}
		}
		return nil, "", unknown
	}
	if len(s.ups) == 1 {
		return s.ups[0], exposed, nil
	}
	// Several targets, no prefixes: route by the latest lists.
	lookup := func() *upstream {
		idx := s.index()
		if m, ok := idx.get(kind); ok {
			if u := m[exposed]; u != nil {
				return u
			}
		}
		if kind == 'r' || kind == 'T' {
			idx.mu.Lock()
			defer idx.mu.Unlock()
			var found *upstream
			n := 0
			for lit, u := range idx.templates {
				if lit != "" && strings.HasPrefix(exposed, lit) {
					found, n = u, n+1
				}
			}
			if n == 1 {
				return found
			}
		}
		return nil
	}
	if u := lookup(); u != nil {
		return u, exposed, nil
	}
	var err error
	switch kind {
	case 't':
		_, err = h.listTools(ctx, s)
	case 'p':
		_, err = h.listPrompts(ctx, s)
	default:
		if _, err = h.listResources(ctx, s); err == nil {
			_, err = h.listTemplates(ctx, s)
		}
	}
	if err != nil {
		return nil, "", err
	}
	if u := lookup(); u != nil {
		return u, exposed, nil
	}
	return nil, "", unknown
}
