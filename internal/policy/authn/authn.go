// Package authn holds what the authentication policies (jwtauth, apikey,
// basicauth) share: where a credential is read from, the strict / optional /
// permissive modes, the 401 answer, and backendAuth.passthrough.
//
// Every authentication policy removes the credential it validated from the
// request before it goes upstream; only backendAuth.passthrough puts it back.
package authn

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/pipeline"
)

// Mode says what happens to requests without a valid credential.
type Mode uint8

// Modes, as in agentgateway.
const (
	// Optional (the default): a missing credential passes, an invalid one is refused.
	Optional Mode = iota
	// Strict: a missing or invalid credential is refused.
	Strict
	// Permissive: nothing is refused; a valid credential is still recorded.
	Permissive
)

// ParseMode maps agentgateway's mode names ("" is the default, optional).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "optional":
		return Optional, nil
	case "strict":
		return Strict, nil
	case "permissive":
		return Permissive, nil
	}
	return Optional, errors.New("mode must be strict, optional or permissive")
}

// Kind is where a credential lives.
type Kind uint8

// Kinds.
const (
	Header Kind = iota
	Query
	Cookie
)

// Location is where a credential is read from: a header with an optional
// value prefix (case-insensitive, e.g. "Bearer "), a query parameter or a
// cookie.
type Location struct {
	Kind   Kind
	Name   string
	Prefix string
}

// Bearer is the default location: Authorization: Bearer <credential>.
var Bearer = Location{Kind: Header, Name: "Authorization", Prefix: "Bearer "}

// Basic is basic auth's default location: Authorization: Basic <base64>.
var Basic = Location{Kind: Header, Name: "Authorization", Prefix: "Basic "}

// Errors of Extract.
var (
	ErrMissing   = errors.New("no credential")
	ErrAmbiguous = errors.New("more than one credential")
)

// Extract returns the credential. A header or parameter given twice is
// ErrAmbiguous; a header without the expected prefix is ErrMissing (another
// scheme), as is an empty value.
func (l Location) Extract(r *http.Request) (string, error) {
	var vs []string
	switch l.Kind {
	case Header:
		vs = r.Header.Values(l.Name)
	case Query:
		vs = r.URL.Query()[l.Name]
	case Cookie:
		for _, c := range r.CookiesNamed(l.Name) {
			vs = append(vs, c.Value)
		}
	}
	switch len(vs) {
	case 0:
		return "", ErrMissing
	case 1:
	default:
		return "", ErrAmbiguous
	}
	v := vs[0]
	if l.Prefix != "" {
		if len(v) < len(l.Prefix) || !strings.EqualFold(v[:len(l.Prefix)], l.Prefix) {
			return "", ErrMissing
		}
		v = v[len(l.Prefix):]
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", ErrMissing
	}
	return v, nil
}

// Remove deletes the credential from r (which the caller owns).
func (l Location) Remove(r *http.Request) {
	switch l.Kind {
	case Header:
		r.Header.Del(l.Name)
	case Query:
		q := r.URL.Query()
		q.Del(l.Name)
		r.URL.RawQuery = q.Encode()
		r.RequestURI = ""
	case Cookie:
		var keep []string
		for _, c := range r.Cookies() {
			if c.Name != l.Name {
				keep = append(keep, (&http.Cookie{Name: c.Name, Value: c.Value, Quoted: c.Quoted}).String()) //nolint:gosec // a request Cookie header: attributes do not apply
			}
		}
		r.Header.Del("Cookie")
		if len(keep) > 0 {
			r.Header.Set("Cookie", strings.Join(keep, "; "))
		}
	}
}

// Set writes the credential at l (used by backendAuth.passthrough).
func (l Location) Set(r *http.Request, v string) {
	switch l.Kind {
	case Header:
		r.Header.Set(l.Name, l.Prefix+v)
	case Query:
		q := r.URL.Query()
		q.Set(l.Name, v)
		r.URL.RawQuery = q.Encode()
	case Cookie:
		c := (&http.Cookie{Name: l.Name, Value: v}).String() //nolint:gosec // a request Cookie header: attributes do not apply
		if old := r.Header.Get("Cookie"); old != "" {
			c = old + "; " + c
		}
		r.Header.Set("Cookie", c)
	}
}

// Clone returns a shallow copy of r whose header map and URL the caller
// may modify without touching r's (middlewares never mutate what a caller
// still holds, e.g. a mirror).
func Clone(r *http.Request) *http.Request {
	r2 := r.WithContext(r.Context())
	r2.Header = r.Header.Clone()
	u := *r.URL
	r2.URL = &u
	return r2
}

// Unauthorized answers 401 with the challenge (a WWW-Authenticate value,
// "" for none) and records the denial. msg never contains the credential.
func Unauthorized(w http.ResponseWriter, r *http.Request, challenge, msg string) {
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	Deny(w, r, http.StatusUnauthorized, msg)
}

// Deny answers status with a short message and records the denial for the
// metrics' reason label.
func Deny(w http.ResponseWriter, r *http.Request, status int, msg string) {
	pipeline.InfoFrom(r.Context()).Denied = pipeline.DeniedAuth
	pipeline.Error(w, r, status, msg)
}

// Passthrough is backendAuth.passthrough: it writes the credential an
// authentication policy validated (and removed) back into the upstream
// request, at loc when given, else where the client sent it. Without a
// validated credential the request goes on without one.
func Passthrough(loc *Location) pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := r.Context().Value(credKey{}).(*credential)
			if c == nil {
				next.ServeHTTP(w, r)
				return
			}
			to := c.loc
			if loc != nil {
				to = *loc
			}
			r2 := Clone(r)
			to.Set(r2, c.value)
			next.ServeHTTP(w, r2)
		})
	}
}

type credKey struct{}

type credential struct {
	value string
	loc   Location
}

// Validated records the credential a policy validated (and removed from
// the request), with where it came from, for backendAuth.passthrough. It
// is never logged nor visible to CEL.
func Validated(r *http.Request, value string, loc Location) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), credKey{}, &credential{value: value, loc: loc}))
}
