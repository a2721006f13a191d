package compile

import (
	"io"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/config"
)

// TestSecurityConfigErrors: a bad CEL rule, JWKS, key or htpasswd rejects
// the config with the field's path and line.
func TestSecurityConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, policies string
		want           []string
	}{
		{"bad CEL rule", `
        authorization:
          rules:
          - 'request.method == "GET"'
          - deny: 'request.path.startsWith('`,
			[]string{"line 11", "policies.authorization.rules[1]", "invalid CEL expression"}},
		{"CEL rule of the wrong type", `
        authorization:
          rules: [{require: 'request.path + "x"'}]`,
			[]string{"policies.authorization.rules[0]", "want bool"}},
		{"bad JWKS", `
        jwtAuth: {issuer: me, jwks: '{"keys":[{"kty":"oct","kid":"k","k":"c2VjcmV0"}]}'}`,
			[]string{"line 8", "policies.jwtAuth", "symmetric"}},
		{"bad key hash", `
        apiKey: {keys: [{keyHash: "sha256:1234"}]}`,
			[]string{"policies.apiKey", "64 hex"}},
		{"md5 htpasswd", `
        basicAuth: {htpasswd: "bob:{MD5}xyz"}`,
			[]string{"policies.basicAuth", "bcrypt"}},
		{"expression location", `
        apiKey: {keys: [{key: k}], location: {expression: 'request.headers["x"]'}}`,
			[]string{"policies.apiKey", "expression"}},
		{"passthrough location", `
        jwtAuth: {issuer: me, jwks: {url: "https://idp.example/jwks"}}
        backendAuth: {passthrough: {location: {header: {name: x-token}}}}`,
			[]string{"backendAuth.passthrough.location"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := `
binds:
- port: 3000
  listeners:
  - routes:
    - name: r
      policies:` + tc.policies + `
      backends: [{host: 127.0.0.1:1}]
`
			cfg, err := config.Load([]byte(yaml), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			_, err = Compile(cfg, testDeps(t, io.Discard))
			if err == nil {
				t.Fatal("compiled")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestSecurityPoliciesInDump(t *testing.T) {
	snap := mustCompile(t, `
binds:
- port: 3000
  listeners:
  - routes:
    - name: r
      policies:
        cors: {allowOrigins: ["*"]}
        apiKey: {keys: [{key: k1}]}
        authorization: {rules: ['apiKey.team == "a"']}
        requestHeaderModifier: {set: {x: y}}
      backends: [{host: 127.0.0.1:1}]
`)
	got := snap.binds[0].Listeners[0].Routes[0].Policies
	want := "cors apiKey authorization headerModifiers"
	if strings.Join(got, " ") != want {
		t.Fatalf("policy order %v, want %s", got, want)
	}
}
