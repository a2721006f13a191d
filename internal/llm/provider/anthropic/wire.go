// Package anthropic speaks Anthropic's Messages API
// (https://docs.anthropic.com/en/api/messages, streaming per
// https://docs.anthropic.com/en/api/messages-streaming, errors per
// https://docs.anthropic.com/en/api/errors), both as a client dialect
// (/v1/messages and /v1/messages/count_tokens) and as an upstream provider
// (x-api-key and anthropic-version headers). Vertex AI's Anthropic models
// (rawPredict) reuse its body translation.
package anthropic

import (
	"encoding/json"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Version is the anthropic-version header sent upstream when the client
// did not send its own.
const Version = "2023-06-01"

// DefaultMaxTokens is max_tokens when a translated request has none
// (Anthropic requires it).
const DefaultMaxTokens = 4096

type messagesRequest struct {
	Model         string          `json:"model,omitempty"`
	MaxTokens     int             `json:"max_tokens,omitempty"`
	System        json.RawMessage `json:"system,omitempty"`
	Messages      []message       `json:"messages"`
	Tools         []tool          `json:"tools,omitempty"`
	ToolChoice    *toolChoice     `json:"tool_choice,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Metadata      *metadata       `json:"metadata,omitempty"`
	// AnthropicVersion is set for Vertex AI's rawPredict instead of model.
	AnthropicVersion string `json:"anthropic_version,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id,omitempty"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type block struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
	// image
	Source *imageSource `json:"source,omitempty"`
	// tool_use
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// tool_result
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   json.RawMessage `json:"content,omitempty"`
	IsError   bool            `json:"is_error,omitempty"`
}

type imageSource struct {
	Type      string `json:"type"` // base64 | url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type toolChoice struct {
	Type string `json:"type"` // auto | any | tool | none
	Name string `json:"name,omitempty"`
}

type messageResponse struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	Content      []block `json:"content"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        *usage  `json:"usage,omitempty"`
}

type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens,omitempty"`
}

type errorBody struct {
	Type  string     `json:"type"`
	Error *wireError `json:"error"`
}

type wireError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// canonical normalises Anthropic usage: input_tokens excludes cache reads
// and writes, the canonical input count includes them.
func (u *usage) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	return &llm.Usage{
		InputTokens:      u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens,
		OutputTokens:     u.OutputTokens,
		CacheReadTokens:  u.CacheReadInputTokens,
		CacheWriteTokens: u.CacheCreationInputTokens,
	}
}

func usageWire(u *llm.Usage) *usage {
	if u == nil {
		return &usage{}
	}
	return &usage{
		InputTokens:              max(u.InputTokens-u.CacheReadTokens-u.CacheWriteTokens, 0),
		OutputTokens:             u.OutputTokens,
		CacheReadInputTokens:     u.CacheReadTokens,
		CacheCreationInputTokens: u.CacheWriteTokens,
	}
}

func stopReason(s string) llm.StopReason {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return llm.StopLength
	case "tool_use":
		return llm.StopToolCalls
	case "refusal":
		return llm.StopFilter
	case "":
		return ""
	}
	return llm.StopEnd // end_turn, stop_sequence, pause_turn
}

func stopWire(s llm.StopReason) string {
	switch s {
	case llm.StopLength:
		return "max_tokens"
	case llm.StopToolCalls:
		return "tool_use"
	case llm.StopFilter:
		return "refusal"
	}
	return "end_turn"
}

func rawString(r json.RawMessage) string {
	var s string
	if len(r) > 0 && r[0] == '"' {
		_ = json.Unmarshal(r, &s)
	}
	return s
}

// blocks decodes content: a string or an array of blocks.
func blocks(r json.RawMessage) []block {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	if r[0] == '"' {
		return []block{{Type: "text", Text: rawString(r)}}
	}
	var bs []block
	_ = json.Unmarshal(r, &bs)
	return bs
}

// args renders tool input as a JSON text (canonical arguments).
func args(input json.RawMessage) string {
	if len(input) == 0 {
		return "{}"
	}
	return string(input)
}

// inputOf renders canonical arguments as a tool_use input object.
func inputOf(arguments string) json.RawMessage {
	var v map[string]any
	if json.Unmarshal([]byte(arguments), &v) != nil || v == nil {
		return json.RawMessage("{}")
	}
	return json.RawMessage(arguments)
}
