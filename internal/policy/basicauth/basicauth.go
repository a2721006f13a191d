// Package basicauth is the basicAuth policy: HTTP basic authentication
// against an htpasswd user database. Accepted hashes are bcrypt ($2a$, $2b$,
// $2y$: `htpasswd -B`) and {SHA} (`htpasswd -s`); others (MD5 apr1, crypt,
// plain text) are refused when the policy is built. An unknown user costs
// the same bcrypt comparison as a wrong password. Successful checks are
// cached for a few minutes so that a client sending the same credentials on
// every request does not pay bcrypt each time. CEL sees basicAuth.username;
// the Authorization header is removed from the upstream request
// (backendAuth.passthrough puts it back).
package basicauth

import (
	"bufio"
	"crypto/sha1" //nolint:gosec // {SHA} htpasswd entries are SHA-1 by definition
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/pipeline"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

// DefaultRealm is agentgateway's default realm.
const DefaultRealm = "Restricted"

// Spec configures the policy.
type Spec struct {
	Htpasswd string // the file's content
	Realm    string // default "Restricted"
	Mode     authn.Mode
	Location *authn.Location // nil: Authorization: Basic
}

type user struct {
	bcrypt []byte // or
	sha1   []byte
}

type policy struct {
	mode      authn.Mode
	loc       authn.Location
	challenge string
	users     map[string]user

	mu    sync.Mutex
	cache map[[sha256.Size]byte]time.Time // sha256(user:pass) of recent successes → expiry
	now   func() time.Time
}

const (
	cacheTTL     = 5 * time.Minute
	cacheEntries = 1024
)

// dummy is compared against when the user is unknown, so that an unknown
// user takes as long as a wrong password (cost 10, like htpasswd -B).
var dummy = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("agentgateway"), 10)
	return h
})

// New returns the basicAuth middleware.
func New(spec Spec) (pipeline.Middleware, error) {
	users, err := parse(spec.Htpasswd)
	if err != nil {
		return nil, err
	}
	realm := spec.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	if strings.ContainsAny(realm, "\"\\\r\n") {
		return nil, errors.New("realm must not contain quotes, backslashes or line breaks")
	}
	if spec.Mode == authn.Permissive {
		return nil, errors.New("mode must be strict or optional")
	}
	p := &policy{mode: spec.Mode, loc: authn.Basic, challenge: `Basic realm="` + realm + `"`, users: users,
		cache: map[[sha256.Size]byte]time.Time{}, now: time.Now}
	if spec.Location != nil {
		p.loc = *spec.Location
	}
	return p.middleware, nil
}

// parse reads an htpasswd file: "user:hash" lines; blank lines and lines
// starting with # are skipped.
func parse(content string) (map[string]user, error) {
	users := map[string]user{}
	sc := bufio.NewScanner(strings.NewReader(content))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || name == "" || hash == "" {
			return nil, fmt.Errorf("htpasswd line %d: want user:hash", n)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("htpasswd line %d: user %q is listed twice", n, name)
		}
		switch {
		case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
			if _, err := bcrypt.Cost([]byte(hash)); err != nil {
				return nil, fmt.Errorf("htpasswd line %d: invalid bcrypt hash", n)
			}
			users[name] = user{bcrypt: []byte(hash)}
		case strings.HasPrefix(hash, "{SHA}"):
			b, err := base64.StdEncoding.DecodeString(hash[len("{SHA}"):])
			if err != nil || len(b) != sha1.Size {
				return nil, fmt.Errorf("htpasswd line %d: invalid {SHA} hash", n)
			}
			users[name] = user{sha1: b}
		case strings.HasPrefix(hash, "$apr1$"):
			return nil, fmt.Errorf("htpasswd line %d: MD5 (apr1) hashes are not accepted; use bcrypt (htpasswd -B)", n)
		default:
			return nil, fmt.Errorf("htpasswd line %d: unsupported hash; use bcrypt (htpasswd -B) or {SHA} (htpasswd -s)", n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, errors.New("htpasswd has no users")
	}
	return users, nil
}

func (p *policy) check(name, pass string) bool {
	key := sha256.Sum256([]byte(name + "\x00" + pass))
	p.mu.Lock()
	exp, hit := p.cache[key]
	p.mu.Unlock()
	if hit && p.now().Before(exp) {
		return true
	}
	u, known := p.users[name]
	var ok bool
	switch {
	case !known:
		_ = bcrypt.CompareHashAndPassword(dummy(), []byte(pass))
	case u.bcrypt != nil:
		ok = bcrypt.CompareHashAndPassword(u.bcrypt, []byte(pass)) == nil
	default:
		sum := sha1.Sum([]byte(pass)) //nolint:gosec // see import
		ok = subtle.ConstantTimeCompare(sum[:], u.sha1) == 1
	}
	if ok {
		p.mu.Lock()
		if len(p.cache) >= cacheEntries {
			clear(p.cache)
		}
		p.cache[key] = p.now().Add(cacheTTL)
		p.mu.Unlock()
	}
	return ok
}

func (p *policy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, err := p.loc.Extract(r)
		if errors.Is(err, authn.ErrMissing) && p.mode != authn.Strict {
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			pipeline.InfoFrom(r.Context()).Err = "basicAuth: " + err.Error()
			authn.Unauthorized(w, r, p.challenge, "authentication required")
			return
		}
		name, pass, ok := decode(cred)
		if !ok || !p.check(name, pass) {
			pipeline.InfoFrom(r.Context()).Err = "basicAuth: invalid credentials"
			authn.Unauthorized(w, r, p.challenge, "invalid credentials")
			return
		}
		id, r := cel.EnsureIdentity(r)
		id.BasicAuth = map[string]any{"username": name}
		p.loc.Remove(r)
		next.ServeHTTP(w, authn.Validated(r, cred, p.loc))
	})
}

func decode(cred string) (name, pass string, ok bool) {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}
