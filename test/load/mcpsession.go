package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The stateful MCP load client (`load mcp-session-load …`, its own process
// like fortio). A stateful session is agentgateway's default MCP mode, and
// its calls take another path through the gateway than stateless ones (the
// go-sdk's server and client instead of the stateless relay), so they need
// a row of their own. fortio cannot make it: it sends one body on every
// connection, so its connections would share one session and one JSON-RPC
// id, and a session refuses an id that is still in flight.
//
// Each of -c workers opens its own session (initialize, then
// notifications/initialized), sends one untimed tools/call to warm it, and
// then sends tools/call requests one after the other with increasing ids,
// paced as the streaming client is (paced in stream.go). Every answer must
// be 200 and carry the JSON-RPC result for that id. The sessions are ended
// with DELETE at the end, untimed. -method and -params send another
// request instead (by hand: e.g. prompts/get). It writes the same JSON
// summary as stream-load (TTFB: the first body byte; Total: the whole
// answer, which the report uses).

func mcpSessionLoadMain(args []string) {
	fs := flag.NewFlagSet("mcp-session-load", flag.ExitOnError)
	conns := fs.Int("c", 32, "sessions, one worker each")
	qps := fs.Float64("qps", 0, "aggregate rate (0: as fast as possible)")
	dur := fs.Duration("t", 10*time.Second, "duration")
	out := fs.String("json", "", "summary file")
	method := fs.String("method", "tools/call", "the request's method (by hand: the harness's rows use tools/call)")
	params := fs.String("params", mcpCallParams, "the request's params, JSON")
	_ = fs.Parse(args)
	if fs.NArg() != 1 || *out == "" {
		log.Fatal("usage: load mcp-session-load [-c N] [-qps Q] [-t D] [-method M -params JSON] -json FILE URL")
	}
	s, err := mcpSessionLoad(fs.Arg(0), *conns, *qps, *dur, sessionRequest{*method, *params})
	if err != nil {
		log.Fatal(err)
	}
	writeSummary(*out, s)
}

// sessionRequest is the request mcp-session-load sends: a method and its
// params (JSON).
type sessionRequest struct{ method, params string }

// mcpCallParams are the params of the harness's tools/call.
const mcpCallParams = `{"name":"` + mcpTool + `","arguments":{}}`

// sessionCall is the harness's request: a tools/call of mcpTool.
var sessionCall = sessionRequest{"tools/call", mcpCallParams}

func mcpSessionLoad(url string, conns int, qps float64, dur time.Duration, sr sessionRequest) (streamSummary, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	sessions := make([]string, conns)
	ids := make([]int, conns) // the last JSON-RPC id of each session
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, err := mcpInitialize(client, url)
			if err == nil {
				sessions[i] = s
				ids[i] = 1 // initialize's
				_, _, err = mcpSessionCall(client, url, s, &ids[i], sr)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	defer func() {
		for _, s := range sessions {
			if s != "" {
				_, _, _ = mcpDo(client, http.MethodDelete, url, "", s)
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return streamSummary{}, fmt.Errorf("opening %d sessions: %w", conns, err)
	}
	return paced(conns, qps, dur, func(i int) (time.Duration, time.Duration, error) {
		return mcpSessionCall(client, url, sessions[i], &ids[i], sr)
	}), nil
}

// mcpSessionCall sends a session's next request (id *last+1) and reads the
// whole answer, JSON or an SSE stream; it fails unless the status is 200
// and the answer holds the result for that id.
func mcpSessionCall(client *http.Client, url, session string, last *int, sr sessionRequest) (ttfb, total time.Duration, err error) {
	*last++
	id := strconv.Itoa(*last)
	body := `{"jsonrpc":"2.0","id":` + id + `,"method":` + strconv.Quote(sr.method) + `,"params":` + sr.params + `}`
	req, err := mcpRequest(http.MethodPost, url, body, session)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if ttfb == 0 {
				ttfb = time.Since(t0)
			}
			if len(b)+n > 1<<20 {
				return 0, 0, errors.New("answer over 1 MiB")
			}
			b = append(b, buf[:n]...)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
	total = time.Since(t0)
	if resp.StatusCode != http.StatusOK || !mcpHasResult(b, id) {
		return 0, 0, fmt.Errorf("%s id %s: %s %q", sr.method, id, resp.Status, tail(string(b), 300))
	}
	return ttfb, total, nil
}

// mcpHasResult reports whether an answer (a JSON-RPC message, or an SSE
// stream of them) holds a result for id.
func mcpHasResult(b []byte, id string) bool {
	msgs := [][]byte{b}
	if t := strings.TrimSpace(string(b)); !strings.HasPrefix(t, "{") {
		msgs = nil
		for line := range strings.Lines(t) {
			if d, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "data:"); ok {
				msgs = append(msgs, []byte(d))
			}
		}
	}
	for _, m := range msgs {
		var r struct {
			ID     json.RawMessage
			Result json.RawMessage
		}
		if json.Unmarshal(m, &r) == nil && string(r.ID) == id && len(r.Result) > 0 && string(r.Result) != "null" {
			return true
		}
	}
	return false
}
