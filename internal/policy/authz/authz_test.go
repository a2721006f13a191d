package authz

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentgw/agentgateway/internal/cel"
)

func req(sub string) *http.Request {
	r := httptest.NewRequest("GET", "http://gw/admin/x", nil)
	r.Header.Set("X-Env", "prod")
	if sub != "" {
		id, r2 := cel.EnsureIdentity(r)
		id.JWT = map[string]any{"sub": sub, "groups": []any{"eng"}}
		r = r2
	}
	return r
}

func TestSemantics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rules []Rule
		sub   string
		want  bool
	}{
		{"no rules allow", nil, "", true},
		{"allow matches", []Rule{{Allow, `jwt.sub == "alice"`}}, "alice", true},
		{"allow does not match", []Rule{{Allow, `jwt.sub == "alice"`}}, "bob", false},
		{"one of two allows", []Rule{{Allow, `jwt.sub == "alice"`}, {Allow, `jwt.sub == "bob"`}}, "bob", true},
		{"deny wins over allow", []Rule{{Allow, `true`}, {Deny, `request.path.startsWith("/admin")`}}, "alice", false},
		{"deny-only set allows the rest", []Rule{{Deny, `request.method == "DELETE"`}}, "", true},
		{"require holds", []Rule{{Require, `"eng" in jwt.groups`}}, "alice", true},
		{"require fails", []Rule{{Require, `request.headers["x-env"] == "dev"`}}, "alice", false},
		{"require and allow", []Rule{{Require, `"eng" in jwt.groups`}, {Allow, `jwt.sub == "carol"`}}, "alice", false},
		// Fail closed: agentgateway would allow these two.
		{"erroring deny rule denies", []Rule{{Deny, `jwt.sub == "mallory"`}}, "", false},
		{"erroring allow rule denies even if another allows", []Rule{{Allow, `jwt.sub == "x"`}, {Allow, `true`}}, "", false},
		{"non-bool result denies", []Rule{{Allow, `request.headers["x-env"]`}}, "", false},
	} {
		p, err := Compile(Spec{Rules: tc.rules})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Allowed(req(tc.sub), nil); got != tc.want {
			t.Errorf("%s: allowed=%v want %v", tc.name, got, tc.want)
		}
		var hit bool
		rec := httptest.NewRecorder()
		p.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true })).ServeHTTP(rec, req(tc.sub))
		if hit != tc.want || !tc.want && rec.Code != 403 {
			t.Errorf("%s: middleware hit=%v status %d", tc.name, hit, rec.Code)
		}
	}
}

func TestCompileErrorsNameTheRule(t *testing.T) {
	_, err := Compile(Spec{Rules: []Rule{{Allow, `true`}, {Deny, `request.method ==`}, {Allow, `nope`}}})
	var re *RuleError
	if !errors.As(err, &re) || re.Index != 1 {
		t.Fatalf("got %v", err)
	}
}

func TestMCPHook(t *testing.T) {
	p, err := Compile(Spec{Rules: []Rule{{Allow, `mcp.tool.name == "echo"`}, {Allow, `mcp.prompt.name.startsWith("public_")`}}})
	if err != nil {
		t.Fatal(err)
	}
	r := req("")
	for m, want := range map[cel.MCP]bool{
		{Tool: cel.MCPTarget{Name: "echo"}}:              true,
		{Tool: cel.MCPTarget{Name: "rm"}}:                false,
		{Prompt: cel.MCPTarget{Name: "public_greeting"}}: true,
		{Resource: cel.MCPTarget{Name: "file:///etc"}}:   false,
	} {
		if got := p.Allowed(r, &m); got != want {
			t.Errorf("%+v: %v", m, got)
		}
	}
}
