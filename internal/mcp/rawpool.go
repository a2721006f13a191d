package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/jsonscan"
	"github.com/agentgw/agentgateway/internal/version"
)

// The stateless fast path's upstream sessions (fastpath.go relays over
// them). A stateless route keeps, per target and offered protocol version,
// one initialized upstream session that every stateless request shares,
// instead of an initialize + initialized + call + DELETE per request.
//
// Only sessions without an Mcp-Session-Id are shared: a target that issues
// session ids may keep state per session (a browser, a working directory,
// a login), which must not carry over from one client to another, so such
// a target gets a session of its own for every request, ended (DELETE)
// when the request is answered, as the SDK path does.
//
// Sharing is safe because nothing of one client reaches it: the session is
// initialized with the gateway's identity and no client capabilities (as a
// stateless request's own session was), requests carry only the target's
// configured headers (backendAuth, header policies; client headers are
// never forwarded), and each request gets its own JSON-RPC id, mapped back
// to the client's. What a target sends about a request travels on that
// request's own response stream. Should per-client credentials ever be
// forwarded upstream, they must become part of rawKey.

// rawKey names one pooled session.
type rawKey struct {
	target string
	pv     string // protocol version offered in initialize
}

// rawSession is one initialized upstream session.
type rawSession struct {
	t    *TargetSpec
	rt   http.RoundTripper
	id   string // Mcp-Session-Id; "" for a stateless target
	pv   string // negotiated protocol version
	caps string // the target's capabilities (capsString)
	// down is the client session whose upstream session this is, when the
	// stateful relay uses it (stateful.go); nil for pooled sessions.
	down *session

	// The parts of every request in the session, built once it is
	// initialized (template): the parsed target URL and the headers. Both
	// are shared by the session's requests, so they are read only, as a
	// RoundTripper must treat them.
	url *url.URL
	hdr http.Header
}

// hasCap reports whether the target declared capability c.
func (s *rawSession) hasCap(c byte) bool { return strings.IndexByte(s.caps, c) >= 0 }

// rawEntry holds a key's session; mu serializes (re)initializing it.
type rawEntry struct {
	mu      sync.Mutex
	sess    atomic.Pointer[rawSession]
	lastUse atomic.Int64
	// perRequest: the target issues session ids, so each request gets
	// its own session (never pooled).
	perRequest atomic.Bool
}

type rawPool struct {
	h      *Handler
	mu     sync.Mutex
	m      map[rawKey]*rawEntry
	closed bool
	next   atomic.Uint64 // upstream request ids
}

func newRawPool(h *Handler) *rawPool { return &rawPool{h: h, m: map[rawKey]*rawEntry{}} }

func (p *rawPool) entry(k rawKey) *rawEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.m[k]
	if e == nil {
		e = &rawEntry{}
		p.m[k] = e
	}
	return e
}

// get returns the pooled session of t for protocol version pv,
// initializing one when there is none (or stale was refused by the target).
// A session with an id (the target keeps sessions), or one opened after
// close, is not pooled: own is true and the caller ends it.
func (p *rawPool) get(ctx context.Context, t *TargetSpec, pv string, stale *rawSession) (s *rawSession, own bool, err error) {
	e := p.entry(rawKey{t.Name, pv})
	e.lastUse.Store(time.Now().UnixNano())
	if e.perRequest.Load() {
		s, err = p.initialize(ctx, t, pv)
		p.h.count("initialize", t.Name, "", err)
		return s, err == nil, err
	}
	if s := e.sess.Load(); s != nil && s != stale {
		return s, false, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.sess.Load(); s != nil && s != stale {
		return s, false, nil
	}
	e.sess.CompareAndSwap(stale, nil)
	s, err = p.initialize(ctx, t, pv)
	p.h.count("initialize", t.Name, "", err)
	if err != nil {
		return nil, false, err
	}
	if s.id != "" {
		e.perRequest.Store(true)
		return s, true, nil
	}
	p.mu.Lock() // with close: a session stored after it would never end
	defer p.mu.Unlock()
	if p.closed {
		return s, true, nil
	}
	e.sess.Store(s)
	return s, false, nil
}

// initialize opens an upstream session: initialize, then initialized.
func (p *rawPool) initialize(ctx context.Context, t *TargetSpec, pv string) (*rawSession, error) {
	ctx, cancel := context.WithTimeout(ctx, p.h.spec.InitTimeout)
	defer cancel()
	s := &rawSession{t: t, rt: targetRT(t), pv: pv}
	params, _ := json.Marshal(map[string]any{
		"protocolVersion": pv, "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "agentgateway", "version": version.Version},
	})
	body := append(append([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":`), params...), '}')
	resp, err := s.post(ctx, body, false)
	if err != nil {
		return nil, unavailable(ctx, t, p.h.spec.InitTimeout, err)
	}
	defer drainAnswered(resp)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s: initialize answered HTTP %d", errUnavailable, t.Name, resp.StatusCode)
	}
	s.id = resp.Header.Get("Mcp-Session-Id")
	var res struct {
		Result *struct {
			ProtocolVersion string                  `json:"protocolVersion"`
			Capabilities    *mcp.ServerCapabilities `json:"capabilities"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	err = readAnswer(resp, []byte("0"), func(_ *rawMsg, data []byte) error { return json.Unmarshal(data, &res) }, nil)
	if err != nil {
		return nil, unavailable(ctx, t, p.h.spec.InitTimeout, err)
	}
	switch {
	case res.Error != nil:
		return nil, fmt.Errorf("%w: %s: initialize: %s", errUnavailable, t.Name, res.Error.Message)
	case res.Result == nil || !fastVersion(res.Result.ProtocolVersion):
		return nil, fmt.Errorf("%w: %s: initialize: no usable protocol version", errUnavailable, t.Name)
	}
	s.pv = res.Result.ProtocolVersion
	s.caps = capsString(res.Result.Capabilities)
	s.template()
	resp2, err := s.post(ctx, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`), true)
	if err != nil {
		return nil, unavailable(ctx, t, p.h.spec.InitTimeout, err)
	}
	drain(resp2)
	if resp2.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: %s: initialized answered HTTP %d", errUnavailable, t.Name, resp2.StatusCode)
	}
	return s, nil
}

// unavailable words a failed exchange with t like upstream.connect does.
func unavailable(ctx context.Context, t *TargetSpec, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s: no answer within %s", errUnavailable, t.Name, timeout)
	}
	return fmt.Errorf("%w: %s: %v", errUnavailable, t.Name, err)
}

// sweep ends sessions idle for longer than idle: the target is told
// (DELETE) when the session has an id.
func (p *rawPool) sweep(idle time.Duration) {
	now := time.Now()
	var ended []*rawSession
	p.mu.Lock()
	for _, e := range p.m {
		if idle > 0 && now.Sub(time.Unix(0, e.lastUse.Load())) <= idle {
			continue
		}
		if s := e.sess.Swap(nil); s != nil {
			ended = append(ended, s)
		}
	}
	p.mu.Unlock()
	for _, s := range ended {
		go s.end()
	}
}

// close ends every session; sessions opened by calls still running are
// ended when those calls are done (see get).
func (p *rawPool) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.sweep(0)
}

// end tells the target the session is over (when it has an id).
func (s *rawSession) end() {
	if s.id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.t.URL, nil) //nolint:gosec // G704: the target URL comes from the operator's config
	if err != nil {
		return
	}
	s.headers(req.Header, false)
	if resp, err := s.rt.RoundTrip(req); err == nil {
		drain(resp)
	}
}

// targetRT is the round tripper of t's requests.
func targetRT(t *TargetSpec) http.RoundTripper {
	if t.HTTP != nil && t.HTTP.Transport != nil {
		return t.HTTP.Transport
	}
	return defaultUpstream
}

func (s *rawSession) headers(h http.Header, body bool) {
	if body {
		h["Content-Type"] = []string{"application/json"}
		h["Accept"] = []string{"application/json, text/event-stream"}
	}
	if s.id != "" {
		h["Mcp-Session-Id"] = []string{s.id}
	}
	h["Mcp-Protocol-Version"] = []string{s.pv}
	applyHeaders(h, s.t.Headers)
}

// template builds the session's shared URL and headers; a URL that does
// not parse leaves them unset (post then reports the error per request).
func (s *rawSession) template() {
	u, err := url.Parse(s.t.URL)
	if err != nil || u.Host == "" {
		return
	}
	u.Host = strings.TrimSuffix(u.Host, ":") // an empty port, as NewRequest drops it
	h := make(http.Header, 4+len(s.t.Headers))
	s.headers(h, true)
	s.url, s.hdr = u, h
}

// post sends one JSON-RPC message to the target. inSession: the session
// headers are set (every request but initialize).
//
// In an initialized session the request is a copy of a stack template
// with the session's shared URL and headers, as the LLM gateway builds
// its upstream requests (llm/gateway/outreq.go): no URL parse, header map
// or header values per call.
func (s *rawSession) post(ctx context.Context, body []byte, inSession bool) (*http.Response, error) {
	if inSession && s.hdr != nil {
		tmpl := http.Request{
			Method: http.MethodPost, URL: s.url, Header: s.hdr, Host: s.url.Host,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, ContentLength: int64(len(body)),
		}
		req := tmpl.WithContext(ctx)
		b := &postBody{data: body}
		b.Reset(body)
		req.Body, req.GetBody = b, b.again
		return s.rt.RoundTrip(req)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.t.URL, bytes.NewReader(body)) //nolint:gosec // G704: the target URL comes from the operator's config
	if err != nil {
		return nil, err
	}
	if inSession {
		s.headers(req.Header, true)
	} else {
		req.Header["Content-Type"] = []string{"application/json"}
		req.Header["Accept"] = []string{"application/json, text/event-stream"}
		applyHeaders(req.Header, s.t.Headers)
	}
	return s.rt.RoundTrip(req)
}

// postBody is a request body over bytes that can be read again (GetBody).
type postBody struct {
	bytes.Reader
	data []byte
}

func (*postBody) Close() error { return nil }

func (b *postBody) again() (io.ReadCloser, error) {
	c := &postBody{data: b.data}
	c.Reset(b.data)
	return c, nil
}

// drain reads what is left of a small body so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// drainAnswered drains a body whose answer has been read, so that the
// connection can carry the next request, but gives up after 2 seconds: a
// target may keep an answered stream open, and is not waited for.
func drainAnswered(resp *http.Response) {
	stop := time.AfterFunc(2*time.Second, func() { _ = resp.Body.Close() })
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	stop.Stop()
	_ = resp.Body.Close()
}

// fastVersion reports whether v is a session-based protocol version the
// fast path speaks (the 2026-07-28 stateless protocol goes to the SDK).
func fastVersion(v string) bool {
	switch v {
	case "2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25":
		return true
	}
	return false
}

// rawMsg is one JSON-RPC message of a target's answer, decoded once.
type rawMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

var rawKeys = [...]string{"id", "method", "params", "result", "error"}

// decode is json.Unmarshal(data, m) — the same outcome for every input —
// reading the members in place (they alias data) when the object is
// plain; encoding/json decides the rest (case-insensitive or escaped
// member names, a member named twice, invalid JSON, a non-string method).
func (m *rawMsg) decode(data []byte) error {
	var v [len(rawKeys)][]byte
	if jsonscan.Valid(data) && jsonscan.Members(data, rawKeys[:], v[:]) {
		if method, ok := jsonscan.PeekStringOrNull(v[1]); ok {
			*m = rawMsg{ID: v[0], Method: method, Params: v[2], Result: v[3], Error: v[4]}
			return nil
		}
	}
	*m = rawMsg{}
	return json.Unmarshal(data, m)
}

// readAnswer reads a JSON or SSE response to the request with JSON-RPC id
// id: each message before the answer goes to other (nil: dropped), the
// answer to answer. It fails when the body ends without the answer.
func readAnswer(resp *http.Response, id []byte, answer, other func(*rawMsg, []byte) error) error {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxOrderedEvent))
		if err != nil {
			return err
		}
		var m rawMsg
		if err := m.decode(data); err != nil {
			return fmt.Errorf("a malformed answer: %w", err)
		}
		if m.Method != "" || !sameID(m.ID, id) {
			return errors.New("a malformed answer: not the answer to the request sent")
		}
		return answer(&m, data)
	}
	return readEvents(resp.Body, func(data []byte) (bool, error) {
		var m rawMsg
		if m.decode(data) != nil {
			return false, nil // not JSON-RPC: skipped
		}
		if m.Method == "" && sameID(m.ID, id) {
			return true, answer(&m, data)
		}
		if other != nil {
			return false, other(&m, data)
		}
		return false, nil
	})
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// readEvents calls fn with the data of each "message" event of an SSE
// body, until fn reports done. An event may not exceed maxOrderedEvent.
func readEvents(body io.Reader, fn func([]byte) (bool, error)) error {
	br := readers.Get().(*bufio.Reader)
	br.Reset(body)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	var data []byte
	has := false
	skip := false // an event other than "message"
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it whole.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxOrderedEvent {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && (len(line) == 0 || !errors.Is(err, io.EOF)) {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if has && !skip {
				done, ferr := fn(data)
				if ferr != nil || done {
					return ferr
				}
			}
			data, has, skip = data[:0], false, false
			continue
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimPrefix(v, []byte(" "))
		switch string(k) {
		case "event":
			skip = len(v) > 0 && string(v) != "message"
		case "data":
			if has {
				data = append(data, '\n')
			}
			data, has = append(data, v...), true
			if len(data) > maxOrderedEvent {
				return fmt.Errorf("an event is larger than %d bytes", maxOrderedEvent)
			}
		}
	}
}

func sameID(a, b []byte) bool {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	return len(a) > 0 && bytes.Equal(a, b)
}

// nextID is the JSON-RPC id of the pool's next upstream request.
func (p *rawPool) nextID() []byte {
	return strconv.AppendUint(nil, p.next.Add(1), 10)
}
