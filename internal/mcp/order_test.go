package mcp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestProgressPrecedesResultOnItsStream reads the call's own SSE stream:
// the three progress notifications the target sends during the call are
// on it, before the result, every time.
func TestProgressPrecedesResultOnItsStream(t *testing.T) {
	for _, kind := range []string{"streamable", "sse"} {
		t.Run(kind, func(t *testing.T) {
			var tg *TargetSpec
			if kind == "sse" {
				sse := httptest.NewServer(mcp.NewSSEHandler(func(*http.Request) *mcp.Server { return newUpstreamServer("one") }, nil))
				t.Cleanup(sse.Close)
				tg = &TargetSpec{Name: "one", Kind: KindSSE, URL: sse.URL}
			} else {
				tg = target("one", newUpstream(t, "one"))
			}
			_, gw := gateway(t, Spec{Targets: []*TargetSpec{tg}})
			sid := connect(t, gw.URL+"/mcp", nil).ID()
			for i := range 20 {
				body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"progress","arguments":{"text":""},"_meta":{"progressToken":"p%d"}}}`, 100+i, i)
				status, out := post(t, gw.URL+"/mcp", sid, body)
				if status != 200 {
					t.Fatalf("call %d: %d %s", i, status, out)
				}
				res := strings.Index(out, `"result"`)
				if n := strings.Count(out[:max(res, 0)], `"method":"notifications/progress"`); res < 0 || n != 3 {
					t.Fatalf("call %d: %d progress notifications before the result: %s", i, n, out)
				}
				if strings.Contains(out, barrierPrefix) {
					t.Fatalf("call %d: a barrier leaked to the client: %s", i, out)
				}
			}
		})
	}
}

// TestProgressTokenNotScalar: a client's object progress token (invalid)
// neither panics the relay nor routes anything by it.
func TestProgressTokenNotScalar(t *testing.T) {
	up := newUpstream(t, "one")
	_, gw := gateway(t, Spec{Targets: []*TargetSpec{target("one", up)}})
	sid := connect(t, gw.URL+"/mcp", nil).ID()
	status, out := post(t, gw.URL+"/mcp", sid, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"progress","arguments":{"text":""},"_meta":{"progressToken":{"a":1}}}}`)
	if status != 200 || !strings.Contains(out, `"result"`) {
		t.Fatalf("%d %s", status, out)
	}
}

// TestOrderedBody: a response event after notification events comes after
// a barrier event, and only once the barrier is seen; events pass through
// byte for byte (CRLF, ids, multi-line data, other event names).
func TestOrderedBody(t *testing.T) {
	notif := "id: 1\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\r\ndata: \"params\":{\"progressToken\":\"t\",\"progress\":1}}\r\n\r\n"
	ping := "event: ping\ndata: {}\n\n"
	resp := "id: 2\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := newOrderedBody(ctx, io.NopCloser(strings.NewReader(notif+ping+resp)))
	r := bufio.NewReader(b)
	read := func(n int) string {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		return string(buf)
	}
	if got := read(len(notif) + len(ping)); got != notif+ping {
		t.Fatalf("passed through as %q", got)
	}
	ev, err := r.ReadString('\n')
	if err != nil || ev != "event: message\n" {
		t.Fatalf("barrier event: %q %v", ev, err)
	}
	data, _ := r.ReadString('\n')
	_, _ = r.ReadString('\n')
	msg, err := jsonrpc.DecodeMessage([]byte(strings.TrimPrefix(strings.TrimSpace(data), "data: ")))
	if err != nil {
		t.Fatal(err)
	}
	var p mcp.ProgressNotificationParams
	if err := json.Unmarshal(msg.(*jsonrpc.Request).Params, &p); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, len(resp))
		_, _ = io.ReadFull(r, buf)
		got <- string(buf)
	}()
	select {
	case s := <-got:
		t.Fatalf("response delivered before the barrier was seen: %q", s)
	default:
	}
	if !releaseBarrier(&p) {
		t.Fatal("barrier not recognized")
	}
	if s := <-got; s != resp {
		t.Fatalf("response %q", s)
	}
	if releaseBarrier(&mcp.ProgressNotificationParams{ProgressToken: "t"}) {
		t.Fatal("an ordinary token taken for a barrier")
	}
}
