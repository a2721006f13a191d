package mcp

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tests of the stateless fast path for requests other than tools/call
// (fastlist.go).

func rpc(id, method, params string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `","params":` + params + `}`
}

// listNames calls a list method and returns the status, the exposed names
// (sorted) and the raw body.
func listNames(t *testing.T, url, method, field, member string, hdr ...string) (int, []string, string) {
	t.Helper()
	status, _, out := call(t, url, rpc("9", method, "{}"), hdr...)
	var m struct {
		ID     json.RawMessage            `json:"id"`
		Result map[string]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%s: %v: %s", method, err, out)
	}
	if string(m.ID) != "9" {
		t.Fatalf("%s: id %s: %s", method, m.ID, out)
	}
	var items []map[string]any
	_ = json.Unmarshal(m.Result[field], &items)
	var names []string
	for _, it := range items {
		names = append(names, it[member].(string))
	}
	sort.Strings(names)
	return status, names, out
}

// TestStatelessFederatedLists: lists fan out to every target over the
// pooled sessions (one initialize per target, however many lists) and are
// merged with the federation's names; a failing target is skipped under
// failOpen and fails the list under failClosed.
func TestStatelessFederatedLists(t *testing.T) {
	one, two := newSDKUpstream(t, "one", sessionless), newSDKUpstream(t, "two", sessionless)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	targets := func(withDead bool) []*TargetSpec {
		ts := []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: one.URL}, {Name: "two", Kind: KindStreamable, URL: two.URL}}
		if withDead {
			ts = append(ts, &TargetSpec{Name: "gone", Kind: KindStreamable, URL: dead.URL})
		}
		return ts
	}
	_, gw := gateway(t, Spec{Stateless: true, Targets: targets(false)})
	for _, tc := range []struct{ method, field, member, want string }{
		{"tools/list", "tools", "name", "one_echo one_progress one_sample two_echo two_progress two_sample"},
		{"prompts/list", "prompts", "name", "one_greet two_greet"},
		{"resources/list", "resources", "uri", "one+test://static/1 two+test://static/1"},
		{"resources/templates/list", "resourceTemplates", "uriTemplate", ""},
	} {
		for range 2 {
			status, names, out := listNames(t, gw.URL+"/mcp", tc.method, tc.field, tc.member)
			if status != 200 || strings.Join(names, " ") != tc.want {
				t.Fatalf("%s: %d %v: %s", tc.method, status, names, out)
			}
		}
	}
	if a, b := one.initPosts.Load(), two.initPosts.Load(); a != 1 || b != 1 {
		t.Fatalf("initializations %d, %d; want 1 each", a, b)
	}

	// Without prefixes, a name two targets serve is dropped, as on the SDK
	// path; a get cannot be routed without a session's index: SDK path.
	_, gw = gateway(t, Spec{Stateless: true, Prefix: PrefixNever, Targets: targets(false)})
	if _, names, out := listNames(t, gw.URL+"/mcp", "tools/list", "tools", "name"); len(names) != 0 {
		t.Fatalf("prefixMode never: %v: %s", names, out)
	}
	if _, _, out := call(t, gw.URL+"/mcp", rpc("2", "prompts/get", `{"name":"greet"}`)); !strings.Contains(out, "unknown prompt") {
		t.Fatalf("prefixMode never, ambiguous prompt: %s", out)
	}

	for _, failOpen := range []bool{true, false} {
		_, gw := gateway(t, Spec{Stateless: true, FailOpen: failOpen, Targets: targets(true)})
		status, names, out := listNames(t, gw.URL+"/mcp", "prompts/list", "prompts", "name")
		switch {
		case status != 200:
			t.Fatalf("failOpen %v: status %d: %s", failOpen, status, out)
		case failOpen && strings.Join(names, " ") != "one_greet two_greet":
			t.Fatalf("failOpen: %v: %s", names, out)
		case !failOpen && !strings.Contains(out, "MCP target unavailable: gone"):
			t.Fatalf("failClosed: %s", out)
		}
	}
}

// TestStatelessPooledListsAuthz: mcpAuthorization filters pooled lists
// and refuses pooled gets, on each client's own identity.
func TestStatelessPooledListsAuthz(t *testing.T) {
	one, two := newSDKUpstream(t, "one", nil), newSDKUpstream(t, "two", nil)
	url := authzGateway(t, Spec{Stateless: true, Targets: []*TargetSpec{
		{Name: "one", Kind: KindStreamable, URL: one.URL}, {Name: "two", Kind: KindStreamable, URL: two.URL}},
		Authz: policy(t, `mcp.tool.name == "echo"`, `mcp.prompt.target == "two" && jwt.sub == "alice"`, `mcp.resource.target == "one"`),
	}) + "/mcp"
	for _, tc := range []struct{ sub, method, field, member, want string }{
		{"alice", "tools/list", "tools", "name", "one_echo two_echo"},
		{"alice", "prompts/list", "prompts", "name", "two_greet"},
		{"bob", "prompts/list", "prompts", "name", ""},
		{"bob", "resources/list", "resources", "uri", "one+test://static/1"},
	} {
		_, names, out := listNames(t, url, tc.method, tc.field, tc.member, "X-Test-Sub", tc.sub)
		if strings.Join(names, " ") != tc.want {
			t.Fatalf("%s as %s: %v: %s", tc.method, tc.sub, names, out)
		}
	}
	for _, tc := range []struct{ sub, body, want string }{
		{"alice", rpc("1", "prompts/get", `{"name":"two_greet"}`), "hello from two"},
		{"bob", rpc("2", "prompts/get", `{"name":"two_greet"}`), `"code":-32010`},
		{"bob", rpc("3", "resources/read", `{"uri":"two+test://static/1"}`), `"code":-32010`},
		{"bob", rpc("4", "resources/read", `{"uri":"one+test://static/1"}`), "one resource"},
	} {
		if _, _, out := call(t, url, tc.body, "X-Test-Sub", tc.sub); !strings.Contains(out, tc.want) {
			t.Fatalf("%s as %s: %s", tc.body, tc.sub, out)
		}
	}
}

// TestStatelessPooledGets: prompts/get, resources/read and
// completion/complete route by prefix; URIs in the answers are qualified;
// unknown prefixes are refused; ping is answered by the gateway.
func TestStatelessPooledGets(t *testing.T) {
	one, two := newSDKUpstream(t, "one", sessionless), newSDKUpstream(t, "two", sessionless)
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{
		{Name: "one", Kind: KindStreamable, URL: one.URL}, {Name: "two", Kind: KindStreamable, URL: two.URL}}})
	for _, tc := range []struct{ body, want string }{
		{rpc("1", "prompts/get", `{"name":"one_greet"}`), `"id":1,"result":{"messages":[{"content":{"type":"text","text":"hello from one"}`},
		{rpc(`"r"`, "resources/read", `{"uri":"two+test://static/1"}`), `"contents":[{"uri":"two+test://static/1","text":"two resource"}]}`},
		{rpc("3", "resources/read", `{"uri":"three+test://static/1"}`), "unknown resource"},
		{rpc("4", "prompts/get", `{"name":"greet"}`), `"id":4,"error":{"code":-32602,"message":"unknown prompt \"greet\""}`},
		{rpc("5", "completion/complete", `{"ref":{"type":"ref/prompt","name":"two_greet"},"argument":{"name":"a","value":"b"}}`), `"id":5,"error":{"code":-32601`},
		{rpc("6", "ping", `{}`), `{"jsonrpc":"2.0","id":6,"result":{}}`},
	} {
		status, _, out := call(t, gw.URL+"/mcp", tc.body)
		if status != 200 || !strings.Contains(out, tc.want) {
			t.Fatalf("%s: %d %s", tc.body, status, out)
		}
	}
	if a, b := one.initPosts.Load(), two.initPosts.Load(); a != 1 || b != 1 {
		t.Fatalf("initializations %d, %d; want 1 each", a, b)
	}
}

// TestStatelessListExpiry: a target that issues session ids gets a session
// per list; one it forgets before the list is asked (404) is re-initialized
// and the list asked again.
func TestStatelessListExpiry(t *testing.T) {
	up := newSDKUpstream(t, "one", nil)
	frontURL, drop := sessionDropper(t, up.URL)
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{{Name: "one", Kind: KindStreamable, URL: frontURL}}})
	for i := range 2 {
		if i == 1 {
			drop.Store(true)
		}
		if _, names, out := listNames(t, gw.URL+"/mcp", "tools/list", "tools", "name"); strings.Join(names, " ") != "echo progress sample" {
			t.Fatalf("list %d: %v: %s", i, names, out)
		}
	}
	if n := up.inits.Load(); n != 3 { // one per list, and the replacement
		t.Fatalf("initializations: %d, want 3", n)
	}
}

// TestStatelessListsWithOtherTargets: a route with a target the pool
// cannot serve lists through the SDK, with the same answer.
func TestStatelessListsWithOtherTargets(t *testing.T) {
	one := newSDKUpstream(t, "one", nil)
	sse := httptest.NewServer(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return newUpstreamServer("two") }, nil))
	t.Cleanup(sse.Close)
	_, gw := gateway(t, Spec{Stateless: true, Targets: []*TargetSpec{
		{Name: "one", Kind: KindStreamable, URL: one.URL}, {Name: "two", Kind: KindSSE, URL: sse.URL + "/sse"}}})
	status, ct, out := call(t, gw.URL+"/mcp", rpc("1", "tools/list", "{}"))
	if status != 200 || !strings.HasPrefix(ct, "text/event-stream") || !strings.Contains(out, `"one_echo"`) || !strings.Contains(out, `"two_echo"`) {
		t.Fatalf("mixed targets: %d %s %s", status, ct, out)
	}
	// A call routed to the streamable-HTTP target still takes the pool.
	if _, ct, out := call(t, gw.URL+"/mcp", echoCall("2", "one_echo", "x")); ct != "application/json" || !strings.Contains(out, "one:x") {
		t.Fatalf("pooled call: %s %s", ct, out)
	}
}
