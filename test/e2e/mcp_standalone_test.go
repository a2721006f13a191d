package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// What a target sends outside any request (here a tools/list_changed)
// reaches a client listening on its standalone stream, through the real
// binary, with the official TypeScript and Go SDK clients. The gateway
// opens the target's standalone stream when the client opens its own
// (docs/mcp.md). A change announced before the whole chain listens is
// lost, as it would be on a direct connection, so the target keeps
// changing its tool list until the client reports one.
func TestMCPStandaloneStreamRelayed(t *testing.T) {
	target := newGoMCPServer(t, "one")
	_, url := mcpGateway(t, mcpRoute(fmt.Sprintf("          - name: one\n            mcp:\n              host: %s/mcp\n", target.URL)))
	var n atomic.Int32
	changeUntil := func(done <-chan struct{}) {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				name := fmt.Sprintf("added_%d", n.Add(1))
				mcp.AddTool(target.Srv, &mcp.Tool{Name: name}, func(context.Context, *mcp.CallToolRequest, textIn) (*mcp.CallToolResult, any, error) {
					return &mcp.CallToolResult{}, nil, nil
				})
			}
		}
	}

	t.Run("typescript", func(t *testing.T) {
		nodeDir(t)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", "mcp-listen.mjs", url)
		cmd.Dir = nodeDir(t)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "ready" {
			t.Fatalf("client: %q", lines.Text())
		}
		done := make(chan struct{})
		go changeUntil(done)
		var rest []string
		for lines.Scan() {
			rest = append(rest, lines.Text())
		}
		close(done)
		if err := cmd.Wait(); err != nil || !strings.Contains(strings.Join(rest, "\n"), "changed") {
			t.Fatalf("client: %v %q", err, rest)
		}
	})

	t.Run("go", func(t *testing.T) {
		changed := make(chan struct{}, 1)
		cs := mcpConnect(t, url, &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		}})
		done := make(chan struct{})
		go changeUntil(done)
		select {
		case <-changed:
		case <-time.After(30 * time.Second):
			t.Fatal("no tools/list_changed reached the Go SDK client")
		}
		close(done)
		if tools := listToolNames(t, cs); !tools["added_1"] {
			t.Fatalf("tools after the change: %v", tools)
		}
	})
}
