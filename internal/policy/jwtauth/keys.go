package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// MaxJWKSBytes bounds a JWKS document (inline, file or fetched).
const MaxJWKSBytes = 1 << 20

// pubKey is one verification key with the algorithms it may verify.
type pubKey struct {
	raw  any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	algs []jwa.SignatureAlgorithm
}

func (k *pubKey) allows(alg string) (jwa.SignatureAlgorithm, bool) {
	for _, a := range k.algs {
		if a.String() == alg {
			return a, true
		}
	}
	return jwa.SignatureAlgorithm{}, false
}

// parseJWKS turns a JWKS document into keys by kid. Only asymmetric keys
// are accepted (RSA of at least 2048 bits, EC P-256/384/521, Ed25519), each
// with the algorithms its type allows (narrowed to its "alg" when set):
// never "none", never HMAC. Keys without a kid, private keys and keys whose
// "use" is not "sig" are refused, so a token's kid selects exactly one key.
func parseJWKS(doc []byte) (map[string]*pubKey, error) {
	if len(doc) > MaxJWKSBytes {
		return nil, fmt.Errorf("JWKS is larger than %d bytes", MaxJWKSBytes)
	}
	set, err := jwk.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("invalid JWKS: %w", err)
	}
	out := map[string]*pubKey{}
	for i := 0; i < set.Len(); i++ {
		key, _ := set.Key(i)
		kid, ok := key.KeyID()
		if !ok || kid == "" {
			return nil, fmt.Errorf("JWKS key %d has no kid", i)
		}
		if _, dup := out[kid]; dup {
			return nil, fmt.Errorf("JWKS has two keys with kid %q", kid)
		}
		if use, ok := key.KeyUsage(); ok && use != "sig" {
			continue // an encryption key: not for verifying tokens
		}
		pk, err := toPubKey(key)
		if err != nil {
			return nil, fmt.Errorf("JWKS key %q: %w", kid, err)
		}
		out[kid] = pk
	}
	if len(out) == 0 {
		return nil, errors.New("JWKS has no signing keys")
	}
	return out, nil
}

func toPubKey(key jwk.Key) (*pubKey, error) {
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, err
	}
	pk := &pubKey{}
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits is too small (want at least 2048)", k.N.BitLen())
		}
		pk.raw = k
		pk.algs = []jwa.SignatureAlgorithm{jwa.RS256(), jwa.RS384(), jwa.RS512(), jwa.PS256(), jwa.PS384(), jwa.PS512()}
	case *ecdsa.PublicKey:
		pk.raw = k
		switch k.Curve {
		case elliptic.P256():
			pk.algs = []jwa.SignatureAlgorithm{jwa.ES256()}
		case elliptic.P384():
			pk.algs = []jwa.SignatureAlgorithm{jwa.ES384()}
		case elliptic.P521():
			pk.algs = []jwa.SignatureAlgorithm{jwa.ES512()}
		default:
			return nil, errors.New("unsupported EC curve")
		}
	case ed25519.PublicKey:
		pk.raw = k
		pk.algs = []jwa.SignatureAlgorithm{jwa.EdDSA(), jwa.EdDSAEd25519()}
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return nil, errors.New("a private key has no place in a JWKS; publish the public key only")
	case []byte:
		return nil, errors.New("symmetric (oct) keys are not accepted: use an asymmetric key")
	default:
		return nil, fmt.Errorf("unsupported key type %T", raw)
	}
	if a, ok := key.Algorithm(); ok && a.String() != "" {
		alg, ok := pk.allows(a.String())
		if !ok {
			return nil, fmt.Errorf("alg %q does not fit the key type", a.String())
		}
		pk.algs = []jwa.SignatureAlgorithm{alg}
	}
	return pk, nil
}

// keySource finds a verification key by kid.
type keySource interface {
	lookup(ctx context.Context, kid string) (*pubKey, error)
}

var errUnknownKid = errors.New("unknown kid")

type staticKeys map[string]*pubKey

func (s staticKeys) lookup(_ context.Context, kid string) (*pubKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, errUnknownKid
}

// remoteKeys is a JWKS fetched from a URL, cached, and refetched when it is
// older than maxAge or a token names an unknown kid, at most once per
// minInterval (failBackoff after a failed fetch), one fetch at a time.
type remoteKeys struct {
	url         string
	client      *http.Client
	maxAge      time.Duration
	minInterval time.Duration
	failBackoff time.Duration
	now         func() time.Time
	// fetches counts fetch attempts (for tests and metrics).
	fetches func()

	mu        sync.Mutex
	keys      map[string]*pubKey
	fetched   time.Time // last success
	attempted time.Time // last attempt
	lastOK    bool
	inflight  chan struct{}
}

func (k *remoteKeys) lookup(ctx context.Context, kid string) (*pubKey, error) {
	for {
		k.mu.Lock()
		now := k.now()
		key, found := k.keys[kid]
		fresh := k.keys != nil && now.Sub(k.fetched) < k.maxAge
		if found && fresh {
			k.mu.Unlock()
			return key, nil
		}
		if ch := k.inflight; ch != nil {
			k.mu.Unlock()
			if found {
				return key, nil // stale but usable while the refresh runs
			}
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		wait := k.minInterval
		if !k.lastOK {
			wait = k.failBackoff
		}
		if !k.attempted.IsZero() && now.Sub(k.attempted) < wait {
			k.mu.Unlock()
			if found {
				return key, nil // stale but usable: refetching is rate-limited
			}
			return nil, errUnknownKid
		}
		ch := make(chan struct{})
		k.inflight = ch
		k.attempted = now
		k.mu.Unlock()

		keys, err := k.fetch(ctx)

		k.mu.Lock()
		if err == nil {
			k.keys, k.fetched, k.lastOK = keys, k.now(), true
		} else {
			k.lastOK = false
		}
		k.inflight = nil
		close(ch)
		key, found = k.keys[kid]
		k.mu.Unlock()
		if found {
			return key, nil
		}
		if err != nil {
			return nil, fmt.Errorf("fetching JWKS: %w", err)
		}
		return nil, errUnknownKid
	}
}

func (k *remoteKeys) fetch(ctx context.Context) (map[string]*pubKey, error) {
	if k.fetches != nil {
		k.fetches()
	}
	// The fetch outlives the request that triggered it only up to the
	// client's timeout; a cancelled client must not fail other waiters.
	ctx = context.WithoutCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil) //nolint:gosec // the JWKS URL comes from the operator's config
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := k.client.Do(req) //nolint:gosec // the JWKS URL comes from the operator's config
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	return parseJWKS(body)
}

// newJWKSClient is the HTTP client for JWKS fetches: 5 s in all, no
// redirects followed, no cookies.
func newJWKSClient() *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
