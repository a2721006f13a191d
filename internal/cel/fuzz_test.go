package cel

import (
	"net/http/httptest"
	"testing"
)

// FuzzCompileEval: any expression text either fails to compile or evaluates
// to a bool or an error within the cost limit; nothing panics or hangs.
func FuzzCompileEval(f *testing.F) {
	for _, s := range []string{
		`request.method == "GET"`,
		`jwt.sub == "alice" && "ops" in jwt.groups`,
		`request.headers["x"].startsWith("a")`,
		`cidr("10.0.0.0/8").containsIP(source.address)`,
		`[1,2,3].all(x, x > 0)`,
		`jwt.?email.orValue("") == ""`,
		`"a".matches("(a+)+$")`,
		`base64.decode("aGk=") == b"hi"`,
		`((((((((((1))))))))))==1`,
	} {
		f.Add(s)
	}
	r := httptest.NewRequest("GET", "http://h/x?y=1", nil)
	id, r := EnsureIdentity(r)
	id.JWT = map[string]any{"sub": "alice", "groups": []any{"ops"}}
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := CompileBool(expr)
		if err != nil {
			return
		}
		_, _ = p.EvalBool(NewActivation(r).WithMCP(MCP{Tool: MCPTarget{Name: "t"}}))
	})
}
