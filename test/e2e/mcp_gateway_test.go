package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPStdioTargetGoClient: server-everything over stdio behind the
// gateway, driven by the Go SDK client; names pass through (one target).
func TestMCPStdioTargetGoClient(t *testing.T) {
	g, url := mcpGateway(t, mcpRoute(stdioTarget(t, "everything")))
	progress := make(chan float64, 16)
	cs := mcpConnect(t, url, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			select {
			case progress <- req.Params.Progress:
			default:
			}
		},
	})
	tools := listToolNames(t, cs)
	for _, want := range []string{"echo", "get-sum", "trigger-long-running-operation"} {
		if !tools[want] {
			t.Fatalf("tool %s missing from %v", want, tools)
		}
	}
	if got := callText(t, cs, "get-sum", map[string]any{"a": 2, "b": 3}); !strings.Contains(got, "5") {
		t.Fatalf("get-sum: %q", got)
	}
	if got := callText(t, cs, "echo", map[string]any{"message": "hi"}); !strings.Contains(got, "hi") {
		t.Fatalf("echo: %q", got)
	}
	ctx := context.Background()
	p := &mcp.CallToolParams{Name: "trigger-long-running-operation", Arguments: map[string]any{"duration": 0.3, "steps": 3}}
	p.SetProgressToken("p1")
	if _, err := cs.CallTool(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The gateway writes them before the result; the client's handler
	// goroutine may still be running them when CallTool returns.
	for i := range 3 {
		select {
		case <-progress:
		case <-time.After(30 * time.Second):
			t.Fatalf("progress notification %d of 3 never arrived", i+1)
		}
	}
	if err := cs.Ping(ctx, nil); err != nil {
		t.Fatal(err)
	}
	pl, err := cs.ListPrompts(ctx, nil)
	if err != nil || len(pl.Prompts) == 0 {
		t.Fatalf("prompts: %v %v", pl, err)
	}
	rl, err := cs.ListResources(ctx, nil)
	if err != nil || len(rl.Resources) == 0 {
		t.Fatalf("resources: %v %v", rl, err)
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: rl.Resources[0].URI})
	if err != nil || len(rr.Contents) == 0 {
		t.Fatalf("read %s: %v %v", rl.Resources[0].URI, rr, err)
	}
	g.WaitLog("mcp.tool=get-sum")
	if !strings.Contains(g.Logs(), "target=everything") {
		t.Errorf("stderr of the target not logged with its name")
	}
	_, body := get(t, "http://"+g.Stats+"/metrics")
	if !strings.Contains(body, `agentgateway_mcp_requests_total{method="tools/call",resource="get-sum",server="everything"} 1`) {
		t.Errorf("mcp metric missing:\n%s", grepLines(body, "mcp_requests"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMCPFederationStdioAndStreamable: server-everything over stdio and
// over streamable HTTP, federated: names prefixed, calls routed by prefix,
// resources target-qualified.
func TestMCPFederationStdioAndStreamable(t *testing.T) {
	base := everythingHTTP(t, "streamableHttp")
	targets := stdioTarget(t, "local") + fmt.Sprintf("          - name: remote\n            mcp:\n              host: %s/mcp\n", base)
	_, url := mcpGateway(t, mcpRoute(targets))
	cs := mcpConnect(t, url, nil)
	tools := listToolNames(t, cs)
	for _, want := range []string{"local_get-sum", "remote_get-sum", "local_echo", "remote_echo"} {
		if !tools[want] {
			t.Fatalf("tool %s missing from %v", want, tools)
		}
	}
	for _, name := range []string{"local_get-sum", "remote_get-sum"} {
		if got := callText(t, cs, name, map[string]any{"a": 20, "b": 22}); !strings.Contains(got, "42") {
			t.Fatalf("%s: %q", name, got)
		}
	}
	rl, err := cs.ListResources(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var remote string
	for _, r := range rl.Resources {
		if !strings.HasPrefix(r.URI, "local+") && !strings.HasPrefix(r.URI, "remote+") {
			t.Fatalf("resource URI not target-qualified: %s", r.URI)
		}
		if remote == "" && strings.HasPrefix(r.URI, "remote+") {
			remote = r.URI
		}
	}
	rr, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: remote})
	if err != nil || len(rr.Contents) == 0 || rr.Contents[0].URI != remote {
		t.Fatalf("read %s: %+v %v", remote, rr, err)
	}
}

// TestMCPSessionMovesBetweenGatewayProcesses: two gateway processes share
// config.session.key; a session started on one continues on the other,
// whose upstream session is resumed, not re-initialized. Forged ids get 404.
func TestMCPSessionMovesBetweenGatewayProcesses(t *testing.T) {
	up := newGoMCPServer(t, "up")
	cfg := mcpRoute(fmt.Sprintf("          - name: up\n            mcp:\n              host: %s/mcp\n", up.URL))
	key := "  session:\n    key: " + strings.Repeat("5a", 32) + "\n"
	_, url1 := mcpGateway(t, cfg, key)
	_, url2 := mcpGateway(t, cfg, key)
	sid := mcpInit(t, url1)
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"moved"}}}`
	for i, u := range []string{url1, url2, url2} {
		status, _, body := rpc(t, u, sid, call, "Mcp-Protocol-Version", "2025-06-18")
		if status != 200 || !strings.Contains(body, "up:moved") {
			t.Fatalf("call %d on %s: %d %s", i, u, status, body)
		}
	}
	if n := up.Inits(); n != 1 {
		t.Fatalf("upstream initialized %d times, want 1 (resumed, not re-initialized)", n)
	}
	forged := []byte(sid)
	forged[10] ^= 1
	if status, _, _ := rpc(t, url2, string(forged), call); status != 404 {
		t.Fatalf("forged id: %d", status)
	}
	// DELETE ends it; reuse on the same process is 404.
	req, _ := http.NewRequest("DELETE", url2, nil)
	req.Header.Set("Mcp-Session-Id", sid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("DELETE: %v %v", resp, err)
	}
	resp.Body.Close()
	if status, _, _ := rpc(t, url2, sid, call); status != 404 {
		t.Fatalf("reuse after DELETE: %d", status)
	}
}

// TestMCPFaults: a target that never answers, one that crashes mid-call,
// malformed bodies, a forged session id, a foreign Origin, a huge body.
func TestMCPFaults(t *testing.T) {
	hang := newHangingServer(t)
	crash := fmt.Sprintf("          - name: crashy\n            stdio:\n              cmd: node\n              args: [%s/crash-server.mjs]\n", nodeDir(t))
	healthy := newGoMCPServer(t, "healthy")
	targets := crash + fmt.Sprintf("          - name: healthy\n            mcp:\n              host: %s/mcp\n          - name: hung\n            mcp:\n              host: %s\n", healthy.URL, hang)
	cfg := "binds:\n- port: %d\n  listeners:\n  - routes:\n    - policies:\n        timeout: {requestTimeout: 1s}\n      backends:\n      - mcp:\n          failureMode: failOpen\n          targets:\n" + targets
	g, url := mcpGateway(t, cfg)
	cs := mcpConnect(t, url, nil)
	// requestTimeout (1 s) bounds the hung target's share; the bounds
	// below are only "well under the defaults" (10 s list, 55 s call).
	start := time.Now()
	tools := listToolNames(t, cs)
	if took := time.Since(start); took > 9*time.Second || !tools["healthy_echo"] {
		t.Fatalf("failOpen tools/list: %v after %s", tools, took)
	}
	// crashy is a node process whose initialize the same 1 s bounds: on a
	// loaded machine it can miss it, and failOpen then skips it until its
	// retry (after 0.5 s of backoff, on a later request).
	mcpEventually(t, "the crashy target listed", func() bool { return listToolNames(t, cs)["crashy_ok"] })
	if got := callText(t, cs, "crashy_ok", nil); got != "ok" {
		t.Fatalf("ok: %q", got)
	}
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "crashy_crash"})
	if err == nil {
		t.Fatal("crash mid-call: want an error")
	}
	g.WaitLog("crashing now")
	// The crashed process was reaped and the next call starts a new one.
	mcpEventually(t, "crashed target restarted", func() bool {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "crashy_ok"})
		return err == nil && !res.IsError
	})
	if out, _ := exec.Command("ps", "-eo", "stat,args").Output(); strings.Contains(string(out), "Z ") && strings.Contains(string(out), "crash-server") {
		t.Fatalf("zombie left:\n%s", out)
	}
	start = time.Now()
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "crashy_hang"}); err == nil || time.Since(start) > 30*time.Second {
		t.Fatalf("hanging call: %v after %s", err, time.Since(start))
	}

	// failClosed: the same hung target fails initialize with a clear error.
	strictCfg := "binds:\n- port: %d\n  listeners:\n  - routes:\n    - policies:\n        timeout: {requestTimeout: 1s}\n      backends:\n      - mcp:\n          targets:\n"
	_, strict := mcpGateway(t, strictCfg+fmt.Sprintf("          - name: hung\n            mcp:\n              host: %s\n", hang))
	status, _, body := rpc(t, strict, "", initBody)
	if status != 200 || !strings.Contains(body, "hung") || !strings.Contains(body, `"error"`) {
		t.Fatalf("failClosed initialize: %d %s", status, body)
	}

	for _, c := range []struct {
		name, sid, body string
		hdr             []string
		status          int
		want            string
	}{
		{"malformed JSON", "", `{"jsonrpc":"2.0",`, nil, 400, "-32700"},
		{"not JSON-RPC", "", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, nil, 400, "-32600"},
		{"forged session", "Zm9yZ2Vk", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, 404, "Session not found"},
		{"missing session", "", `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, 400, "Mcp-Session-Id"},
		{"foreign origin", "", initBody, []string{"Origin", "https://evil.example"}, 403, "Origin"},
		{"foreign host", "", initBody, []string{"Host", "attacker.example"}, 403, "Host"},
		{"body over 4 MiB", "", `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"p":"` + strings.Repeat("x", 5<<20) + `"}}`, nil, 413, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", url, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if c.sid != "" {
				req.Header.Set("Mcp-Session-Id", c.sid)
			}
			for i := 0; i+1 < len(c.hdr); i += 2 {
				if c.hdr[i] == "Host" {
					req.Host = c.hdr[i+1]
				} else {
					req.Header.Set(c.hdr[i], c.hdr[i+1])
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b := make([]byte, 4096)
			n, _ := resp.Body.Read(b)
			if resp.StatusCode != c.status || !strings.Contains(string(b[:n]), c.want) {
				t.Fatalf("got %d %q", resp.StatusCode, b[:n])
			}
		})
	}
	if !strings.Contains(g.Logs(), "target=crashy") {
		t.Errorf("no stderr line logged with the target name")
	}
}

// newHangingServer accepts connections and never answers.
func newHangingServer(t testing.TB) string {
	t.Helper()
	done := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() {
		close(done)
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts.URL + "/mcp"
}

// TestMCPStatelessAndLegacySSE: statefulMode stateless answers without
// session ids; the legacy SSE transport works for clients and targets.
func TestMCPStatelessAndLegacySSE(t *testing.T) {
	up := newGoMCPServer(t, "up")
	_, url := mcpGateway(t, mcpRoute(fmt.Sprintf("          - name: up\n            mcp:\n              host: %s/mcp\n", up.URL), "          statefulMode: stateless\n"))
	status, h, body := rpc(t, url, "", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"nos"}}}`)
	if status != 200 || h.Get("Mcp-Session-Id") != "" || !strings.Contains(body, "up:nos") {
		t.Fatalf("stateless: %d %v %s", status, h, body)
	}

	sse := everythingHTTP(t, "sse")
	_, url2 := mcpGateway(t, mcpRoute(fmt.Sprintf("          - name: legacy\n            sse:\n              host: %s/sse\n", sse)))
	cs := mcpConnect(t, strings.TrimSuffix(url2, "/mcp")+"/sse", nil)
	if got := callText(t, cs, "get-sum", map[string]any{"a": 1, "b": 2}); !strings.Contains(got, "3") {
		t.Fatalf("SSE client → SSE target: %q", got)
	}
}
