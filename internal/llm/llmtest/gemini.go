package llmtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Gemini starts a fake Gemini API (AI Studio) server. It follows
// https://ai.google.dev/api/generate-content (POST
// /v1beta/models/{model}:generateContent and :streamGenerateContent with
// alt=sse: each SSE event a whole GenerateContentResponse with
// candidates[].content.parts, finishReason on the last one, usageMetadata,
// modelVersion, responseId; function calls as whole functionCall parts),
// https://ai.google.dev/gemini-api/docs/api-key (x-goog-api-key) and the
// google.rpc.Status error body of
// https://ai.google.dev/gemini-api/docs/troubleshooting
// ({"error": {code, message, status}}).
func Gemini(t testing.TB, key string) *Fake {
	f := newFake(t, func(f *Fake) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, k, done := f.record(w, r)
			if done {
				return
			}
			if f.Key != "" && r.Header.Get("X-Goog-Api-Key") != f.Key {
				writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."))
				return
			}
			f.geminiRoute(w, r, body, k)
		}
	})
	f.Key = key
	return f
}

func geminiErr(code int, status, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}}
}

// GeminiError is a google.rpc.Status error body.
func GeminiError(code int, status, msg string) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"status":%q}}`, code, msg, status)
}

// geminiRoute serves …/models/{m}:generateContent|streamGenerateContent.
func (f *Fake) geminiRoute(w http.ResponseWriter, r *http.Request, body map[string]any, k Knobs) {
	i := strings.LastIndex(r.URL.Path, "/models/")
	if i < 0 || r.Method != http.MethodPost {
		writeJSON(w, 404, geminiErr(404, "NOT_FOUND", "unknown path "+r.URL.Path))
		return
	}
	model, method, _ := strings.Cut(r.URL.Path[i+len("/models/"):], ":")
	if f.Model != "" {
		model = f.Model
	}
	switch method {
	case "generateContent":
		f.geminiGenerate(w, model, body, k, false)
	case "streamGenerateContent":
		if r.URL.Query().Get("alt") != "sse" {
			writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "this fake streams only with alt=sse"))
			return
		}
		f.geminiGenerate(w, model, body, k, true)
	case "embedContent", "batchEmbedContents", "predict":
		f.googleEmbed(w, r, model, method, body) // embed.go
	default:
		writeJSON(w, 404, geminiErr(404, "NOT_FOUND", "unknown method "+method))
	}
}

func geminiLastUserText(body map[string]any) string {
	cs, _ := body["contents"].([]any)
	for i := len(cs) - 1; i >= 0; i-- {
		c, _ := cs[i].(map[string]any)
		if str(c, "role") == "model" {
			continue
		}
		parts, _ := c["parts"].([]any)
		for _, p := range parts {
			if t := str(p.(map[string]any), "text"); t != "" {
				return t
			}
		}
	}
	return ""
}

func (f *Fake) geminiGenerate(w http.ResponseWriter, model string, body map[string]any, k Knobs, stream bool) {
	text := Reply(geminiLastUserText(body))
	var toolName string
	if tools, _ := body["tools"].([]any); k.ToolCall && len(tools) > 0 {
		fds, _ := tools[0].(map[string]any)["functionDeclarations"].([]any)
		if len(fds) > 0 {
			toolName = str(fds[0].(map[string]any), "name")
		}
	}
	n := len(words(text))
	usage := map[string]any{"promptTokenCount": 11, "candidatesTokenCount": n, "totalTokenCount": 11 + n, "cachedContentTokenCount": 3}
	chunk := func(parts []any, finish string, u map[string]any) map[string]any {
		cand := map[string]any{"content": map[string]any{"role": "model", "parts": parts}, "index": 0}
		if finish != "" {
			cand["finishReason"] = finish
		}
		c := map[string]any{"candidates": []any{cand}, "modelVersion": model, "responseId": "resp-fake"}
		if u != nil {
			c["usageMetadata"] = u
		}
		return c
	}
	parts := []any{map[string]any{"text": text}}
	if toolName != "" {
		parts = []any{map[string]any{"text": "Let me check."},
			map[string]any{"functionCall": map[string]any{"name": toolName, "args": map[string]any{"city": "Paris"}}}}
	}
	if !stream {
		writeJSON(w, 200, chunk(parts, "STOP", usage))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	if toolName != "" {
		sse(w, "", chunk(parts[:1], "", map[string]any{"promptTokenCount": 11}))
		sse(w, "", chunk(parts[1:], "STOP", usage))
		return
	}
	for i, wd := range words(text) {
		if k.CutAfter > 0 && i == k.CutAfter {
			CutConn(w)
			return
		}
		sse(w, "", chunk([]any{map[string]any{"text": wd}}, "", map[string]any{"promptTokenCount": 11, "candidatesTokenCount": i + 1, "totalTokenCount": 12 + i}))
	}
	sse(w, "", chunk([]any{map[string]any{"text": ""}}, "STOP", usage))
}
