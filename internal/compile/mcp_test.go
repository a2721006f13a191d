package compile

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/backend"
	"github.com/agentgw/agentgateway/internal/config"
	"github.com/agentgw/agentgateway/internal/policy/jwtauth/jwttest"
)

func compileMCP(t *testing.T, yaml string) (*Snapshot, error) {
	t.Helper()
	cfg, err := config.Load([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	snap, err := Compile(cfg, testDeps(t, io.Discard))
	if err == nil {
		t.Cleanup(snap.Close)
	}
	return snap, err
}

// TestMCPPolicies: mcpAuthorization and mcpAuthentication are served on MCP
// routes (JWKS inline, file or URL, and in the mcp: shorthand), refused
// elsewhere, and their mistakes are reported with their path.
func TestMCPPolicies(t *testing.T) {
	jwks := jwttest.New(t, "https://idp.example").JWKS()
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, []byte(jwks), 0o600); err != nil {
		t.Fatal(err)
	}
	authn := func(jwksYAML string) string {
		return `
        mcpAuthentication:
          issuer: https://idp.example
          audiences: [http://localhost:3000/mcp]
          jwks: ` + jwksYAML + `
          resourceMetadata: {resource: http://localhost:3000/mcp}`
	}
	route := func(policies, backend string) string {
		return `
binds:
- port: 3000
  listeners:
  - routes:
    - name: r
      policies:` + policies + `
      backends: [` + backend + `]
`
	}
	const mcpBackend = `{mcp: {targets: [{name: t, mcp: {host: "http://127.0.0.1:1/mcp"}}]}}`
	const rules = `
        mcpAuthorization:
          rules: ['mcp.tool.name == "echo"', {deny: 'jwt.sub == "mallory"'}]`

	for _, tc := range []struct {
		name, yaml string
		err        []string // empty: compiles
		warn       string
	}{
		{"authorization", route(rules, mcpBackend), nil, ""},
		{"jwks inline", route(authn(`'`+jwks+`'`)+rules, mcpBackend), nil, ""},
		{"jwks file", route(authn(`{file: `+file+`}`), mcpBackend), nil, ""},
		{"jwks url", route(authn(`{url: "https://idp.example/jwks"}`), mcpBackend), nil, ""},
		{"shorthand", `
mcp:
  targets: [{name: t, mcp: {host: "http://127.0.0.1:1/mcp"}}]
  policies:
    apiKey: {keys: [{key: k-0123456789, metadata: {team: ops}}]}
    mcpAuthorization: {rules: ['apiKey.team == "ops"']}
`, nil, ""},
		{"backend-level authorization", route("\n        timeout: {requestTimeout: 5s}",
			`{mcp: {targets: [{name: t, mcp: {host: "http://127.0.0.1:1/mcp"}}]}, policies: {mcpAuthorization: {rules: ['true']}}}`), nil, ""},
		{"bad rule", route(`
        mcpAuthorization:
          rules: ['mcp.tool.name ==']`, mcpBackend), []string{"policies.mcpAuthorization.rules[0]", "invalid CEL"}, ""},
		{"not an MCP route", route(rules, `{host: 127.0.0.1:1}`), []string{"policies.mcpAuthorization", "mcp backend"}, ""},
		{"authentication not on an MCP route", route(authn(`{file: `+file+`}`), `{host: 127.0.0.1:1}`), []string{"policies.mcpAuthentication", "mcp backend"}, ""},
		{"no jwks", route(`
        mcpAuthentication:
          issuer: https://idp.example
          audiences: [x]
          resourceMetadata: {}`, mcpBackend), []string{"policies.mcpAuthentication", "jwks is required"}, ""},
		{"provider proxying", route(authn(`{file: `+file+`}`)+"\n          provider: {keycloak: {}}", mcpBackend), []string{"mcpAuthentication", "not supported yet"}, ""},
		{"audience is not the resource", route(`
        mcpAuthentication:
          issuer: https://idp.example
          audiences: [other]
          jwks: {file: `+file+`}
          resourceMetadata: {resource: http://localhost:3000/mcp}`, mcpBackend), nil, "audiences do not include resourceMetadata.resource"},
		{"metadata path outside the matches", strings.Replace(route(authn(`{file: `+file+`}`), mcpBackend),
			"    - name: r\n", "    - name: r\n      matches: [{path: {pathPrefix: /mcp}}]\n", 1), nil, "add a match `pathPrefix: /.well-known/oauth-protected-resource`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := compileMCP(t, tc.yaml)
			if len(tc.err) == 0 {
				if err != nil {
					t.Fatalf("compile: %v", err)
				}
				warnings := strings.Join(snap.Warnings, "\n")
				if tc.warn != "" && !strings.Contains(warnings, tc.warn) {
					t.Fatalf("warning %q missing from:\n%s", tc.warn, warnings)
				}
				return
			}
			if err == nil {
				t.Fatal("compiled; want an error")
			}
			for _, w := range tc.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestMCPTargetTransport: plain-HTTP targets share the host backends'
// upstream transport (lean HTTP/1.1 client, pools kept across reloads);
// https targets, with or without backendTLS, keep a TLS transport of their
// own (h2 by ALPN, the target's TLS settings).
func TestMCPTargetTransport(t *testing.T) {
	plain, _ := backend.NewTransports().Plain()
	for _, tc := range []struct {
		name   string
		target config.MCPTarget
		shared bool
	}{
		{"http", config.MCPTarget{Name: "a", MCP: &config.MCPHost{Host: "http://127.0.0.1:9/mcp"}}, true},
		{"host:port", config.MCPTarget{Name: "a", MCP: &config.MCPHost{Host: "127.0.0.1:9"}}, true},
		{"sse", config.MCPTarget{Name: "a", SSE: &config.MCPHost{Host: "http://127.0.0.1:9/sse"}}, true},
		{"https", config.MCPTarget{Name: "a", MCP: &config.MCPHost{Host: "https://mcp.example/mcp"}}, false},
		{"backendTLS", config.MCPTarget{Name: "a", MCP: &config.MCPHost{Host: "http://mcp.example/mcp"},
			Policies: &config.SimpleBackendPolicies{BackendTLS: &config.BackendTLS{}}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, err := mcpTarget(&tc.target, nil, nil, plain)
			if err != nil {
				t.Fatal(err)
			}
			if spec.HTTP == nil {
				t.Fatal("no HTTP client")
			}
			if got := spec.HTTP.Transport == plain; got != tc.shared {
				t.Fatalf("shared transport: %v, want %v (URL %s)", got, tc.shared, spec.URL)
			}
			if !tc.shared && !strings.HasPrefix(spec.URL, "https://") {
				t.Fatalf("URL %s: a TLS target must be https", spec.URL)
			}
		})
	}
}
