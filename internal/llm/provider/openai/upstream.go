package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Spec configures an OpenAI(-compatible) upstream.
type Spec struct {
	Model string // "" = the client's model
	// System is the gen_ai.system label: "openai" (default), or a preset
	// name for OpenAI-compatible services (groq, ollama, …).
	System string
	// Host is the default endpoint (host:port, TLS); "" = api.openai.com:443.
	Host string
	// Base is the API path prefix; "" = "/v1".
	Base string
	// AuthHeader/AuthPrefix say how the key is sent; "" = "Authorization:
	// Bearer <key>".
	AuthHeader, AuthPrefix string
	// Responses: the upstream serves the Responses API itself (OpenAI), so
	// Responses requests pass through to Base/responses instead of being
	// translated to chat completions.
	Responses bool
}

// Provider is an OpenAI(-compatible) upstream.
type Provider struct {
	s        Spec
	chatPath string
}

// New returns a provider.
func New(s Spec) *Provider {
	if s.System == "" {
		s.System = "openai"
	}
	if s.Host == "" {
		s.Host = "api.openai.com:443"
	}
	if s.Base == "" {
		s.Base = "/v1"
	}
	if s.AuthHeader == "" {
		s.AuthHeader, s.AuthPrefix = "Authorization", "Bearer "
	}
	return &Provider{s: s, chatPath: s.Base + "/chat/completions"}
}

// System implements llm.Provider.
func (p *Provider) System() string { return p.s.System }

// Dialect implements llm.Provider.
func (p *Provider) Dialect() llm.Dialect { return llm.DialectOpenAI }

// DefaultHost implements llm.Provider.
func (p *Provider) DefaultHost() string { return p.s.Host }

// Model implements llm.Provider.
func (p *Provider) Model() string { return p.s.Model }

// Path implements llm.Provider.
func (p *Provider) Path(op llm.Op) (string, bool) {
	switch op {
	case llm.OpEmbeddings:
		return p.s.Base + "/embeddings", true
	case llm.OpModels:
		return p.s.Base + "/models", true
	case llm.OpResponses:
		return p.s.Base + "/responses", true
	case llm.OpCompletions:
		return p.s.Base + "/chat/completions", true
	}
	return "", false
}

// BuildChat implements llm.Provider.
func (p *Provider) BuildChat(req *llm.Request) (*llm.Call, error) {
	if req.Dialect == llm.DialectResponses && p.s.Responses {
		return p.responsesCall(req)
	}
	var (
		body   []byte
		pooled *llm.BodyBuf
	)
	if req.Dialect == llm.DialectOpenAI && req.Raw == nil && req.Body != nil {
		pooled = llm.NewBodyBuf()
		b, edited, ok := editBody(pooled.B, req)
		switch {
		case !ok:
			pooled.Release()
			pooled = nil
		case edited:
			pooled.B, body = b, b
		default:
			pooled.Release() // sent as the client sent it
			pooled, body = nil, req.Body
		}
	}
	if body == nil {
		var err error
		if body, err = BuildBody(req); err != nil {
			return nil, err
		}
	}
	h := make(http.Header, 4)
	h["Content-Type"] = hdrJSON // shared, capacity-clipped: an Add copies
	if req.Stream {
		h["Accept"] = hdrSSE
	}
	return &llm.Call{Method: http.MethodPost, Path: p.chatPath, Header: h, Body: body, Stream: req.Stream, Pooled: pooled}, nil
}

var (
	hdrJSON = []string{"application/json"}[:1:1]
	hdrSSE  = []string{"text/event-stream"}[:1:1]
)

// ServesResponses reports whether Responses requests pass through.
func (p *Provider) ServesResponses() bool { return p.s.Responses }

// responsesCall passes a Responses request through (model replaced).
func (p *Provider) responsesCall(req *llm.Request) (*llm.Call, error) {
	raw := make(map[string]json.RawMessage, len(req.Raw))
	for k, v := range req.Raw {
		raw[k] = v
	}
	raw["model"], _ = json.Marshal(req.Model)
	body, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if req.Stream {
		h.Set("Accept", "text/event-stream")
	}
	return &llm.Call{Method: http.MethodPost, Path: p.s.Base + "/responses", Header: h, Body: body, Stream: req.Stream,
		ParseChat:    ParseResponses,
		DecodeStream: func(r io.Reader) llm.EventReader { return NewResponsesDecoder(r) }}, nil
}

// BuildBody renders a canonical request as a chat-completions body. A
// request that came in this dialect keeps every field the client sent;
// streams always ask for usage (the gateway strips the extra chunk when
// the client did not ask for it).
func BuildBody(req *llm.Request) ([]byte, error) {
	if req.Dialect == llm.DialectOpenAI && req.Raw == nil && req.Body != nil {
		if b, edited, ok := editBody(nil, req); ok {
			if !edited {
				b = req.Body
			}
			return b, nil
		}
		if err := req.EnsureRaw(); err != nil {
			return nil, err
		}
	}
	if req.Dialect == llm.DialectOpenAI && req.Raw != nil {
		raw := make(map[string]json.RawMessage, len(req.Raw)+1)
		for k, v := range req.Raw {
			raw[k] = v
		}
		raw["model"], _ = json.Marshal(req.Model)
		if req.Stream {
			so := map[string]json.RawMessage{}
			if r, ok := raw["stream_options"]; ok {
				_ = json.Unmarshal(r, &so)
				if so == nil {
					so = map[string]json.RawMessage{}
				}
			}
			so["include_usage"] = json.RawMessage("true")
			raw["stream_options"], _ = json.Marshal(so)
		}
		return json.Marshal(raw)
	}
	w := chatRequest{Model: req.Model, Temperature: req.Temperature, TopP: req.TopP, Stream: req.Stream, User: req.User}
	if req.MaxTokens > 0 {
		n := req.MaxTokens
		w.MaxTokens = &n
	}
	if req.Stream {
		w.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if len(req.Stop) > 0 {
		w.Stop, _ = json.Marshal(req.Stop)
	}
	if req.System != "" {
		c, _ := json.Marshal(req.System)
		w.Messages = append(w.Messages, chatMessage{Role: "system", Content: c})
	}
	for _, m := range req.Messages {
		cm := chatMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID}
		if m.Role == llm.RoleTool {
			cm.Content, _ = json.Marshal(m.Text())
		} else if len(m.Parts) > 0 || len(m.ToolCalls) == 0 {
			cm.Content = wireContent(m.Parts)
		}
		for _, tc := range m.ToolCalls {
			cm.ToolCalls = append(cm.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: tc.Arguments}})
		}
		w.Messages = append(w.Messages, cm)
	}
	if w.Messages == nil {
		w.Messages = []chatMessage{}
	}
	for _, t := range req.Tools {
		w.Tools = append(w.Tools, chatTool{Type: "function", Function: functionDef{Name: t.Name, Description: t.Description, Parameters: t.Parameters}})
	}
	switch req.ToolChoice {
	case "":
	case "auto", "none", "required":
		w.ToolChoice, _ = json.Marshal(req.ToolChoice)
	default:
		w.ToolChoice, _ = json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": req.ToolChoice}})
	}
	return json.Marshal(w)
}

// editBody rewrites model (and adds stream_options for a stream) in the
// client's bytes, appending the result to dst; edited=false: the body
// needs no edit (nothing appended). ok=false: stream_options is there
// without include_usage: true, left to the map path that merges it.
func editBody(dst []byte, req *llm.Request) (out []byte, edited, ok bool) {
	b := req.Body
	addSO := false
	if req.Stream {
		if so, has := llm.TopLevel(b, "stream_options"); has {
			if !req.IncludeUsage || string(so) == "null" {
				return nil, false, false
			}
		} else {
			addSO = true
		}
	}
	var q [64]byte
	model := llm.AppendJSONString(q[:0], req.Model)
	m, has := llm.TopLevel(b, "model")
	setModel := !has || string(m) != string(model)
	switch {
	case addSO && setModel:
		// stream_options goes at the end, model in place: edit a copy.
		tmp := llm.SetTopLevel(b, "stream_options", []byte(`{"include_usage":true}`))
		return llm.SetTopLevelTo(dst, tmp, "model", model), true, true
	case addSO:
		return llm.SetTopLevelTo(dst, b, "stream_options", []byte(`{"include_usage":true}`)), true, true
	case setModel:
		return llm.SetTopLevelTo(dst, b, "model", model), true, true
	}
	return dst, false, true
}

// ParseChat implements llm.Provider.
func (p *Provider) ParseChat(body []byte) (*llm.Response, error) { return ParseResponse(body) }

// ParseResponse parses a chat.completion body.
func ParseResponse(body []byte) (*llm.Response, error) {
	var w chatResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	resp := &llm.Response{ID: w.ID, Model: w.Model, Created: w.Created, Usage: w.Usage.canonical(),
		Dialect: llm.DialectOpenAI, Raw: body}
	if len(w.Choices) > 0 {
		c := w.Choices[0]
		if c.FinishReason != nil {
			resp.StopReason = stopReason(*c.FinishReason)
		}
		if m := c.Message; m != nil {
			for _, p := range contentParts(m.Content) {
				resp.Text += p.Text
			}
			for _, tc := range m.ToolCalls {
				resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			}
		}
	}
	return resp, nil
}

// PeekChat reads only the model and usage of a chat.completion answered
// to a client of the same dialect, who gets the body unchanged (Raw): no
// decode of the choices.
func (p *Provider) PeekChat(body []byte) (*llm.Response, error) { return PeekResponse(body) }

// PeekResponse is ParseResponse without the content (see llm.PeekResponse).
func PeekResponse(body []byte) (*llm.Response, error) {
	return llm.PeekResponse(body, llm.DialectOpenAI, decodeUsage, ParseResponse)
}

func decodeUsage(b []byte) (*llm.Usage, error) {
	if u, ok := peekUsage(b); ok {
		return u, nil
	}
	var w wireUsage
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	return w.canonical(), nil
}

// ParseError implements llm.Provider.
func (p *Provider) ParseError(status int, h http.Header, body []byte) *llm.Error {
	return ParseError(status, h, body)
}

// ParseError translates an OpenAI-shaped error response.
func ParseError(status int, h http.Header, body []byte) *llm.Error {
	e := llm.NewError(status, http.StatusText(status))
	e.RetryAfter = llm.RetryAfter(h)
	var w errorBody
	if json.Unmarshal(body, &w) == nil && w.Error != nil {
		if w.Error.Message != "" {
			e.Message = w.Error.Message
		}
		e.Code = rawString(w.Error.Code)
		e.Param = rawString(w.Error.Param)
		if e.Code == "" && w.Error.Type == "insufficient_quota" {
			e.Code = w.Error.Type
		}
	} else if s := llm.Snippet(body); s != "" {
		e.Message = "upstream error: " + s
	}
	return e
}

// Authorize implements llm.Provider.
func (p *Provider) Authorize(r *http.Request, _ []byte, key string) error {
	if key != "" {
		r.Header.Set(p.s.AuthHeader, p.s.AuthPrefix+key)
	}
	return nil
}

// DecodeStream implements llm.Provider.
func (p *Provider) DecodeStream(r io.Reader) llm.EventReader { return NewDecoder(r) }

// Decoder reads a chat-completions SSE stream.
type Decoder struct {
	sse     *llm.SSEReader
	started bool
	tools   map[int]bool
	// passthrough: the client speaks this dialect and gets every chunk's
	// bytes as they came; once content has started, chunks that carry no
	// usage, error or finish_reason are not decoded (one EvNone with Raw,
	// valid until the next call).
	passthrough bool
	content     bool
	one         [1]llm.Event
	evs         []llm.Event // peekChunk's events (allocated on first use)
	id, model   string      // the last chunk's, reused while they repeat
	noPeek      bool        // tests: always decode in full
}

// Passthrough implements the gateway's same-dialect mode.
func (d *Decoder) Passthrough() { d.passthrough = true }

// Release implements the gateway's end of stream: the read buffer is
// reused. The decoder must not be used afterwards.
func (d *Decoder) Release() { d.sse.Release() }

// Pending reports whether a whole event is already buffered (the gateway
// then writes it with this one and flushes once).
func (d *Decoder) Pending() bool { return d.sse.HasEvent() }

// NewDecoder returns a decoder of a chat-completions stream.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{sse: llm.NewSSEReader(r, 0), tools: map[int]bool{}}
}

var errMalformed = errors.New("openai: malformed stream chunk")

// Next implements llm.EventReader. A chunk that is not JSON is skipped
// (H-34) and reported as an EvNone event without Raw.
func (d *Decoder) Next() ([]llm.Event, error) {
	ev, err := d.sse.Next()
	if err != nil {
		return nil, err
	}
	data := bytes.TrimSpace(ev.Data)
	if d.passthrough && d.content && len(data) > 0 && data[0] == '{' &&
		!llm.HasKeyValue(data, "usage") && !llm.HasKeyValue(data, "error") && !llm.HasKeyValue(data, "finish_reason") &&
		llm.Valid(data) {
		d.one[0] = llm.Event{Kind: llm.EvNone, Dialect: llm.DialectOpenAI, Raw: ev.Data}
		return d.one[:], nil
	}
	if d.passthrough && !d.noPeek && len(data) > 0 && data[0] == '{' {
		if evs, ok := d.peekChunk(data, ev.Data); ok {
			return evs, nil
		}
	}
	raw := bytes.Clone(ev.Data)
	if string(data) == "[DONE]" {
		return []llm.Event{{Kind: llm.EvDone, Dialect: llm.DialectOpenAI, Raw: raw}}, nil
	}
	if len(data) == 0 {
		return []llm.Event{{Kind: llm.EvNone}}, nil
	}
	var eb errorBody
	if llm.HasQuotedFold(data, "error") && json.Unmarshal(data, &eb) == nil && eb.Error != nil {
		e := ParseError(0, http.Header{}, data)
		e.Status = 0
		if e.Type == "" || e.Type == llm.ErrAPI || e.Type == llm.ErrInvalidRequest {
			e.Type = llm.ErrAPI
		}
		return []llm.Event{{Kind: llm.EvError, Err: e}}, nil
	}
	var c chatResponse
	if err := json.Unmarshal(data, &c); err != nil {
		return []llm.Event{{Kind: llm.EvNone, Err: &llm.Error{Type: llm.ErrAPI, Message: errMalformed.Error()}}}, nil
	}
	var out []llm.Event
	add := func(e llm.Event) {
		e.Dialect = llm.DialectOpenAI
		if e.ID == "" {
			e.ID, e.Model = c.ID, c.Model
		}
		if e.IsContent() {
			d.content = true
		}
		out = append(out, e)
	}
	if !d.started {
		d.started = true
		add(llm.Event{Kind: llm.EvStart})
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // n > 1: only the first choice is accounted for
		}
		if m := ch.Delta; m != nil {
			if t := rawString(m.Content); t != "" {
				add(llm.Event{Kind: llm.EvText, Text: t})
			}
			for _, tc := range m.ToolCalls {
				i := 0
				if tc.Index != nil {
					i = *tc.Index
				}
				if tc.ID != "" || tc.Function.Name != "" || !d.tools[i] {
					d.tools[i] = true
					add(llm.Event{Kind: llm.EvToolStart, Index: i, ToolCall: llm.ToolCall{ID: tc.ID, Name: tc.Function.Name}})
				}
				if tc.Function.Arguments != "" {
					add(llm.Event{Kind: llm.EvToolArgs, Index: i, ToolCall: llm.ToolCall{Arguments: tc.Function.Arguments}})
				}
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			add(llm.Event{Kind: llm.EvStop, StopReason: stopReason(*ch.FinishReason)})
		}
	}
	if c.Usage != nil {
		add(llm.Event{Kind: llm.EvUsage, Usage: c.Usage.canonical(), UsageOnly: len(c.Choices) == 0})
	}
	if len(out) == 0 {
		add(llm.Event{Kind: llm.EvNone})
	}
	out[0].Raw = raw
	if c.Usage != nil && len(c.Choices) == 0 {
		for i := range out {
			out[i].UsageOnly = true
		}
	}
	return out, nil
}
