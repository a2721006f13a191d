// Package openai speaks OpenAI's Chat Completions API
// (https://platform.openai.com/docs/api-reference/chat), both as a client
// dialect (what SDK clients send to the gateway) and as an upstream
// provider (OpenAI itself and every OpenAI-compatible server: vLLM,
// Ollama, Groq, Mistral, DeepSeek, … selected by base URL). It also holds
// the Responses API client dialect (responses.go) and the Azure OpenAI
// variant is built on it (provider/azure).
package openai

import (
	"encoding/json"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Tools               []chatTool      `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                json.RawMessage `json:"stop,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	User                string          `json:"user,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  []toolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type contentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

type toolCall struct {
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string      `json:"type"`
	Function functionDef `json:"function"`
}

type functionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *wireUsage   `json:"usage,omitempty"`
}

type chatChoice struct {
	Index        int          `json:"index"`
	Message      *chatMessage `json:"message,omitempty"`
	Delta        *chatMessage `json:"delta,omitempty"`
	FinishReason *string      `json:"finish_reason"`
}

type wireUsage struct {
	PromptTokens            int           `json:"prompt_tokens"`
	CompletionTokens        int           `json:"completion_tokens"`
	TotalTokens             int           `json:"total_tokens"`
	PromptTokensDetails     *tokenDetails `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *tokenDetails `json:"completion_tokens_details,omitempty"`
}

type tokenDetails struct {
	CachedTokens    int `json:"cached_tokens,omitempty"`
	ReasoningTokens int `json:"reasoning_tokens,omitempty"`
}

type errorBody struct {
	Error *wireError `json:"error"`
}

type wireError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Param   json.RawMessage `json:"param,omitempty"`
	Code    json.RawMessage `json:"code,omitempty"`
}

func (u *wireUsage) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	out := &llm.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
	if d := u.PromptTokensDetails; d != nil {
		out.CacheReadTokens = d.CachedTokens
	}
	if d := u.CompletionTokensDetails; d != nil {
		out.ReasoningTokens = d.ReasoningTokens
	}
	return out
}

func usageWire(u *llm.Usage) *wireUsage {
	if u == nil {
		return nil
	}
	w := &wireUsage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.Total()}
	if u.CacheReadTokens > 0 {
		w.PromptTokensDetails = &tokenDetails{CachedTokens: u.CacheReadTokens}
	}
	if u.ReasoningTokens > 0 {
		w.CompletionTokensDetails = &tokenDetails{ReasoningTokens: u.ReasoningTokens}
	}
	return w
}

// rawString decodes a JSON string or returns "" (null, absent, other).
func rawString(r json.RawMessage) string {
	var s string
	if len(r) > 0 && r[0] == '"' {
		_ = json.Unmarshal(r, &s)
	}
	return s
}

// contentParts decodes message content: a string or an array of parts.
func contentParts(r json.RawMessage) []llm.Part {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	if r[0] == '"' {
		return []llm.Part{{Type: llm.PartText, Text: rawString(r)}}
	}
	var parts []contentPart
	if json.Unmarshal(r, &parts) != nil {
		return nil
	}
	var out []llm.Part
	for _, p := range parts {
		switch p.Type {
		case "text", "input_text", "output_text":
			out = append(out, llm.Part{Type: llm.PartText, Text: p.Text})
		case "image_url":
			if p.ImageURL == nil {
				continue
			}
			if mt, data, ok := llm.ParseDataURL(p.ImageURL.URL); ok {
				out = append(out, llm.Part{Type: llm.PartImage, MediaType: mt, Data: data})
			} else {
				out = append(out, llm.Part{Type: llm.PartImage, URL: p.ImageURL.URL})
			}
		}
	}
	return out
}

// wireContent renders canonical parts: a plain string when all parts are
// text, else an array of parts.
func wireContent(parts []llm.Part) json.RawMessage {
	allText := true
	var sb strings.Builder
	for _, p := range parts {
		if p.Type != llm.PartText {
			allText = false
			break
		}
		sb.WriteString(p.Text)
	}
	if allText {
		b, _ := json.Marshal(sb.String())
		return b
	}
	out := make([]contentPart, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case llm.PartText:
			out = append(out, contentPart{Type: "text", Text: p.Text})
		case llm.PartImage:
			u := p.URL
			if u == "" {
				u = llm.DataURL(p.MediaType, p.Data)
			}
			out = append(out, contentPart{Type: "image_url", ImageURL: &imageURL{URL: u}})
		}
	}
	b, _ := json.Marshal(out)
	return b
}

func stopReason(s string) llm.StopReason {
	switch s {
	case "length":
		return llm.StopLength
	case "tool_calls", "function_call":
		return llm.StopToolCalls
	case "content_filter":
		return llm.StopFilter
	case "":
		return ""
	}
	return llm.StopEnd
}
