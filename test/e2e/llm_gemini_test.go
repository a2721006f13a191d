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
	"github.com/openai/openai-go/v3/shared"
	"google.golang.org/genai"

	"github.com/agentgw/agentgateway/internal/llm/llmtest"
)

// TestLLMGemini drives the gateway with the OpenAI, Anthropic and Google
// GenAI Go SDKs against a fake Gemini API: translation both ways (streams,
// tool calls, images, multi-turn tool results), the native
// generateContent passthrough, and google.rpc errors.
func TestLLMGemini(t *testing.T) {
	gem := llmtest.Gemini(t, "gk-upstream")
	g, base := llmGateway(t, fmt.Sprintf(`
  - name: gemini
    provider: gemini
    params: {model: gemini-2.0-flash, apiKey: gk-upstream, baseUrl: "http://%s"}
`, gem.Host()))
	oc := openAIClient(base)
	ac := anthropic.NewClient(aoption.WithBaseURL(base), aoption.WithAPIKey("client-key"), aoption.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	gc, err := genai.NewClient(ctx, &genai.ClientConfig{APIKey: "client-key", Backend: genai.BackendGeminiAPI,
		HTTPOptions: genai.HTTPOptions{BaseURL: base, APIVersion: "v1beta"}})
	if err != nil {
		t.Fatal(err)
	}
	last := func() llmtest.Recorded { return gem.Requests()[gem.Count()-1] }
	weatherTool := []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})}

	t.Run("openai client", func(t *testing.T) {
		resp, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gemini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("ping")}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != llmtest.Reply("ping") || resp.Model != "gemini-2.0-flash" || resp.Choices[0].FinishReason != "stop" ||
			resp.Usage.PromptTokens != 11 || resp.Usage.PromptTokensDetails.CachedTokens != 3 {
			t.Errorf("got %+v", resp)
		}
		up := last()
		si, _ := up.Body["systemInstruction"].(map[string]any)
		if up.Path != "/v1beta/models/gemini-2.0-flash:generateContent" || up.Header.Get("X-Goog-Api-Key") != "gk-upstream" ||
			up.Header.Get("Authorization") != "" || si == nil {
			t.Errorf("upstream saw %s %v %v", up.Path, up.Header, up.Body)
		}
	})
	t.Run("openai client streams a tool call", func(t *testing.T) {
		gem.Set(llmtest.Knobs{ToolCall: true})
		defer gem.Set(llmtest.Knobs{})
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gemini", Tools: weatherTool,
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("weather?")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := openai.ChatCompletionAccumulator{}
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		c := acc.Choices[0]
		if c.Message.Content != "Let me check." || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "get_weather" ||
			c.Message.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || c.FinishReason != "tool_calls" || acc.Usage.PromptTokens != 11 {
			t.Errorf("got %+v usage %+v", c, acc.Usage)
		}
		if !strings.HasSuffix(last().Path, ":streamGenerateContent?alt=sse") {
			t.Errorf("upstream path %s", last().Path)
		}
	})
	t.Run("multi-turn tool result and an image are translated", func(t *testing.T) {
		_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gemini", Tools: weatherTool,
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{openai.TextContentPart("what is this?"),
					openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "data:image/png;base64,iVBORw0KGgo="})}),
				{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_1",
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`}}}}}},
				openai.ToolMessage("sunny", "call_1"),
			}})
		if err != nil {
			t.Fatal(err)
		}
		b := fmt.Sprint(last().Body["contents"])
		for _, want := range []string{"inlineData:map[data:iVBORw0KGgo= mimeType:image/png]", "role:model",
			"functionCall:map[args:map[city:Paris] name:get_weather]", "functionResponse:map[name:get_weather response:map[output:sunny]]"} {
			if !strings.Contains(b, want) {
				t.Errorf("upstream contents lack %s: %s", want, b)
			}
		}
	})
	t.Run("anthropic client streams, and gets a tool call", func(t *testing.T) {
		s := ac.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "gemini", MaxTokens: 100,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("stream please"))}})
		var m anthropic.Message
		for s.Next() {
			if err := m.Accumulate(s.Current()); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		if len(m.Content) != 1 || m.Content[0].Text != llmtest.Reply("stream please") || m.StopReason != "end_turn" || m.Usage.OutputTokens == 0 {
			t.Errorf("got %+v", m)
		}
		gem.Set(llmtest.Knobs{ToolCall: true})
		defer gem.Set(llmtest.Knobs{})
		msg, err := ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "gemini", MaxTokens: 100,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("weather?"))},
			Tools: []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
				InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Content) != 2 || msg.Content[1].Name != "get_weather" || msg.StopReason != "tool_use" || msg.Usage.InputTokens != 8 || msg.Usage.CacheReadInputTokens != 3 {
			t.Errorf("got %+v", msg)
		}
	})
	t.Run("native generateContent passthrough with the genai SDK", func(t *testing.T) {
		temp := float32(0.2)
		resp, err := gc.Models.GenerateContent(ctx, "gemini", genai.Text("native hi"), &genai.GenerateContentConfig{Temperature: &temp,
			SafetySettings: []*genai.SafetySetting{{Category: genai.HarmCategoryHarassment, Threshold: genai.HarmBlockThresholdBlockNone}}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text() != llmtest.Reply("native hi") || resp.UsageMetadata.CachedContentTokenCount != 3 || resp.ModelVersion != "gemini-2.0-flash" {
			t.Errorf("got %+v", resp)
		}
		up := last()
		if up.Path != "/v1beta/models/gemini-2.0-flash:generateContent" || up.Body["safetySettings"] == nil || up.Header.Get("X-Goog-Api-Key") != "gk-upstream" {
			t.Errorf("upstream saw %s %v %v", up.Path, up.Header, up.Body)
		}
		var sb strings.Builder
		for r, err := range gc.Models.GenerateContentStream(ctx, "gemini", genai.Text("native stream"), nil) {
			if err != nil {
				t.Fatal(err)
			}
			sb.WriteString(r.Text())
		}
		if sb.String() != llmtest.Reply("native stream") {
			t.Errorf("stream got %q", sb.String())
		}
	})
	t.Run("RESOURCE_EXHAUSTED is a 429 in every dialect", func(t *testing.T) {
		gem.Set(llmtest.Knobs{Fail: llmtest.Status(0, 429, llmtest.GeminiError(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted"))})
		defer gem.Set(llmtest.Knobs{})
		_, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gemini", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		var oerr *openai.Error
		if !errors.As(err, &oerr) || oerr.StatusCode != 429 || oerr.Type != "rate_limit_error" {
			t.Fatalf("openai client: %v", err)
		}
		_, err = ac.Messages.New(ctx, anthropic.MessageNewParams{Model: "gemini", MaxTokens: 10,
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("x"))}})
		var aerr *anthropic.Error
		if !errors.As(err, &aerr) || aerr.StatusCode != 429 {
			t.Fatalf("anthropic client: %v", err)
		}
		_, err = gc.Models.GenerateContent(ctx, "gemini", genai.Text("x"), nil)
		var gerr genai.APIError
		if !errors.As(err, &gerr) || gerr.Code != 429 || gerr.Status != "RESOURCE_EXHAUSTED" {
			t.Fatalf("genai client: %v", err)
		}
	})
	t.Run("a stream cut after content ends with an error event", func(t *testing.T) {
		gem.Set(llmtest.Knobs{CutAfter: 2})
		defer gem.Set(llmtest.Knobs{})
		s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gemini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("cut me")}})
		n := 0
		for s.Next() {
			n++
		}
		if s.Err() == nil || n == 0 {
			t.Fatalf("want content then an error; got %d chunks, err %v", n, s.Err())
		}
	})
	t.Run("metrics name the gemini system", func(t *testing.T) {
		if m := metricsText(t, g); !strings.Contains(m, `gen_ai_system="gcp.gemini"`) {
			t.Errorf("metrics lack gcp.gemini:\n%s", grep(m, "gen_ai"))
		}
	})
}
