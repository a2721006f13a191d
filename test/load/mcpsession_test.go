package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestMCPHasResult(t *testing.T) {
	for _, tc := range []struct {
		body, id string
		want     bool
	}{
		{`{"jsonrpc":"2.0","id":7,"result":{"content":[]}}`, "7", true},
		{`{"jsonrpc":"2.0","id":7,"result":{}}`, "8", false},
		{`{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"x"}}`, "7", false},
		{`{"jsonrpc":"2.0","id":7,"result":null}`, "7", false},
		{"event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[]}}\r\n\r\n", "3", true},
		{"id: 1\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}\n\n", "4", false},
		{"data: {not json\n\n", "1", false},
		{"", "1", false},
	} {
		if got := mcpHasResult([]byte(tc.body), tc.id); got != tc.want {
			t.Errorf("mcpHasResult(%q, %s) = %v, want %v", tc.body, tc.id, got, tc.want)
		}
	}
}

// TestMCPSessionLoad drives the stateful load client against the go-sdk's
// streamable handler (stateful): every worker gets its own session, every
// call is answered, and the sessions are ended at the end.
func TestMCPSessionLoad(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "load-test", Version: "1"}, nil)
	var calls atomic.Int64
	mcp.AddTool(srv, &mcp.Tool{Name: mcpTool}, func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		calls.Add(1)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil, nil
	})
	var deletes atomic.Int64
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			deletes.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()

	for _, qps := range []float64{0, 200} {
		calls.Store(0)
		deletes.Store(0)
		s, err := mcpSessionLoad(ts.URL+mcpPath, 4, qps, 300*time.Millisecond, sessionCall)
		if err != nil {
			t.Fatal(err)
		}
		if s.Errors != 0 || s.Count == 0 || s.Total.P50 <= 0 || s.TTFB.P50 <= 0 || s.TTFB.P50 > s.Total.P99 {
			t.Errorf("qps %v: %+v", qps, s)
		}
		// The warm-up call of each session is not counted.
		if got := calls.Load(); got != s.Count+4 {
			t.Errorf("qps %v: server saw %d calls, summary counts %d (+4 warm-up)", qps, got, s.Count)
		}
		if deletes.Load() != 4 {
			t.Errorf("qps %v: %d sessions ended, want 4", qps, deletes.Load())
		}
	}
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	if _, err := mcpSessionLoad(down.URL+mcpPath, 2, 0, 50*time.Millisecond, sessionCall); err == nil {
		t.Error("no error with the server down")
	}
}
