package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecurityAuthorization: CEL rules over request.*, source.*, jwt.* and
// apiKey.* with agentgateway's allow/deny/require semantics, failing closed
// when a rule cannot be evaluated; a bad rule rejects the config (at start
// and on reload) with its path and line.
func TestSecurityAuthorization(t *testing.T) {
	be := echoBackend(t, "be")
	port := freePort(t)
	cfg := fmt.Sprintf(`
binds:
- port: %[1]d
  listeners:
  - routes:
    - name: keyed
      matches: [{path: {pathPrefix: /keyed}}]
      policies:
        apiKey:
          keys:
          - {key: sk-alpha-9c1d2e3f4a5b, metadata: {team: alpha, level: 3}}
          - {key: sk-beta-5a4b3c2d1e0f, metadata: {team: beta, level: 1}}
        authorization:
          rules:
          - 'apiKey.team == "alpha"'
          - 'request.headers["x-override"] == "yes" && apiKey.level >= 1'
          - deny: 'request.method == "DELETE"'
          - require: 'cidr("127.0.0.0/8").containsIP(source.address)'
      backends: [{host: %[2]s}]
    - name: denylist
      matches: [{path: {pathPrefix: /denylist}}]
      policies:
        authorization:
          rules:
          - deny: 'request.path.endsWith("/secret")'
          - deny: 'request.headers["x-user"] == "mallory"'
      backends: [{host: %[2]s}]
`, port, hostOf(be))
	g := StartGateway(t, cfg)
	alpha := []string{"Authorization", "Bearer sk-alpha-9c1d2e3f4a5b"}
	beta := []string{"Authorization", "Bearer sk-beta-5a4b3c2d1e0f"}
	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		want               int
	}{
		{"allow rule matches", "GET", "/keyed", alpha, 200},
		{"CEL deny: no allow rule matches", "GET", "/keyed", beta, 403},
		{"second allow rule matches", "GET", "/keyed", append(beta, "X-Override", "yes"), 200},
		{"CEL deny rule wins", "DELETE", "/keyed", alpha, 403},
		{"CEL runtime error: no key, so apiKey.team is missing", "GET", "/keyed", nil, 403},
		{"deny-only rules allow the rest", "GET", "/denylist/ok", []string{"X-User", "alice"}, 200},
		{"deny rule matches", "GET", "/denylist/secret", []string{"X-User", "alice"}, 403},
		// agentgateway would allow this one: the second deny rule fails
		// (no x-user header) and an erroring rule counts as false there.
		{"CEL runtime error in a deny rule denies", "GET", "/denylist/ok", nil, 403},
	} {
		status, _, _ := authReq(t, port, tc.method, tc.path, tc.hdr...)
		if status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, status, tc.want)
		}
	}

	t.Run("bad rule rejected at load with path and line", func(t *testing.T) {
		bad := strings.Replace(cfg, `'apiKey.team == "alpha"'`, `'apiKey.team == '`, 1)
		f := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := runBinary(t, "", nil, "--validate-only", "-f", f)
		if code == 0 || !strings.Contains(out, "routes[0].policies.authorization.rules[0]") || !strings.Contains(out, "line 15") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("bad rule on reload keeps the running config", func(t *testing.T) {
		g.WriteConfig(strings.Replace(cfg, `'apiKey.team == "alpha"'`, `'nosuch.var'`, 1))
		g.WaitLog("config reload failed")
		if status, _, _ := authReq(t, port, "GET", "/keyed", alpha...); status != 200 {
			t.Fatalf("after a failed reload: %d", status)
		}
	})
}
