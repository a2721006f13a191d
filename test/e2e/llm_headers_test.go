package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestLLMAnswerHeaders: a non-streamed chat completion answers with the
// gateway's own header (JSON, its exact length) and none of the upstream
// answer's fields, through the real binary, whose lean HTTP/1.1 server
// takes the upstream answer's header map over (emptied) for the client's
// answer. The upstream speaks OpenAI's chat completion object
// (platform.openai.com/docs/api-reference/chat/object) with extra fields
// in its header.
func TestLLMAnswerHeaders(t *testing.T) {
	up := echoHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Upstream-Only", "secret")
		w.Header().Set("Set-Cookie", "upstream=1")
		w.Header().Set("Openai-Processing-Ms", "12")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"pong"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	})
	_, base := llmGateway(t, fmt.Sprintf(`
  - name: gpt-4o-mini
    provider: openAI
    params: {apiKey: sk-upstream, baseUrl: "%s/v1"}
`, up.URL))
	for i := range 3 { // several on one connection: the maps are per request
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"ping"}]}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("answer %d: %d %v %s", i, resp.StatusCode, resp.Header, body)
		}
		for _, k := range []string{"X-Upstream-Only", "Set-Cookie", "Openai-Processing-Ms"} {
			if v := resp.Header.Get(k); v != "" {
				t.Fatalf("answer %d carries the upstream's %s: %q", i, k, v)
			}
		}
		var cc struct {
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		if json.Unmarshal(body, &cc) != nil || len(cc.Choices) != 1 || cc.Choices[0].Message.Content != "pong" {
			t.Fatalf("answer %d: %s", i, body)
		}
	}
}
