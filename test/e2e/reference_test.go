package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// referenceDir holds the users' configs the gateway must load and serve.
// The copies under internal/config/testdata/reference are used when the
// shared directory is not beside the repository.
func referenceDir(t *testing.T) string {
	for _, d := range []string{"../../../shared/reference-configs", "../../internal/config/testdata/reference"} {
		if _, err := os.Stat(filepath.Join(d, "06-a2a.yaml")); err == nil {
			return d
		}
	}
	t.Fatal("no reference configs found")
	return ""
}

var portRe = regexp.MustCompile(`(?m)^(\s*-?\s*port:\s*)(\d+)\s*$`)

// localize rewrites a reference config for a test: every port becomes a free
// loopback port (the mapping is returned), the simplified llm:/mcp: forms get
// an explicit port, hosts named in replace are swapped, and the management
// addresses are moved to the gateway's test ports.
func localize(t *testing.T, cfg string, replace map[string]string) (string, map[int]int) {
	t.Helper()
	ports := map[int]int{}
	cfg = portRe.ReplaceAllStringFunc(cfg, func(m string) string {
		sub := portRe.FindStringSubmatch(m)
		var p int
		fmt.Sscan(sub[2], &p)
		if _, ok := ports[p]; !ok {
			ports[p] = freePort(t)
		}
		return fmt.Sprintf("%s%d", sub[1], ports[p])
	})
	if strings.Contains(cfg, "\nllm:\n") && !strings.Contains(cfg, "\n  port:") {
		ports[4000] = freePort(t)
		cfg = strings.Replace(cfg, "\nllm:\n", fmt.Sprintf("\nllm:\n  port: %d\n", ports[4000]), 1)
	}
	for from, to := range replace {
		cfg = strings.ReplaceAll(cfg, from, to)
	}
	return cfg, ports
}

// startReference starts the gateway on a localized reference config. A
// config with its own `config:` block keeps it; the management addresses
// are inserted into it.
func startReference(t *testing.T, name string, replace map[string]string) (*Gateway, map[int]int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(referenceDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	cfg, ports := localize(t, string(raw), replace)
	if strings.Contains(cfg, "\nconfig:\n") || strings.HasPrefix(cfg, "config:\n") {
		block, admin, stats, ready := mgmtConfig(t)
		cfg = regexp.MustCompile(`(?m)^  adminAddr:.*\n`).ReplaceAllString(cfg, "")
		cfg = strings.Replace(cfg, "config:\n", block, 1)
		g := launch(t, cfg, admin, stats, ready)
		g.WaitReady()
		return g, ports
	}
	return StartGateway(t, cfg), ports
}

func do(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(`{"model":"gpt-3.5-turbo","messages":[]}`))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, b.String()
}

func doBody(t *testing.T, method, url, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func preflight(t *testing.T, url, reqHeaders string) http.Header {
	t.Helper()
	resp, _ := do(t, "OPTIONS", url, "Origin", "https://ui.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", reqHeaders)
	if resp.StatusCode != 200 {
		t.Fatalf("preflight status %d", resp.StatusCode)
	}
	return resp.Header
}

// TestReferenceConfigsServed serves each users' config with its backends
// pointed at loopback and checks what its comments promise, as far as the
// core gateway goes today: LLM backends are served against local fakes,
// MCP backends against server-everything (npm) and in-process Go MCP servers.
func TestReferenceConfigsServed(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-test")
	url := func(p int, path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", p, path) }

	// LLM backends name OpenAI's public endpoint; AGENTGATEWAY_OPENAI_BASE_URL
	// points the gateway at a local fake instead (docs/llm.md).
	fakeOpenAI := llmtest.OpenAI(t, "sk-test")
	t.Setenv("AGENTGATEWAY_OPENAI_BASE_URL", fakeOpenAI.URL)
	chat := func(t *testing.T, port int, path string) {
		t.Helper()
		resp, body := doBody(t, "POST", url(port, path), `{"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"hi"}]}`,
			"Content-Type", "application/json", "Authorization", "Bearer client-key")
		if resp.StatusCode != 200 || !strings.Contains(body, llmtest.Reply("hi")) || !strings.Contains(body, `"object":"chat.completion"`) {
			t.Errorf("chat completion: %d %q", resp.StatusCode, body)
		}
	}

	t.Run("01 llm shorthand on its own port", func(t *testing.T) {
		_, ports := startReference(t, "01-llm-simple.yaml", nil)
		chat(t, ports[4000], "/v1/chat/completions")
		resp, body := get(t, url(ports[4000], "/v1/models"))
		if resp.StatusCode != 200 || !strings.Contains(body, `"id":"gpt-3.5-turbo"`) {
			t.Errorf("models: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("02 cors on an LLM route", func(t *testing.T) {
		_, ports := startReference(t, "02-llm-binds.yaml", nil)
		h := preflight(t, url(ports[3000], "/v1/chat/completions"), "content-type")
		if h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("preflight: %v", h)
		}
		chat(t, ports[3000], "/v1/chat/completions")
	})
	t.Run("03 mcp stdio shorthand", func(t *testing.T) {
		npxLocal(t) // `npx -y @modelcontextprotocol/server-everything` runs the installed copy
		_, ports := startReference(t, "03-mcp-stdio-simple.yaml", nil)
		cs := mcpConnect(t, url(ports[3000], "/mcp"), nil)
		if got := callText(t, cs, "get-sum", map[string]any{"a": 1, "b": 2}); !strings.Contains(got, "3") {
			t.Errorf("get-sum through the stdio target: %q", got)
		}
	})
	t.Run("04 mcp remote shorthand", func(t *testing.T) {
		up := newGoMCPServer(t, "remote")
		_, ports := startReference(t, "04-mcp-remote-simple.yaml", map[string]string{"http://localhost:3005": up.URL})
		cs := mcpConnect(t, url(ports[3000], "/mcp"), nil)
		if got := callText(t, cs, "echo", map[string]any{"text": "hi"}); got != "remote:hi" {
			t.Errorf("echo through the remote target: %q", got)
		}
	})
	t.Run("05 cors with MCP headers", func(t *testing.T) {
		npxLocal(t)
		_, ports := startReference(t, "05-mcp-binds-cors.yaml", nil)
		h := preflight(t, url(ports[3000], "/mcp"), "mcp-session-id,mcp-protocol-version")
		if got := strings.ToLower(h.Get("Access-Control-Allow-Headers")); !strings.Contains(got, "mcp-session-id") || !strings.Contains(got, "mcp-protocol-version") {
			t.Errorf("allow headers: %q", got)
		}
		// allowOrigins '*' lets a browser origin through the MCP Origin check.
		status, hdr, body := rpc(t, url(ports[3000], "/mcp"), "", initBody, "Origin", "https://ui.example")
		if status != 200 || hdr.Get("Mcp-Session-Id") == "" || hdr.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("initialize from a browser origin: %d %v %s", status, hdr, body)
		}
	})
	t.Run("06 a2a route proxies to the agent with json access logs", func(t *testing.T) {
		agent := echoBackend(t, "agent")
		g, ports := startReference(t, "06-a2a.yaml", map[string]string{"localhost:9999": hostOf(agent)})
		resp, body := do(t, "POST", url(ports[3000], "/"), "Content-Type", "application/json")
		if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "agent" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		g.WaitLog(`"route":"route0"`)
		for _, l := range strings.Split(g.Logs(), "\n") {
			if !strings.Contains(l, `"msg":"request"`) {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("access log is not JSON: %q", l)
			}
			want := map[string]any{"gateway": fmt.Sprintf("bind/%d", ports[3000]), "route": "route0",
				"endpoint": hostOf(agent), "http.method": "POST", "http.path": "/"}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v", k, m[k], v)
				}
			}
		}
	})
	t.Run("07 first of two match-all routes wins", func(t *testing.T) {
		_, ports := startReference(t, "07-multi-route.yaml", nil)
		chat(t, ports[3000], "/v1/chat/completions")
	})
	t.Run("08 two binds", func(t *testing.T) {
		gh := newGoMCPServer(t, "github")
		_, ports := startReference(t, "08-multi-bind.yaml", map[string]string{"https://mcp.github.com": gh.URL})
		chat(t, ports[3000], "/v1/chat/completions")
		cs := mcpConnect(t, url(ports[3001], "/mcp"), nil)
		if got := callText(t, cs, "echo", map[string]any{"text": "x"}); got != "github:x" {
			t.Errorf("MCP bind: %q", got)
		}
	})
	t.Run("09 developer's full config", func(t *testing.T) {
		// The qwen-plus provider (dashscope over TLS) becomes a local TLS fake
		// whose certificate the route's backendTLS trusts.
		qwen := llmtest.WithTLS(t, func() *llmtest.Fake { return llmtest.OpenAI(t, "sk-abc") })
		ha := newGoMCPServer(t, "home-assistant")
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, qwen.CertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		g, ports := startReference(t, "09-dev-full.yaml", map[string]string{
			"hostOverride: dashscope.aliyuncs.com:443": "hostOverride: " + qwen.Host(),
			"backendTLS: {}":        "backendTLS: {root: " + ca + "}",
			"http://127.0.0.1:8123": ha.URL,
		})
		chat(t, ports[3100], "/compatible-mode/v1/chat/completions")
		if last := qwen.Requests()[qwen.Count()-1]; last.Path != "/compatible-mode/v1/chat/completions" || last.Body["model"] != "qwen-plus" {
			t.Errorf("upstream saw %s %v", last.Path, last.Body)
		}
		resp, body := get(t, url(ports[3100], "/compatible-mode/v1/models"))
		if resp.StatusCode != 200 || !strings.Contains(body, "upstream-model") {
			t.Errorf("models passthrough: %d %q", resp.StatusCode, body)
		}
		h := preflight(t, url(ports[3101], "/mcp"), "mcp-protocol-version")
		if h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("preflight: %v", h)
		}
		cs := mcpConnect(t, url(ports[3101], "/mcp"), nil)
		if got := callText(t, cs, "echo", map[string]any{"text": "on"}); got != "home-assistant:on" {
			t.Errorf("MCP route: %q", got)
		}
		// The route's requestHeaderModifier is a policy: its Authorization goes upstream.
		if auth := ha.Auth(); len(auth) == 0 || auth[0] != "Bearer abc" {
			t.Errorf("upstream Authorization: %q", auth)
		}
		if !strings.Contains(g.Logs(), "config.tracing is accepted") {
			t.Errorf("no warning that tracing export is not built")
		}
	})
}
