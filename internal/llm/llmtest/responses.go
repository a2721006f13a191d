package llmtest

import (
	"net/http"
	"time"
)

// openAIResponses answers POST /v1/responses following
// https://platform.openai.com/docs/api-reference/responses/create (the
// response object: output message items with output_text parts,
// function_call items, usage with input/output token details) and
// https://platform.openai.com/docs/api-reference/responses-streaming
// (named SSE events with sequence_number: response.created,
// response.in_progress, response.output_item.added,
// response.content_part.added, response.output_text.delta/.done,
// response.content_part.done, response.output_item.done,
// response.completed; no [DONE]).
func (f *Fake) openAIResponses(w http.ResponseWriter, body map[string]any, k Knobs) {
	model := f.model(body)
	text := Reply(responsesUserText(body))
	n := len(words(text))
	usage := map[string]any{"input_tokens": 11, "input_tokens_details": map[string]any{"cached_tokens": 3},
		"output_tokens": n, "output_tokens_details": map[string]any{"reasoning_tokens": 0}, "total_tokens": 11 + n}
	resp := func(status string, output []any, u any) map[string]any {
		return map[string]any{"id": "resp_fake", "object": "response", "created_at": time.Now().Unix(), "status": status, "model": model,
			"output": output, "usage": u, "error": nil, "incomplete_details": nil, "store": body["store"]}
	}
	msg := func(status, t string) map[string]any {
		content := []any{}
		if status == "completed" {
			content = []any{map[string]any{"type": "output_text", "text": t, "annotations": []any{}}}
		}
		return map[string]any{"type": "message", "id": "msg_fake", "status": status, "role": "assistant", "content": content}
	}
	if stream, _ := body["stream"].(bool); !stream {
		writeJSON(w, 200, resp("completed", []any{msg("completed", text)}, usage))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	seq := 0
	ev := func(typ string, v map[string]any) {
		v["type"], v["sequence_number"] = typ, seq
		seq++
		sse(w, typ, v)
	}
	ev("response.created", map[string]any{"response": resp("in_progress", []any{}, nil)})
	ev("response.in_progress", map[string]any{"response": resp("in_progress", []any{}, nil)})
	ev("response.output_item.added", map[string]any{"output_index": 0, "item": msg("in_progress", "")})
	part := map[string]any{"type": "output_text", "text": "", "annotations": []any{}}
	ev("response.content_part.added", map[string]any{"item_id": "msg_fake", "output_index": 0, "content_index": 0, "part": part})
	for i, wd := range words(text) {
		if k.CutAfter > 0 && i == k.CutAfter {
			CutConn(w)
			return
		}
		ev("response.output_text.delta", map[string]any{"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": wd})
	}
	ev("response.output_text.done", map[string]any{"item_id": "msg_fake", "output_index": 0, "content_index": 0, "text": text})
	ev("response.content_part.done", map[string]any{"item_id": "msg_fake", "output_index": 0, "content_index": 0,
		"part": map[string]any{"type": "output_text", "text": text, "annotations": []any{}}})
	ev("response.output_item.done", map[string]any{"output_index": 0, "item": msg("completed", text)})
	ev("response.completed", map[string]any{"response": resp("completed", []any{msg("completed", text)}, usage)})
}

// responsesUserText is the last user text of a Responses input.
func responsesUserText(body map[string]any) string {
	switch in := body["input"].(type) {
	case string:
		return in
	case []any:
		for i := len(in) - 1; i >= 0; i-- {
			it, _ := in[i].(map[string]any)
			if str(it, "role") != "user" {
				continue
			}
			switch c := it["content"].(type) {
			case string:
				return c
			case []any:
				for _, p := range c {
					if t := str(p.(map[string]any), "text"); t != "" {
						return t
					}
				}
			}
		}
	}
	return ""
}
