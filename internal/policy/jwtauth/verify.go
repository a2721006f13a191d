package jwtauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"
)

// token is a parsed but not yet verified compact JWS.
type token struct {
	raw    string
	alg    string
	kid    string
	claims map[string]any
}

var (
	errMalformed = errors.New("malformed token")
	errAlgNone   = errors.New("unsigned token (alg none)")
)

// parse splits and decodes a compact JWT. Nothing in it is trusted yet.
func parse(raw string) (*token, error) {
	if len(raw) > MaxTokenBytes {
		return nil, errors.New("token too large")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errMalformed
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil {
		return nil, errMalformed
	}
	switch {
	case hdr.Alg == "" || strings.EqualFold(hdr.Alg, "none"):
		return nil, errAlgNone
	case strings.HasPrefix(strings.ToUpper(hdr.Alg), "HS"):
		return nil, fmt.Errorf("alg %s not accepted (HMAC)", hdr.Alg)
	case hdr.Crit != nil:
		return nil, errors.New("critical header extensions are not supported")
	case hdr.Kid == "":
		return nil, errors.New("token has no kid")
	case parts[2] == "":
		return nil, errAlgNone
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errMalformed
	}
	claims, err := decodeClaims(pb)
	if err != nil {
		return nil, errMalformed
	}
	return &token{raw: raw, alg: hdr.Alg, kid: hdr.Kid, claims: claims}, nil
}

// verify checks the signature with key, which must allow the token's alg.
func (t *token) verify(k *pubKey) error {
	alg, ok := k.allows(t.alg)
	if !ok {
		return fmt.Errorf("alg %s not allowed for this key", t.alg)
	}
	if _, err := jws.VerifyCompactFast(k.raw, []byte(t.raw), alg); err != nil {
		return errors.New("bad signature")
	}
	return nil
}

// validate checks the registered claims of a verified token.
func (a *Authenticator) validate(p *provider, c map[string]any) error {
	now := a.now()
	exp, ok := numericDate(c["exp"])
	if !ok {
		return errors.New("token has no valid exp")
	}
	if now.After(exp.Add(a.leeway)) {
		return errors.New("token expired")
	}
	if v, present := c["nbf"]; present {
		nbf, ok := numericDate(v)
		if !ok {
			return errors.New("invalid nbf")
		}
		if now.Add(a.leeway).Before(nbf) {
			return errors.New("token not yet valid")
		}
	}
	if iss, _ := c["iss"].(string); iss != p.issuer {
		return errors.New("wrong issuer")
	}
	if len(p.audiences) > 0 {
		var auds []string
		switch v := c["aud"].(type) {
		case string:
			auds = []string{v}
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					auds = append(auds, s)
				}
			}
		}
		if !slices.ContainsFunc(auds, func(s string) bool { return slices.Contains(p.audiences, s) }) {
			return errors.New("wrong audience")
		}
	}
	for _, name := range p.required {
		if _, ok := c[name]; !ok {
			return fmt.Errorf("token has no %s claim", name)
		}
	}
	return nil
}

func numericDate(v any) (time.Time, bool) {
	var f float64
	switch n := v.(type) {
	case int64:
		f = float64(n)
	case float64:
		f = n
	default:
		return time.Time{}, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// decodeClaims decodes a JSON object; integral numbers become int64 and the
// others float64, so CEL compares them naturally.
func decodeClaims(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil || d.More() {
		return nil, errMalformed
	}
	return convertNumbers(m).(map[string]any), nil
}

func convertNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = convertNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = convertNumbers(e)
		}
		return x
	}
	return v
}
