package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestA2AJSPeers: an agent built on the A2A JS SDK's server package
// (node-a2a/agent.mjs: v1.0 and, through its compat layer, v0.3 JSON-RPC)
// behind the gateway, driven by the JS SDK client (v1.0 ClientFactory and
// the v0.3 JSON-RPC transport reading the card's `url`) and by the Go CLI.
// The agent spaces its stream events 100 ms apart: they must reach the
// client as they are sent, not all at the end.
func TestA2AJSPeers(t *testing.T) {
	dir := a2aNodeDir(t)
	agent := freePort(t)
	a2aStart(t, agent, dir, "node", "agent.mjs", fmt.Sprint(agent))
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`
binds:
- port: %d
  listeners:
  - routes:
    - name: js
      matches: [{path: {pathPrefix: /js}}]
      policies:
        a2a: {}
        urlRewrite: {path: {prefix: /}}
      backends: [{host: 127.0.0.1:%d}]
`, port, agent))
	gw := fmt.Sprintf("http://127.0.0.1:%d/js", port)

	t.Run("v1.0 send", func(t *testing.T) {
		out := joinLines(a2aRun(t, dir, "node", "client.mjs", gw, "hi js"))
		if !strings.Contains(out, "js echo: hi js") || !strings.Contains(out, "DONE") {
			t.Fatalf("send:\n%s", out)
		}
	})
	streamed := func(t *testing.T, lines []timedLine) {
		t.Helper()
		var events []timedLine
		for _, l := range lines {
			if strings.HasPrefix(l.text, "{") {
				events = append(events, l)
			}
		}
		if len(events) < 4 || !strings.Contains(joinLines(events), "js echo: streamed") {
			t.Fatalf("stream events:\n%s", joinLines(lines))
		}
		if spread := events[len(events)-1].at - events[0].at; spread < 200*time.Millisecond {
			t.Errorf("events arrived within %v of each other: the stream was buffered", spread)
		}
	}
	t.Run("v1.0 stream", func(t *testing.T) {
		streamed(t, a2aRun(t, dir, "node", "client.mjs", gw, "streamed", "--stream"))
	})
	t.Run("v0.3 stream to the card's rewritten url", func(t *testing.T) {
		lines := a2aRun(t, dir, "node", "client.mjs", gw, "streamed", "--stream", "--v03")
		if lines[0].text != "ENDPOINT "+gw+"/a2a/jsonrpc" {
			t.Fatalf("v0.3 card url: %q", lines[0].text)
		}
		streamed(t, lines)
	})
	t.Run("v0.3 send", func(t *testing.T) {
		out := joinLines(a2aRun(t, dir, "node", "client.mjs", gw, "old school", "--v03"))
		if !strings.Contains(out, "js echo: old school") {
			t.Fatalf("send:\n%s", out)
		}
	})
	t.Run("Go client to the JS agent", func(t *testing.T) {
		cli := a2aCLI(t)
		out := joinLines(a2aRun(t, dir, cli, "send", "--stream", gw, "from go"))
		if !strings.Contains(out, "js echo: from go") {
			t.Fatalf("stream:\n%s", out)
		}
	})
	t.Run("access log", func(t *testing.T) {
		g.WaitLog("a2a.method=message/send")
		got := a2aMethodsLogged(g)
		for _, m := range []string{"SendMessage", "SendStreamingMessage", "message/stream", "message/send"} {
			if got[m] == 0 {
				t.Errorf("no a2a.method=%s (got %v)", m, got)
			}
		}
	})
}
