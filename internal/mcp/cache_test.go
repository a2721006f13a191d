package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestCacheHintMerge(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hints     []mcp.Cacheable
		perClient bool
		want      mcp.Cacheable
	}{
		{"no answer", nil, false, mcp.Cacheable{TTLMs: 0, CacheScope: "public"}},
		{"one public", []mcp.Cacheable{{TTLMs: 60000, CacheScope: "public"}}, false, mcp.Cacheable{TTLMs: 60000, CacheScope: "public"}},
		{"smallest ttl", []mcp.Cacheable{{TTLMs: 60000, CacheScope: "public"}, {TTLMs: 5000, CacheScope: "public"}}, false, mcp.Cacheable{TTLMs: 5000, CacheScope: "public"}},
		{"absent scope is public", []mcp.Cacheable{{TTLMs: 1000}}, false, mcp.Cacheable{TTLMs: 1000, CacheScope: "public"}},
		{"any private", []mcp.Cacheable{{TTLMs: 60000, CacheScope: "public"}, {TTLMs: 90000, CacheScope: "private"}}, false, mcp.Cacheable{TTLMs: 60000, CacheScope: "private"}},
		{"stale wins", []mcp.Cacheable{{TTLMs: 60000, CacheScope: "public"}, {}}, false, mcp.Cacheable{TTLMs: 0, CacheScope: "public"}},
		{"negative is stale", []mcp.Cacheable{{TTLMs: -5, CacheScope: "public"}}, false, mcp.Cacheable{TTLMs: 0, CacheScope: "public"}},
		{"filtered per client", []mcp.Cacheable{{TTLMs: 60000, CacheScope: "public"}}, true, mcp.Cacheable{TTLMs: 60000, CacheScope: "private"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h cacheHint
			for _, c := range tc.hints {
				h.add(c.TTLMs, c.CacheScope)
			}
			if got := h.merged(tc.perClient); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// cacheTarget is a go-sdk target whose lists carry the hint c.
func cacheTarget(t *testing.T, name string, c *mcp.Cacheable) string {
	t.Helper()
	opts := &mcp.ServerOptions{}
	if c != nil {
		opts.SetCacheable = func(_ context.Context, _ mcp.Request, dst *mcp.Cacheable) { *dst = *c }
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, opts)
	mcp.AddTool(srv, &mcp.Tool{Name: "echo"}, func(context.Context, *mcp.CallToolRequest, echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{}, nil, nil
	})
	ts := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(ts.Close)
	return ts.URL
}

// TestFederatedListsCarryMergedCacheHints: a federated list carries the
// smallest of the targets' TTLs and is private when any target's list is
// (never an empty cacheScope), on the SDK path and on the stateless path.
func TestFederatedListsCarryMergedCacheHints(t *testing.T) {
	targets := []*TargetSpec{
		{Name: "long", Kind: KindStreamable, URL: cacheTarget(t, "long", &mcp.Cacheable{TTLMs: 60000, CacheScope: "public"})},
		{Name: "short", Kind: KindStreamable, URL: cacheTarget(t, "short", &mcp.Cacheable{TTLMs: 5000, CacheScope: "private"})},
	}
	plain := []*TargetSpec{{Name: "plain", Kind: KindStreamable, URL: cacheTarget(t, "plain", nil)}}
	for _, tc := range []struct {
		name    string
		targets []*TargetSpec
		want    mcp.Cacheable
	}{
		{"merged", targets, mcp.Cacheable{TTLMs: 5000, CacheScope: "private"}},
		{"target without hints", plain, mcp.Cacheable{TTLMs: 0, CacheScope: "public"}},
	} {
		t.Run(tc.name+"/session", func(t *testing.T) {
			_, gw := gateway(t, Spec{Targets: tc.targets})
			cs := connect(t, gw.URL+"/mcp", nil)
			res, err := cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Cacheable != tc.want || len(res.Tools) != len(tc.targets) {
				t.Fatalf("got %+v with %d tools, want %+v", res.Cacheable, len(res.Tools), tc.want)
			}
		})
		t.Run(tc.name+"/stateless", func(t *testing.T) {
			_, gw := gateway(t, Spec{Stateless: true, Targets: tc.targets})
			_, _, out := call(t, gw.URL+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`)
			var m struct {
				Result struct {
					TTLMs      *int    `json:"ttlMs"`
					CacheScope *string `json:"cacheScope"`
				} `json:"result"`
			}
			if err := json.Unmarshal([]byte(out), &m); err != nil || m.Result.TTLMs == nil || m.Result.CacheScope == nil {
				t.Fatalf("%v: %s", err, out)
			}
			if *m.Result.TTLMs != tc.want.TTLMs || *m.Result.CacheScope != tc.want.CacheScope {
				t.Fatalf("got ttlMs %d cacheScope %q, want %+v: %s", *m.Result.TTLMs, *m.Result.CacheScope, tc.want, out)
			}
		})
	}
	// With mcpAuthorization a list depends on who asks: private.
	_, gw := gateway(t, Spec{Authz: policy(t, `mcp.tool.name == "echo"`), Targets: targets[:1]})
	cs := connect(t, gw.URL+"/mcp", nil)
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil || res.CacheScope != "private" || res.TTLMs != 60000 || !strings.Contains(toolNamesOf(res), "echo") {
		t.Fatalf("authorized list: %+v %v", res, err)
	}
}

func toolNamesOf(res *mcp.ListToolsResult) string {
	var names []string
	for _, tl := range res.Tools {
		names = append(names, tl.Name)
	}
	return strings.Join(names, ",")
}
