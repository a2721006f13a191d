package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runNode runs a Node program to completion and returns its output.
func runNode(t testing.TB, node string, timeout time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = nodeDir(t)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(node)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(node), args, err, out)
	}
	return string(out)
}

// tsClient runs the TypeScript SDK client (node/mcp-client.mjs).
func tsClient(t testing.TB, url, tool, args string) (tools []string, text string, sid string) {
	t.Helper()
	out := runNode(t, "node", 60*time.Second, "mcp-client.mjs", url, tool, args)
	line := out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]
	var r struct {
		SessionID *string  `json:"sessionId"`
		Tools     []string `json:"tools"`
		Result    struct {
			Content []struct{ Text string } `json:"content"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("client output: %v\n%s", err, out)
	}
	for _, c := range r.Result.Content {
		text += c.Text
	}
	if r.SessionID != nil {
		sid = *r.SessionID
	}
	return r.Tools, text, sid
}

// TestMCPTypeScriptClient: the official TypeScript SDK client through the
// gateway, to server-everything as a stdio target (streamable HTTP and
// legacy SSE downstream) and to two federated targets.
func TestMCPTypeScriptClient(t *testing.T) {
	nodeDir(t)
	_, url := mcpGateway(t, mcpRoute(stdioTarget(t, "everything")))
	tools, text, sid := tsClient(t, url, "get-sum", `{"a":40,"b":2}`)
	if !contains(tools, "echo") || !strings.Contains(text, "42") || sid == "" {
		t.Fatalf("streamable: tools=%v text=%q sid=%q", tools, text, sid)
	}
	_, text, _ = tsClient(t, strings.TrimSuffix(url, "/mcp")+"/sse", "echo", `{"message":"over sse"}`)
	if !strings.Contains(text, "over sse") {
		t.Fatalf("legacy SSE: %q", text)
	}

	base := everythingHTTP(t, "streamableHttp")
	targets := stdioTarget(t, "local") + fmt.Sprintf("          - name: remote\n            mcp:\n              host: %s/mcp\n", base)
	_, fed := mcpGateway(t, mcpRoute(targets))
	tools, text, _ = tsClient(t, fed, "remote_get-sum", `{"a":1,"b":1}`)
	if !contains(tools, "local_echo") || !contains(tools, "remote_echo") || !strings.Contains(text, "2") {
		t.Fatalf("federated: tools=%v text=%q", tools, text)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestMCPInspectorCLI: the MCP Inspector CLI (Node 22) lists and calls
// tools through the gateway, over streamable HTTP and legacy SSE.
func TestMCPInspectorCLI(t *testing.T) {
	node := node22(t)
	base := everythingHTTP(t, "streamableHttp")
	_, url := mcpGateway(t, mcpRoute(fmt.Sprintf("          - name: everything\n            mcp:\n              host: %s/mcp\n", base)))
	inspector := nodeBin(t, "mcp-inspector")
	out := runNode(t, node, 60*time.Second, inspector, "--cli", url, "--method", "tools/list")
	if !strings.Contains(out, `"get-sum"`) {
		t.Fatalf("tools/list:\n%s", out)
	}
	out = runNode(t, node, 60*time.Second, inspector, "--cli", url, "--method", "tools/call", "--tool-name", "get-sum", "--tool-arg", "a=2", "b=3")
	if !strings.Contains(out, "5") {
		t.Fatalf("tools/call:\n%s", out)
	}
	out = runNode(t, node, 60*time.Second, inspector, "--cli", strings.TrimSuffix(url, "/mcp")+"/sse", "--method", "tools/list")
	if !strings.Contains(out, `"echo"`) {
		t.Fatalf("tools/list over SSE:\n%s", out)
	}
}

var totalRe = regexp.MustCompile(`Total: (\d+) passed, (\d+) failed`)

// TestMCPConformance runs the official conformance suite's server
// scenarios against the go-sdk conformance everything-server directly and
// through the gateway (one target, names passed through): the gateway must
// pass every scenario the server passes (40/40 with go-sdk v1.8.0 and
// @modelcontextprotocol/conformance 0.1.16).
func TestMCPConformance(t *testing.T) {
	node := node22(t)
	bin := filepath.Join(t.TempDir(), "everything-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server").CombinedOutput(); err != nil {
		t.Fatalf("build conformance server: %v\n%s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	startProc(t, nil, bin, "-http="+addr, "-stateless=false")
	waitPort(t, addr)
	_, url := mcpGateway(t, mcpRoute(fmt.Sprintf("          - name: everything\n            mcp:\n              host: http://%s/mcp\n", addr)))
	suite := nodeBin(t, "conformance")
	run := func(target string) (int, int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, suite, "server", "--url", target)
		cmd.Dir = t.TempDir()
		out, _ := cmd.CombinedOutput()
		m := totalRe.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("no summary from the conformance suite:\n%s", out)
		}
		var p, f int
		fmt.Sscan(m[1], &p)
		fmt.Sscan(m[2], &f)
		return p, f, string(out)
	}
	dp, df, _ := run("http://" + addr + "/mcp")
	gp, gf, out := run(url)
	t.Logf("conformance: direct %d passed %d failed; through the gateway %d passed %d failed", dp, df, gp, gf)
	if gf != 0 || gp < dp {
		summary := out[strings.Index(out, "=== SUMMARY ==="):]
		t.Fatalf("through the gateway %d/%d (direct %d/%d):\n%s", gp, gp+gf, dp, dp+df, summary)
	}
}
