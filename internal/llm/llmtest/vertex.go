package llmtest

import (
	"net/http"
	"strings"
	"testing"
)

// Vertex starts a fake Vertex AI publisher-model server. Gemini models
// follow
// https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent
// and .../streamGenerateContent (POST
// /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent,
// the Gemini body and alt=sse stream, google.rpc.Status errors); Claude
// models follow https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude/use-claude
// (POST …/publishers/anthropic/models/{m}:rawPredict and :streamRawPredict,
// the Messages body without model and with anthropic_version
// "vertex-2023-10-16", Messages answers and SSE). Auth: Authorization:
// Bearer <access token>.
func Vertex(t testing.TB, token string) *Fake {
	f := newFake(t, func(f *Fake) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, k, done := f.record(w, r)
			if done {
				return
			}
			if f.Key != "" && r.Header.Get("Authorization") != "Bearer "+f.Key {
				writeJSON(w, 401, geminiErr(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."))
				return
			}
			p := r.URL.Path
			if !strings.HasPrefix(p, "/v1/projects/") || !strings.Contains(p, "/locations/") {
				writeJSON(w, 404, geminiErr(404, "NOT_FOUND", "unknown path "+p))
				return
			}
			if !strings.Contains(p, "/publishers/anthropic/models/") {
				f.geminiRoute(w, r, body, k)
				return
			}
			model, method, _ := strings.Cut(p[strings.LastIndex(p, "/models/")+len("/models/"):], ":")
			if body["model"] != nil || body["anthropic_version"] != "vertex-2023-10-16" {
				writeJSON(w, 400, map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error",
					"message": "anthropic_version: vertex-2023-10-16 is required and model must not be in the body"}})
				return
			}
			stream, _ := body["stream"].(bool)
			if (method == "streamRawPredict") != stream || (method != "rawPredict" && method != "streamRawPredict") {
				writeJSON(w, 400, geminiErr(400, "INVALID_ARGUMENT", "method "+method+" does not match stream"))
				return
			}
			if f.Model == "" {
				body["model"] = model
			}
			f.anthropicMessages(w, body, k)
		}
	})
	f.Key = token
	return f
}
