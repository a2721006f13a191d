// Package apikey is the apiKey policy: static API keys, by default from
// Authorization: Bearer <key>. Keys are kept only as SHA-256 digests; a
// presented key is hashed and compared with every digest in constant time,
// so neither the comparison nor the number of keys checked depends on where
// it differs. Keys are never logged. The matched key's metadata becomes
// CEL's apiKey.*; the key itself is removed from the upstream request
// (backendAuth.passthrough puts it back).
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

// Key is one accepted key: exactly one of Key (the key itself) or Hash
// ("sha256:<64 hex digits>"), with its metadata.
type Key struct {
	Key      string
	Hash     string
	Metadata map[string]any
}

// Spec configures the policy.
type Spec struct {
	Mode     authn.Mode
	Location *authn.Location // nil: Authorization: Bearer
	Keys     []Key
}

type entry struct {
	digest [sha256.Size]byte
	meta   map[string]any
}

type policy struct {
	mode    authn.Mode
	loc     authn.Location
	entries []entry
}

// New returns the apiKey middleware.
func New(spec Spec) (pipeline.Middleware, error) {
	if len(spec.Keys) == 0 {
		return nil, errors.New("keys: at least one key is needed")
	}
	p := &policy{mode: spec.Mode, loc: authn.Bearer}
	if spec.Location != nil {
		p.loc = *spec.Location
	}
	seen := map[[sha256.Size]byte]int{}
	for i, k := range spec.Keys {
		d, err := digestOf(k)
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		if j, dup := seen[d]; dup {
			return nil, fmt.Errorf("keys[%d]: the same key as keys[%d]", i, j)
		}
		seen[d] = i
		meta := k.Metadata
		if meta == nil {
			meta = map[string]any{}
		}
		p.entries = append(p.entries, entry{digest: d, meta: meta})
	}
	return p.middleware, nil
}

func digestOf(k Key) ([sha256.Size]byte, error) {
	var d [sha256.Size]byte
	switch {
	case k.Key != "" && k.Hash != "":
		return d, errors.New("set key or keyHash, not both")
	case k.Key != "":
		return sha256.Sum256([]byte(k.Key)), nil
	case k.Hash != "":
		h, ok := strings.CutPrefix(k.Hash, "sha256:")
		if !ok {
			return d, errors.New(`keyHash must look like "sha256:<64 hex digits>"`)
		}
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return d, errors.New(`keyHash must look like "sha256:<64 hex digits>"`)
		}
		copy(d[:], b)
		return d, nil
	}
	return d, errors.New("set key or keyHash")
}

// match returns the entry whose digest equals sha256(key), comparing with
// every entry in constant time.
func (p *policy) match(key string) *entry {
	d := sha256.Sum256([]byte(key))
	found := -1
	for i := range p.entries {
		eq := subtle.ConstantTimeCompare(d[:], p.entries[i].digest[:])
		found = subtle.ConstantTimeSelect(eq, i, found)
	}
	if found < 0 {
		return nil
	}
	return &p.entries[found]
}

func (p *policy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := p.loc.Extract(r)
		switch {
		case errors.Is(err, authn.ErrMissing):
			if p.mode == authn.Strict {
				pipeline.InfoFrom(r.Context()).Err = "apiKey: missing key"
				authn.Unauthorized(w, r, `Bearer realm="agentgateway"`, "authentication required")
				return
			}
			next.ServeHTTP(w, r)
			return
		case err != nil:
			if p.mode == authn.Permissive {
				next.ServeHTTP(w, r)
				return
			}
			pipeline.InfoFrom(r.Context()).Err = "apiKey: " + err.Error()
			authn.Unauthorized(w, r, `Bearer realm="agentgateway", error="invalid_token"`, "invalid API key")
			return
		}
		e := p.match(key)
		if e == nil {
			if p.mode == authn.Permissive {
				next.ServeHTTP(w, r)
				return
			}
			pipeline.InfoFrom(r.Context()).Err = "apiKey: invalid key"
			authn.Unauthorized(w, r, `Bearer realm="agentgateway", error="invalid_token"`, "invalid API key")
			return
		}
		id, r := cel.EnsureIdentity(r)
		id.APIKey = e.meta
		p.loc.Remove(r)
		next.ServeHTTP(w, authn.Validated(r, key, p.loc))
	})
}
