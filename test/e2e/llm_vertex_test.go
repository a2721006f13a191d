package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"google.golang.org/genai"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// TestLLMVertex drives the gateway with the OpenAI, Anthropic and GenAI
// SDKs against a fake Vertex AI: Gemini models (generateContent, stream)
// and Claude models (rawPredict, streamRawPredict), a Bearer token from
// backendAuth.key, errors in both of Vertex AI's shapes.
func TestLLMVertex(t *testing.T) {
	vx := llmtest.Vertex(t, "ya29.token")
	port := freePort(t)
	g := StartGateway(t, fmt.Sprintf(`binds:
- port: %d
  listeners:
  - routes:
    - matches: [{path: {pathPrefix: /gemini}}]
      policies: {urlRewrite: {path: {prefix: /}}}
      backends:
      - ai:
          name: vertex-gemini
          hostOverride: %s
          provider: {vertex: {model: gemini-2.5-pro, projectId: my-proj, region: us-central1}}
          policies: {backendAuth: {key: ya29.token}}
    - backends:
      - ai:
          name: vertex-claude
          hostOverride: %s
          provider: {vertex: {model: claude-sonnet-4-5@20250929, projectId: my-proj, region: us-east5}}
          policies: {backendAuth: {key: ya29.token}}
`, port, vx.Host(), vx.Host()))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	gemOC := openAIClient(base + "/gemini")
	claudeOC := openAIClient(base)
	ac := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("client-key"), aoption.WithMaxRetries(0))
	last := func() llmtest.Recorded { return vx.Requests()[vx.Count()-1] }
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello vertex")}

	t.Run("openai client to a gemini model", func(t *testing.T) {
		resp, err := gemOC.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any", Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != llmtest.Reply("hello vertex") || resp.Model != "gemini-2.5-pro" || resp.Usage.PromptTokensDetails.CachedTokens != 3 {
			t.Errorf("got %+v", resp)
		}
		up := last()
		if up.Path != "/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent" ||
			up.Header.Get("Authorization") != "Bearer ya29.token" {
			t.Errorf("upstream saw %s %v", up.Path, up.Header)
		}
		s := gemOC.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "any", Messages: msgs})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil || acc.Choices[0].Message.Content != llmtest.Reply("hello vertex") {
			t.Fatalf("stream: %v %+v", err, acc.Choices)
		}
		if !strings.HasSuffix(last().Path, "gemini-2.5-pro:streamGenerateContent?alt=sse") {
			t.Errorf("stream path %s", last().Path)
		}
	})
	t.Run("genai client passthrough to a gemini model", func(t *testing.T) {
		gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "client-key", Backend: genai.BackendGeminiAPI,
			HTTPOptions: genai.HTTPOptions{BaseURL: base + "/gemini", APIVersion: "v1beta"}})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := gc.Models.GenerateContent(ctx, "whatever", genai.Text("native"), nil)
		if err != nil || resp.Text() != llmtest.Reply("native") {
			t.Fatalf("%v %+v", err, resp)
		}
	})
	t.Run("anthropic client to a claude model (rawPredict passthrough)", func(t *testing.T) {
		m, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 50,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi claude"))}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Content[0].Text != llmtest.Reply("hi claude") || m.Model != "claude-sonnet-4-5@20250929" || m.Usage.CacheReadInputTokens != 3 {
			t.Errorf("got %+v", m)
		}
		up := last()
		if up.Path != "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5%4020250929:rawPredict" &&
			up.Path != "/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict" {
			t.Errorf("upstream path %s", up.Path)
		}
		s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 50,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream claude"))}})
		var acc anthropic.Message
		for s.Next() {
			_ = acc.Accumulate(s.Current())
		}
		if err := s.Err(); err != nil || acc.Content[0].Text != llmtest.Reply("stream claude") || !strings.HasSuffix(last().Path, ":streamRawPredict") {
			t.Fatalf("stream: %v %+v %s", err, acc, last().Path)
		}
	})
	t.Run("openai client streams a tool call from a claude model", func(t *testing.T) {
		vx.Set(llmtest.Knobs{ToolCall: true})
		defer vx.Set(llmtest.Knobs{})
		s := claudeOC.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "any", Messages: msgs, Tools: []openai.ChatCompletionToolUnionParam{
			openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_weather"})}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		c := acc.Choices[0]
		if len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "get_weather" || c.FinishReason != "tool_calls" {
			t.Errorf("got %+v", c)
		}
		if v := last().Body["anthropic_version"]; v != "vertex-2023-10-16" {
			t.Errorf("anthropic_version %v", v)
		}
	})
	t.Run("errors: google.rpc quota and anthropic overload", func(t *testing.T) {
		vx.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.GeminiError(429, "RESOURCE_EXHAUSTED", "Quota exceeded"))})
		_, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "any", MaxTokens: 5,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}})
		var aerr *anthropic.Error
		if !errors.As(err, &aerr) || aerr.StatusCode != 429 || !strings.Contains(aerr.Error(), "rate_limit_error") {
			t.Errorf("quota: %v", err)
		}
		vx.Set(llmtest.Knobs{Fail: llmtest.Status(0, 529, llmtest.AnthropicError("overloaded_error", "Overloaded"))})
		_, err = claudeOC.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "any", Messages: msgs})
		var oerr *openai.Error
		if !errors.As(err, &oerr) || oerr.StatusCode != 503 {
			t.Errorf("overload: %v", err)
		}
		vx.Set(llmtest.Knobs{})
	})
	if m := metricsText(t, g); !strings.Contains(m, `gen_ai_system="gcp.vertex_ai"`) {
		t.Errorf("metrics lack gcp.vertex_ai")
	}
}
