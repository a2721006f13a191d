package mcp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/cel"
	"github.com/agentgw/agentgateway/internal/policy/authz"
)

// policy compiles mcpAuthorization rules (allow unless prefixed "deny:").
func policy(t *testing.T, rules ...string) *authz.Policy {
	t.Helper()
	var spec authz.Spec
	for _, r := range rules {
		kind := authz.Allow
		if e, ok := strings.CutPrefix(r, "deny:"); ok {
			kind, r = authz.Deny, e
		}
		spec.Rules = append(spec.Rules, authz.Rule{Kind: kind, Expr: r})
	}
	p, err := authz.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// withUser stands in for jwtAuth: X-Test-Sub becomes the identity's jwt.sub.
func withUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, r := cel.EnsureIdentity(r)
		if sub := r.Header.Get("X-Test-Sub"); sub != "" {
			id.JWT = map[string]any{"sub": sub}
		}
		next.ServeHTTP(w, r)
	})
}

func authzGateway(t *testing.T, spec Spec) string {
	t.Helper()
	spec.Key = make([]byte, 32)
	spec.Route = "test"
	h, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withUser(h))
	t.Cleanup(func() {
		srv.Close()
		h.Close()
	})
	return srv.URL
}

func connectAs(t *testing.T, url, sub string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	hc := &http.Client{Transport: headerRT{"X-Test-Sub", sub}}
	var tr mcp.Transport = &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc, MaxRetries: -1}
	if strings.HasSuffix(url, "/sse") {
		tr = &mcp.SSEClientTransport{Endpoint: url, HTTPClient: hc}
	}
	cs, err := c.Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func forbidden(t *testing.T, what string, err error) {
	t.Helper()
	var we *jsonrpc.Error
	if !errors.As(err, &we) || we.Code != codeForbidden || !strings.Contains(we.Message, "not allowed") {
		t.Fatalf("%s: want a Forbidden JSON-RPC error, got %v", what, err)
	}
}

// TestAuthorizationFiltersListsAndRefusesCalls: denied tools, prompts and
// resources are missing from the lists and refused when called by name.
func TestAuthorizationFiltersListsAndRefusesCalls(t *testing.T) {
	a, b := newUpstream(t, "a"), newUpstream(t, "b")
	pol := policy(t,
		`deny:mcp.tool.name == "sample"`,   // hidden on both targets
		`deny:mcp.prompt.target == "beta"`, // beta's prompts
		`deny:mcp.resource.target == "beta"`)
	url := authzGateway(t, Spec{Authz: pol, Targets: []*TargetSpec{target("alpha", a), target("beta", b)}})
	cs := connectAs(t, url+"/mcp", "")
	ctx := context.Background()

	want := []string{"alpha_echo", "alpha_progress", "beta_echo", "beta_progress"}
	if got := toolNames(t, cs); !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	if got := callText(t, cs, "beta_echo"); got != "b:x" {
		t.Fatalf("allowed call: %q", got)
	}
	_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "alpha_sample", Arguments: map[string]any{"text": "x"}})
	forbidden(t, "tools/call of a hidden tool", err)

	pl, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(pl.Prompts) != 1 || pl.Prompts[0].Name != "alpha_greet" {
		t.Fatalf("prompts: %+v %v", pl, err)
	}
	if _, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "alpha_greet"}); err != nil {
		t.Fatal(err)
	}
	_, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "beta_greet"})
	forbidden(t, "prompts/get of a hidden prompt", err)

	rl, err := cs.ListResources(ctx, nil)
	if err != nil || len(rl.Resources) != 1 || rl.Resources[0].URI != "alpha+test://static/1" {
		t.Fatalf("resources: %+v %v", rl, err)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "alpha+test://static/1"}); err != nil {
		t.Fatal(err)
	}
	_, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "beta+test://static/1"})
	forbidden(t, "resources/read of a hidden resource", err)
	forbidden(t, "resources/subscribe of a hidden resource", cs.Subscribe(ctx, &mcp.SubscribeParams{URI: "beta+test://static/1"}))
	// A name no target lists is refused too, before any target is asked.
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "beta_sample"})
	forbidden(t, "tools/call of an unlisted name", err)
}

func callText(t *testing.T, cs *mcp.ClientSession, name string) string {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: map[string]any{"text": "x"}})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return text(t, res)
}

// TestAuthorizationUsesTheIdentity: rules see jwt.* set by the route's
// authentication, per request, on streamable HTTP, legacy SSE (the
// identity of the stream's GET) and stateless mode; a rule that fails to
// evaluate (jwt.sub without a token) denies.
func TestAuthorizationUsesTheIdentity(t *testing.T) {
	up := newUpstream(t, "one")
	pol := policy(t, `mcp.tool.name == "echo"`, `jwt.sub == "alice"`)
	for _, mode := range []string{"streamable", "sse", "stateless"} {
		t.Run(mode, func(t *testing.T) {
			url := authzGateway(t, Spec{Authz: pol, Stateless: mode == "stateless", Targets: []*TargetSpec{target("one", up)}})
			path := "/mcp"
			if mode == "sse" {
				path = "/sse"
			}
			alice := connectAs(t, url+path, "alice")
			if got := toolNames(t, alice); !slices.Equal(got, []string{"echo", "progress", "sample"}) {
				t.Fatalf("alice sees %v", got)
			}
			bob := connectAs(t, url+path, "bob")
			if got := toolNames(t, bob); !slices.Equal(got, []string{"echo"}) {
				t.Fatalf("bob sees %v", got)
			}
			if got := callText(t, bob, "echo"); got != "one:x" {
				t.Fatalf("bob echo: %q", got)
			}
			_, err := bob.CallTool(context.Background(), &mcp.CallToolParams{Name: "progress"})
			forbidden(t, "bob progress", err)
			// No identity: jwt.sub cannot be evaluated, which denies (echo
			// still matches the first rule, evaluated before).
			anon := connectAs(t, url+path, "")
			if got := toolNames(t, anon); !slices.Equal(got, []string{"echo"}) {
				t.Fatalf("anonymous sees %v", got)
			}
			_, err = anon.CallTool(context.Background(), &mcp.CallToolParams{Name: "sample"})
			forbidden(t, "anonymous sample", err)
		})
	}
}

// TestAuthorizationEvaluationErrorDenies: a rule that errors for every
// request (a missing header) hides everything and refuses every call.
func TestAuthorizationEvaluationErrorDenies(t *testing.T) {
	up := newUpstream(t, "one")
	url := authzGateway(t, Spec{Authz: policy(t, `deny:request.headers["x-missing"] == "1"`), Targets: []*TargetSpec{target("one", up)}})
	cs := connectAs(t, url+"/mcp", "")
	if got := toolNames(t, cs); len(got) != 0 {
		t.Fatalf("tools = %v, want none", got)
	}
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "x"}})
	forbidden(t, "call", err)
	rl, err := cs.ListResources(context.Background(), nil)
	if err != nil || len(rl.Resources) != 0 {
		t.Fatalf("resources: %+v %v", rl, err)
	}
}

// TestAuthorizationHeaderIsNotForgeable: a client sending the internal
// request header itself gains nothing, and the header never goes upstream.
func TestAuthorizationHeaderIsNotForgeable(t *testing.T) {
	up := newUpstream(t, "one")
	url := authzGateway(t, Spec{Authz: policy(t, `jwt.sub == "alice"`), Targets: []*TargetSpec{target("one", up)}})
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	hc := &http.Client{Transport: headerRT{requestHeader, "guess"}}
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if got := toolNames(t, cs); len(got) != 0 {
		t.Fatalf("tools = %v, want none", got)
	}
	if v := up.lastHdr.Load().(http.Header).Get(requestHeader); v != "" {
		t.Fatalf("upstream saw %s: %q", requestHeader, v)
	}
}
