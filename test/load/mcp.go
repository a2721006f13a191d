package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The MCP scenario: the go-sdk's conformance everything-server as the
// upstream (a fast Go MCP server), run twice: stateless for tools/call
// (so fortio can POST a JSON-RPC request without a session) and stateful
// for the session initialize loop. The gateway has one bind per mode, each
// a route with one `mcp` backend whose single target is that server.

const (
	// mcpPath is where the MCP endpoint is asked for, on the upstream
	// (which serves any path) and on the gateway's MCP binds.
	mcpPath = "/mcp"
	// mcpVersion is the protocol version the scenario speaks.
	mcpVersion = "2025-11-25"
	// mcpTool is the everything-server's tool answering one text item.
	mcpTool = "test_simple_text"
	// mcpInitN is the number of sequential initialize+initialized pairs
	// per path and run.
	mcpInitN = 200
	// mcpInitTimeout bounds one initialize loop.
	mcpInitTimeout = 60 * time.Second
)

// mcpCallRequest is the body of the tools/call scenario.
var mcpCallRequest = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + mcpTool + `","arguments":{}}}`

// mcpListRequest is the body of the tools/list scenario.
const mcpListRequest = `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`

// mcpHeaders are sent with every MCP request (besides Content-Type).
var mcpHeaders = []string{"Accept: application/json, text/event-stream", "MCP-Protocol-Version: " + mcpVersion}

var mcpInitRequest = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + mcpVersion +
	`","capabilities":{},"clientInfo":{"name":"agentgateway-load","version":"1"}}}`

const mcpInitializedNotification = `{"jsonrpc":"2.0","method":"notifications/initialized"}`

// findMCPServer returns the everything-server binary: the flag, else
// .cache/bin/mcp-everything, else it builds it there from the module graph.
func findMCPServer(ctx context.Context, flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	local, _ := filepath.Abs(filepath.Join(".cache", "bin", "mcp-everything"))
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	log.Printf("building the go-sdk everything-server into %s", local)
	bctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(bctx, "go", "build", "-o", local, "github.com/modelcontextprotocol/go-sdk/conformance/everything-server")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the MCP everything-server: %w", err)
	}
	return local, nil
}

// startMCPServer runs the everything-server on a free loopback port and
// waits until tools/call (stateless) or initialize (stateful) answers.
func startMCPServer(ctx context.Context, bin string, stateless bool) (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ch := start(ctx, bin, "-http="+addr, "-stateless="+strconv.FormatBool(stateless))
	ch.cmd.Stdout = ch.tail
	if err := ch.run(); err != nil {
		return nil, "", err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + addr + mcpPath
	probe := func() bool {
		if stateless {
			return mcpPostOK(client, url, mcpCallRequest)
		}
		_, _, err := mcpInitialize(client, url)
		return err == nil
	}
	for t0 := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		if ch.exited() {
			return nil, "", fmt.Errorf("MCP server exited: %v\n%s", ch.cmd.ProcessState, ch.tail.String())
		}
		if probe() {
			return ch, addr, nil
		}
		if time.Since(t0) > 10*time.Second || ctx.Err() != nil {
			ch.kill()
			return nil, "", fmt.Errorf("MCP server on %s not answering within 10s\n%s", addr, ch.tail.String())
		}
	}
}

func mcpRequest(method, url, body, session string) (*http.Request, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range mcpHeaders {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	return req, nil
}

// mcpDo sends one request and reads the whole answer (an SSE stream ends
// after the JSON-RPC response).
func mcpDo(client *http.Client, method, url, body, session string) (*http.Response, []byte, error) {
	req, err := mcpRequest(method, url, body, session)
	if err != nil {
		return nil, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// mcpPostOK posts a JSON-RPC request and checks for 200 and a result.
func mcpPostOK(client *http.Client, url, body string) bool {
	resp, b, err := mcpDo(client, http.MethodPost, url, body, "")
	return err == nil && resp.StatusCode == http.StatusOK && strings.Contains(string(b), `"result"`)
}

// mcpInitialize opens a session: initialize, then the initialized
// notification. It returns the session id and the time both took.
func mcpInitialize(client *http.Client, url string) (string, time.Duration, error) {
	t0 := time.Now()
	resp, b, err := mcpDo(client, http.MethodPost, url, mcpInitRequest, "")
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"protocolVersion"`) {
		return "", 0, fmt.Errorf("initialize: %s %q", resp.Status, tail(string(b), 300))
	}
	session := resp.Header.Get("Mcp-Session-Id")
	if session == "" {
		return "", 0, errors.New("initialize: no Mcp-Session-Id")
	}
	resp, b, err = mcpDo(client, http.MethodPost, url, mcpInitializedNotification, session)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("notifications/initialized: %s %q", resp.Status, tail(string(b), 300))
	}
	return session, time.Since(t0), nil
}

// initResult is one initialize loop: mcpInitN sequential sessions.
type initResult struct {
	n          int
	p50, p99   float64 // seconds
	max        float64
	hasProc    bool
	cpuSeconds float64 // of the sampled proxy over the loop (sessions opened and closed)
	otherCores float64
}

// mcpInitLoop opens n sessions one after the other on one keep-alive
// connection, timing initialize + initialized; each session is then
// ended with DELETE (not timed, but in the CPU sample).
func mcpInitLoop(ctx context.Context, url string, n int, t target) (initResult, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	// One untimed session first: connections and lazy state warm.
	if s, _, err := mcpInitialize(client, url); err != nil {
		return initResult{}, err
	} else {
		_, _, _ = mcpDo(client, http.MethodDelete, url, "", s)
	}
	var smp *sampler
	if t.proc != nil {
		smp = startSampler(t.pids)
	}
	before := takeCPUSnapshot()
	d := make([]time.Duration, 0, n)
	for range n {
		if ctx.Err() != nil {
			return initResult{}, ctx.Err()
		}
		s, took, err := mcpInitialize(client, url)
		if err != nil {
			if smp != nil {
				smp.stop()
			}
			return initResult{}, err
		}
		d = append(d, took)
		if resp, b, err := mcpDo(client, http.MethodDelete, url, "", s); err != nil || resp.StatusCode >= 300 && resp.StatusCode != http.StatusMethodNotAllowed {
			if smp != nil {
				smp.stop()
			}
			if err == nil {
				err = fmt.Errorf("%s %q", resp.Status, tail(string(b), 300))
			}
			return initResult{}, fmt.Errorf("DELETE session: %w", err)
		}
	}
	r := initResult{n: n, otherCores: before.otherCores(nil)}
	if smp != nil {
		st := smp.stop()
		r.hasProc, r.cpuSeconds = true, st.cpuSeconds
	}
	p := percentiles(d)
	r.p50, r.p99, r.max = p.P50, p.P99, slices.Max(d).Seconds()
	return r, nil
}

// initRow is the summary of a path's initialize loops.
type initRow struct {
	runs           int
	p50, p99, max  float64
	hasProc        bool
	cpuPerInitUsec float64
}

func summarizeInit(rs []initResult) initRow {
	if len(rs) == 0 {
		return initRow{}
	}
	w := initRow{runs: len(rs),
		p50: median(collectInit(rs, func(r initResult) float64 { return r.p50 })),
		p99: median(collectInit(rs, func(r initResult) float64 { return r.p99 })),
		max: slices.Max(collectInit(rs, func(r initResult) float64 { return r.max })),
	}
	if rs[0].hasProc {
		var cpu float64
		var n int
		for _, r := range rs {
			cpu += r.cpuSeconds
			n += r.n
		}
		w.hasProc, w.cpuPerInitUsec = true, cpu/float64(n)*1e6
	}
	return w
}

func collectInit(rs []initResult, f func(initResult) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func renderInit(b *strings.Builder, inits map[string][]initResult) {
	rows := map[string]initRow{}
	for p, rs := range inits {
		rows[p] = summarizeInit(rs)
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\nMCP session initialize (stateful; %d sequential `initialize` + `notifications/initialized` per run on one keep-alive connection, each session then ended with an untimed DELETE; latencies are medians over runs of the per-run percentiles; proxy CPU covers the whole loop, DELETE included):\n\n", mcpInitN)
	b.WriteString("| path | runs | p50 | p99 | max | added p50 / p99 | proxy CPU µs per session |\n|---|---|---|---|---|---|---|\n")
	d := rows[pathDirect]
	for _, p := range allPaths {
		w, ok := rows[p]
		if !ok || w.runs == 0 {
			continue
		}
		added, cpu := "—", "—"
		if p != pathDirect && d.runs > 0 {
			added = ms(w.p50-d.p50) + " / " + ms(w.p99-d.p99)
		}
		if w.hasProc {
			cpu = strconv.FormatFloat(w.cpuPerInitUsec, 'f', 0, 64)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s |\n", p, w.runs, ms(w.p50), ms(w.p99), ms(w.max), added, cpu)
	}
}
