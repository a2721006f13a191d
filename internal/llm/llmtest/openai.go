package llmtest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// OpenAI starts a fake OpenAI Chat Completions server. It follows
// https://platform.openai.com/docs/api-reference/chat/create (request and
// chat.completion object), .../chat/streaming (chat.completion.chunk,
// `data: [DONE]`, the usage chunk with empty choices when
// stream_options.include_usage is set), .../embeddings/create, and the
// error object of https://platform.openai.com/docs/guides/error-codes
// ({"error": {message, type, param, code}}; Authorization: Bearer). It
// also serves the Responses API (responses.go).
func OpenAI(t testing.TB, key string) *Fake {
	f := newFake(t, func(f *Fake) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, k, done := f.record(w, r)
			if done {
				return
			}
			if f.Key != "" && r.Header.Get("Authorization") != "Bearer "+f.Key {
				writeJSON(w, 401, map[string]any{"error": map[string]any{"message": "Incorrect API key provided", "type": "invalid_request_error", "param": nil, "code": "invalid_api_key"}})
				return
			}
			switch {
			case strings.HasSuffix(r.URL.Path, "/chat/completions"):
				f.openAIChat(w, body, k)
			case strings.HasSuffix(r.URL.Path, "/responses"):
				f.openAIResponses(w, body, k)
			case strings.HasSuffix(r.URL.Path, "/embeddings"):
				writeJSON(w, 200, map[string]any{"object": "list", "model": f.model(body),
					"data":  []any{map[string]any{"object": "embedding", "index": 0, "embedding": []float64{0.1, 0.2, 0.3}}},
					"usage": map[string]any{"prompt_tokens": 5, "total_tokens": 5}})
			case strings.HasSuffix(r.URL.Path, "/models"):
				writeJSON(w, 200, map[string]any{"object": "list", "data": []any{map[string]any{"id": "upstream-model", "object": "model", "created": 0, "owned_by": "fake"}}})
			default:
				writeJSON(w, 404, map[string]any{"error": map[string]any{"message": "unknown path " + r.URL.Path, "type": "invalid_request_error", "param": nil, "code": nil}})
			}
		}
	})
	f.Key = key
	return f
}

func (f *Fake) model(body map[string]any) string {
	if f.Model != "" {
		return f.Model
	}
	return str(body, "model")
}

func (f *Fake) openAIChat(w http.ResponseWriter, body map[string]any, k Knobs) {
	model := f.model(body)
	text := Reply(lastUserText(body))
	tools, _ := body["tools"].([]any)
	var toolName string
	if k.ToolCall && len(tools) > 0 {
		fn, _ := tools[0].(map[string]any)["function"].(map[string]any)
		toolName = str(fn, "name")
	}
	usage := map[string]any{"prompt_tokens": 11, "completion_tokens": len(words(text)), "total_tokens": 11 + len(words(text)),
		"prompt_tokens_details": map[string]any{"cached_tokens": 3}}
	id := "chatcmpl-fake"
	created := time.Now().Unix()
	if stream, _ := body["stream"].(bool); !stream {
		msg := map[string]any{"role": "assistant", "content": text}
		finish := "stop"
		if toolName != "" {
			msg = map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{
				"id": "call_fake1", "type": "function", "function": map[string]any{"name": toolName, "arguments": `{"city":"Paris"}`}}}}
			finish = "tool_calls"
		}
		writeJSON(w, 200, map[string]any{"id": id, "object": "chat.completion", "created": created, "model": model,
			"system_fingerprint": "fp_fake", "choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish, "logprobs": nil}},
			"usage": usage})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"system_fingerprint": "fp_fake", "choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}}}
	}
	sse(w, "", chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	if toolName != "" {
		sse(w, "", chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "id": "call_fake1", "type": "function",
			"function": map[string]any{"name": toolName, "arguments": ""}}}}, nil))
		for _, part := range []string{`{"city"`, `:"Paris"}`} {
			sse(w, "", chunk(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": part}}}}, nil))
		}
		sse(w, "", chunk(map[string]any{}, "tool_calls"))
	} else {
		for i, wd := range words(text) {
			if k.CutAfter > 0 && i == k.CutAfter {
				CutConn(w)
				return
			}
			sse(w, "", chunk(map[string]any{"content": wd}, nil))
		}
		sse(w, "", chunk(map[string]any{}, "stop"))
	}
	if so, _ := body["stream_options"].(map[string]any); so != nil && so["include_usage"] == true {
		sse(w, "", map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": []any{}, "usage": usage})
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

// OpenAIError is an OpenAI error body.
func OpenAIError(typ, code, msg string) string {
	return fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":%q}}`, msg, typ, code)
}
