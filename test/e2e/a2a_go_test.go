package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestA2AGoPeers drives real A2A peers through the gateway: the a2a CLI of
// a2a-go v2.3.1 as a v1.0 agent and as a v0.3 agent, and as the client
// (discover, send, send --stream). The agent card is rewritten to point at
// the gateway under the route's prefix, with the client's scheme and host,
// so every call goes through the gateway, whose access log names each
// JSON-RPC method.
func TestA2AGoPeers(t *testing.T) {
	cli := a2aCLI(t)
	v1, v03 := freePort(t), freePort(t)
	a2aStart(t, v1, "", cli, "serve", "--echo", "--port", fmt.Sprint(v1), "--transport", "jsonrpc", "--name", "GoEcho", "--quiet")
	card := filepath.Join(t.TempDir(), "card03.json")
	if err := os.WriteFile(card, []byte(fmt.Sprintf(`{"name":"GoEcho03","description":"v0.3 echo","version":"1.0.0",
"supportedInterfaces":[{"url":"http://127.0.0.1:%d","protocolBinding":"JSONRPC","protocolVersion":"0.3"}],
"capabilities":{"streaming":true},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"skills":[]}`, v03)), 0o644); err != nil {
		t.Fatal(err)
	}
	a2aStart(t, v03, "", cli, "serve", "--echo", "--port", fmt.Sprint(v03), "--protocol", "0.3", "--card-compat", "--card", card, "--transport", "jsonrpc", "--quiet")

	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: go-v1
      matches: [{path: {pathPrefix: /agents/v1}}]
      policies:
        a2a: {}
        urlRewrite: {path: {prefix: /}}
      backends: [{host: 127.0.0.1:%d}]
    - name: go-v03
      matches: [{path: {pathPrefix: /agents/v03}}]
      policies:
        a2a: {}
        urlRewrite: {path: {prefix: /}}
      backends: [{host: 127.0.0.1:%d}]
`, port, v1, v03))
	gw := fmt.Sprintf("http://127.0.0.1:%d", port)

	t.Run("v1.0 card rewritten with the client's host and the route prefix", func(t *testing.T) {
		_, body := get(t, gw+"/agents/v1/.well-known/agent-card.json", "Host", "agents.example.com:8443")
		var c struct {
			Supported []struct{ URL string } `json:"supportedInterfaces"`
		}
		if err := json.Unmarshal([]byte(body), &c); err != nil || len(c.Supported) != 1 || c.Supported[0].URL != "http://agents.example.com:8443/agents/v1" {
			t.Fatalf("card: %s", body)
		}
	})
	t.Run("v0.3 card url rewritten", func(t *testing.T) {
		_, body := get(t, gw+"/agents/v03/.well-known/agent-card.json")
		var c struct {
			URL       string                 `json:"url"`
			Supported []struct{ URL string } `json:"supportedInterfaces"`
		}
		if err := json.Unmarshal([]byte(body), &c); err != nil || c.URL != gw+"/agents/v03" || len(c.Supported) != 1 || c.Supported[0].URL != gw+"/agents/v03" {
			t.Fatalf("card: %s", body)
		}
	})
	t.Run("discover", func(t *testing.T) {
		out := joinLines(a2aRun(t, "", cli, "discover", gw+"/agents/v1", "-o", "json"))
		if !strings.Contains(out, gw+"/agents/v1") || strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", v1)) {
			t.Fatalf("discover through the gateway:\n%s", out)
		}
	})
	for _, tc := range []struct{ name, path string }{{"v1.0", "/agents/v1"}, {"v0.3", "/agents/v03"}} {
		t.Run(tc.name+" send", func(t *testing.T) {
			out := joinLines(a2aRun(t, "", cli, "send", gw+tc.path, "hello "+tc.name, "-o", "json"))
			if !strings.Contains(out, `"text": "hello `+tc.name+`"`) || !strings.Contains(out, "TASK_STATE_COMPLETED") {
				t.Fatalf("send:\n%s", out)
			}
		})
		t.Run(tc.name+" send --stream", func(t *testing.T) {
			out := joinLines(a2aRun(t, "", cli, "send", "--stream", gw+tc.path, "streamed "+tc.name))
			if !strings.Contains(out, "[artifact] streamed "+tc.name) || !strings.Contains(out, "[status] completed") {
				t.Fatalf("stream:\n%s", out)
			}
		})
	}
	t.Run("access log and metrics name the methods", func(t *testing.T) {
		g.WaitLog("a2a.method=message/stream")
		got := a2aMethodsLogged(g)
		for _, m := range []string{"SendMessage", "SendStreamingMessage", "message/send", "message/stream"} {
			if got[m] == 0 {
				t.Errorf("no access-log line with a2a.method=%s (got %v)", m, got)
			}
		}
		_, metrics := get(t, "http://"+g.Stats+"/metrics")
		for _, want := range []string{`route="go-v1"`, `method="SendStreamingMessage"`, `method="message/send"`, `method="agent_card"`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("agentgateway_a2a_requests_total lacks %s", want)
			}
		}
	})
}

// TestA2AReferenceConfig serves reference-configs/06-a2a.yaml in front of
// the Go echo agent and talks to it with the Go client.
func TestA2AReferenceConfig(t *testing.T) {
	cli := a2aCLI(t)
	agent := freePort(t)
	a2aStart(t, agent, "", cli, "serve", "--echo", "--port", fmt.Sprint(agent), "--transport", "jsonrpc", "--quiet")
	g, ports := startReference(t, "06-a2a.yaml", map[string]string{"localhost:9999": fmt.Sprintf("127.0.0.1:%d", agent)})
	gw := fmt.Sprintf("http://127.0.0.1:%d", ports[3000])
	out := joinLines(a2aRun(t, "", cli, "send", "--stream", gw, "via reference config"))
	if !strings.Contains(out, "[artifact] via reference config") {
		t.Fatalf("stream:\n%s", out)
	}
	g.WaitLog(`"a2a.method":"SendStreamingMessage"`)
}
