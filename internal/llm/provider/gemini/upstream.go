package gemini

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Spec configures a Gemini (AI Studio) upstream.
type Spec struct {
	Model string // "" = the client's model
	Host  string // "" = generativelanguage.googleapis.com:443
	Base  string // "" = "/v1beta"
}

// Provider is a Gemini API upstream.
type Provider struct{ s Spec }

// New returns a provider.
func New(s Spec) *Provider {
	if s.Host == "" {
		s.Host = "generativelanguage.googleapis.com:443"
	}
	if s.Base == "" {
		s.Base = "/v1beta"
	}
	return &Provider{s: s}
}

// System implements llm.Provider.
func (p *Provider) System() string { return "gcp.gemini" }

// Dialect implements llm.Provider.
func (p *Provider) Dialect() llm.Dialect { return llm.DialectGemini }

// DefaultHost implements llm.Provider.
func (p *Provider) DefaultHost() string { return p.s.Host }

// Model implements llm.Provider.
func (p *Provider) Model() string { return p.s.Model }

// Path implements llm.Provider: only the model list has a model-free path.
func (p *Provider) Path(op llm.Op) (string, bool) {
	if op == llm.OpModels {
		return p.s.Base + "/models", true
	}
	return "", false
}

// ChatPath is the generateContent path of model under base.
func ChatPath(base, model string, stream bool) string {
	m := strings.TrimPrefix(model, "models/")
	if stream {
		return base + "/models/" + llm.EscapePathSegment(m) + ":streamGenerateContent?alt=sse"
	}
	return base + "/models/" + llm.EscapePathSegment(m) + ":generateContent"
}

// BuildChat implements llm.Provider.
func (p *Provider) BuildChat(req *llm.Request) (*llm.Call, error) {
	body, err := BuildBody(req)
	if err != nil {
		return nil, err
	}
	return NewCall(ChatPath(p.s.Base, req.Model, req.Stream), body, req.Stream), nil
}

// NewCall is a generateContent call (shared with Vertex AI).
func NewCall(path string, body []byte, stream bool) *llm.Call {
	h := http.Header{"Content-Type": {"application/json"}}
	if stream {
		h.Set("Accept", "text/event-stream")
	}
	return &llm.Call{Method: http.MethodPost, Path: path, Header: h, Body: body, Stream: stream, FixedPath: true}
}

// BuildBody renders a canonical request as a generateContent body. A
// request that came in this dialect is sent as the client wrote it.
func BuildBody(req *llm.Request) ([]byte, error) {
	if req.Dialect == llm.DialectGemini && req.Raw != nil {
		return json.Marshal(req.Raw)
	}
	w := request{Contents: []content{}}
	if req.System != "" {
		w.SystemInstruction = &content{Parts: []part{{Text: req.System}}}
	}
	names := map[string]string{} // tool call id → function name
	for i := range req.Messages {
		m := &req.Messages[i]
		for _, tc := range m.ToolCalls {
			names[tc.ID] = tc.Name
		}
		role, parts := wireParts(m, names)
		if len(parts) == 0 {
			continue
		}
		// Consecutive same-role turns are merged (parallel tool results
		// belong in one user turn).
		if n := len(w.Contents); n > 0 && w.Contents[n-1].Role == role {
			w.Contents[n-1].Parts = append(w.Contents[n-1].Parts, parts...)
			continue
		}
		w.Contents = append(w.Contents, content{Role: role, Parts: parts})
	}
	if len(req.Tools) > 0 {
		var fds []functionDeclaration
		for _, t := range req.Tools {
			fds = append(fds, functionDeclaration{Name: t.Name, Description: t.Description, ParametersJSONSchema: t.Parameters})
		}
		w.Tools = []tool{{FunctionDeclarations: fds}}
	}
	switch req.ToolChoice {
	case "":
	case "auto":
		w.ToolConfig = &toolConfig{FunctionCallingConfig: &functionCallingConfig{Mode: "AUTO"}}
	case "none":
		w.ToolConfig = &toolConfig{FunctionCallingConfig: &functionCallingConfig{Mode: "NONE"}}
	case "required":
		w.ToolConfig = &toolConfig{FunctionCallingConfig: &functionCallingConfig{Mode: "ANY"}}
	default:
		w.ToolConfig = &toolConfig{FunctionCallingConfig: &functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{req.ToolChoice}}}
	}
	gc := &generationConfig{Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	if req.MaxTokens > 0 {
		n := req.MaxTokens
		gc.MaxOutputTokens = &n
	}
	if gc.MaxOutputTokens != nil || gc.Temperature != nil || gc.TopP != nil || len(gc.StopSequences) > 0 {
		w.GenerationConfig = gc
	}
	return json.Marshal(w)
}

func wireParts(m *llm.Message, names map[string]string) (string, []part) {
	if m.Role == llm.RoleTool {
		name := names[m.ToolCallID]
		if name == "" {
			name = m.ToolCallID
		}
		return "user", []part{{FunctionResponse: &functionResponse{Name: name, Response: responseOf(m.Text())}}}
	}
	var ps []part
	for _, p := range m.Parts {
		switch p.Type {
		case llm.PartText:
			if p.Text != "" {
				ps = append(ps, part{Text: p.Text})
			}
		case llm.PartImage:
			if p.Data != "" {
				ps = append(ps, part{InlineData: &blob{MimeType: p.MediaType, Data: p.Data}})
			} else {
				ps = append(ps, part{FileData: &fileData{MimeType: guessMime(p.URL), FileURI: p.URL}})
			}
		}
	}
	for _, tc := range m.ToolCalls {
		ps = append(ps, part{FunctionCall: &functionCall{Name: tc.Name, Args: argsOf(tc.Arguments)}})
	}
	if m.Role == llm.RoleAssistant {
		return "model", ps
	}
	return "user", ps
}

func guessMime(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if t := mime.TypeByExtension(path.Ext(u)); t != "" {
		return strings.SplitN(t, ";", 2)[0]
	}
	return "image/jpeg"
}

// argsOf renders canonical arguments as a functionCall args object.
func argsOf(arguments string) json.RawMessage {
	var v map[string]any
	if json.Unmarshal([]byte(arguments), &v) != nil || v == nil {
		return json.RawMessage("{}")
	}
	return json.RawMessage(arguments)
}

// responseOf renders a tool result as a functionResponse.response object:
// a JSON object as is, anything else as {"output": text} (Gemini's
// documented key for a function's output).
func responseOf(text string) json.RawMessage {
	var v map[string]any
	if json.Unmarshal([]byte(text), &v) == nil && v != nil {
		return json.RawMessage(text)
	}
	b, _ := json.Marshal(map[string]string{"output": text})
	return b
}

// ParseChat implements llm.Provider.
func (p *Provider) ParseChat(body []byte) (*llm.Response, error) { return ParseResponse(body) }

// ParseResponse parses a generateContent answer (the first candidate).
func ParseResponse(body []byte) (*llm.Response, error) {
	var w response
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	resp := &llm.Response{ID: w.ResponseID, Model: w.ModelVersion, Usage: w.UsageMetadata.canonical(), Dialect: llm.DialectGemini, Raw: body}
	if len(w.Candidates) == 0 {
		resp.StopReason = llm.StopFilter // the prompt was blocked (promptFeedback)
		return resp, nil
	}
	c := w.Candidates[0]
	if c.Content != nil {
		for _, pt := range c.Content.Parts {
			switch {
			case pt.FunctionCall != nil:
				resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: callID(pt.FunctionCall.ID), Name: pt.FunctionCall.Name, Arguments: argsText(pt.FunctionCall.Args)})
			case !pt.Thought:
				resp.Text += pt.Text
			}
		}
	}
	resp.StopReason = stopReason(c.FinishReason, len(resp.ToolCalls) > 0)
	if resp.StopReason == "" {
		resp.StopReason = llm.StopEnd
	}
	return resp, nil
}

func callID(id string) string {
	if id == "" {
		return llm.NewID("call_")
	}
	return id
}

func argsText(a json.RawMessage) string {
	if len(a) == 0 || string(a) == "null" {
		return "{}"
	}
	return string(a)
}

// ParseError implements llm.Provider.
func (p *Provider) ParseError(status int, h http.Header, body []byte) *llm.Error {
	return ParseError(status, h, body)
}

// Authorize implements llm.Provider: x-goog-api-key.
func (p *Provider) Authorize(r *http.Request, _ []byte, key string) error {
	if key != "" {
		r.Header.Set("X-Goog-Api-Key", key)
	}
	return nil
}

// DecodeStream implements llm.Provider.
func (p *Provider) DecodeStream(r io.Reader) llm.EventReader { return NewDecoder(r) }

// Decoder reads a streamGenerateContent?alt=sse stream: each event is a
// whole GenerateContentResponse; function calls arrive whole; the last
// chunk carries finishReason and the final usageMetadata.
type Decoder struct {
	sse     *llm.SSEReader
	started bool
	tools   int
}

// NewDecoder returns a decoder of a Gemini stream.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{sse: llm.NewSSEReader(r, 0)} }

// Next implements llm.EventReader.
func (d *Decoder) Next() ([]llm.Event, error) {
	sev, err := d.sse.Next()
	if err != nil {
		return nil, err
	}
	raw := bytes.Clone(sev.Data)
	var c response
	if json.Unmarshal(bytes.TrimSpace(sev.Data), &c) != nil {
		return []llm.Event{{Kind: llm.EvNone}}, nil // malformed: skipped
	}
	if c.Error != nil {
		e := &llm.Error{Type: llm.ErrAPI, Message: "upstream stream error"}
		applyStatus(e, c.Error)
		return []llm.Event{{Kind: llm.EvError, Err: e}}, nil
	}
	var out []llm.Event
	add := func(ev llm.Event) { ev.Dialect = llm.DialectGemini; out = append(out, ev) }
	if !d.started {
		d.started = true
		if c.UsageMetadata != nil { // before the start: an Anthropic client's message_start carries it
			add(llm.Event{Kind: llm.EvUsage, Usage: c.UsageMetadata.canonical()})
		}
		add(llm.Event{Kind: llm.EvStart, ID: c.ResponseID, Model: c.ModelVersion})
	}
	for _, cand := range c.Candidates {
		if cand.Index != 0 {
			continue
		}
		if cand.Content != nil {
			for _, pt := range cand.Content.Parts {
				switch {
				case pt.FunctionCall != nil:
					i := d.tools
					d.tools++
					add(llm.Event{Kind: llm.EvToolStart, Index: i, ToolCall: llm.ToolCall{ID: callID(pt.FunctionCall.ID), Name: pt.FunctionCall.Name}})
					add(llm.Event{Kind: llm.EvToolArgs, Index: i, ToolCall: llm.ToolCall{Arguments: argsText(pt.FunctionCall.Args)}})
				case !pt.Thought && pt.Text != "":
					add(llm.Event{Kind: llm.EvText, Text: pt.Text})
				}
			}
		}
		if cand.FinishReason != "" {
			add(llm.Event{Kind: llm.EvStop, StopReason: stopReason(cand.FinishReason, d.tools > 0)})
		}
	}
	if c.UsageMetadata != nil {
		add(llm.Event{Kind: llm.EvUsage, Usage: c.UsageMetadata.canonical()})
	}
	if len(out) == 0 {
		add(llm.Event{Kind: llm.EvNone})
	}
	out[0].Raw = raw
	return out, nil
}
