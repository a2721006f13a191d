// Package jwtauth is the jwtAuth policy: it validates a JWT (by default
// from Authorization: Bearer) against one or more issuers' JWKS, makes the
// claims visible to CEL as jwt.*, and removes the token from the upstream
// request (backendAuth.passthrough puts it back).
//
// Validation follows RFC 8725: the algorithm must fit the key the kid
// selects (RSA: RS*/PS*, EC: the ES* of its curve, Ed25519: EdDSA; never
// "none", never HMAC); jku, x5u, x5c and embedded jwk headers are ignored;
// "crit" is refused; exp is required; nbf is honoured; iss must equal the
// provider's issuer and aud must contain one of its audiences; clocks may
// differ by Leeway (60 s).
package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

// Defaults.
const (
	DefaultLeeway          = 60 * time.Second
	DefaultRefetchInterval = 5 * time.Minute
	DefaultMaxAge          = time.Hour
	DefaultFailBackoff     = 10 * time.Second
	// MaxTokenBytes bounds a token; longer ones are refused unparsed.
	MaxTokenBytes = 16 << 10
)

// JWKS is where a provider's keys come from: exactly one of Inline (the
// JSON document), File (read when the policy is built) or URL (fetched on
// first use, cached, refetched as Spec says).
type JWKS struct {
	Inline string
	File   string
	URL    string
}

// Provider is one issuer.
type Provider struct {
	Issuer    string
	Audiences []string // a token's aud must contain one; empty: aud not checked
	JWKS      JWKS
	// RequiredClaims must be present (exp always is).
	RequiredClaims []string
}

// Spec configures the policy.
type Spec struct {
	Mode      authn.Mode
	Location  *authn.Location // nil: Authorization: Bearer
	Providers []Provider
	// Leeway is the allowed clock skew for exp and nbf (default 60 s).
	Leeway time.Duration
	// RefetchInterval is the least time between two JWKS fetches caused by
	// unknown kids (default 5 min); MaxAge is how long fetched keys are
	// used before a refresh (default 1 h).
	RefetchInterval time.Duration
	MaxAge          time.Duration
	// Client fetches remote JWKS (default: 5 s timeout, no redirects).
	Client *http.Client
	// Now is the clock (tests).
	Now func() time.Time
	// OnFetch is called before each JWKS fetch (tests, metrics).
	OnFetch func()
}

type provider struct {
	issuer    string
	audiences []string
	required  []string
	keys      keySource
}

// Authenticator validates tokens. It is safe for concurrent use.
type Authenticator struct {
	mode      authn.Mode
	loc       authn.Location
	providers []*provider
	leeway    time.Duration
	now       func() time.Time
}

// New returns the jwtAuth middleware.
func New(spec Spec) (pipeline.Middleware, error) {
	a, err := NewAuthenticator(spec)
	if err != nil {
		return nil, err
	}
	return a.Middleware(), nil
}

// NewAuthenticator builds the validator (shared by jwtAuth and
// mcpAuthentication). Inline and file JWKS are parsed here: a bad one is a
// config error.
func NewAuthenticator(spec Spec) (*Authenticator, error) {
	if len(spec.Providers) == 0 {
		return nil, errors.New("no issuer configured")
	}
	a := &Authenticator{mode: spec.Mode, loc: authn.Bearer, leeway: spec.Leeway, now: spec.Now}
	if spec.Location != nil {
		a.loc = *spec.Location
	}
	if a.leeway <= 0 {
		a.leeway = DefaultLeeway
	}
	if a.now == nil {
		a.now = time.Now
	}
	seen := map[string]bool{}
	for i, p := range spec.Providers {
		if p.Issuer == "" {
			return nil, fmt.Errorf("providers[%d]: issuer must not be empty", i)
		}
		if seen[p.Issuer] {
			return nil, fmt.Errorf("providers[%d]: issuer %q is listed twice", i, p.Issuer)
		}
		seen[p.Issuer] = true
		ks, err := keysFor(spec, p.JWKS)
		if err != nil {
			return nil, fmt.Errorf("providers[%d].jwks: %w", i, err)
		}
		a.providers = append(a.providers, &provider{issuer: p.Issuer, audiences: p.Audiences, required: p.RequiredClaims, keys: ks})
	}
	return a, nil
}

func keysFor(spec Spec, j JWKS) (keySource, error) {
	switch {
	case j.Inline != "":
		k, err := parseJWKS([]byte(j.Inline))
		return staticKeys(k), err
	case j.File != "":
		b, err := os.ReadFile(j.File)
		if err != nil {
			return nil, err
		}
		k, err := parseJWKS(b)
		return staticKeys(k), err
	case j.URL != "":
		u, err := url.Parse(j.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("url %q: want an http(s) URL", j.URL)
		}
		rk := &remoteKeys{url: j.URL, client: spec.Client, maxAge: spec.MaxAge, minInterval: spec.RefetchInterval,
			failBackoff: DefaultFailBackoff, now: spec.Now, fetches: spec.OnFetch}
		if rk.client == nil {
			rk.client = newJWKSClient()
		}
		if rk.maxAge <= 0 {
			rk.maxAge = DefaultMaxAge
		}
		if rk.minInterval <= 0 {
			rk.minInterval = DefaultRefetchInterval
		}
		if rk.failBackoff > rk.minInterval {
			rk.failBackoff = rk.minInterval
		}
		if rk.now == nil {
			rk.now = time.Now
		}
		return rk, nil
	}
	return nil, errors.New("set one of inline, file or url")
}

// Middleware returns the jwtAuth policy.
func (a *Authenticator) Middleware() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, err := a.Authenticate(r)
			if err != nil {
				a.reject(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ErrMissing is returned by Authenticate in strict mode without a token.
var ErrMissing = errors.New("missing token")

// Authenticate validates r's token according to the mode and returns the
// request carrying the claims (cel.Identity.JWT) with the token removed. A
// non-nil error means the request must be refused with 401.
func (a *Authenticator) Authenticate(r *http.Request) (*http.Request, error) {
	tok, err := a.loc.Extract(r)
	switch {
	case errors.Is(err, authn.ErrMissing):
		if a.mode == authn.Strict {
			return r, ErrMissing
		}
		return r, nil
	case err != nil:
		if a.mode == authn.Permissive {
			return r, nil
		}
		return r, err
	}
	claims, err := a.Verify(r.Context(), tok)
	if err != nil {
		if a.mode == authn.Permissive {
			return r, nil
		}
		return r, err
	}
	id, r := cel.EnsureIdentity(r)
	id.JWT = claims
	a.loc.Remove(r)
	return authn.Validated(r, tok, a.loc), nil
}

func (a *Authenticator) reject(w http.ResponseWriter, r *http.Request, err error) {
	pipeline.InfoFrom(r.Context()).Err = "jwt: " + err.Error()
	if errors.Is(err, ErrMissing) {
		authn.Unauthorized(w, r, `Bearer realm="agentgateway"`, "authentication required")
		return
	}
	authn.Unauthorized(w, r, `Bearer realm="agentgateway", error="invalid_token"`, "invalid token")
}

// Verify validates a token and returns its claims.
func (a *Authenticator) Verify(ctx context.Context, token string) (map[string]any, error) {
	t, err := parse(token)
	if err != nil {
		return nil, err
	}
	p := a.providerFor(t.claims)
	if p == nil {
		return nil, errors.New("unknown issuer")
	}
	key, err := p.keys.lookup(ctx, t.kid)
	if err != nil {
		return nil, err
	}
	if err := t.verify(key); err != nil {
		return nil, err
	}
	if err := a.validate(p, t.claims); err != nil {
		return nil, err
	}
	return t.claims, nil
}

// providerFor picks the provider by the (not yet verified) iss claim; the
// signature check that follows uses only that provider's keys.
func (a *Authenticator) providerFor(claims map[string]any) *provider {
	iss, _ := claims["iss"].(string)
	for _, p := range a.providers {
		if p.issuer == iss {
			return p
		}
	}
	if len(a.providers) == 1 && iss == "" {
		return a.providers[0] // validate() reports the missing iss
	}
	return nil
}
