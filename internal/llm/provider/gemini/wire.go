// Package gemini speaks Google's Gemini API
// (https://ai.google.dev/api/generate-content: generateContent and
// streamGenerateContent with alt=sse; errors are google.rpc.Status
// objects, https://ai.google.dev/gemini-api/docs/troubleshooting) as an
// upstream provider (AI Studio, x-goog-api-key), and as a client dialect
// for the native paths /v1beta/models/{m}:generateContent and
// :streamGenerateContent (forwarded to Gemini-speaking providers). Vertex
// AI's Gemini models (provider/vertex) use the same body and stream.
package gemini

import (
	"encoding/json"
	"net/http"

	"github.com/agentgw/agentgateway/internal/llm"
)

type request struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	Tools             []tool            `json:"tools,omitempty"`
	ToolConfig        *toolConfig       `json:"toolConfig,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"`
	Parts []part `json:"parts"`
}

type part struct {
	Text             string            `json:"text,omitempty"`
	Thought          bool              `json:"thought,omitempty"`
	InlineData       *blob             `json:"inlineData,omitempty"`
	FileData         *fileData         `json:"fileData,omitempty"`
	FunctionCall     *functionCall     `json:"functionCall,omitempty"`
	FunctionResponse *functionResponse `json:"functionResponse,omitempty"`
}

type blob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type fileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type functionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type functionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type tool struct {
	FunctionDeclarations []functionDeclaration `json:"functionDeclarations,omitempty"`
}

type functionDeclaration struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// ParametersJSONSchema takes any JSON schema (parameters takes only
	// Gemini's OpenAPI subset, which rejects e.g. additionalProperties).
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema,omitempty"`
	Parameters           json.RawMessage `json:"parameters,omitempty"`
}

type toolConfig struct {
	FunctionCallingConfig *functionCallingConfig `json:"functionCallingConfig,omitempty"`
}

type functionCallingConfig struct {
	Mode                 string   `json:"mode"` // AUTO | ANY | NONE
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type generationConfig struct {
	MaxOutputTokens *int     `json:"maxOutputTokens,omitempty"`
	Temperature     *float64 `json:"temperature,omitempty"`
	TopP            *float64 `json:"topP,omitempty"`
	StopSequences   []string `json:"stopSequences,omitempty"`
}

type response struct {
	Candidates    []candidate    `json:"candidates"`
	UsageMetadata *usageMetadata `json:"usageMetadata,omitempty"`
	ModelVersion  string         `json:"modelVersion,omitempty"`
	ResponseID    string         `json:"responseId,omitempty"`
	Error         *rpcStatus     `json:"error,omitempty"` // in-band stream error
}

type candidate struct {
	Content      *content `json:"content,omitempty"`
	FinishReason string   `json:"finishReason,omitempty"`
	Index        int      `json:"index"`
}

type usageMetadata struct {
	PromptTokenCount        int `json:"promptTokenCount"`
	CandidatesTokenCount    int `json:"candidatesTokenCount"`
	TotalTokenCount         int `json:"totalTokenCount"`
	CachedContentTokenCount int `json:"cachedContentTokenCount,omitempty"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount,omitempty"`
}

// rpcStatus is a google.rpc.Status error: {"error": {code, message, status}}.
type rpcStatus struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Status  string          `json:"status"`
	Details json.RawMessage `json:"details,omitempty"`
}

type errorBody struct {
	Error *rpcStatus `json:"error"`
}

// canonical normalises Gemini usage: promptTokenCount already includes
// cached content; thoughts are output tokens (as OpenAI counts reasoning).
func (u *usageMetadata) canonical() *llm.Usage {
	if u == nil {
		return nil
	}
	return &llm.Usage{InputTokens: u.PromptTokenCount, OutputTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CacheReadTokens: u.CachedContentTokenCount, ReasoningTokens: u.ThoughtsTokenCount}
}

func stopReason(s string, toolCalls bool) llm.StopReason {
	switch s {
	case "":
		return ""
	case "MAX_TOKENS":
		return llm.StopLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return llm.StopFilter
	}
	if toolCalls {
		return llm.StopToolCalls
	}
	return llm.StopEnd // STOP, OTHER, MALFORMED_FUNCTION_CALL, …
}

// statusOf maps a google.rpc code name to HTTP (used when the status code
// is missing, as in an in-band stream error).
var statusOf = map[string]int{
	"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
	"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "ABORTED": 409,
	"RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "INTERNAL": 500, "UNKNOWN": 500, "DATA_LOSS": 500,
	"UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}

// statusName is the google.rpc code name of an HTTP status (for native
// Gemini clients).
func statusName(status int) string {
	switch status {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 413:
		return "INVALID_ARGUMENT"
	case 429:
		return "RESOURCE_EXHAUSTED"
	case 503, 529:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "UNKNOWN"
}

// ParseError translates a google.rpc.Status error response. A
// RESOURCE_EXHAUSTED is a rate limit (429) whatever the status said.
func ParseError(status int, h http.Header, body []byte) *llm.Error {
	e := llm.NewError(status, http.StatusText(status))
	e.RetryAfter = llm.RetryAfter(h)
	var w errorBody
	if json.Unmarshal(body, &w) != nil || w.Error == nil {
		// streamGenerateContent without alt=sse wraps errors in an array.
		var arr []errorBody
		if json.Unmarshal(body, &arr) == nil && len(arr) > 0 {
			w = arr[0]
		}
	}
	if w.Error != nil {
		applyStatus(e, w.Error)
	} else if s := llm.Snippet(body); s != "" {
		e.Message = "upstream error: " + s
	}
	return e
}

func applyStatus(e *llm.Error, s *rpcStatus) {
	if s.Message != "" {
		e.Message = s.Message
	}
	e.Code = s.Status
	st, known := statusOf[s.Status]
	switch {
	case known && (e.Status == 0 || s.Status == "RESOURCE_EXHAUSTED" || s.Status == "UNAVAILABLE"):
		e.Status = st
	case e.Status == 0 && s.Code >= 400 && s.Code <= 599:
		e.Status = s.Code
	}
	if e.Status != 0 {
		e.Type = llm.TypeForStatus(e.Status)
	}
}
