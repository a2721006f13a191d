package basicauth

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/policy/authn"
)

func htpasswd(t *testing.T) string {
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// carol's {SHA} is htpasswd -s for "password".
	return "# users\nalice:" + string(h) + "\n\ncarol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"
}

func basic(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }

func TestBasicAuth(t *testing.T) {
	db := htpasswd(t)
	for _, tc := range []struct {
		name, authz string
		mode        authn.Mode
		want        int
		user        string
	}{
		{"bcrypt user", basic("alice", "s3cret"), authn.Strict, 200, "alice"},
		{"sha user", basic("carol", "password"), authn.Strict, 200, "carol"},
		{"wrong password", basic("alice", "nope"), authn.Strict, 401, ""},
		{"wrong password, optional", basic("alice", "nope"), authn.Optional, 401, ""},
		{"unknown user", basic("mallory", "s3cret"), authn.Strict, 401, ""},
		{"not base64", "Basic !!!", authn.Strict, 401, ""},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice")), authn.Strict, 401, ""},
		{"missing, strict", "", authn.Strict, 401, ""},
		{"missing, optional", "", authn.Optional, 200, ""},
	} {
		mw, err := New(Spec{Htpasswd: db, Realm: "ops", Mode: tc.mode})
		if err != nil {
			t.Fatal(err)
		}
		var user, authz string
		h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if id := cel.IdentityFrom(r.Context()); id != nil {
				user, _ = id.BasicAuth["username"].(string)
			}
			authz = r.Header.Get("Authorization")
		}))
		req := httptest.NewRequest("GET", "http://gw/", nil)
		if tc.authz != "" {
			req.Header.Set("Authorization", tc.authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want || user != tc.user {
			t.Errorf("%s: %d user %q, want %d %q", tc.name, rec.Code, user, tc.want, tc.user)
		}
		if tc.want == 401 && rec.Header().Get("WWW-Authenticate") != `Basic realm="ops"` {
			t.Errorf("%s: challenge %q", tc.name, rec.Header().Get("WWW-Authenticate"))
		}
		if tc.want == 200 && tc.user != "" && authz != "" {
			t.Errorf("%s: credentials forwarded upstream", tc.name)
		}
	}
}

func TestBadHtpasswdRejected(t *testing.T) {
	for name, db := range map[string]string{
		"empty":      "# nobody\n",
		"apr1":       "bob:$apr1$abc$def\n",
		"plain":      "bob:password\n",
		"no hash":    "bob\n",
		"bad bcrypt": "bob:$2y$10$short\n",
		"duplicate":  "carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\ncarol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
	} {
		if _, err := New(Spec{Htpasswd: db}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Spec{Htpasswd: "carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", Realm: `a"b`}); err == nil {
		t.Error("quote in realm accepted")
	}
}
