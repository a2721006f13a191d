package a2a

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
)

// Card paths: agent-card.json (v0.3 and later) and agent.json (older).
const (
	CardPath       = "/.well-known/agent-card.json"
	LegacyCardPath = "/.well-known/agent.json"
)

// IsCardPath reports whether path asks for an agent card, under any prefix.
func IsCardPath(path string) bool {
	return strings.HasSuffix(path, CardPath) || strings.HasSuffix(path, LegacyCardPath)
}

func stripCardSuffix(path string) string {
	if p, ok := strings.CutSuffix(path, CardPath); ok {
		return p
	}
	p, _ := strings.CutSuffix(path, LegacyCardPath)
	return p
}

// Rewriter points an agent card's interface URLs at the gateway.
type Rewriter struct {
	// GatewayBase is scheme://host[/prefix]: where the client found the
	// card, without the card suffix.
	GatewayBase string
	// BackendBase is the path the agent served the card under, without the
	// card suffix (after the gateway's URL rewrites).
	BackendBase string
}

// NewRewriter builds the rewriter for a card fetched by a client at
// scheme://host/clientPath, which the agent served at backendPath.
func NewRewriter(scheme, host, clientPath, backendPath string) *Rewriter {
	return &Rewriter{GatewayBase: scheme + "://" + host + stripCardSuffix(clientPath), BackendBase: stripCardSuffix(backendPath)}
}

// Rewrite rewrites a card: v0.3 `url` and `additionalInterfaces[].url`,
// v1.0 `supportedInterfaces[].url`. Each http(s) URL keeps its path
// relative to where the agent serves its card, anchored at the gateway's
// base; other URLs (e.g. a gRPC interface) are left alone. A card with
// none of these fields is an error.
func (rw *Rewriter) Rewrite(card []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(card))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("agent card is not a JSON object")
	}
	found := false
	if s, ok := m["url"].(string); ok {
		m["url"] = rw.url(s)
		found = true
	}
	for _, key := range []string{"additionalInterfaces", "supportedInterfaces"} {
		list, ok := m[key].([]any)
		if !ok {
			continue
		}
		for _, it := range list {
			if iface, ok := it.(map[string]any); ok {
				if s, ok := iface["url"].(string); ok {
					iface["url"] = rw.url(s)
					found = true
				}
			}
		}
	}
	if !found {
		return nil, errors.New("agent card has no url, additionalInterfaces or supportedInterfaces")
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), nil
}

func (rw *Rewriter) url(s string) string {
	lower := strings.ToLower(strings.TrimSpace(s))
	httpish := strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:")
	u, err := url.Parse(s)
	switch {
	case err != nil || httpish && u.Host == "":
		if httpish {
			return rw.GatewayBase // never leave an agent's HTTP address in the card
		}
		return s
	case u.Scheme != "http" && u.Scheme != "https":
		return s
	}
	p := u.EscapedPath()
	rel, ok := stripSegmentPrefix(p, rw.BackendBase)
	if !ok {
		rel = p
	}
	out := rw.GatewayBase + rel
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// stripSegmentPrefix strips prefix from path when it ends on a path-segment
// boundary ("/a" strips from "/a/b" but not from "/ab").
func stripSegmentPrefix(path, prefix string) (string, bool) {
	prefix = strings.TrimRight(prefix, "/")
	if prefix == "" {
		return path, true
	}
	if path == prefix {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		return "", false
	}
	return rest, true
}
