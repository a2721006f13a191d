package llmtest

import (
	"net/http"
	"strings"
	"testing"
)

// Azure starts a fake Azure OpenAI resource. It follows
// https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference
// (POST /openai/deployments/{deployment}/chat/completions?api-version=…
// and …/embeddings, the api-key header or an Entra Bearer token, errors as {"error": {code,
// message}} such as DeploymentNotFound and content_filter) and
// https://learn.microsoft.com/en-us/azure/ai-foundry/openai/api-version-lifecycle
// (the v1 API: /openai/v1/chat/completions with the deployment as the
// body's model, no api-version needed). Answers are OpenAI chat
// completions (the OpenAI fake's), naming Model when set.
func Azure(t testing.TB, key string) *Fake {
	f := newFake(t, func(f *Fake) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, k, done := f.record(w, r)
			if done {
				return
			}
			// api-key, or a Microsoft Entra token as a Bearer token.
			if r.Header.Get("Api-Key") != f.Key && (f.Key == "" || r.Header.Get("Authorization") != "Bearer "+f.Key) {
				writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "401",
					"message": "Access denied due to invalid subscription key or wrong API endpoint."}})
				return
			}
			p := r.URL.Path
			switch {
			case strings.HasPrefix(p, "/openai/deployments/"):
				if r.URL.Query().Get("api-version") == "" {
					writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "404", "message": "Resource not found"}})
					return
				}
				dep, op, _ := strings.Cut(strings.TrimPrefix(p, "/openai/deployments/"), "/")
				if dep == "missing" {
					writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "DeploymentNotFound",
						"message": "The API deployment for this resource does not exist."}})
					return
				}
				f.azureOp(w, op, body, k)
			case strings.HasPrefix(p, "/openai/v1/"):
				f.azureOp(w, strings.TrimPrefix(p, "/openai/v1/"), body, k)
			default:
				writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "404", "message": "Resource not found"}})
			}
		}
	})
	f.Key = key
	return f
}

func (f *Fake) azureOp(w http.ResponseWriter, op string, body map[string]any, k Knobs) {
	switch op {
	case "chat/completions":
		f.openAIChat(w, body, k)
	case "embeddings":
		writeJSON(w, 200, map[string]any{"object": "list", "model": f.model(body),
			"data":  []any{map[string]any{"object": "embedding", "index": 0, "embedding": []float64{0.1, 0.2}}},
			"usage": map[string]any{"prompt_tokens": 4, "total_tokens": 4}})
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "404", "message": "Resource not found"}})
	}
}

// AzureError is an Azure OpenAI error body.
func AzureError(code, msg string) string {
	return `{"error":{"code":"` + code + `","message":"` + msg + `","param":null,"type":null}}`
}
