package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// defaultUpstream is used when a target has no HTTP client of its own.
var defaultUpstream = &http.Transport{
	Proxy:               nil,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     90 * time.Second,
	TLSHandshakeTimeout: 10 * time.Second,
}

// upstreamRT sends a target's HTTP requests: it applies the target's
// headers (never the client's), can resume a sealed upstream session
// without a new initialize, and can hold back the closing DELETE.
type upstreamRT struct {
	base    http.RoundTripper
	headers []Header
	detach  atomic.Bool
	order   bool // order SSE bodies (streamable targets; see order.go)

	mu     sync.Mutex
	resume *sealedUp

	// The initialized notification is sent while the client's initialize
	// is being answered (see initializedLater); requests after it wait for
	// it. initSent: it has gone (or there is none to wait for).
	initSent atomic.Bool
	initDone chan struct{}
	initErr  error

	// hold parks the session's standalone stream until the client listens
	// and reports whether it already does (standalone.go); nil for
	// requests outside an SDK session. streamAsked: the SDK has asked for
	// that stream.
	hold        func(*lateBody) bool
	streamAsked atomic.Bool
}

func newUpstreamRT(t *TargetSpec) *upstreamRT {
	rt := &upstreamRT{base: defaultUpstream, headers: t.Headers}
	if t.HTTP != nil && t.HTTP.Transport != nil {
		rt.base = t.HTTP.Transport
	}
	return rt
}

// resumeWith makes the next initialize answer locally with st's session id
// (the target already knows that session), and swallows the initialized
// notification that follows.
func (rt *upstreamRT) resumeWith(st *sealedUp) {
	rt.mu.Lock()
	rt.resume = st
	rt.mu.Unlock()
}

func (rt *upstreamRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete && rt.detach.Load() {
		return synth(req, http.StatusNoContent, nil, ""), nil
	}
	rt.mu.Lock()
	resume := rt.resume
	rt.mu.Unlock()
	if resume != nil && req.Method == http.MethodPost && req.Body != nil {
		body, err := io.ReadAll(io.LimitReader(req.Body, MaxBodyBytes))
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		if msg, err := jsonrpc.DecodeMessage(body); err == nil {
			if r, ok := msg.(*jsonrpc.Request); ok {
				switch r.Method {
				case "initialize":
					return rt.fakeInitialize(req, r, resume)
				case "notifications/initialized":
					rt.mu.Lock()
					rt.resume = nil
					rt.mu.Unlock()
					rt.initSent.Store(true)
					return synth(req, http.StatusAccepted, nil, ""), nil
				}
			}
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	if !rt.initSent.Load() {
		if resp, ok := rt.initializedLater(req); ok {
			return resp, nil
		}
	}
	if rt.hold != nil && req.Method == http.MethodGet && req.Header.Get("Last-Event-ID") == "" && !rt.streamAsked.Swap(true) {
		return rt.standaloneLater(req), nil
	}
	return rt.send(req)
}

// send sends req to the target once the initialized notification has gone.
func (rt *upstreamRT) send(req *http.Request) (*http.Response, error) {
	if err := rt.waitInitialized(req); err != nil {
		return nil, err
	}
	r2 := req.Clone(req.Context())
	applyHeaders(r2.Header, rt.headers)
	resp, err := rt.base.RoundTrip(r2)
	if err == nil && rt.order && resp.Body != nil && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body = newOrderedBody(req.Context(), resp.Body)
	}
	return resp, err
}

// initializedLater answers a streamable target's notifications/initialized
// at once (202) and sends it in the background: the SDK would otherwise
// wait for the target's 202 before the client's initialize can be
// answered, a second upstream round trip on every session's start. The
// session's next request waits until it has been sent, so the target sees
// it first, and fails if the target refused it.
func (rt *upstreamRT) initializedLater(req *http.Request) (*http.Response, bool) {
	if !rt.order || req.Method != http.MethodPost || req.GetBody == nil || req.ContentLength <= 0 || req.ContentLength > 512 {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	data, err := io.ReadAll(body)
	if err != nil || !bytes.Contains(data, []byte(`"notifications/initialized"`)) {
		return nil, false
	}
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(data, &m) != nil || m.Method != "notifications/initialized" || m.ID != nil {
		return nil, false
	}
	done := make(chan struct{})
	rt.mu.Lock()
	rt.initDone = done
	rt.mu.Unlock()
	rt.initSent.Store(true)
	r2 := req.Clone(context.WithoutCancel(req.Context()))
	r2.Body = io.NopCloser(bytes.NewReader(data))
	applyHeaders(r2.Header, rt.headers)
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(r2.Context(), 30*time.Second)
		defer cancel()
		resp, err := rt.base.RoundTrip(r2.WithContext(ctx))
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
			// 404: the session is already gone; the next request finds
			// that out itself and re-initializes.
			if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
				err = fmt.Errorf("notifications/initialized answered HTTP %d", resp.StatusCode)
			}
		}
		rt.initErr = err
	}()
	return synth(req, http.StatusAccepted, nil, ""), true
}

// waitInitialized holds a request until the initialized notification has
// been sent.
func (rt *upstreamRT) waitInitialized(req *http.Request) error {
	rt.mu.Lock()
	done := rt.initDone
	rt.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
	case <-req.Context().Done():
		return req.Context().Err()
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.initDone == done {
		rt.initDone = nil
		if err := rt.initErr; err != nil {
			rt.initErr = nil
			return err
		}
	}
	return nil
}

func (rt *upstreamRT) fakeInitialize(req *http.Request, r *jsonrpc.Request, st *sealedUp) (*http.Response, error) {
	caps := map[string]any{}
	for _, c := range st.Caps {
		switch c {
		case 't':
			caps["tools"] = map[string]any{}
		case 'p':
			caps["prompts"] = map[string]any{}
		case 'r':
			caps["resources"] = map[string]any{}
		case 'l':
			caps["logging"] = map[string]any{}
		case 'c':
			caps["completions"] = map[string]any{}
		}
	}
	pv := st.PV
	if pv == "" {
		pv = "2025-06-18"
	}
	res, _ := json.Marshal(map[string]any{
		"protocolVersion": pv, "capabilities": caps,
		"serverInfo": map[string]any{"name": st.Target, "version": ""},
	})
	resp := &jsonrpc.Response{ID: r.ID, Result: res}
	data, err := jsonrpc.EncodeMessage(resp)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Mcp-Session-Id", st.ID)
	return synth(req, http.StatusOK, h, string(data)), nil
}

func synth(req *http.Request, status int, h http.Header, body string) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}
}

// procPool bounds the stdio processes of one route.
type procPool struct {
	sem chan struct{}
}

func newProcPool(n int) *procPool { return &procPool{sem: make(chan struct{}, n)} }

// process is one stdio target process. It runs in its own process group so
// that everything it spawns (npx → node) is stopped with it.
type process struct {
	cmd  *exec.Cmd
	pool *procPool
	once sync.Once
}

func (pp *procPool) start(t *TargetSpec, log *slog.Logger) (*process, error) {
	select {
	case pp.sem <- struct{}{}:
	default:
		return nil, fmt.Errorf("too many stdio processes (limit %d)", cap(pp.sem))
	}
	cmd := exec.Command(t.Cmd, t.Args...) //nolint:gosec // G204: the operator's config names the stdio command
	if t.ClearEnv {
		cmd.Env = []string{}
	} else {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "SESSION_KEY=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
	}
	for k, v := range t.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = &lineLog{log: log, target: t.Name}
	return &process{cmd: cmd, pool: pp}, nil
}

func (p *process) transport() mcp.Transport {
	return &mcp.CommandTransport{Command: p.cmd, TerminateDuration: 2 * time.Second}
}

// stop kills what is left of the process group and frees the slot. The SDK
// closes stdin, signals and waits for (reaps) the leader itself.
func (p *process) stop() {
	p.once.Do(func() {
		if p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		}
		<-p.pool.sem
	})
}

// lineLog writes a process's stderr to the gateway log, one record per
// line, with the target's name. Lines are capped at 4 KiB.
type lineLog struct {
	log    *slog.Logger
	target string
	mu     sync.Mutex
	buf    []byte
}

const maxStderrLine = 4 << 10

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxStderrLine - len(l.buf)
			if room > 0 {
				l.buf = append(l.buf, p[:min(room, len(p))]...)
			}
			break
		}
		room := maxStderrLine - len(l.buf)
		l.buf = append(l.buf, p[:min(room, i)]...)
		l.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineLog) emit() {
	line := strings.TrimRight(string(l.buf), "\r")
	l.buf = l.buf[:0]
	if line != "" {
		l.log.Info("mcp target stderr", "target", l.target, "line", line)
	}
}
