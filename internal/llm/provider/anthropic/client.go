package anthropic

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Client is the Messages client dialect.
type Client struct{}

// Dialect implements llm.Format.
func (Client) Dialect() llm.Dialect { return llm.DialectAnthropic }

// ParseRequest implements llm.Format. max_tokens is not checked (count
// tokens requests have none; the upstream checks it).
func (Client) ParseRequest(body []byte) (*llm.Request, error) {
	raw, err := llm.RawObject(body)
	if err != nil {
		return nil, err
	}
	var w messagesRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if w.Model == "" {
		return nil, errors.New("model is required")
	}
	req := &llm.Request{Model: w.Model, MaxTokens: w.MaxTokens, Temperature: w.Temperature, TopP: w.TopP,
		Stop: w.StopSequences, Stream: w.Stream, IncludeUsage: true, Dialect: llm.DialectAnthropic, Raw: raw}
	if w.Metadata != nil {
		req.User = w.Metadata.UserID
	}
	var sys []string
	for _, b := range blocks(w.System) {
		if b.Type == "text" {
			sys = append(sys, b.Text)
		}
	}
	req.System = strings.Join(sys, "\n\n")
	for _, m := range w.Messages {
		req.Messages = append(req.Messages, canonicalMessages(m)...)
	}
	for _, t := range w.Tools {
		req.Tools = append(req.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.InputSchema})
	}
	if tc := w.ToolChoice; tc != nil {
		switch tc.Type {
		case "any":
			req.ToolChoice = "required"
		case "tool":
			req.ToolChoice = tc.Name
		default:
			req.ToolChoice = tc.Type
		}
	}
	return req, nil
}

// canonicalMessages splits one Anthropic message: tool_result blocks
// become tool messages (before the rest of the user turn).
func canonicalMessages(m message) []llm.Message {
	var out []llm.Message
	cm := llm.Message{Role: m.Role}
	for _, b := range blocks(m.Content) {
		switch b.Type {
		case "text":
			cm.Parts = append(cm.Parts, llm.Part{Type: llm.PartText, Text: b.Text})
		case "image":
			if s := b.Source; s != nil {
				cm.Parts = append(cm.Parts, llm.Part{Type: llm.PartImage, URL: s.URL, MediaType: s.MediaType, Data: s.Data})
			}
		case "tool_use":
			cm.ToolCalls = append(cm.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args(b.Input)})
		case "tool_result":
			tm := llm.Message{Role: llm.RoleTool, ToolCallID: b.ToolUseID}
			for _, c := range blocks(b.Content) {
				if c.Type == "text" {
					tm.Parts = append(tm.Parts, llm.Part{Type: llm.PartText, Text: c.Text})
				}
			}
			out = append(out, tm)
		}
	}
	if len(cm.Parts) > 0 || len(cm.ToolCalls) > 0 || len(out) == 0 {
		out = append(out, cm)
	}
	return out
}

// WriteResponse implements llm.Format.
func (Client) WriteResponse(resp *llm.Response) []byte {
	if resp.Dialect == llm.DialectAnthropic && resp.Raw != nil {
		return resp.Raw
	}
	out := messageResponse{ID: resp.ID, Type: "message", Role: "assistant", Model: resp.Model, Content: []block{}, Usage: usageWire(resp.Usage)}
	if !strings.HasPrefix(out.ID, "msg_") {
		out.ID = llm.NewID("msg_")
	}
	if resp.Text != "" {
		out.Content = append(out.Content, block{Type: "text", Text: resp.Text})
	}
	for _, tc := range resp.ToolCalls {
		out.Content = append(out.Content, block{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Name, Input: inputOf(tc.Arguments)})
	}
	sr := stopWire(resp.StopReason)
	out.StopReason = &sr
	b, _ := json.Marshal(out)
	return b
}

// toolID makes a tool-call id acceptable to Anthropic clients.
func toolID(id string) string {
	if id == "" {
		return llm.NewID("toolu_")
	}
	return id
}

// ErrorBody implements llm.Format: {"type":"error","error":{type,message}},
// with Anthropic's 529 for an overloaded provider.
func (Client) ErrorBody(e *llm.Error) (int, []byte) {
	status := e.Status
	typ := e.Type
	if typ == "" {
		typ = llm.TypeForStatus(status)
	}
	if typ == llm.ErrOverloaded {
		status = 529
	}
	if status < 400 || status > 599 {
		status = llm.StatusForType(typ)
	}
	b, _ := json.Marshal(errorBody{Type: "error", Error: &wireError{Type: typ, Message: e.Message}})
	return status, b
}

// PeekRequest reads only model and stream and keeps the body for a
// same-dialect provider to forward with BuildBody's byte edits.
func (Client) PeekRequest(body []byte) (*llm.Request, error) {
	var v [2][]byte
	if !llm.Valid(body) || !llm.TopLevelValues(body, peekKeys, v[:]) {
		return nil, errPeek
	}
	model, ok := llm.PeekString(v[0])
	if !ok || model == "" {
		return nil, errPeek
	}
	req := &llm.Request{Model: model, IncludeUsage: true, Dialect: llm.DialectAnthropic, Body: body}
	switch string(v[1]) {
	case "true":
		req.Stream = true
	case "", "false", "null":
	default:
		return nil, errPeek
	}
	return req, nil
}

var (
	peekKeys = []string{"model", "stream"}
	errPeek  = errors.New("not a plain request: parse it in full")
)

// NewEncoder implements llm.Format.
func (Client) NewEncoder(req *llm.Request) llm.Encoder {
	return &encoder{model: req.Model, blockOf: map[int]int{}}
}

// encoder writes Messages stream events.
type encoder struct {
	model       string
	id          string
	started     bool
	open        bool // a content block is open
	openKind    string
	next        int         // next content block index
	blockOf     map[int]int // tool index → block index
	stop        llm.StopReason
	usage       *llm.Usage
	passthrough bool
	buf         []byte // same-dialect output, valid until the next Encode
}

func event(name string, v any) []byte {
	b, _ := json.Marshal(v)
	return llm.AppendSSE(nil, name, b)
}

func (e *encoder) start(ev *llm.Event) []byte {
	if e.started {
		return nil
	}
	e.started = true
	if ev.ID != "" && strings.HasPrefix(ev.ID, "msg_") {
		e.id = ev.ID
	} else {
		e.id = llm.NewID("msg_")
	}
	if ev.Model != "" {
		e.model = ev.Model
	}
	u := usageWire(e.usage)
	return event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": e.id, "type": "message", "role": "assistant", "model": e.model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": u}})
}

func (e *encoder) closeBlock() []byte {
	if !e.open {
		return nil
	}
	e.open = false
	return event("content_block_stop", map[string]any{"type": "content_block_stop", "index": e.next - 1})
}

func (e *encoder) openBlock(kind string, cb map[string]any) []byte {
	out := e.closeBlock()
	e.open, e.openKind = true, kind
	idx := e.next
	e.next++
	return append(out, event("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": cb})...)
}

// Encode implements llm.Encoder.
func (e *encoder) Encode(ev *llm.Event) []byte {
	if ev.Dialect == llm.DialectAnthropic {
		e.passthrough = true
		if ev.Raw == nil || ev.Kind == llm.EvDone {
			return nil // message_stop is written by Finish
		}
		e.buf = llm.AppendSSE(e.buf[:0], ev.RawName, ev.Raw)
		return e.buf
	}
	switch ev.Kind {
	case llm.EvStart:
		return e.start(ev)
	case llm.EvText:
		out := e.start(ev)
		if !e.open || e.openKind != "text" {
			out = append(out, e.openBlock("text", map[string]any{"type": "text", "text": ""})...)
		}
		return append(out, event("content_block_delta", map[string]any{"type": "content_block_delta", "index": e.next - 1,
			"delta": map[string]any{"type": "text_delta", "text": ev.Text}})...)
	case llm.EvToolStart:
		out := e.start(ev)
		out = append(out, e.openBlock("tool", map[string]any{"type": "tool_use", "id": toolID(ev.ToolCall.ID),
			"name": ev.ToolCall.Name, "input": map[string]any{}})...)
		e.blockOf[ev.Index] = e.next - 1
		return out
	case llm.EvToolArgs:
		idx, ok := e.blockOf[ev.Index]
		if !ok {
			return nil
		}
		return event("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx,
			"delta": map[string]any{"type": "input_json_delta", "partial_json": ev.ToolCall.Arguments}})
	case llm.EvStop:
		e.stop = ev.StopReason
	case llm.EvUsage:
		e.usage = llm.MergeUsage(e.usage, ev.Usage)
	}
	return nil
}

// Finish implements llm.Encoder.
func (e *encoder) Finish(err *llm.Error) []byte {
	if err != nil {
		_, b := Client{}.ErrorBody(err)
		return llm.AppendSSE(nil, "error", b)
	}
	stop := []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	if e.passthrough {
		return stop
	}
	out := e.start(&llm.Event{})
	out = append(out, e.closeBlock()...)
	u := usageWire(e.usage)
	out = append(out, event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stopWire(e.stop), "stop_sequence": nil},
		"usage": map[string]any{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens,
			"cache_read_input_tokens": u.CacheReadInputTokens, "cache_creation_input_tokens": u.CacheCreationInputTokens}})...)
	return append(out, stop...)
}
