package vertex

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestAuthorize: the configured key wins; without one Spec.Token's token
// is sent, and its error is returned as is (the gateway shows it).
func TestAuthorize(t *testing.T) {
	fail := errors.New("no token")
	for _, c := range []struct {
		key, token string
		err        error
		want       string
	}{
		{"k", "t", nil, "Bearer k"},
		{"", "t", nil, "Bearer t"},
		{"", "", fail, ""},
	} {
		p := New(Spec{Project: "p", Token: func(context.Context) (string, error) { return c.token, c.err }})
		r, _ := http.NewRequest(http.MethodPost, "http://x/", nil)
		err := p.Authorize(r, nil, c.key)
		if !errors.Is(err, c.err) || r.Header.Get("Authorization") != c.want {
			t.Errorf("key %q: %v %q", c.key, err, r.Header.Get("Authorization"))
		}
	}
}
