package jwtauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/policy/authn"
	"github.com/agentgw/agentgateway/internal/policy/jwtauth/jwttest"
)

// upstream records what reached it.
type upstream struct {
	authz  string
	claims map[string]any
	hits   int
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.hits++
	u.authz = r.Header.Get("Authorization")
	if id := cel.IdentityFrom(r.Context()); id != nil {
		u.claims = id.JWT
	}
	w.WriteHeader(200)
}

func serve(t *testing.T, spec Spec, hdr ...string) (*httptest.ResponseRecorder, *upstream) {
	t.Helper()
	mw, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{}
	req := httptest.NewRequest("GET", "http://gw/x", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	mw(u).ServeHTTP(rec, req)
	return rec, u
}

func TestRejections(t *testing.T) {
	iss := jwttest.New(t, "https://idp.example")
	other := jwttest.New(t, "https://idp.example")
	spec := Spec{Mode: authn.Strict, Providers: []Provider{{Issuer: iss.Iss, Audiences: []string{"api"}, JWKS: JWKS{Inline: iss.JWKS()}}}}
	c := func(edit func(m map[string]any)) map[string]any {
		m := iss.Claims("api")
		edit(m)
		return m
	}
	now := time.Now()
	a, err := NewAuthenticator(spec)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ tok, why string }{
		"alg none":                     {iss.None(iss.Claims("api"), "rsa1"), "alg none"},
		"HMAC with the RSA public key": {iss.HMACWithPublicKey(iss.Claims("api")), "HMAC"},
		"expired":                      {iss.Sign(c(func(m map[string]any) { m["exp"] = now.Add(-61 * time.Second).Unix() })), "expired"},
		"no exp":                       {iss.Sign(c(func(m map[string]any) { delete(m, "exp") })), "no valid exp"},
		"not yet valid":                {iss.Sign(c(func(m map[string]any) { m["nbf"] = now.Add(62 * time.Second).Unix() })), "not yet valid"},
		"wrong issuer":                 {iss.Sign(c(func(m map[string]any) { m["iss"] = "https://evil.example" })), "unknown issuer"},
		"wrong audience":               {iss.Sign(c(func(m map[string]any) { m["aud"] = "other-api" })), "wrong audience"},
		"bad signature":                {other.Sign(iss.Claims("api")), "bad signature"},
		"unknown kid":                  {iss.SignWith(iss.Claims("api"), jwa.RS256(), iss.RSA, "nope"), "unknown kid"},
		"EC alg with the RSA key":      {iss.SignWith(iss.Claims("api"), jwa.ES256(), iss.EC, "rsa1"), "not allowed for this key"},
		"RSA alg with the EC key":      {iss.SignWith(iss.Claims("api"), jwa.RS256(), iss.RSA, "ec1"), "not allowed for this key"},
		"garbage":                      {"not.a.token", "malformed"},
		"too large":                    {strings.Repeat("a", MaxTokenBytes+1), "too large"},
		"truncated signature":          {strings.TrimRight(iss.Sign(iss.Claims("api")), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), "alg none"},
	} {
		tok := tc.tok
		if _, err := a.Verify(t.Context(), tok); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: Verify error %v, want %q", name, err, tc.why)
		}
		rec, u := serve(t, spec, "Authorization", "Bearer "+tok)
		if rec.Code != 401 || u.hits != 0 {
			t.Errorf("%s: got %d (upstream hits %d), want 401", name, rec.Code, u.hits)
		}
		if !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: WWW-Authenticate %q", name, rec.Header().Get("WWW-Authenticate"))
		}
		if strings.Contains(rec.Body.String(), tok) {
			t.Errorf("%s: body echoes the token", name)
		}
	}
	rec, _ := serve(t, spec)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="agentgateway"` {
		t.Errorf("missing token in strict mode: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	good := iss.Sign(iss.Claims("api"))
	rec, _ = serve(t, spec, "Authorization", "Bearer "+good, "Authorization", "Bearer "+good)
	if rec.Code != 401 {
		t.Errorf("two Authorization headers: %d", rec.Code)
	}
}

func TestAcceptsAndStripsToken(t *testing.T) {
	iss := jwttest.New(t, "https://idp.example")
	spec := Spec{Mode: authn.Strict, Providers: []Provider{{Issuer: iss.Iss, Audiences: []string{"a", "api"}, JWKS: JWKS{Inline: iss.JWKS()}}}}
	for name, tok := range map[string]string{
		"RS256": iss.Sign(iss.Claims("api")),
		"ES256": iss.SignWith(iss.Claims("api"), jwa.ES256(), iss.EC, "ec1"),
		"PS384": iss.SignWith(iss.Claims("api"), jwa.PS384(), iss.RSA, "rsa1"),
		"expired within leeway": iss.Sign(func() map[string]any {
			m := iss.Claims("api")
			m["exp"] = time.Now().Add(-30 * time.Second).Unix()
			return m
		}()),
		"aud list": iss.Sign(func() map[string]any { m := iss.Claims("x"); m["aud"] = []string{"y", "api"}; return m }()),
	} {
		rec, u := serve(t, spec, "Authorization", "bearer "+tok)
		if rec.Code != 200 || u.authz != "" || u.claims["sub"] != "alice" {
			t.Errorf("%s: got %d, upstream Authorization %q, claims %v", name, rec.Code, u.authz, u.claims)
		}
	}
}

func TestModes(t *testing.T) {
	iss := jwttest.New(t, "https://idp.example")
	p := []Provider{{Issuer: iss.Iss, JWKS: JWKS{Inline: iss.JWKS()}}}
	bad := "Bearer " + iss.None(iss.Claims("x"), "rsa1")
	for _, tc := range []struct {
		mode       authn.Mode
		hdr        []string
		want, hits int
	}{
		{authn.Optional, nil, 200, 1},
		{authn.Optional, []string{"Authorization", bad}, 401, 0},
		{authn.Permissive, []string{"Authorization", bad}, 200, 1},
		{authn.Permissive, nil, 200, 1},
		{authn.Strict, []string{"Authorization", "Basic dTpw"}, 401, 0}, // another scheme is no token
	} {
		rec, u := serve(t, Spec{Mode: tc.mode, Providers: p}, tc.hdr...)
		if rec.Code != tc.want || u.hits != tc.hits {
			t.Errorf("mode %d %v: got %d/%d", tc.mode, tc.hdr, rec.Code, u.hits)
		}
		if tc.mode == authn.Permissive && len(tc.hdr) > 0 && u.authz == "" {
			t.Errorf("permissive mode removed an unvalidated token")
		}
	}
}

func TestSeveralProviders(t *testing.T) {
	a, b := jwttest.New(t, "https://a.example"), jwttest.New(t, "https://b.example")
	spec := Spec{Mode: authn.Strict, Providers: []Provider{
		{Issuer: a.Iss, JWKS: JWKS{Inline: a.JWKS()}},
		{Issuer: b.Iss, JWKS: JWKS{Inline: b.JWKS()}},
	}}
	for _, iss := range []*jwttest.Issuer{a, b} {
		if rec, _ := serve(t, spec, "Authorization", "Bearer "+iss.Sign(iss.Claims("x"))); rec.Code != 200 {
			t.Errorf("%s: %d", iss.Iss, rec.Code)
		}
	}
	// b's token claiming to be from a: verified with a's keys only.
	forged := b.Sign(map[string]any{"iss": a.Iss, "exp": time.Now().Add(time.Hour).Unix()})
	if rec, _ := serve(t, spec, "Authorization", "Bearer "+forged); rec.Code != 401 {
		t.Errorf("cross-issuer token: %d", rec.Code)
	}
}

func TestBadJWKSRejectedAtLoad(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":   "{",
		"no kid":     `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
		"oct key":    `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`,
		"no keys":    `{"keys":[]}`,
		"alg misfit": `{"keys":[{"kty":"EC","kid":"e","alg":"RS256","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`,
	} {
		if _, err := New(Spec{Providers: []Provider{{Issuer: "i", JWKS: JWKS{Inline: doc}}}}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Spec{Providers: []Provider{{Issuer: "i", JWKS: JWKS{URL: "ftp://x"}}}}); err == nil {
		t.Error("ftp JWKS URL accepted")
	}
}

func TestRemoteJWKSRefetchIsBounded(t *testing.T) {
	iss := jwttest.New(t, "https://idp.example")
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		time.Sleep(20 * time.Millisecond) // let concurrent lookups pile up behind the fetch
		_, _ = w.Write([]byte(iss.JWKS()))
	}))
	defer srv.Close()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	a, err := NewAuthenticator(Spec{Mode: authn.Strict, Now: now, Providers: []Provider{{Issuer: iss.Iss, JWKS: JWKS{URL: srv.URL}}}})
	if err != nil {
		t.Fatal(err)
	}
	mw := a.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	do := func(tok string) int {
		req := httptest.NewRequest("GET", "http://gw/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, req)
		return rec.Code
	}
	good := iss.Sign(iss.Claims("x"))
	// Concurrent first requests share one fetch.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if c := do(good); c != 200 {
				t.Errorf("first requests: %d", c)
			}
		})
	}
	wg.Wait()
	if n := served.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for concurrent first requests, want 1", n)
	}
	unknown := iss.SignWith(iss.Claims("x"), jwa.RS256(), iss.RSA, "rotated")
	for range 1000 {
		if c := do(unknown); c != 401 {
			t.Fatalf("unknown kid: %d", c)
		}
	}
	if n := served.Load(); n != 1 {
		t.Fatalf("unknown kids right after a fetch caused %d fetches, want none", n-1)
	}
	clock.Add(int64(DefaultRefetchInterval + time.Second))
	for range 1000 {
		do(unknown)
	}
	if n := served.Load(); n != 2 {
		t.Fatalf("after the refetch interval: %d fetches, want 2", n)
	}
	if c := do(good); c != 200 {
		t.Fatalf("known kid after refetches: %d", c)
	}
}

func TestRemoteJWKSOversizedOrFailing(t *testing.T) {
	iss := jwttest.New(t, "https://idp.example")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = w.Write([]byte(`{"keys":[` + strings.Repeat(" ", MaxJWKSBytes) + `]}`))
			return
		}
		http.Redirect(w, r, "/big", http.StatusFound)
	}))
	defer srv.Close()
	for _, path := range []string{"/big", "/redirect"} {
		rec, _ := serve(t, Spec{Mode: authn.Strict, Providers: []Provider{{Issuer: iss.Iss, JWKS: JWKS{URL: srv.URL + path}}}},
			"Authorization", "Bearer "+iss.Sign(iss.Claims("x")))
		if rec.Code != 401 {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
}

func TestPassthroughRestoresToken(t *testing.T) {
	iss := jwttest.New(t, "https://idp.example")
	mw, err := New(Spec{Mode: authn.Strict, Providers: []Provider{{Issuer: iss.Iss, JWKS: JWKS{Inline: iss.JWKS()}}}})
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{}
	h := mw(authn.Passthrough(nil)(u))
	tok := iss.Sign(iss.Claims("x"))
	req := httptest.NewRequest("GET", "http://gw/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if u.authz != "Bearer "+tok {
		t.Fatalf("upstream got %q", u.authz)
	}
}
