package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/policy/jwtauth/jwttest"
)

// newMCPAuthzServer is an MCP server (streamable HTTP) with a public and a
// secret tool, prompt and resource each.
func newMCPAuthzServer(t testing.TB) string {
	t.Helper()
	srv := mcp.NewServer(&mcp.Implementation{Name: "authz", Version: "1"}, nil)
	for _, name := range []string{"echo", "secret"} {
		mcp.AddTool(srv, &mcp.Tool{Name: name}, func(ctx context.Context, req *mcp.CallToolRequest, in textIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + in.Text}}}, nil, nil
		})
	}
	for _, name := range []string{"greet", "secret-prompt"} {
		srv.AddPrompt(&mcp.Prompt{Name: name}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: name}}}}, nil
		})
	}
	for _, uri := range []string{"test://public", "test://secret"} {
		srv.AddResource(&mcp.Resource{URI: uri, Name: uri}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, Text: uri}}}, nil
		})
	}
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	return ts.URL + "/mcp"
}

// authRT adds one header to every request of the Go SDK client.
type authRT struct {
	base *http.Transport
	k, v string
}

func (a authRT) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if a.v != "" {
		r.Header.Set(a.k, a.v)
	}
	return a.base.RoundTrip(r)
}

// mcpConnectWith connects the Go SDK client through base, adding a header.
// The caller closes base's idle connections before stopping the gateway:
// the client's concurrent requests can leave a dialled, never used
// connection, which holds the gateway's drain for 5 s (net/http).
func mcpConnectWith(t *testing.T, base *http.Transport, url, header, value string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "agentgateway-e2e-go", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1, HTTPClient: &http.Client{Transport: authRT{base, header, value}}}
	cs, err := c.Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// visible lists what the session sees: tools, prompts, resources.
func visible(t *testing.T, cs *mcp.ClientSession) (tools, prompts, resources []string) {
	t.Helper()
	ctx := context.Background()
	tl, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range tl.Tools {
		tools = append(tools, x.Name)
	}
	pl, err := cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range pl.Prompts {
		prompts = append(prompts, x.Name)
	}
	rl, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range rl.Resources {
		resources = append(resources, x.URI)
	}
	slices.Sort(tools)
	slices.Sort(prompts)
	slices.Sort(resources)
	return
}

// refused checks that calling the secret tool, prompt and resource by name
// gets the Forbidden JSON-RPC error.
func refused(t *testing.T, cs *mcp.ClientSession) {
	t.Helper()
	ctx := context.Background()
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "secret", Arguments: map[string]any{"text": "x"}})
	_, perr := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "secret-prompt"})
	_, rerr := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "test://secret"})
	for what, e := range map[string]error{"tools/call": err, "prompts/get": perr, "resources/read": rerr} {
		if e == nil || !strings.Contains(e.Error(), "Forbidden") {
			t.Errorf("%s of a hidden name: want Forbidden, got %v", what, e)
		}
	}
}

// TestSecurityMCP: mcpAuthentication (RFC 9728 metadata, 401 with
// resource_metadata, audience = the resource), and mcpAuthorization fed by
// mcpAuthentication's, a route-level jwtAuth's and the mcp: shorthand's
// apiKey identities.
func TestSecurityMCP(t *testing.T) {
	up := newMCPAuthzServer(t)
	idp := jwttest.New(t, "https://idp.example")
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, []byte(idp.JWKS()), 0o600); err != nil {
		t.Fatal(err)
	}
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	resource := fmt.Sprintf("http://127.0.0.1:%d/mcp", p1)
	public := `'mcp.tool.name == "echo" || mcp.prompt.name == "greet" || mcp.resource.name == "test://public"'`
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %[1]d
  listeners:
  - routes:
    - policies:
        mcpAuthentication:
          issuer: https://idp.example
          audiences: [%[4]s]
          jwks: {file: %[5]s}
          resourceMetadata:
            resource: %[4]s
            scopesSupported: [mcp]
        mcpAuthorization:
          rules:
          - %[7]s
          - 'jwt.sub == "admin"'
      backends:
      - mcp: {targets: [{name: up, mcp: {host: %[6]s}}]}
- port: %[3]d
  listeners:
  - routes:
    - policies:
        jwtAuth: {mode: strict, issuer: https://idp.example, audiences: [api], jwks: {file: %[5]s}}
        mcpAuthorization: {rules: ['jwt.sub == "admin"', %[7]s]}
      backends:
      - mcp: {targets: [{name: up, mcp: {host: %[6]s}}]}
mcp:
  port: %[2]d
  targets: [{name: up, mcp: {host: %[6]s}}]
  policies:
    apiKey:
      mode: strict
      keys:
      - {key: sk-ops-0123456789, metadata: {team: ops}}
      - {key: sk-dev-0123456789, metadata: {team: dev}}
      - {key: sk-guest-0123456789}
    mcpAuthorization:
      rules:
      - allow: 'apiKey.team == "ops"'
      - allow: %[7]s
`, p1, p2, p3, resource, jwks, up, public))
	_ = g
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections) // runs before the gateway stops

	t.Run("metadata", func(t *testing.T) {
		resp, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/.well-known/oauth-protected-resource/mcp", p1))
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); resp.StatusCode != 200 || err != nil {
			t.Fatalf("metadata: %d %s", resp.StatusCode, body)
		}
		if doc["resource"] != resource || fmt.Sprint(doc["authorization_servers"]) != "[https://idp.example]" || fmt.Sprint(doc["scopes_supported"]) != "[mcp]" {
			t.Fatalf("metadata document: %s", body)
		}
	})
	t.Run("no token", func(t *testing.T) {
		status, h, body := rpc(t, resource, "", initBody)
		want := fmt.Sprintf(`Bearer resource_metadata="http://127.0.0.1:%d/.well-known/oauth-protected-resource/mcp"`, p1)
		if status != 401 || h.Get("WWW-Authenticate") != want {
			t.Fatalf("no token: %d %q %s", status, h.Get("WWW-Authenticate"), body)
		}
	})
	t.Run("wrong audience", func(t *testing.T) {
		status, _, body := rpc(t, resource, "", initBody, "Authorization", "Bearer "+idp.Sign(idp.Claims("http://other.example/mcp")))
		if status != 401 {
			t.Fatalf("token for another resource: %d %s", status, body)
		}
	})
	t.Run("valid token", func(t *testing.T) {
		user := mcpConnectWith(t, base, resource, "Authorization", "Bearer "+idp.Sign(idp.Claims(resource)))
		tools, prompts, resources := visible(t, user)
		if !slices.Equal(tools, []string{"echo"}) || !slices.Equal(prompts, []string{"greet"}) || !slices.Equal(resources, []string{"test://public"}) {
			t.Fatalf("alice sees %v %v %v", tools, prompts, resources)
		}
		if got := callText(t, user, "echo", map[string]any{"text": "hi"}); got != "echo:hi" {
			t.Fatalf("echo: %q", got)
		}
		refused(t, user)
		claims := idp.Claims(resource)
		claims["sub"] = "admin"
		admin := mcpConnectWith(t, base, resource, "Authorization", "Bearer "+idp.Sign(claims))
		if tools, prompts, resources := visible(t, admin); len(tools) != 2 || len(prompts) != 2 || len(resources) != 2 {
			t.Fatalf("admin sees %v %v %v", tools, prompts, resources)
		}
		if got := callText(t, admin, "secret", map[string]any{"text": "s"}); got != "secret:s" {
			t.Fatalf("admin secret: %q", got)
		}
	})
	t.Run("route jwtAuth", func(t *testing.T) {
		url := fmt.Sprintf("http://127.0.0.1:%d/mcp", p3)
		cs := mcpConnectWith(t, base, url, "Authorization", "Bearer "+idp.Sign(idp.Claims("api")))
		if tools, _, _ := visible(t, cs); !slices.Equal(tools, []string{"echo"}) {
			t.Fatalf("alice sees %v", tools)
		}
		refused(t, cs)
	})
	t.Run("shorthand apiKey", func(t *testing.T) {
		url := fmt.Sprintf("http://127.0.0.1:%d/mcp", p2)
		if status, _, _ := rpc(t, url, "", initBody); status != 401 {
			t.Fatalf("no key: %d", status)
		}
		ops := mcpConnectWith(t, base, url, "Authorization", "Bearer sk-ops-0123456789")
		if tools, prompts, resources := visible(t, ops); len(tools) != 2 || len(prompts) != 2 || len(resources) != 2 {
			t.Fatalf("ops sees %v %v %v", tools, prompts, resources)
		}
		dev := mcpConnectWith(t, base, url, "Authorization", "Bearer sk-dev-0123456789")
		if tools, prompts, resources := visible(t, dev); !slices.Equal(tools, []string{"echo"}) || len(prompts) != 1 || len(resources) != 1 {
			t.Fatalf("dev sees %v %v %v", tools, prompts, resources)
		}
		refused(t, dev)
		// The guest key has no team: apiKey.team fails to evaluate, which
		// denies, even what the second rule would allow.
		guest := mcpConnectWith(t, base, url, "Authorization", "Bearer sk-guest-0123456789")
		if tools, prompts, resources := visible(t, guest); len(tools)+len(prompts)+len(resources) != 0 {
			t.Fatalf("guest sees %v %v %v", tools, prompts, resources)
		}
		if _, err := guest.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}}); err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("guest echo: %v", err)
		}
	})
}
