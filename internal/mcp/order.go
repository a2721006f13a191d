package mcp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentgw/agentgateway/internal/jsonscan"
)

// Keeping a target's notifications ahead of the response that follows them.
//
// The SDK's client completes a call as soon as its read loop sees the
// response, but hands notifications to a handler goroutine. A call could
// therefore return (and the gateway answer its client) while progress
// notifications the target sent before its response were still queued:
// relayed late, they missed the request's stream, which had ended.
//
// So a response that follows notifications is held back: a barrier, a
// progress notification with a private token, is delivered in front of it.
// The SDK handles notifications one at a time, in the order they were read,
// so when relay sees the barrier every notification before it has been
// relayed; only then is the response delivered. Streamable-HTTP targets are
// ordered on the SSE bytes of each response body (orderedBody: the SDK's
// connection cannot be wrapped without losing its session hooks), the other
// kinds on their connection (orderedConn).

// barriers are the tokens delivered and not yet seen by relay.
var barriers = struct {
	mu sync.Mutex
	m  map[string]chan struct{}
	n  uint64
}{m: map[string]chan struct{}{}}

// barrierPrefix makes the tokens unguessable, so a target cannot release
// a barrier early by sending a progress notification with its token.
var barrierPrefix = "agentgateway-barrier-" + rand.Text() + "-"

// maxBarrierWait bounds how long a response waits for the notifications
// ahead of it (each relay is bounded by 10 s); past it, order is given up
// rather than the connection stalled.
const maxBarrierWait = time.Minute

type barrier struct {
	token string
	done  chan struct{}
}

func newBarrier() *barrier {
	barriers.mu.Lock()
	defer barriers.mu.Unlock()
	barriers.n++
	b := &barrier{token: barrierPrefix + strconv.FormatUint(barriers.n, 10), done: make(chan struct{})}
	barriers.m[b.token] = b.done
	return b
}

// message is the notification that carries the barrier.
func (b *barrier) message() *jsonrpc.Request {
	params, _ := json.Marshal(map[string]any{"progressToken": b.token, "progress": 0})
	return &jsonrpc.Request{Method: "notifications/progress", Params: params}
}

// wait returns when relay has seen the barrier, or ctx or closed ends, or
// maxBarrierWait passes.
func (b *barrier) wait(ctx context.Context, closed <-chan struct{}) {
	t := time.NewTimer(maxBarrierWait)
	defer t.Stop()
	select {
	case <-b.done:
		return
	case <-ctx.Done():
	case <-closed:
	case <-t.C:
	}
	barriers.mu.Lock()
	delete(barriers.m, b.token)
	barriers.mu.Unlock()
}

// releaseBarrier is called by relay for each progress notification: it
// reports whether the notification is a barrier (and releases it).
func releaseBarrier(p mcp.Params) bool {
	pp, ok := p.(*mcp.ProgressNotificationParams)
	if !ok || pp == nil {
		return false
	}
	tok, ok := pp.ProgressToken.(string)
	if !ok || len(tok) <= len(barrierPrefix) || tok[:len(barrierPrefix)] != barrierPrefix {
		return false
	}
	barriers.mu.Lock()
	ch := barriers.m[tok]
	delete(barriers.m, tok)
	barriers.mu.Unlock()
	if ch != nil {
		close(ch)
	}
	return true
}

// sequencer counts the notifications read since the last barrier.
type sequencer struct{ pending int }

// next is called for each message in the order it is read; it returns the
// barrier to deliver before msg, if any.
func (q *sequencer) next(msg jsonrpc.Message) *barrier {
	switch m := msg.(type) {
	case *jsonrpc.Request:
		if !m.IsCall() {
			q.pending++
		}
	case *jsonrpc.Response:
		if q.pending > 0 {
			q.pending = 0
			return newBarrier()
		}
	}
	return nil
}

// orderedConn orders a connection's messages (stdio, SSE and in-memory
// targets). Read is called by the SDK's one read loop.
type orderedConn struct {
	mcp.Connection
	seq    sequencer
	held   jsonrpc.Message
	bar    *barrier
	closed chan struct{}
	once   sync.Once
}

func newOrderedConn(c mcp.Connection) *orderedConn {
	return &orderedConn{Connection: c, closed: make(chan struct{})}
}

func (c *orderedConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	if c.held != nil {
		msg, bar := c.held, c.bar
		c.held, c.bar = nil, nil
		bar.wait(ctx, c.closed)
		return msg, nil
	}
	msg, err := c.Connection.Read(ctx)
	if err != nil {
		return nil, err
	}
	if bar := c.seq.next(msg); bar != nil {
		c.held, c.bar = msg, bar
		return bar.message(), nil
	}
	return msg, nil
}

func (c *orderedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Connection.Close()
}

// maxOrderedEvent is the largest SSE event orderedBody looks into (the
// SDK's own limit); a larger one is passed on as it comes.
const maxOrderedEvent = mcp.DefaultMaxEventSize

// orderedBody orders the messages of one SSE response body from a
// streamable-HTTP target: each event is read whole, and a response event
// that follows notification events is preceded by a barrier event and
// held until the barrier is seen.
type orderedBody struct {
	body   io.ReadCloser
	r      *bufio.Reader
	ctx    context.Context
	seq    sequencer
	out    []byte // bytes ready for the SDK
	held   []byte // an event waiting behind bar
	bar    *barrier
	raw    bool // inside an oversized event: pass lines through
	err    error
	closed chan struct{}
	once   sync.Once
}

func newOrderedBody(ctx context.Context, body io.ReadCloser) *orderedBody {
	return &orderedBody{body: body, r: bufio.NewReader(body), ctx: ctx, closed: make(chan struct{})}
}

func (b *orderedBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.held != nil {
			b.bar.wait(b.ctx, b.closed)
			b.out, b.held, b.bar = b.held, nil, nil
			break
		}
		if b.err != nil {
			return 0, b.err
		}
		ev, err := b.event()
		b.err = err
		if len(ev) == 0 {
			continue
		}
		if msg := eventMessage(ev); msg != nil {
			if bar := b.seq.next(msg); bar != nil {
				data, _ := jsonrpc.EncodeMessage(bar.message())
				b.held, b.bar = ev, bar
				b.out = append(append([]byte("event: message\ndata: "), data...), "\n\n"...)
				break
			}
		}
		b.out = ev
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// event reads one event up to and including the blank line ending it (or
// a line of an oversized event).
func (b *orderedBody) event() ([]byte, error) {
	var ev []byte
	for {
		line, err := b.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		}
		ev = append(ev, line...)
		if err != nil {
			return ev, err
		}
		if b.raw {
			if isBlank(line) {
				b.raw = false
			}
			return ev, nil
		}
		if isBlank(line) && line[len(line)-1] == '\n' {
			return ev, nil
		}
		if len(ev) > maxOrderedEvent {
			b.raw = true
			return ev, nil
		}
	}
}

func isBlank(line []byte) bool { return len(bytes.TrimRight(line, "\r\n")) == 0 }

// eventMessage decodes the JSON-RPC message of a "message" event, or nil.
func eventMessage(ev []byte) jsonrpc.Message {
	var data [][]byte
	for _, line := range bytes.Split(ev, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch string(k) {
		case "event":
			if n := string(bytes.TrimSpace(v)); n != "" && n != "message" {
				return nil
			}
		case "data":
			data = append(data, bytes.TrimPrefix(v, []byte(" ")))
		}
	}
	if len(data) == 0 {
		return nil
	}
	raw := bytes.Join(data, []byte("\n"))
	if !jsonscan.Valid(raw) {
		return nil
	}
	msg, bad := decodeMessage(raw)
	if bad != "" {
		return nil
	}
	return msg
}

func (b *orderedBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return b.body.Close()
}
