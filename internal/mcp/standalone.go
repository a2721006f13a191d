package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
)

// A target's standalone stream is opened when the client listens.
//
// Once a streamable-HTTP target has answered initialize, the SDK's client
// opens the session's standalone SSE stream (a GET, on which the target
// sends what belongs to no request: list changes, log messages, its own
// requests) and waits for the answer's headers before Connect returns.
// That GET cannot reuse a pooled connection, so every session start paid a
// dial and a round trip before the client's initialize could be answered,
// and every stateless request the SDK serves (an ephemeral session) paid
// them for a stream nobody read.
//
// What a target sends there can only reach a client that listens: one that
// opened the gateway's standalone stream (its GET) or a legacy SSE session.
// So, as agentgateway does, the gateway opens the targets' streams when its
// client opens its own: the SDK's GET is answered at once with an empty
// event stream (a lateBody), which is held until the client listens, then
// sent; its body becomes the target's stream when the answer comes. The
// client's GET is answered once the targets' answers are in (or
// InitTimeout), so a client that returns from connecting is listening all
// the way to the targets, as before.
//
// What the SDK does with the target's answer is kept:
//   - 200 with an event stream: its events pass through as they come;
//   - 405, another 4xx, or a 200 that is not an event stream (a target
//     without a standalone stream): the body stays open and empty until
//     the session ends, as the SDK would stop listening;
//   - any other status, or a transport error: the body fails with the
//     error, and the SDK reconnects (MaxRetries) or fails the session, as
//     it fails it when its first GET fails.

// listenGate holds a session's standalone streams until its client listens.
type listenGate struct {
	mu      sync.Mutex
	open    bool
	pending map[*upstream]*lateBody // one per target: a reconnect replaces it
}

// hold parks b until the gate opens, or reports that it is open.
func (g *listenGate) hold(u *upstream, b *lateBody) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		return true
	}
	if g.pending == nil {
		g.pending = map[*upstream]*lateBody{}
	}
	g.pending[u] = b
	return false
}

// openGate opens the gate and starts the streams it held, which it returns.
func (g *listenGate) openGate() []*lateBody {
	g.mu.Lock()
	g.open = true
	held := g.pending
	g.pending = nil
	g.mu.Unlock()
	out := make([]*lateBody, 0, len(held))
	for _, b := range held {
		b.start()
		out = append(out, b)
	}
	return out
}

// listen opens the session's standalone streams to its targets and waits
// until each target has answered (bounded by ctx and InitTimeout).
func (s *session) listen(ctx context.Context) {
	started := s.gate.openGate()
	if len(started) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.h.spec.InitTimeout)
	defer cancel()
	for _, b := range started {
		select {
		case <-b.ready:
		case <-b.closed:
		case <-b.done:
		case <-ctx.Done():
			return
		}
	}
}

// standaloneLater answers the SDK's standalone GET with a lateBody and
// sends it when the session's client listens.
func (rt *upstreamRT) standaloneLater(req *http.Request) *http.Response {
	b := &lateBody{ready: make(chan struct{}), closed: make(chan struct{}), done: req.Context().Done()}
	b.send = func() {
		resp, err := rt.send(req)
		if err == nil {
			err = standaloneAnswer(resp)
			if err != nil || resp.StatusCode != http.StatusOK {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
				_ = resp.Body.Close()
				resp = nil
			}
		}
		b.arrive(resp, err)
	}
	if rt.hold(b) {
		b.start()
	}
	h := http.Header{}
	h.Set("Content-Type", "text/event-stream")
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: b, ContentLength: -1, Request: req,
	}
}

// standaloneAnswer sorts the target's answer to the standalone GET: nil
// for a stream to pass through or a refusal to hold open (its StatusCode
// is then 405), an error for an answer that breaks the stream.
func standaloneAnswer(resp *http.Response) error {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode == http.StatusOK && mt == "text/event-stream":
		return nil
	case resp.StatusCode == http.StatusOK, resp.StatusCode >= 400 && resp.StatusCode < 500:
		resp.StatusCode = http.StatusMethodNotAllowed
		return nil
	default:
		return fmt.Errorf("standalone SSE stream: HTTP %d", resp.StatusCode)
	}
}

// errStreamClosed is what a closed or ended lateBody reads.
var errStreamClosed = errors.New("mcp: standalone stream closed")

// lateBody is a response body whose bytes come from a request sent later.
type lateBody struct {
	send   func() // sends the request and calls arrive
	once   sync.Once
	ready  chan struct{}   // closed by arrive
	closed chan struct{}   // closed by Close
	done   <-chan struct{} // the request's context: the SDK session's
	cOnce  sync.Once

	mu   sync.Mutex
	body io.ReadCloser // the target's stream; nil: none (held open) or err
	err  error
}

// start sends the request, once.
func (b *lateBody) start() { b.once.Do(func() { go b.send() }) }

// arrive records the target's answer; a body arriving after Close is
// closed at once.
func (b *lateBody) arrive(resp *http.Response, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.closed:
		if resp != nil {
			_ = resp.Body.Close()
		}
		return
	default:
	}
	if resp != nil {
		b.body = resp.Body
	}
	b.err = err
	close(b.ready)
}

func (b *lateBody) Read(p []byte) (int, error) {
	select {
	case <-b.ready:
	case <-b.closed:
		return 0, errStreamClosed
	case <-b.done:
		return 0, errStreamClosed
	}
	if b.body != nil {
		return b.body.Read(p)
	}
	if b.err != nil {
		return 0, b.err
	}
	select { // no stream from the target: nothing until the session ends
	case <-b.closed:
	case <-b.done:
	}
	return 0, errStreamClosed
}

func (b *lateBody) Close() error {
	b.cOnce.Do(func() { close(b.closed) })
	b.mu.Lock()
	body := b.body
	b.mu.Unlock()
	if body != nil {
		return body.Close()
	}
	return nil
}
