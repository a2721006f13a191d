// Package bedrock speaks Amazon Bedrock's Converse API as an upstream
// provider: Converse
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html)
// and ConverseStream
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html,
// framed as an AWS event stream, application/vnd.amazon.eventstream),
// signed with SigV4 (service "bedrock") or sent with a Bedrock API key
// (Authorization: Bearer). Every chat dialect is translated to Converse;
// tool names Bedrock would reject are mapped to valid ones for the request
// and back in its answer.
package bedrock

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/agentgw/agentgateway/internal/llm"
)

type converseRequest struct {
	Messages        []message        `json:"messages"`
	System          []block          `json:"system,omitempty"`
	InferenceConfig *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig      *toolConfig      `json:"toolConfig,omitempty"`
	GuardrailConfig *guardrailConfig `json:"guardrailConfig,omitempty"`
}

type message struct {
	Role    string  `json:"role"`
	Content []block `json:"content"`
}

type block struct {
	Text       string      `json:"text,omitempty"`
	Image      *image      `json:"image,omitempty"`
	ToolUse    *toolUse    `json:"toolUse,omitempty"`
	ToolResult *toolResult `json:"toolResult,omitempty"`
}

type image struct {
	Format string      `json:"format"` // png | jpeg | gif | webp
	Source imageSource `json:"source"`
}

type imageSource struct {
	Bytes string `json:"bytes"` // base64 (a JSON blob)
}

type toolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []toolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

type toolResultContent struct {
	Text string          `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []toolDef       `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

type toolDef struct {
	ToolSpec toolSpec `json:"toolSpec"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

type guardrailConfig struct {
	GuardrailIdentifier string `json:"guardrailIdentifier"`
	GuardrailVersion    string `json:"guardrailVersion"`
}

type converseResponse struct {
	Output struct {
		Message *message `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      *usage `json:"usage"`
}

type usage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens,omitempty"`
}

// canonical normalises Bedrock usage: inputTokens excludes cache reads and
// writes, the canonical input count includes them.
func (u *usage) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	return &llm.Usage{InputTokens: u.InputTokens + u.CacheReadInputTokens + u.CacheWriteInputTokens, OutputTokens: u.OutputTokens,
		CacheReadTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheWriteInputTokens}
}

func stopReason(s string) llm.StopReason {
	switch s {
	case "":
		return ""
	case "max_tokens", "model_context_window_exceeded":
		return llm.StopLength
	case "tool_use":
		return llm.StopToolCalls
	case "guardrail_intervened", "content_filtered":
		return llm.StopFilter
	}
	return llm.StopEnd // end_turn, stop_sequence
}

// names maps tool names between the client and Bedrock, whose names must
// match [a-zA-Z0-9_-]{1,64}: an invalid name is rewritten for the request
// and the original restored in the answer.
type names struct{ wire, orig map[string]string }

func newNames() *names { return &names{wire: map[string]string{}, orig: map[string]string{}} }

func (n *names) toWire(name string) string {
	if w, ok := n.wire[name]; ok {
		return w
	}
	w := sanitize(name)
	for i := 2; ; i++ {
		if o, taken := n.orig[w]; !taken || o == name {
			break
		}
		suffix := fmt.Sprintf("_%d", i)
		w = sanitize(name)
		w = w[:min(len(w), 64-len(suffix))] + suffix
	}
	n.wire[name], n.orig[w] = w, name
	return w
}

func (n *names) fromWire(w string) string {
	if n != nil {
		if o, ok := n.orig[w]; ok {
			return o
		}
	}
	return w
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "tool"
	}
	return string(b[:min(len(b), 64)])
}

// errorTypes maps Bedrock exception names (X-Amzn-ErrorType, or an event
// stream's :exception-type) to statuses.
var errorTypes = map[string]int{
	"throttlingexception": 429, "servicequotaexceededexception": 429, "modelnotreadyexception": 429,
	"validationexception": 400, "accessdeniedexception": 403, "unrecognizedclientexception": 403,
	"resourcenotfoundexception": 404, "modeltimeoutexception": 408, "modelerrorexception": 424,
	"internalserverexception": 500, "modelstreamerrorexception": 500, "serviceunavailableexception": 503,
}

// ParseError translates a Bedrock error: {"message": …} with the exception
// name in the X-Amzn-ErrorType header (or the body's __type).
func ParseError(status int, h http.Header, body []byte) *llm.Error {
	e := llm.NewError(status, http.StatusText(status))
	e.RetryAfter = llm.RetryAfter(h)
	var w struct {
		Message  string `json:"message"`
		MessageU string `json:"Message"`
		Type     string `json:"__type"`
	}
	if json.Unmarshal(body, &w) == nil {
		if m := w.Message + w.MessageU; m != "" {
			e.Message = m
		}
	} else if s := llm.Snippet(body); s != "" {
		e.Message = "upstream error: " + s
	}
	code := w.Type
	if h != nil && h.Get("X-Amzn-Errortype") != "" {
		code = h.Get("X-Amzn-Errortype")
	}
	code, _, _ = strings.Cut(code, ":")
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	applyCode(e, code)
	return e
}

func applyCode(e *llm.Error, code string) {
	if code == "" {
		return
	}
	e.Code = code
	if st, ok := errorTypes[strings.ToLower(code)]; ok && (e.Status == 0 || st == 429 || st == 503) {
		e.Status = st
	}
	if e.Status != 0 {
		e.Type = llm.TypeForStatus(e.Status)
	}
}
