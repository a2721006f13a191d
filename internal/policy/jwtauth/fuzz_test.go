package jwtauth

import (
	"testing"

	"github.com/agentgw/agentgateway/internal/policy/jwtauth/jwttest"
)

// FuzzVerify: arbitrary tokens never panic the validator, and any token it
// accepts carries the provider's issuer and an exp.
func FuzzVerify(f *testing.F) {
	iss := jwttest.New(f, "https://idp.example")
	a, err := NewAuthenticator(Spec{Providers: []Provider{{Issuer: iss.Iss, Audiences: []string{"api"}, JWKS: JWKS{Inline: iss.JWKS()}}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(iss.Sign(iss.Claims("api")))
	f.Add(iss.None(iss.Claims("api"), "rsa1"))
	f.Add(iss.HMACWithPublicKey(iss.Claims("api")))
	f.Add("e30.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := a.Verify(t.Context(), tok)
		if err != nil {
			return
		}
		if claims["iss"] != iss.Iss || claims["exp"] == nil {
			t.Fatalf("accepted %q with claims %v", tok, claims)
		}
	})
}
