package llmtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Anthropic starts a fake Anthropic Messages server. It follows
// https://docs.anthropic.com/en/api/messages (x-api-key and
// anthropic-version headers, the message object),
// https://docs.anthropic.com/en/api/messages-streaming (message_start,
// content_block_start/delta/stop, ping, message_delta, message_stop, and
// the in-band `error` event), https://docs.anthropic.com/en/api/messages-count-tokens
// and https://docs.anthropic.com/en/api/errors ({"type":"error","error":{type,message}}).
func Anthropic(t testing.TB, key string) *Fake {
	f := newFake(t, func(f *Fake) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, k, done := f.record(w, r)
			if done {
				return
			}
			if f.Key != "" && r.Header.Get("X-Api-Key") != f.Key {
				writeJSON(w, 401, map[string]any{"type": "error", "error": map[string]any{"type": "authentication_error", "message": "invalid x-api-key"}})
				return
			}
			if r.Header.Get("Anthropic-Version") == "" {
				writeJSON(w, 400, map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "message": "anthropic-version: header is required"}})
				return
			}
			switch {
			case strings.HasSuffix(r.URL.Path, "/messages/count_tokens"):
				writeJSON(w, 200, map[string]any{"input_tokens": 42})
			case strings.HasSuffix(r.URL.Path, "/messages"):
				if _, ok := body["max_tokens"]; !ok {
					writeJSON(w, 400, map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "message": "max_tokens: Field required"}})
					return
				}
				f.anthropicMessages(w, body, k)
			default:
				writeJSON(w, 404, map[string]any{"type": "error", "error": map[string]any{"type": "not_found_error", "message": "Not found"}})
			}
		}
	})
	f.Key = key
	return f
}

func (f *Fake) anthropicMessages(w http.ResponseWriter, body map[string]any, k Knobs) {
	model := f.model(body)
	text := Reply(lastUserText(body))
	tools, _ := body["tools"].([]any)
	var toolName string
	if k.ToolCall && len(tools) > 0 {
		toolName = str(tools[0].(map[string]any), "name")
	}
	n := len(words(text))
	if stream, _ := body["stream"].(bool); !stream {
		content := []any{map[string]any{"type": "text", "text": text}}
		stop := "end_turn"
		if toolName != "" {
			content = []any{map[string]any{"type": "text", "text": "Let me check."},
				map[string]any{"type": "tool_use", "id": "toolu_fake1", "name": toolName, "input": map[string]any{"city": "Paris"}}}
			stop = "tool_use"
		}
		writeJSON(w, 200, map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
			"content": content, "stop_reason": stop, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": 8, "output_tokens": n, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 0}})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	sse(w, "message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_fake", "type": "message",
		"role": "assistant", "model": model, "content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": 8, "output_tokens": 1, "cache_read_input_tokens": 3, "cache_creation_input_tokens": 0}}})
	sse(w, "content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""}})
	sse(w, "ping", map[string]any{"type": "ping"})
	stop := "end_turn"
	if toolName != "" {
		sse(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": "Let me check."}})
		sse(w, "content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
		sse(w, "content_block_start", map[string]any{"type": "content_block_start", "index": 1, "content_block": map[string]any{"type": "tool_use", "id": "toolu_fake1", "name": toolName, "input": map[string]any{}}})
		for _, part := range []string{`{"city"`, `: "Paris"}`} {
			sse(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 1, "delta": map[string]any{"type": "input_json_delta", "partial_json": part}})
		}
		sse(w, "content_block_stop", map[string]any{"type": "content_block_stop", "index": 1})
		stop = "tool_use"
	} else {
		for i, wd := range words(text) {
			if k.CutAfter > 0 && i == k.CutAfter {
				CutConn(w)
				return
			}
			sse(w, "content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": wd}})
		}
		sse(w, "content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	}
	sse(w, "message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": n}})
	sse(w, "message_stop", map[string]any{"type": "message_stop"})
}

// AnthropicError is an Anthropic error body.
func AnthropicError(typ, msg string) string {
	return fmt.Sprintf(`{"type":"error","error":{"type":%q,"message":%q}}`, typ, msg)
}

// AnthropicStreamError answers a stream with message_start followed by an
// in-band error event (e.g. overloaded_error) before any content.
func AnthropicStreamError(typ string) func(http.ResponseWriter, *http.Request, int) bool {
	return func(w http.ResponseWriter, _ *http.Request, _ int) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		sse(w, "message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": "msg_x", "type": "message",
			"role": "assistant", "model": "m", "content": []any{}, "usage": map[string]any{"input_tokens": 1, "output_tokens": 0}}})
		sse(w, "error", map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": "Overloaded"}})
		return true
	}
}
