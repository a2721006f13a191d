package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/agentgw/agentgateway/internal/llm"
	"github.com/agentgw/agentgateway/internal/llm/provider/anthropic"
	"github.com/agentgw/agentgateway/internal/llm/provider/gemini"
	"github.com/agentgw/agentgateway/internal/llm/provider/openai"
)

// Gemini inputs, as https://ai.google.dev/api/generate-content shows them.
const (
	geminiRequest = `{"contents":[{"role":"user","parts":[{"text":"weather in Paris?"}]}],
"systemInstruction":{"parts":[{"text":"be brief"}]},
"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"object"}}]}],
"generationConfig":{"maxOutputTokens":100,"temperature":0.5},"safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]}`
	geminiResponse = `{"candidates":[{"content":{"role":"model","parts":[{"text":"thinking…","thought":true},{"text":"Let me check."},
{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP","index":0}],
"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":5,"totalTokenCount":27,"cachedContentTokenCount":4,"thoughtsTokenCount":2},
"modelVersion":"gemini-2.0-flash","responseId":"resp-1"}`
	geminiStream = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hi\"}]},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":20},\"modelVersion\":\"gemini-2.0-flash\",\"responseId\":\"resp-1\"}\r\n\r\n" +
		"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" there\"},{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}}}]},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":20,\"candidatesTokenCount\":5,\"totalTokenCount\":25,\"cachedContentTokenCount\":4},\"modelVersion\":\"gemini-2.0-flash\",\"responseId\":\"resp-1\"}\r\n\r\n"
	geminiStreamError = "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hi\"}]},\"index\":0}]}\n\n" +
		"data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n"
)

func TestTranslationGoldenGemini(t *testing.T) {
	up := gemini.New(gemini.Spec{})
	t.Run("request openai to gemini", func(t *testing.T) {
		req, err := openai.Client{}.ParseRequest([]byte(openAIRequest))
		if err != nil {
			t.Fatal(err)
		}
		call, err := up.BuildChat(req)
		if err != nil {
			t.Fatal(err)
		}
		if call.Path != "/v1beta/models/m:streamGenerateContent?alt=sse" || !call.Stream || !call.FixedPath {
			t.Errorf("path %s stream %v", call.Path, call.Stream)
		}
		golden(t, "req-openai-to-gemini.json", call.Body)
	})
	t.Run("request anthropic to gemini", func(t *testing.T) {
		req, err := anthropic.Client{}.ParseRequest([]byte(anthropicRequest))
		if err != nil {
			t.Fatal(err)
		}
		req.Stream = false
		call, err := up.BuildChat(req)
		if err != nil {
			t.Fatal(err)
		}
		if call.Path != "/v1beta/models/m:generateContent" {
			t.Errorf("path %s", call.Path)
		}
		golden(t, "req-anthropic-to-gemini.json", call.Body)
	})
	t.Run("request gemini passthrough keeps unknown fields", func(t *testing.T) {
		req, err := gemini.Client{}.ParseRequest([]byte(geminiRequest))
		if err != nil {
			t.Fatal(err)
		}
		req.Model = "gemini-2.0-flash"
		call, _ := up.BuildChat(req)
		golden(t, "req-gemini-passthrough.json", call.Body)
		if len(req.Messages) != 1 || req.System != "be brief" || len(req.Tools) != 1 || req.MaxTokens != 100 {
			t.Errorf("canonical %+v", req)
		}
	})
	t.Run("response gemini to openai", func(t *testing.T) {
		resp, err := up.ParseChat([]byte(geminiResponse))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "resp-gemini-to-openai.json", openai.Client{}.WriteResponse(resp))
	})
	t.Run("response gemini to anthropic", func(t *testing.T) {
		resp, err := up.ParseChat([]byte(geminiResponse))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "resp-gemini-to-anthropic.json", anthropic.Client{}.WriteResponse(resp))
	})
	t.Run("stream gemini to openai", func(t *testing.T) {
		req := &llm.Request{Model: "m", IncludeUsage: true}
		golden(t, "stream-gemini-to-openai.sse", relay(up.DecodeStream(strings.NewReader(geminiStream)), openai.Client{}.NewEncoder(req)))
	})
	t.Run("stream gemini to anthropic", func(t *testing.T) {
		req := &llm.Request{Model: "m"}
		golden(t, "stream-gemini-to-anthropic.sse", relay(up.DecodeStream(strings.NewReader(geminiStream)), anthropic.Client{}.NewEncoder(req)))
	})
	t.Run("stream gemini passthrough", func(t *testing.T) {
		got := relay(up.DecodeStream(strings.NewReader(geminiStream)), gemini.Client{}.NewEncoder(&llm.Request{}))
		if want := strings.ReplaceAll(geminiStream, "\r\n", "\n"); string(got) != want {
			t.Errorf("passthrough changed the stream:\n%s", got)
		}
	})
	t.Run("in-band stream error", func(t *testing.T) {
		got := relayErr(up.DecodeStream(strings.NewReader(geminiStreamError)))
		if got == nil || got.Type != llm.ErrOverloaded || got.Message != "The model is overloaded." {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		e := up.ParseError(429, http.Header{"Retry-After": {"7"}}, []byte(`{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`))
		st, body := openai.Client{}.ErrorBody(e)
		golden(t, "err-gemini-to-openai.json", body)
		if st != 429 || e.RetryAfter == 0 {
			t.Errorf("status %d retry %v", st, e.RetryAfter)
		}
		// RESOURCE_EXHAUSTED wins over a status that says otherwise.
		e = up.ParseError(400, nil, []byte(`[{"error":{"code":400,"message":"quota","status":"RESOURCE_EXHAUSTED"}}]`))
		if st, _ := (anthropic.Client{}).ErrorBody(e); st != 429 || e.Code != "RESOURCE_EXHAUSTED" {
			t.Errorf("anthropic status %d %+v", st, e)
		}
		e = up.ParseError(400, nil, []byte(`{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}`))
		st, body = gemini.Client{}.ErrorBody(e)
		golden(t, "err-gemini-native.json", body)
		if st != 400 {
			t.Errorf("native status %d", st)
		}
	})
	t.Run("native path", func(t *testing.T) {
		for p, want := range map[string]string{"/v1beta/models/gemini-2.0-flash:generateContent": "gemini-2.0-flash false",
			"/v1beta/models/g:streamGenerateContent": "g true", "/v1/projects/p/locations/l/publishers/google/models/x:generateContent": "x false"} {
			m, s, ok := gemini.PathModel(p)
			if got := m + " " + map[bool]string{true: "true", false: "false"}[s]; !ok || got != want {
				t.Errorf("%s: %q", p, got)
			}
		}
		if _, _, ok := gemini.PathModel("/v1beta/models/g:countTokens"); ok {
			t.Error("countTokens is not a chat path")
		}
	})
}

// relayErr returns the first in-band error of a stream.
func relayErr(dec llm.EventReader) *llm.Error {
	for {
		evs, err := dec.Next()
		if err != nil {
			return nil
		}
		for _, ev := range evs {
			if ev.Kind == llm.EvError {
				return ev.Err
			}
		}
	}
}
