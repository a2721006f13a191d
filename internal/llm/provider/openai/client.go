package openai

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Client is the chat-completions client dialect.
type Client struct{}

// Dialect implements llm.Format.
func (Client) Dialect() llm.Dialect { return llm.DialectOpenAI }

// ParseRequest implements llm.Format.
func (Client) ParseRequest(body []byte) (*llm.Request, error) {
	raw, err := llm.RawObject(body)
	if err != nil {
		return nil, err
	}
	var w chatRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if w.Model == "" {
		return nil, errors.New("model is required")
	}
	req := &llm.Request{
		Model: w.Model, Stream: w.Stream, Temperature: w.Temperature, TopP: w.TopP,
		User: w.User, Dialect: llm.DialectOpenAI, Raw: raw,
	}
	if w.StreamOptions != nil {
		req.IncludeUsage = w.StreamOptions.IncludeUsage
	}
	switch {
	case w.MaxCompletionTokens != nil:
		req.MaxTokens = *w.MaxCompletionTokens
	case w.MaxTokens != nil:
		req.MaxTokens = *w.MaxTokens
	}
	if len(w.Stop) > 0 {
		if s := rawString(w.Stop); s != "" {
			req.Stop = []string{s}
		} else {
			_ = json.Unmarshal(w.Stop, &req.Stop)
		}
	}
	var system []string
	for _, m := range w.Messages {
		switch m.Role {
		case "system", "developer":
			for _, p := range contentParts(m.Content) {
				system = append(system, p.Text)
			}
		case "tool":
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: m.ToolCallID,
				Parts: contentParts(m.Content)})
		default:
			cm := llm.Message{Role: m.Role, Name: m.Name, Parts: contentParts(m.Content)}
			for _, tc := range m.ToolCalls {
				cm.ToolCalls = append(cm.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			}
			req.Messages = append(req.Messages, cm)
		}
	}
	req.System = strings.Join(system, "\n\n")
	for _, t := range w.Tools {
		if t.Type == "function" || t.Type == "" {
			req.Tools = append(req.Tools, llm.Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
		}
	}
	req.ToolChoice = parseToolChoice(w.ToolChoice)
	return req, nil
}

// PeekRequest reads only what routing and accounting need (model,
// stream, stream_options.include_usage) and keeps the body for a
// same-dialect provider to forward with BuildBody's byte edits.
func (Client) PeekRequest(body []byte) (*llm.Request, error) {
	var v [3][]byte
	if !llm.Valid(body) || !llm.TopLevelValues(body, peekKeys, v[:]) {
		return nil, errPeek
	}
	model, ok := llm.PeekString(v[0])
	if !ok || model == "" {
		return nil, errPeek
	}
	req := &llm.Request{Model: model, Dialect: llm.DialectOpenAI, Body: body}
	switch string(v[1]) {
	case "true":
		req.Stream = true
	case "", "false", "null":
	default:
		return nil, errPeek
	}
	if len(v[2]) > 0 {
		var so *streamOptions
		if json.Unmarshal(v[2], &so) != nil {
			return nil, errPeek
		}
		req.IncludeUsage = so != nil && so.IncludeUsage
	}
	return req, nil
}

var (
	peekKeys = []string{"model", "stream", "stream_options"}
	errPeek  = errors.New("not a plain request: parse it in full")
)

func parseToolChoice(r json.RawMessage) string {
	if len(r) == 0 {
		return ""
	}
	if s := rawString(r); s != "" {
		return s
	}
	var o struct {
		Function struct{ Name string } `json:"function"`
	}
	_ = json.Unmarshal(r, &o)
	return o.Function.Name
}

// WriteResponse implements llm.Format.
func (Client) WriteResponse(resp *llm.Response) []byte {
	if resp.Dialect == llm.DialectOpenAI && resp.Raw != nil {
		return resp.Raw
	}
	msg := &chatMessage{Role: "assistant"}
	if resp.Text != "" || len(resp.ToolCalls) == 0 {
		msg.Content, _ = json.Marshal(resp.Text)
	} else {
		msg.Content = json.RawMessage("null")
	}
	for _, tc := range resp.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: tc.Arguments}})
	}
	fr := string(resp.StopReason)
	if fr == "" {
		fr = string(llm.StopEnd)
	}
	out := chatResponse{
		ID: orID(resp.ID, "chatcmpl-"), Object: "chat.completion", Created: orNow(resp.Created), Model: resp.Model,
		Choices: []chatChoice{{Message: msg, FinishReason: &fr}}, Usage: usageWire(resp.Usage),
	}
	b, _ := json.Marshal(out)
	return b
}

func orID(id, prefix string) string {
	if id == "" {
		return llm.NewID(prefix)
	}
	return id
}

func orNow(t int64) int64 {
	if t == 0 {
		return time.Now().Unix()
	}
	return t
}

// ErrorBody implements llm.Format: {"error": {message, type, param, code}}.
// OpenAI has no 529: an overloaded provider is a 503.
func (Client) ErrorBody(e *llm.Error) (int, []byte) {
	status := e.Status
	if status == 529 {
		status = http.StatusServiceUnavailable
	}
	if status < 400 || status > 599 {
		status = llm.StatusForType(e.Type)
		if status == 529 {
			status = http.StatusServiceUnavailable
		}
	}
	typ := e.Type
	switch typ {
	case llm.ErrAPI, llm.ErrOverloaded, llm.ErrTimeout:
		typ = "server_error"
	}
	we := wireError{Message: e.Message, Type: typ, Param: json.RawMessage("null"), Code: json.RawMessage("null")}
	if e.Code != "" {
		we.Code, _ = json.Marshal(e.Code)
	}
	if e.Param != "" {
		we.Param, _ = json.Marshal(e.Param)
	}
	b, _ := json.Marshal(errorBody{Error: &we})
	return status, b
}

// NewEncoder implements llm.Format.
func (Client) NewEncoder(req *llm.Request) llm.Encoder {
	return &encoder{includeUsage: req.IncludeUsage, model: req.Model, created: time.Now().Unix()}
}

// encoder writes chat.completion.chunk events.
type encoder struct {
	includeUsage bool
	id, model    string
	created      int64
	started      bool
	usage        *llm.Usage
	translated   bool
	buf          []byte // same-dialect output, valid until the next Encode
}

func (e *encoder) chunk(delta *chatMessage, finish *string) []byte {
	if delta == nil {
		delta = &chatMessage{}
	}
	c := chatResponse{ID: e.id, Object: "chat.completion.chunk", Created: e.created, Model: e.model,
		Choices: []chatChoice{{Delta: delta, FinishReason: finish}}}
	b, _ := json.Marshal(c)
	return llm.AppendSSE(nil, "", b)
}

func (e *encoder) start(ev *llm.Event) []byte {
	if e.started {
		return nil
	}
	e.started = true
	if ev.ID != "" {
		e.id = ev.ID
	}
	if e.id == "" {
		e.id = llm.NewID("chatcmpl-")
	}
	if ev.Model != "" {
		e.model = ev.Model
	}
	return e.chunk(&chatMessage{Role: "assistant", Content: json.RawMessage(`""`)}, nil)
}

// Encode implements llm.Encoder.
func (e *encoder) Encode(ev *llm.Event) []byte {
	if ev.Dialect == llm.DialectOpenAI {
		// Same dialect: the upstream chunk goes out as it came, except the
		// usage chunk the gateway asked for on the client's behalf.
		if ev.Raw == nil || ev.Kind == llm.EvDone || (ev.UsageOnly && !e.includeUsage) {
			return nil
		}
		e.buf = llm.AppendSSE(e.buf[:0], "", ev.Raw)
		return e.buf
	}
	e.translated = true
	switch ev.Kind {
	case llm.EvStart:
		return e.start(ev)
	case llm.EvText:
		out := e.start(ev)
		c, _ := json.Marshal(ev.Text)
		return append(out, e.chunk(&chatMessage{Content: c}, nil)...)
	case llm.EvToolStart:
		out := e.start(ev)
		i := ev.Index
		return append(out, e.chunk(&chatMessage{ToolCalls: []toolCall{{Index: &i, ID: ev.ToolCall.ID, Type: "function",
			Function: functionCall{Name: ev.ToolCall.Name}}}}, nil)...)
	case llm.EvToolArgs:
		out := e.start(ev)
		i := ev.Index
		return append(out, e.chunk(&chatMessage{ToolCalls: []toolCall{{Index: &i, Function: functionCall{Arguments: ev.ToolCall.Arguments}}}}, nil)...)
	case llm.EvStop:
		out := e.start(ev)
		fr := string(ev.StopReason)
		if fr == "" {
			fr = string(llm.StopEnd)
		}
		return append(out, e.chunk(nil, &fr)...)
	case llm.EvUsage:
		e.usage = llm.MergeUsage(e.usage, ev.Usage)
	}
	return nil
}

// Finish implements llm.Encoder.
func (e *encoder) Finish(err *llm.Error) []byte {
	if err != nil {
		_, b := Client{}.ErrorBody(err)
		return llm.AppendSSE(nil, "", b)
	}
	var out []byte
	if e.translated && e.includeUsage && e.usage != nil {
		c := chatResponse{ID: e.id, Object: "chat.completion.chunk", Created: e.created, Model: e.model,
			Choices: []chatChoice{}, Usage: usageWire(e.usage)}
		b, _ := json.Marshal(c)
		out = llm.AppendSSE(out, "", b)
	}
	return append(out, "data: [DONE]\n\n"...)
}
