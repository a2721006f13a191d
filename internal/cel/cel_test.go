package cel

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCompileRejectsBadExpressions(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"", "empty"},
		{"request.method ==", "invalid CEL expression"},
		{"nosuchvar == 1", "undeclared reference"},
		{"'a' + 1", "no matching overload"},
		{"request.method", ""}, // dyn: accepted, checked at run time
		{"1 + 2", "produces int, want bool"},
		{strings.Repeat("a", MaxExpressionSize+1), "invalid CEL expression"},
	} {
		_, err := CompileBool(tc.expr)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%.30q: unexpected error %v", tc.expr, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%.30q: error %v, want %q", tc.expr, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%.30q: multi-line error %q", tc.expr, err)
		}
	}
}

func TestEvalVariables(t *testing.T) {
	r := httptest.NewRequest("POST", "http://api.example.com/v1/items?x=1", nil)
	r.Header.Set("X-Team", "blue")
	r.RemoteAddr = "10.1.2.3:4567"
	id, r := EnsureIdentity(r)
	id.JWT = map[string]any{"sub": "alice", "groups": []any{"eng", "ops"}, "level": int64(3)}
	id.APIKey = map[string]any{"tier": "gold"}
	id.BasicAuth = map[string]any{"username": "bob"}

	for expr, want := range map[string]bool{
		`request.method == "POST"`:                             true,
		`request.path == "/v1/items"`:                          true,
		`request.pathAndQuery == "/v1/items?x=1"`:              true,
		`request.host == "api.example.com"`:                    true,
		`request.uri == "http://api.example.com/v1/items?x=1"`: true,
		`request.headers["x-team"] == "blue"`:                  true,
		`request.version == "HTTP/1.1"`:                        true,
		`source.address == "10.1.2.3" && source.port == 4567`:  true,
		`cidr("10.0.0.0/8").containsIP(source.address)`:        true,
		`jwt.sub == "alice" && "ops" in jwt.groups`:            true,
		`jwt.level >= 3 && jwt.level < 3.5`:                    true,
		`apiKey.tier == "gold"`:                                true,
		`basicAuth.username == "bob"`:                          true,
		`has(jwt.email)`:                                       false,
		`jwt.?email.orValue("none") == "none"`:                 true,
		`mcp.tool.name == ""`:                                  true,
		`"secret-token" in request.headers`:                    false,
	} {
		p, err := CompileBool(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		got, err := p.EvalBool(NewActivation(r))
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", expr, got, err, want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	r := httptest.NewRequest("GET", "http://h/", nil)
	for _, expr := range []string{
		`jwt.sub == "alice"`,                // no such key: no token
		`request.headers["missing"] == "x"`, // no such key
		`request.method`,                    // not a bool
		`[1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].all(y, [1,2,3,4,5,6,7,8,9,10].all(z, [1,2,3,4,5,6,7,8,9,10].all(w, x+y+z+w > 0))))`, // over the cost limit
	} {
		p, err := CompileBool(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got, err := p.EvalBool(NewActivation(r)); err == nil {
			t.Errorf("%s = %v, want an error", expr, got)
		}
	}
}

func TestMCPVariables(t *testing.T) {
	r := httptest.NewRequest("POST", "http://h/mcp", nil)
	act := NewActivation(r).WithMCP(MCP{Method: "tools/call", Tool: MCPTarget{Name: "echo", Target: "everything"}})
	p, err := CompileBool(`mcp.tool.name == "echo" && mcp.tool.target == "everything" && mcp.prompt.name == "" && mcp.methodName == "tools/call"`)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.EvalBool(act); !ok || err != nil {
		t.Fatalf("got %v %v", ok, err)
	}
}

func TestCompileString(t *testing.T) {
	p, err := CompileString(`"/check" + request.path`)
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.EvalString(NewActivation(httptest.NewRequest("GET", "http://h/a", nil)))
	if err != nil || s != "/check/a" {
		t.Fatalf("got %q %v", s, err)
	}
	if _, err := CompileString(`1 == 1`); err == nil {
		t.Fatal("bool accepted as string")
	}
}

func BenchmarkEvalRule(b *testing.B) {
	p, err := CompileBool(`request.method == "GET" && jwt.sub == "alice"`)
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "http://h/x", nil)
	id, r := EnsureIdentity(r)
	id.JWT = map[string]any{"sub": "alice"}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.EvalBool(NewActivation(r)); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
