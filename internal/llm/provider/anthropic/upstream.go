package anthropic

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Spec configures an Anthropic upstream.
type Spec struct {
	Model string
	Host  string // "" = api.anthropic.com:443
	Base  string // "" = "/v1"
}

// Provider is an Anthropic upstream.
type Provider struct{ s Spec }

// New returns a provider.
func New(s Spec) *Provider {
	if s.Host == "" {
		s.Host = "api.anthropic.com:443"
	}
	if s.Base == "" {
		s.Base = "/v1"
	}
	return &Provider{s: s}
}

// System implements llm.Provider.
func (p *Provider) System() string { return "anthropic" }

// Dialect implements llm.Provider.
func (p *Provider) Dialect() llm.Dialect { return llm.DialectAnthropic }

// DefaultHost implements llm.Provider.
func (p *Provider) DefaultHost() string { return p.s.Host }

// Model implements llm.Provider.
func (p *Provider) Model() string { return p.s.Model }

// Path implements llm.Provider.
func (p *Provider) Path(op llm.Op) (string, bool) {
	switch op {
	case llm.OpMessages, llm.OpCompletions:
		return p.s.Base + "/messages", true
	case llm.OpCountTokens:
		return p.s.Base + "/messages/count_tokens", true
	case llm.OpModels:
		return p.s.Base + "/models", true
	}
	return "", false
}

// BuildChat implements llm.Provider.
func (p *Provider) BuildChat(req *llm.Request) (*llm.Call, error) {
	body, err := BuildBody(req, true)
	if err != nil {
		return nil, err
	}
	path, _ := p.Path(llm.OpMessages)
	h := http.Header{"Content-Type": {"application/json"}, "Anthropic-Version": {Version}}
	if req.Stream {
		h.Set("Accept", "text/event-stream")
	}
	return &llm.Call{Method: http.MethodPost, Path: path, Header: h, Body: body, Stream: req.Stream}, nil
}

// BuildBody renders a canonical request as a Messages body (withModel:
// false for Vertex AI, which takes the model from the path).
func BuildBody(req *llm.Request, withModel bool) ([]byte, error) {
	if req.Dialect == llm.DialectAnthropic && req.Raw == nil && req.Body != nil {
		if withModel {
			return llm.SetTopLevel(req.Body, "model", llm.AppendJSONString(nil, req.Model)), nil
		}
		if err := req.EnsureRaw(); err != nil {
			return nil, err
		}
	}
	if req.Dialect == llm.DialectAnthropic && req.Raw != nil {
		raw := make(map[string]json.RawMessage, len(req.Raw)+1)
		for k, v := range req.Raw {
			raw[k] = v
		}
		if withModel {
			raw["model"], _ = json.Marshal(req.Model)
		} else {
			delete(raw, "model")
			raw["anthropic_version"] = json.RawMessage(`"vertex-2023-10-16"`)
		}
		return json.Marshal(raw)
	}
	w := messagesRequest{MaxTokens: req.MaxTokens, Temperature: req.Temperature, TopP: req.TopP,
		StopSequences: req.Stop, Stream: req.Stream, Messages: []message{}}
	if withModel {
		w.Model = req.Model
	} else {
		w.AnthropicVersion = "vertex-2023-10-16"
	}
	if w.MaxTokens <= 0 {
		w.MaxTokens = DefaultMaxTokens
	}
	if req.User != "" {
		w.Metadata = &metadata{UserID: req.User}
	}
	if req.System != "" {
		w.System, _ = json.Marshal(req.System)
	}
	for _, m := range req.Messages {
		role, bs := wireBlocks(&m)
		if len(bs) == 0 {
			continue
		}
		// Anthropic wants alternating turns: merge consecutive same-role ones.
		if n := len(w.Messages); n > 0 && w.Messages[n-1].Role == role {
			var prev []block
			_ = json.Unmarshal(w.Messages[n-1].Content, &prev)
			w.Messages[n-1].Content, _ = json.Marshal(append(prev, bs...))
			continue
		}
		c, _ := json.Marshal(bs)
		w.Messages = append(w.Messages, message{Role: role, Content: c})
	}
	for _, t := range req.Tools {
		schema := t.Parameters
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		w.Tools = append(w.Tools, tool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	switch req.ToolChoice {
	case "":
	case "auto", "none":
		w.ToolChoice = &toolChoice{Type: req.ToolChoice}
	case "required":
		w.ToolChoice = &toolChoice{Type: "any"}
	default:
		w.ToolChoice = &toolChoice{Type: "tool", Name: req.ToolChoice}
	}
	return json.Marshal(w)
}

func wireBlocks(m *llm.Message) (string, []block) {
	var bs []block
	if m.Role == llm.RoleTool {
		c, _ := json.Marshal(m.Text())
		return "user", []block{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: c}}
	}
	for _, p := range m.Parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				bs = append(bs, block{Type: "text", Text: p.Text})
			}
		case llm.PartImage:
			if p.Data != "" {
				bs = append(bs, block{Type: "image", Source: &imageSource{Type: "base64", MediaType: p.MediaType, Data: p.Data}})
			} else {
				bs = append(bs, block{Type: "image", Source: &imageSource{Type: "url", URL: p.URL}})
			}
		}
	}
	for _, tc := range m.ToolCalls {
		bs = append(bs, block{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Name, Input: inputOf(tc.Arguments)})
	}
	role := m.Role
	if role != "assistant" {
		role = "user"
	}
	return role, bs
}

// ParseChat implements llm.Provider.
func (p *Provider) ParseChat(body []byte) (*llm.Response, error) { return ParseResponse(body) }

// ParseResponse parses a Messages answer.
func ParseResponse(body []byte) (*llm.Response, error) {
	var w messageResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	resp := &llm.Response{ID: w.ID, Model: w.Model, Usage: w.Usage.canonical(), Dialect: llm.DialectAnthropic, Raw: body}
	if w.StopReason != nil {
		resp.StopReason = stopReason(*w.StopReason)
	}
	for _, b := range w.Content {
		switch b.Type {
		case "text":
			resp.Text += b.Text
		case "tool_use":
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: args(b.Input)})
		}
	}
	return resp, nil
}

// PeekChat reads only the model and usage of an answer to a client of
// the same dialect, who gets the body unchanged (Raw).
func (p *Provider) PeekChat(body []byte) (*llm.Response, error) { return PeekResponse(body) }

// PeekResponse is ParseResponse without the content (see llm.PeekResponse).
func PeekResponse(body []byte) (*llm.Response, error) {
	return llm.PeekResponse(body, llm.DialectAnthropic, decodeUsage, ParseResponse)
}

func decodeUsage(b []byte) (*llm.Usage, error) {
	var w usage
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	return w.canonical(), nil
}

// ParseError implements llm.Provider.
func (p *Provider) ParseError(status int, h http.Header, body []byte) *llm.Error {
	return ParseError(status, h, body)
}

// ParseError translates an Anthropic error body; its error type (e.g.
// overloaded_error) wins over the status.
func ParseError(status int, h http.Header, body []byte) *llm.Error {
	e := llm.NewError(status, http.StatusText(status))
	e.RetryAfter = llm.RetryAfter(h)
	var w errorBody
	if json.Unmarshal(body, &w) == nil && w.Error != nil {
		if w.Error.Type != "" {
			e.Type = w.Error.Type
		}
		if w.Error.Message != "" {
			e.Message = w.Error.Message
		}
	} else if s := llm.Snippet(body); s != "" {
		e.Message = "upstream error: " + s
	}
	return e
}

// Authorize implements llm.Provider: x-api-key.
func (p *Provider) Authorize(r *http.Request, _ []byte, key string) error {
	if key != "" {
		r.Header.Set("X-Api-Key", key)
	}
	if r.Header.Get("Anthropic-Version") == "" {
		r.Header.Set("Anthropic-Version", Version)
	}
	return nil
}

// DecodeStream implements llm.Provider.
func (p *Provider) DecodeStream(r io.Reader) llm.EventReader { return NewDecoder(r) }

// Decoder reads a Messages SSE stream.
type Decoder struct {
	sse    *llm.SSEReader
	toolOf map[int]int // content block index → tool index
	tools  int
	// passthrough: the client speaks this dialect and gets every event's
	// bytes as they came; once content has started, content_block_delta,
	// content_block_stop and ping events are not decoded (one EvNone with
	// Raw, valid until the next call).
	passthrough bool
	content     bool
	one         [1]llm.Event
}

// Passthrough implements the gateway's same-dialect mode.
func (d *Decoder) Passthrough() { d.passthrough = true }

// Release implements the gateway's end of stream: the read buffer is
// reused. The decoder must not be used afterwards.
func (d *Decoder) Release() { d.sse.Release() }

// Pending reports whether a whole event is already buffered.
func (d *Decoder) Pending() bool { return d.sse.HasEvent() }

// NewDecoder returns a decoder of a Messages stream.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{sse: llm.NewSSEReader(r, 0), toolOf: map[int]int{}}
}

type streamEvent struct {
	Type         string           `json:"type"`
	Message      *messageResponse `json:"message"`
	Index        int              `json:"index"`
	ContentBlock *block           `json:"content_block"`
	Delta        *struct {
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		PartialJSON string  `json:"partial_json"`
		StopReason  *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *usage     `json:"usage"`
	Error *wireError `json:"error"`
}

// Next implements llm.EventReader.
func (d *Decoder) Next() ([]llm.Event, error) {
	sev, err := d.sse.Next()
	if err != nil {
		return nil, err
	}
	if d.passthrough && d.content {
		switch sev.Name {
		case "content_block_delta", "content_block_stop", "ping":
			if data := bytes.TrimSpace(sev.Data); len(data) > 0 && data[0] == '{' && !llm.HasKeyValue(data, "error") && llm.Valid(data) {
				d.one[0] = llm.Event{Kind: llm.EvNone, Dialect: llm.DialectAnthropic, Raw: sev.Data, RawName: sev.Name}
				return d.one[:], nil
			}
		}
	}
	raw := bytes.Clone(sev.Data)
	var e streamEvent
	if json.Unmarshal(bytes.TrimSpace(sev.Data), &e) != nil {
		return []llm.Event{{Kind: llm.EvNone}}, nil // malformed: skipped (H-34)
	}
	name := sev.Name
	if name == "" {
		name = e.Type
	}
	var out []llm.Event
	add := func(ev llm.Event) {
		ev.Dialect = llm.DialectAnthropic
		if ev.IsContent() {
			d.content = true
		}
		out = append(out, ev)
	}
	switch e.Type {
	case "message_start":
		if m := e.Message; m != nil {
			add(llm.Event{Kind: llm.EvStart, ID: m.ID, Model: m.Model})
			if m.Usage != nil {
				add(llm.Event{Kind: llm.EvUsage, Usage: m.Usage.canonical()})
			}
		}
	case "content_block_start":
		if cb := e.ContentBlock; cb != nil {
			switch cb.Type {
			case "tool_use":
				d.toolOf[e.Index] = d.tools
				add(llm.Event{Kind: llm.EvToolStart, Index: d.tools, ToolCall: llm.ToolCall{ID: cb.ID, Name: cb.Name}})
				d.tools++
			case "text":
				if cb.Text != "" {
					add(llm.Event{Kind: llm.EvText, Text: cb.Text})
				}
			}
		}
	case "content_block_delta":
		if dl := e.Delta; dl != nil {
			switch dl.Type {
			case "text_delta":
				add(llm.Event{Kind: llm.EvText, Text: dl.Text})
			case "input_json_delta":
				if i, ok := d.toolOf[e.Index]; ok && dl.PartialJSON != "" {
					add(llm.Event{Kind: llm.EvToolArgs, Index: i, ToolCall: llm.ToolCall{Arguments: dl.PartialJSON}})
				}
			}
		}
	case "message_delta":
		if dl := e.Delta; dl != nil && dl.StopReason != nil {
			add(llm.Event{Kind: llm.EvStop, StopReason: stopReason(*dl.StopReason)})
		}
		if e.Usage != nil {
			u := e.Usage.canonical()
			add(llm.Event{Kind: llm.EvUsage, Usage: u})
		}
	case "message_stop":
		add(llm.Event{Kind: llm.EvDone})
	case "error":
		we := e.Error
		if we == nil {
			we = &wireError{Type: llm.ErrAPI, Message: "upstream stream error"}
		}
		out = append(out, llm.Event{Kind: llm.EvError, Err: &llm.Error{Type: we.Type, Message: we.Message}})
		return out, nil
	}
	if len(out) == 0 {
		add(llm.Event{Kind: llm.EvNone})
	}
	out[0].Raw, out[0].RawName = raw, name
	return out, nil
}
