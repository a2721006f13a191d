package azure

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestAuthorize: a key is sent as api-key; without one Spec.Token's Entra
// token as a Bearer token, and its error is returned as is.
func TestAuthorize(t *testing.T) {
	fail := errors.New("no token")
	for _, c := range []struct {
		key, token        string
		err               error
		apiKey, bearer    string
		noTokenConfigured bool
	}{
		{key: "k", token: "t", apiKey: "k"},
		{token: "t", bearer: "Bearer t"},
		{err: fail},
		{noTokenConfigured: true},
	} {
		s := Spec{Resource: "r", Token: func(context.Context) (string, error) { return c.token, c.err }}
		if c.noTokenConfigured {
			s.Token = nil
		}
		r, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
		err := New(s).Authorize(r, nil, c.key)
		if !errors.Is(err, c.err) || r.Header.Get("Api-Key") != c.apiKey || r.Header.Get("Authorization") != c.bearer {
			t.Errorf("%+v: %v %v", c, err, r.Header)
		}
	}
}
