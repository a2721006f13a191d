// Package jwttest mints keys, JWKS documents and tokens (good and hostile)
// for the jwtAuth tests, unit and e2e.
package jwttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Issuer holds an RSA and an EC signing key under the kids "rsa1" and "ec1".
type Issuer struct {
	t   testing.TB
	Iss string
	RSA *rsa.PrivateKey
	EC  *ecdsa.PrivateKey
}

// New returns an issuer named iss with fresh keys.
func New(t testing.TB, iss string) *Issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Issuer{t: t, Iss: iss, RSA: rk, EC: ek}
}

// JWKS returns the public keys as a JWKS document.
func (i *Issuer) JWKS() string {
	i.t.Helper()
	set := jwk.NewSet()
	for kid, priv := range map[string]any{"rsa1": i.RSA.Public(), "ec1": i.EC.Public()} {
		k, err := jwk.Import(priv)
		if err != nil {
			i.t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, kid)
		_ = k.Set(jwk.KeyUsageKey, "sig")
		_ = set.AddKey(k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		i.t.Fatal(err)
	}
	return string(b)
}

// Claims returns valid claims for aud: iss, sub, aud, iat, exp (+1 h).
func (i *Issuer) Claims(aud string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": i.Iss, "sub": "alice", "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// Sign signs claims with the RSA key (RS256, kid rsa1).
func (i *Issuer) Sign(claims map[string]any) string {
	return i.SignWith(claims, jwa.RS256(), i.RSA, "rsa1")
}

// SignWith signs claims with alg and key, putting kid in the header.
func (i *Issuer) SignWith(claims map[string]any, alg jwa.SignatureAlgorithm, key any, kid string) string {
	i.t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		i.t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, kid)
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		i.t.Fatal(err)
	}
	return string(out)
}

// None returns an unsigned token (alg "none") with the claims.
func (i *Issuer) None(claims map[string]any, kid string) string {
	return Raw(map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}, claims, nil)
}

// HMACWithPublicKey returns the classic algorithm-confusion token: HS256
// whose HMAC secret is the issuer's RSA public key in PEM.
func (i *Issuer) HMACWithPublicKey(claims map[string]any) string {
	der, err := x509.MarshalPKIXPublicKey(i.RSA.Public())
	if err != nil {
		i.t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hdr := map[string]any{"alg": "HS256", "kid": "rsa1", "typ": "JWT"}
	signing := enc(hdr) + "." + enc(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Raw assembles header.payload.signature from JSON objects and raw bytes.
func Raw(hdr, claims map[string]any, sig []byte) string {
	return enc(hdr) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func enc(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}
