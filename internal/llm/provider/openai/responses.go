package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/agentgw/agentgateway/internal/llm"
)

// Responses is the Responses API client dialect (POST /v1/responses,
// https://platform.openai.com/docs/api-reference/responses). Its requests
// pass through untouched to OpenAI itself, and are translated to chat
// (chat completions, messages, generateContent, Converse) for every other
// provider; stateful features (previous_response_id, conversation, stored
// responses) and built-in tools need the OpenAI upstream.
type Responses struct{ Client }

// Dialect implements llm.Format.
func (Responses) Dialect() llm.Dialect { return llm.DialectResponses }

type responsesRequest struct {
	Model           string          `json:"model"`
	Input           json.RawMessage `json:"input"`
	Instructions    string          `json:"instructions"`
	Tools           []responsesTool `json:"tools"`
	ToolChoice      json.RawMessage `json:"tool_choice"`
	MaxOutputTokens *int            `json:"max_output_tokens"`
	Temperature     *float64        `json:"temperature"`
	TopP            *float64        `json:"top_p"`
	Stream          bool            `json:"stream"`
	User            string          `json:"user"`
}

type responsesTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

// inputItem is one item of a Responses input list: a message (type
// "message" or absent), a function_call, or a function_call_output.
type inputItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

type inputPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
}

// statefulKeys need OpenAI's stored state: they cannot be translated.
var statefulKeys = []string{"previous_response_id", "conversation"}

// Stateful names the first stateful key of a Responses request ("" = none).
func Stateful(req *llm.Request) string {
	for _, k := range statefulKeys {
		if v, ok := req.Raw[k]; ok && string(v) != "null" {
			return k
		}
	}
	for _, t := range req.BuiltinTools {
		return "tools[].type " + t
	}
	return ""
}

// ParseRequest implements llm.Format.
func (Responses) ParseRequest(body []byte) (*llm.Request, error) {
	raw, err := llm.RawObject(body)
	if err != nil {
		return nil, err
	}
	var w responsesRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, err
	}
	if w.Model == "" {
		return nil, errors.New("model is required")
	}
	req := &llm.Request{Model: w.Model, Stream: w.Stream, Temperature: w.Temperature, TopP: w.TopP, User: w.User,
		IncludeUsage: true, Dialect: llm.DialectResponses, Raw: raw}
	if w.MaxOutputTokens != nil {
		req.MaxTokens = *w.MaxOutputTokens
	}
	system := []string{}
	if w.Instructions != "" {
		system = append(system, w.Instructions)
	}
	if s := rawString(w.Input); s != "" {
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: s}}})
	} else if len(w.Input) > 0 && w.Input[0] == '[' {
		var items []inputItem
		if err := json.Unmarshal(w.Input, &items); err != nil {
			return nil, err
		}
		for _, it := range items {
			switch it.Type {
			case "function_call":
				tc := llm.ToolCall{ID: it.CallID, Name: it.Name, Arguments: it.Arguments}
				if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == llm.RoleAssistant {
					req.Messages[n-1].ToolCalls = append(req.Messages[n-1].ToolCalls, tc)
				} else {
					req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{tc}})
				}
			case "function_call_output":
				out := rawString(it.Output)
				if out == "" && len(it.Output) > 0 && it.Output[0] == '[' {
					for _, p := range responsesParts(it.Output) {
						out += p.Text
					}
				}
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: it.CallID, Parts: []llm.Part{{Type: llm.PartText, Text: out}}})
			case "message", "":
				parts := responsesParts(it.Content)
				switch it.Role {
				case "system", "developer":
					for _, p := range parts {
						system = append(system, p.Text)
					}
				case "user", "assistant":
					req.Messages = append(req.Messages, llm.Message{Role: it.Role, Parts: parts})
				}
			}
		}
	}
	req.System = strings.Join(system, "\n\n")
	for _, t := range w.Tools {
		if t.Type == "function" {
			req.Tools = append(req.Tools, llm.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters})
		} else {
			req.BuiltinTools = append(req.BuiltinTools, t.Type)
		}
	}
	if s := rawString(w.ToolChoice); s != "" {
		req.ToolChoice = s
	} else if len(w.ToolChoice) > 0 {
		var tc struct{ Type, Name string }
		_ = json.Unmarshal(w.ToolChoice, &tc)
		req.ToolChoice = tc.Name
	}
	return req, nil
}

func responsesParts(r json.RawMessage) []llm.Part {
	if s := rawString(r); s != "" {
		return []llm.Part{{Type: llm.PartText, Text: s}}
	}
	var ps []inputPart
	_ = json.Unmarshal(r, &ps)
	var out []llm.Part
	for _, p := range ps {
		switch p.Type {
		case "input_text", "output_text", "text":
			out = append(out, llm.Part{Type: llm.PartText, Text: p.Text})
		case "input_image":
			u := rawString(p.ImageURL)
			if u == "" {
				var o struct{ URL string }
				_ = json.Unmarshal(p.ImageURL, &o)
				u = o.URL
			}
			if mt, data, ok := llm.ParseDataURL(u); ok {
				out = append(out, llm.Part{Type: llm.PartImage, MediaType: mt, Data: data})
			} else if u != "" {
				out = append(out, llm.Part{Type: llm.PartImage, URL: u})
			}
		}
	}
	return out
}

// WriteResponse implements llm.Format.
func (Responses) WriteResponse(resp *llm.Response) []byte {
	if resp.Dialect == llm.DialectResponses && resp.Raw != nil {
		return resp.Raw
	}
	id := resp.ID
	if !strings.HasPrefix(id, "resp_") {
		id = llm.NewID("resp_")
	}
	o := responseObject(id, resp.Model, orNow(resp.Created), statusOf(resp.StopReason), resp.Usage)
	if resp.Text != "" || len(resp.ToolCalls) == 0 {
		o["output"] = append(o["output"].([]any), messageItem(llm.NewID("msg_"), resp.Text, "completed"))
	}
	for _, tc := range resp.ToolCalls {
		o["output"] = append(o["output"].([]any), callItem(llm.NewID("fc_"), tc, "completed"))
	}
	incomplete(o, resp.StopReason)
	b, _ := json.Marshal(o)
	return b
}

func statusOf(s llm.StopReason) string {
	if s == llm.StopLength || s == llm.StopFilter {
		return "incomplete"
	}
	return "completed"
}

func incomplete(o map[string]any, s llm.StopReason) {
	switch s {
	case llm.StopLength:
		o["incomplete_details"] = map[string]string{"reason": "max_output_tokens"}
	case llm.StopFilter:
		o["incomplete_details"] = map[string]string{"reason": "content_filter"}
	}
}

func responseObject(id, model string, created int64, status string, u *llm.Usage) map[string]any {
	o := map[string]any{"id": id, "object": "response", "created_at": created, "status": status, "model": model,
		"output": []any{}, "error": nil, "incomplete_details": nil, "parallel_tool_calls": true, "tools": []any{}, "tool_choice": "auto"}
	if u != nil {
		o["usage"] = map[string]any{"input_tokens": u.InputTokens, "input_tokens_details": map[string]int{"cached_tokens": u.CacheReadTokens},
			"output_tokens": u.OutputTokens, "output_tokens_details": map[string]int{"reasoning_tokens": u.ReasoningTokens}, "total_tokens": u.Total()}
	}
	return o
}

func messageItem(id, text, status string) map[string]any {
	content := []any{}
	if status == "completed" {
		content = []any{textPart(text)}
	}
	return map[string]any{"type": "message", "id": id, "status": status, "role": "assistant", "content": content}
}

func textPart(text string) map[string]any {
	return map[string]any{"type": "output_text", "text": text, "annotations": []any{}}
}

func callItem(id string, tc llm.ToolCall, status string) map[string]any {
	callID := tc.ID
	if callID == "" {
		callID = llm.NewID("call_")
	}
	return map[string]any{"type": "function_call", "id": id, "call_id": callID, "name": tc.Name, "arguments": tc.Arguments, "status": status}
}

// nowUnix is the created_at of translated answers.
func nowUnix() int64 { return time.Now().Unix() }
