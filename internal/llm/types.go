// Package llm holds the LLM gateway's canonical model: one request,
// response and stream-event shape that every client dialect (OpenAI chat
// completions, Anthropic messages, OpenAI responses) is parsed into and
// every provider (OpenAI, Anthropic, Gemini, Vertex AI, Bedrock, Azure
// OpenAI) is translated from, plus the interfaces those dialects and
// providers implement and the SSE reader and writer they share.
//
// Translation goes client dialect → canonical → provider wire format, and
// back. When the client and the provider speak the same dialect the
// original JSON travels along (Request.Raw, Response.Raw, Event.Raw) so
// fields the canonical model does not know are passed through untouched.
//
// The route handler lives in internal/llm/gateway; the providers in
// internal/llm/provider/<name>.
package llm

import "encoding/json"

// Dialect is a wire format for chat.
type Dialect string

// Dialects.
const (
	DialectOpenAI    Dialect = "openai"    // /v1/chat/completions
	DialectAnthropic Dialect = "anthropic" // /v1/messages
	DialectResponses Dialect = "responses" // /v1/responses
	DialectGemini    Dialect = "gemini"    // generateContent
	DialectBedrock   Dialect = "bedrock"   // Converse
)

// Roles of a canonical message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool" // a tool result; ToolCallID names the call
)

// Request is a chat request in canonical form.
type Request struct {
	Model    string
	System   string // system prompt (all system messages joined)
	Messages []Message
	Tools    []Tool
	// ToolChoice is "", "auto", "none", "required", or a tool name.
	ToolChoice  string
	MaxTokens   int // 0: unset
	Temperature *float64
	TopP        *float64
	Stop        []string
	Stream      bool
	// IncludeUsage: the client asked for usage in the stream (OpenAI
	// stream_options.include_usage). Providers always report usage to the
	// gateway; the client dialect decides whether the client sees it.
	IncludeUsage bool
	User         string
	// BuiltinTools are Responses API tools other than functions
	// (web_search, file_search, …): only OpenAI itself runs them.
	BuiltinTools []string

	// Dialect and Raw are the client's dialect and its top-level JSON
	// object, kept so a same-dialect upstream gets every field the client
	// sent, canonical or not.
	Dialect Dialect
	Raw     map[string]json.RawMessage
	// Body is the client's body when only its envelope was read (Model,
	// Stream, IncludeUsage) because every candidate provider speaks the
	// client's dialect: the provider edits these bytes instead of
	// re-encoding Raw, which is nil then (see EnsureRaw).
	Body []byte
}

// EnsureRaw fills Raw from Body for a request that was only peeked.
func (r *Request) EnsureRaw() error {
	if r.Raw != nil || r.Body == nil {
		return nil
	}
	raw, err := RawObject(r.Body)
	if err != nil {
		return err
	}
	r.Raw = raw
	return nil
}

// Message is one turn.
type Message struct {
	Role       string
	Parts      []Part
	ToolCalls  []ToolCall // assistant turns
	ToolCallID string     // role tool: the call this result answers
	Name       string
}

// Text joins the message's text parts.
func (m *Message) Text() string {
	var s string
	for _, p := range m.Parts {
		if p.Type == PartText {
			s += p.Text
		}
	}
	return s
}

// Part kinds.
const (
	PartText  = "text"
	PartImage = "image"
)

// Part is one piece of a message's content.
type Part struct {
	Type string
	Text string
	// Images: either a URL, or inline base64 data with its media type.
	URL       string
	MediaType string
	Data      string
}

// Tool is a function the model may call.
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // JSON schema
}

// ToolCall is a call the model made.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text
}

// StopReason is why generation ended, in canonical (OpenAI-like) terms.
type StopReason string

// Stop reasons.
const (
	StopEnd       StopReason = "stop"
	StopLength    StopReason = "length"
	StopToolCalls StopReason = "tool_calls"
	StopFilter    StopReason = "content_filter"
)

// Usage counts tokens. InputTokens is the whole prompt, cached tokens
// included (OpenAI's convention); providers whose input count excludes
// cache reads and writes (Anthropic, Bedrock) are normalised into it.
type Usage struct {
	InputTokens      int
	OutputTokens     int
	CacheReadTokens  int
	CacheWriteTokens int
	ReasoningTokens  int
}

// Total is input plus output tokens.
func (u Usage) Total() int { return u.InputTokens + u.OutputTokens }

// Response is a non-streaming chat answer.
type Response struct {
	ID         string
	Model      string
	Text       string
	ToolCalls  []ToolCall
	StopReason StopReason
	Usage      *Usage
	Created    int64

	Dialect Dialect
	Raw     []byte // the upstream body, when it is in Dialect
}

// EventKind is the kind of a stream event.
type EventKind uint8

// Stream event kinds.
const (
	EvStart     EventKind = iota + 1 // message begins (ID, Model)
	EvText                           // Text delta
	EvToolStart                      // a tool call begins (Index, ToolCall.ID, ToolCall.Name)
	EvToolArgs                       // tool-call argument delta (Index, ToolCall.Arguments)
	EvStop                           // generation ended (StopReason)
	EvUsage                          // token counts (Usage)
	EvDone                           // the upstream's terminal event
	EvError                          // in-band error (Err)
	EvNone                           // nothing canonical (a keep-alive, or an event only Raw carries)
)

// Event is one canonical stream event.
type Event struct {
	Kind       EventKind
	ID         string
	Model      string
	Text       string
	Index      int // tool-call index
	ToolCall   ToolCall
	StopReason StopReason
	Usage      *Usage
	Err        *Error

	// Raw is the upstream SSE event (name and data) when it is in the
	// client's dialect; a same-dialect client gets it unchanged. One raw
	// upstream event may yield several canonical events: only the first
	// carries Raw.
	Dialect Dialect
	RawName string
	Raw     []byte
	// UsageOnly marks an OpenAI chunk that carries only usage (no
	// choices): it is dropped when the client did not ask for usage.
	UsageOnly bool
}

// IsContent reports whether the event is model output (the commit point
// of a stream: before it, a failure can still fail over).
func (e *Event) IsContent() bool {
	return e.Kind == EvText || e.Kind == EvToolStart || e.Kind == EvToolArgs
}

// MergeUsage folds a later usage report into an earlier one: fields the
// later one sets (non-zero) win. Streams report usage piecemeal (Anthropic:
// input at message_start, output at message_delta).
func MergeUsage(a, b *Usage) *Usage {
	if b == nil {
		return a
	}
	if a == nil {
		c := *b
		return &c
	}
	set := func(d *int, s int) {
		if s != 0 {
			*d = s
		}
	}
	set(&a.InputTokens, b.InputTokens)
	set(&a.OutputTokens, b.OutputTokens)
	set(&a.CacheReadTokens, b.CacheReadTokens)
	set(&a.CacheWriteTokens, b.CacheWriteTokens)
	set(&a.ReasoningTokens, b.ReasoningTokens)
	return a
}
