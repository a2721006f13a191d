package mcp

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// The cost of one MCP request through the gateway, in process: client →
// gateway handler → a stateless go-sdk upstream, over loopback HTTP. The
// Direct variants measure the same client against the upstream alone, so
// the difference is the gateway's share (allocations are deterministic;
// ns/op is noisy on a busy machine). docs/performance.md (MCP) records
// the figures.
//
//	go test -run '^$' -bench 'MCP' -benchmem ./internal/mcp/

const benchCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}`

const benchInit = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`

func benchUpstream(b *testing.B, stateless bool) *httptest.Server {
	ts, _ := countedUpstream(b, stateless)
	return ts
}

// countedUpstream is benchUpstream with a count of the connections it
// accepted.
func countedUpstream(b *testing.B, stateless bool) (*httptest.Server, *atomic.Int64) {
	srv := newUpstreamServer("one")
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: stateless})
	ts := httptest.NewUnstartedServer(h)
	conns := new(atomic.Int64)
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	b.Cleanup(ts.Close)
	return ts, conns
}

const benchList = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`

// benchGateway serves a gateway whose targets are ups, named one, two, …
func benchGateway(b *testing.B, stateless bool, ups ...string) string {
	var targets []*TargetSpec
	for i, up := range ups {
		targets = append(targets, &TargetSpec{Name: []string{"one", "two", "three", "four"}[i], Kind: KindStreamable, URL: up})
	}
	h, err := New(Spec{Route: "bench", Key: make([]byte, 32), Stateless: stateless, Targets: targets})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(h)
	b.Cleanup(func() {
		ts.Close()
		h.Close()
	})
	return ts.URL
}

func benchPost(b *testing.B, c *http.Client, url, sid, body string) (int, string) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id")
}

func benchCalls(b *testing.B, url string, body ...string) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	msg := benchCall
	if len(body) > 0 {
		msg = body[0]
	}
	for range 3 { // warm up: connections, pooled sessions
		benchPost(b, c, url+"/mcp", "", msg)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code, _ := benchPost(b, c, url+"/mcp", "", msg); code != http.StatusOK {
			b.Fatalf("%s: %d", msg, code)
		}
	}
}

func BenchmarkMCPStatelessCallDirect(b *testing.B) {
	benchCalls(b, benchUpstream(b, true).URL)
}

func BenchmarkMCPStatelessCallGateway(b *testing.B) {
	benchCalls(b, benchGateway(b, true, benchUpstream(b, true).URL))
}

func BenchmarkMCPStatelessListDirect(b *testing.B) {
	benchCalls(b, benchUpstream(b, true).URL, benchList)
}

func BenchmarkMCPStatelessListGateway(b *testing.B) {
	benchCalls(b, benchGateway(b, true, benchUpstream(b, true).URL), benchList)
}

// Three targets: the list fans out to each.
func BenchmarkMCPStatelessList3Gateway(b *testing.B) {
	benchCalls(b, benchGateway(b, true, benchUpstream(b, true).URL, benchUpstream(b, true).URL, benchUpstream(b, true).URL), benchList)
}

// benchSessions runs initialize + initialized + DELETE, as the load
// harness's initialize loop does. Besides the whole loop it reports each
// step's mean time (init-µs, initialized-µs, delete-µs per session) and
// the connections the upstream accepted per session (upconns).
func benchSessions(b *testing.B, url string, upConns *atomic.Int64) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var steps [3]time.Duration
	one := func() {
		t0 := time.Now()
		code, sid := benchPost(b, c, url+"/mcp", "", benchInit)
		if code != http.StatusOK || sid == "" {
			b.Fatalf("initialize: %d %q", code, sid)
		}
		t1 := time.Now()
		if code, _ := benchPost(b, c, url+"/mcp", sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); code != http.StatusAccepted {
			b.Fatalf("initialized: %d", code)
		}
		t2 := time.Now()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodDelete, url+"/mcp", nil)
		req.Header.Set("Mcp-Session-Id", sid)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		t3 := time.Now()
		steps[0] += t1.Sub(t0)
		steps[1] += t2.Sub(t1)
		steps[2] += t3.Sub(t2)
	}
	one()
	steps = [3]time.Duration{}
	before := upConns.Load()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		one()
		n++
	}
	for i, name := range []string{"init-µs", "initialized-µs", "delete-µs"} {
		b.ReportMetric(float64(steps[i].Microseconds())/float64(n), name)
	}
	b.ReportMetric(float64(upConns.Load()-before)/float64(n), "upconns")
}

func BenchmarkMCPSessionInitDirect(b *testing.B) {
	up, conns := countedUpstream(b, false)
	benchSessions(b, up.URL, conns)
}

func BenchmarkMCPSessionInitGateway(b *testing.B) {
	up, conns := countedUpstream(b, false)
	benchSessions(b, benchGateway(b, false, up.URL), conns)
}
