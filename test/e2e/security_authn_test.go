package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"golang.org/x/crypto/bcrypt"

	"github.com/agentgw/agentgateway/internal/policy/jwtauth/jwttest"
)

// authReq sends method path with headers and returns the status and, for a
// request that reached the echo backend, what the backend saw.
func authReq(t *testing.T, port int, method, path string, hdr ...string) (int, *seen, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Backend") == "" {
		return resp.StatusCode, nil, resp.Header
	}
	var s seen
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, &s, resp.Header
}

func basicCred(u, p string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
}

// TestSecurityAuthentication drives jwtAuth (inline and remote JWKS, several
// providers), apiKey, basicAuth and backendAuth.passthrough through the real
// binary: every rejection case with its status, and what the backend sees.
func TestSecurityAuthentication(t *testing.T) {
	idp := jwttest.New(t, "https://idp.example")
	idp2 := jwttest.New(t, "https://idp2.example")
	var fetches atomic.Int32
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_, _ = w.Write([]byte(idp2.JWKS()))
	}))
	defer jwksSrv.Close()
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("alice:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	be := echoBackend(t, "be")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %[1]d
  listeners:
  - routes:
    - name: jwt
      matches: [{path: {pathPrefix: /jwt}}]
      policies:
        jwtAuth:
          mode: strict
          issuer: https://idp.example
          audiences: [api]
          jwks: '%[2]s'
      backends: [{host: %[3]s}]
    - name: multi
      matches: [{path: {pathPrefix: /multi}}]
      policies:
        jwtAuth:
          mode: strict
          providers:
          - issuer: https://idp.example
            jwks: '%[2]s'
          - issuer: https://idp2.example
            audiences: [api2]
            jwks: {url: "%[4]s"}
        backendAuth: {passthrough: {}}
      backends: [{host: %[3]s}]
    - name: optional
      matches: [{path: {pathPrefix: /optional}}]
      policies:
        jwtAuth: {issuer: https://idp.example, jwks: '%[2]s'}
      backends: [{host: %[3]s}]
    - name: key
      matches: [{path: {pathPrefix: /key}}]
      policies:
        apiKey:
          mode: strict
          keys:
          - key: sk-team-alpha-7f3c1e9a2b
            metadata: {team: alpha}
          - keyHash: "sha256:%[5]s"
      backends: [{host: %[3]s}]
    - name: headerkey
      matches: [{path: {pathPrefix: /hkey}}]
      policies:
        apiKey:
          mode: strict
          location: {header: {name: x-api-key}}
          keys: [{key: sk-header-1234567890}]
      backends: [{host: %[3]s}]
    - name: basic
      matches: [{path: {pathPrefix: /basic}}]
      policies:
        basicAuth:
          mode: strict
          realm: ops
          htpasswd: {file: %[6]s}
      backends: [{host: %[3]s}]
`, port, idp.JWKS(), hostOf(be), jwksSrv.URL, sha256hex("sk-hashed-0b5e2c7d41"), htpasswd))

	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := idp.Claims("api")
		if edit != nil {
			edit(c)
		}
		return c
	}
	good := idp.Sign(claims(nil))
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	t.Run("jwt rejections", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			hdr  []string
		}{
			{"alg none", bearer(idp.None(claims(nil), "rsa1"))},
			{"HMAC signed with the RSA public key", bearer(idp.HMACWithPublicKey(claims(nil)))},
			{"expired", bearer(idp.Sign(claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })))},
			{"no exp", bearer(idp.Sign(claims(func(c map[string]any) { delete(c, "exp") })))},
			{"not yet valid", bearer(idp.Sign(claims(func(c map[string]any) { c["nbf"] = now.Add(2 * time.Minute).Unix() })))},
			{"wrong issuer", bearer(idp.Sign(claims(func(c map[string]any) { c["iss"] = "https://evil.example" })))},
			{"wrong audience", bearer(idp.Sign(claims(func(c map[string]any) { c["aud"] = "other" })))},
			{"bad signature", bearer(jwttest.New(t, idp.Iss).Sign(claims(nil)))},
			{"unknown kid", bearer(idp.SignWith(claims(nil), jwa.RS256(), idp.RSA, "rotated"))},
			{"missing token in strict mode", nil},
			{"two Authorization headers", append(bearer(good), bearer(good)...)},
		} {
			status, s, h := authReq(t, port, "GET", "/jwt", tc.hdr...)
			if status != 401 || s != nil {
				t.Errorf("%s: got %d (reached backend: %v), want 401", tc.name, status, s != nil)
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, h.Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("valid jwt reaches the backend without the token", func(t *testing.T) {
		status, s, _ := authReq(t, port, "GET", "/jwt", bearer(good)...)
		if status != 200 || s == nil || s.Header.Get("Authorization") != "" {
			t.Fatalf("got %d, backend saw %v", status, s)
		}
	})
	t.Run("optional mode", func(t *testing.T) {
		if status, _, _ := authReq(t, port, "GET", "/optional"); status != 200 {
			t.Errorf("no token: %d", status)
		}
		if status, _, _ := authReq(t, port, "GET", "/optional", bearer(idp.None(claims(nil), "rsa1"))...); status != 401 {
			t.Errorf("bad token: %d", status)
		}
	})
	t.Run("several providers, remote JWKS, passthrough", func(t *testing.T) {
		tok2 := idp2.Sign(idp2.Claims("api2"))
		for range 3 {
			status, s, _ := authReq(t, port, "GET", "/multi", bearer(tok2)...)
			if status != 200 || s == nil || s.Header.Get("Authorization") != "Bearer "+tok2 {
				t.Fatalf("idp2 token: %d %v", status, s)
			}
		}
		if status, _, _ := authReq(t, port, "GET", "/multi", bearer(good)...); status != 200 {
			t.Errorf("idp token: %d", status)
		}
		if status, _, _ := authReq(t, port, "GET", "/multi", bearer(idp2.Sign(idp2.Claims("api")))...); status != 401 {
			t.Errorf("idp2 token for the wrong audience: %d", status)
		}
		unknown := idp2.SignWith(idp2.Claims("api2"), jwa.RS256(), idp2.RSA, "rotated")
		for range 50 {
			if status, _, _ := authReq(t, port, "GET", "/multi", bearer(unknown)...); status != 401 {
				t.Fatalf("unknown kid: %d", status)
			}
		}
		if n := fetches.Load(); n != 1 {
			t.Errorf("JWKS fetched %d times; unknown kids must not refetch within the interval", n)
		}
	})
	t.Run("api keys", func(t *testing.T) {
		for _, tc := range []struct {
			name, path string
			hdr        []string
			want       int
		}{
			{"plain key", "/key", bearer("sk-team-alpha-7f3c1e9a2b"), 200},
			{"hashed key", "/key", bearer("sk-hashed-0b5e2c7d41"), 200},
			{"wrong API key", "/key", bearer("sk-team-alpha-7f3c1e9a2c"), 401},
			{"missing key", "/key", nil, 401},
			{"key in the wrong header", "/hkey", bearer("sk-header-1234567890"), 401},
			{"custom header", "/hkey", []string{"X-Api-Key", "sk-header-1234567890"}, 200},
		} {
			status, s, _ := authReq(t, port, "GET", tc.path, tc.hdr...)
			if status != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, status, tc.want)
			}
			if s != nil && (s.Header.Get("Authorization") != "" || s.Header.Get("X-Api-Key") != "") {
				t.Errorf("%s: the key reached the backend", tc.name)
			}
		}
	})
	t.Run("basic auth", func(t *testing.T) {
		for _, tc := range []struct {
			name, authz string
			want        int
		}{
			{"right password", basicCred("alice", "s3cret"), 200},
			{"wrong password", basicCred("alice", "s3cre"), 401},
			{"unknown user", basicCred("bob", "s3cret"), 401},
			{"no credentials", "", 401},
		} {
			var hdr []string
			if tc.authz != "" {
				hdr = []string{"Authorization", tc.authz}
			}
			status, _, h := authReq(t, port, "GET", "/basic", hdr...)
			if status != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, status, tc.want)
			}
			if tc.want == 401 && h.Get("WWW-Authenticate") != `Basic realm="ops"` {
				t.Errorf("%s: challenge %q", tc.name, h.Get("WWW-Authenticate"))
			}
		}
	})
	t.Run("secrets never logged and the reason label", func(t *testing.T) {
		logs := g.Logs()
		for _, secret := range []string{good, "sk-team-alpha-7f3c1e9a2b", "sk-team-alpha-7f3c1e9a2c", "s3cret", "czNjcmV0"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain a credential %.12q…", secret)
			}
		}
		_, body := get(t, "http://"+g.Stats+"/metrics")
		if !strings.Contains(body, `reason="Unauthorized"`) {
			t.Errorf("no Unauthorized reason in metrics")
		}
	})
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
